import { expect } from 'chai';
import { Hook, overrides } from '../../src/core/hook.js';
import type { RunnerView } from '../../src/core/runner-view.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import { AGGREGATE_STAGES, STAGES, type EventStage } from '../../src/core/stages.js';

/** A plain runner view with the given counters. */
function view(fields: Partial<RunnerView> = {}): RunnerView {
  return { epoch: 0, iter: 0, innerIter: 0, mode: 'train', ...fields };
}

const EVENT: StageEvent = { seq: 1, stage: 'beforeRun', mode: null, epoch: 0, iter: 0, innerIter: 0, time: 0 };

describe('Hook.getTriggeredStages', () => {
  it('MMCV\'s case: beforeRun and afterEpoch give beforeRun, afterTrainEpoch, afterValEpoch', () => {
    class ToyHook extends Hook {
      override beforeRun(): void {}
      override afterEpoch(): void {}
    }
    expect(new ToyHook().getTriggeredStages()).to.deep.equal(['beforeRun', 'afterTrainEpoch', 'afterValEpoch']);
  });

  it('is empty for the base class and lists every stage for a hook overriding all aggregates and run stages', () => {
    expect(new Hook().getTriggeredStages()).to.deep.equal([]);
    class All extends Hook {
      override beforeRun(): void {}
      override afterRun(): void {}
      override beforeEpoch(): void {}
      override afterEpoch(): void {}
      override beforeIter(): void {}
      override afterIter(): void {}
    }
    expect(new All().getTriggeredStages()).to.deep.equal([...STAGES]);
  });

  it('maps each aggregate to its train and val stages, in canonical order', () => {
    const expected: Record<string, string[]> = {
      beforeEpoch: ['beforeTrainEpoch', 'beforeValEpoch'],
      afterEpoch: ['afterTrainEpoch', 'afterValEpoch'],
      beforeIter: ['beforeTrainIter', 'beforeValIter'],
      afterIter: ['afterTrainIter', 'afterValIter'],
    };
    for (const aggregate of AGGREGATE_STAGES) {
      const Cls = class extends Hook {};
      (Cls.prototype as unknown as Record<string, unknown>)[aggregate] = () => {};
      expect(new Cls().getTriggeredStages(), aggregate).to.deep.equal(expected[aggregate]);
    }
  });

  it('does not duplicate a stage overridden both directly and through its aggregate', () => {
    class Both extends Hook {
      override afterValIter(): void {}
      override afterIter(): void {}
      override afterRun(): void {}
      override beforeValEpoch(): void {}
    }
    expect(new Both().getTriggeredStages()).to.deep.equal(['afterTrainIter', 'beforeValEpoch', 'afterValIter', 'afterRun']);
  });

  it('counts overrides of intermediate base classes', () => {
    class Base extends Hook {
      override beforeTrainIter(): void {}
    }
    class Middle extends Base {
      override afterEpoch(): void {}
    }
    class Leaf extends Middle {
      override afterRun(): void {}
    }
    expect(new Leaf().getTriggeredStages()).to.deep.equal(['beforeTrainIter', 'afterTrainEpoch', 'afterValEpoch', 'afterRun']);
    expect(overrides(new Leaf(), 'beforeTrainIter')).to.equal(true);
    expect(overrides(new Leaf(), 'beforeTrainEpoch')).to.equal(false);
  });

  it('ignores instance-level assignments, as MMCV does', () => {
    const hook = new Hook();
    hook.beforeRun = () => {};
    (hook as unknown as Record<string, unknown>).afterIter = () => {};
    expect(hook.getTriggeredStages()).to.deep.equal([]);
    expect(hook.getSubscriptions()).to.deep.equal([]);
  });
});

describe('Hook aggregate delegation', () => {
  /** Records which aggregate each call reached, with the runner it got. */
  class Recorder extends Hook {
    calls: Array<[string, RunnerView]> = [];
    override beforeEpoch(r: RunnerView): void { this.calls.push(['beforeEpoch', r]); }
    override afterEpoch(r: RunnerView): void { this.calls.push(['afterEpoch', r]); }
    override beforeIter(r: RunnerView): void { this.calls.push(['beforeIter', r]); }
    override afterIter(r: RunnerView): void { this.calls.push(['afterIter', r]); }
  }

  it('sends each mode-specific stage to its aggregate, with the same runner', () => {
    const expected: Array<[keyof Hook, string]> = [
      ['beforeTrainEpoch', 'beforeEpoch'], ['beforeValEpoch', 'beforeEpoch'],
      ['afterTrainEpoch', 'afterEpoch'], ['afterValEpoch', 'afterEpoch'],
      ['beforeTrainIter', 'beforeIter'], ['beforeValIter', 'beforeIter'],
      ['afterTrainIter', 'afterIter'], ['afterValIter', 'afterIter'],
    ];
    for (const [stage, aggregate] of expected) {
      const hook = new Recorder();
      const runner = view({ iter: 7 });
      (hook[stage] as (r: RunnerView) => void)(runner);
      expect(hook.calls, stage).to.have.length(1);
      expect(hook.calls[0]![0], stage).to.equal(aggregate);
      expect(hook.calls[0]![1], stage).to.equal(runner);
    }
  });

  it('beforeRun and afterRun have no aggregate', () => {
    const hook = new Recorder();
    hook.beforeRun(view());
    hook.afterRun(view());
    expect(hook.calls).to.deep.equal([]);
  });

  it('an overridden mode-specific stage replaces the delegation for that mode only', () => {
    const log: string[] = [];
    class Partial extends Hook {
      override beforeTrainEpoch(): void { log.push('train'); }
      override beforeEpoch(): void { log.push('aggregate'); }
    }
    const hook: Hook = new Partial();
    hook.beforeTrainEpoch(view());
    hook.beforeValEpoch(view());
    expect(log).to.deep.equal(['train', 'aggregate']);
  });

  it('passes on the promise an async aggregate returns', async () => {
    const log: string[] = [];
    class Async extends Hook {
      override async afterIter(): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 1));
        log.push('done');
      }
    }
    const result = new Async().afterValIter(view());
    expect(result).to.be.instanceOf(Promise);
    expect(log).to.deep.equal([]);
    await result;
    expect(log).to.deep.equal(['done']);
    expect(new Hook().afterValIter(view())).to.equal(undefined);
  });
});

describe('Hook predicates', () => {
  const hook = new Hook();

  it('everyNEpochs: (epoch + 1) % n == 0, false for n <= 0', () => {
    const hits = (n: number) => [0, 1, 2, 3, 4, 5].filter((epoch) => hook.everyNEpochs(view({ epoch }), n));
    expect(hits(1)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(hits(2)).to.deep.equal([1, 3, 5]);
    expect(hits(3)).to.deep.equal([2, 5]);
    expect(hits(0)).to.deep.equal([]);
    expect(hits(-2)).to.deep.equal([]);
  });

  it('everyNInnerIters reads innerIter only', () => {
    const hits = (n: number) => [0, 1, 2, 3, 4, 5].filter((innerIter) => hook.everyNInnerIters(view({ innerIter, iter: 100, epoch: 7 }), n));
    expect(hits(2)).to.deep.equal([1, 3, 5]);
    expect(hits(4)).to.deep.equal([3]);
    expect(hits(0)).to.deep.equal([]);
    expect(hits(-1)).to.deep.equal([]);
  });

  it('everyNIters reads iter only', () => {
    const hits = (n: number) => [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((iter) => hook.everyNIters(view({ iter, innerIter: 0 }), n));
    expect(hits(3)).to.deep.equal([2, 5, 8]);
    expect(hits(1)).to.have.length(9);
    expect(hits(0)).to.deep.equal([]);
    expect(hits(-3)).to.deep.equal([]);
  });

  it('endOfEpoch: innerIter + 1 == len(dataLoader)', () => {
    const dataLoader = { length: 4 };
    expect([0, 1, 2, 3, 4].map((innerIter) => hook.endOfEpoch(view({ innerIter, dataLoader })))).to.deep.equal([false, false, false, true, false]);
    expect(() => hook.endOfEpoch(view())).to.throw(Error).with.property('message', 'Hook: endOfEpoch needs runner.dataLoader');
    class Named extends Hook {}
    expect(() => new Named().endOfEpoch(view({ dataLoader: null }))).to.throw('Named: endOfEpoch needs runner.dataLoader');
  });

  it('isLastEpoch: epoch + 1 == maxEpochs', () => {
    expect([0, 1, 2, 3].map((epoch) => hook.isLastEpoch(view({ epoch, maxEpochs: 3 })))).to.deep.equal([false, false, true, false]);
    expect(hook.isLastEpoch(view({ epoch: 0 }))).to.equal(false);
  });

  it('isLastIter: iter + 1 == maxIters', () => {
    expect([0, 8, 9, 10].map((iter) => hook.isLastIter(view({ iter, maxIters: 10 })))).to.deep.equal([false, false, true, false]);
    expect(hook.isLastIter(view({ iter: 0 }))).to.equal(false);
  });
});

describe('Hook.getSubscriptions', () => {
  const stagesOf = (hook: Hook) => hook.getSubscriptions().map((s) => s.stage);

  it('subscribes each triggered stage, in canonical order, labelled by the stage', () => {
    class ToyHook extends Hook {
      override afterRun(): void {}
      override beforeTrainIter(): void {}
    }
    const subs = new ToyHook().getSubscriptions();
    expect(subs.map((s) => [s.stage, s.label, s.filterText])).to.deep.equal([
      ['beforeTrainIter', 'beforeTrainIter', undefined],
      ['afterRun', 'afterRun', undefined],
    ]);
  });

  it('adds the beforeEpoch/afterEpoch aggregates that IterBasedRunner calls directly, and only those', () => {
    class Epochs extends Hook {
      override beforeEpoch(): void {}
      override afterEpoch(): void {}
      override afterIter(): void {}
    }
    expect(stagesOf(new Epochs())).to.deep.equal([
      'beforeTrainEpoch', 'afterTrainIter', 'afterTrainEpoch', 'beforeValEpoch', 'afterValIter', 'afterValEpoch',
      'beforeEpoch', 'afterEpoch',
    ]);
    class TrainEpochOnly extends Hook {
      override beforeTrainEpoch(): void {}
    }
    // IterBasedRunner calls the (unchanged) beforeEpoch, so this hook is not subscribed to it.
    expect(stagesOf(new TrainEpochOnly())).to.deep.equal(['beforeTrainEpoch']);
  });

  it('handlers call the hook\'s methods with the runner (through the delegation)', () => {
    const calls: string[] = [];
    class Epochs extends Hook {
      override beforeEpoch(r: RunnerView): void { calls.push(`beforeEpoch@${r.epoch}`); }
      override beforeTrainEpoch(r: RunnerView): void { calls.push(`beforeTrainEpoch@${r.epoch}`); }
    }
    const hook = new Epochs();
    const byStage = new Map(hook.getSubscriptions().map((s) => [s.stage, s] as [EventStage, typeof s]));
    expect([...byStage.keys()]).to.deep.equal(['beforeTrainEpoch', 'beforeValEpoch', 'beforeEpoch']);
    byStage.get('beforeTrainEpoch')!.handler(view({ epoch: 1 }), EVENT);
    byStage.get('beforeValEpoch')!.handler(view({ epoch: 2 }), EVENT);
    byStage.get('beforeEpoch')!.handler(view({ epoch: 3 }), EVENT);
    expect(calls).to.deep.equal(['beforeTrainEpoch@1', 'beforeEpoch@2', 'beforeEpoch@3']);
  });

  it('is empty for a hook that overrides nothing', () => {
    expect(new Hook().getSubscriptions()).to.deep.equal([]);
  });
});
