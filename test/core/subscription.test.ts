import { expect } from 'chai';
import { ConfigError, HookError, HookUnsettledError } from '../../src/core/errors.js';
import { Hook, stagesOf, subscriptionsFor, type HookSubscription } from '../../src/core/hook.js';
import { On } from '../../src/core/on.js';
import type { RunnerView } from '../../src/core/runner-view.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import type { EventStage } from '../../src/core/stages.js';
import { ReplayRunner } from '../../src/replay/replay-runner.js';
import { stageEvents } from '../../src/testing/stage-events.js';
import { MemoryLogger } from '../../src/core/services.js';
import { hookPlan } from '../plugins/hook-plan.js';
import { tinyRunner } from '../helpers/tiny.js';

/** Train iterations 0..n-1 (afterTrainIter events) between beforeRun and afterRun. */
function iterations(n: number): StageEvent[] {
  return stageEvents(['beforeRun', ...Array.from({ length: n }, (_, iter) => ['afterTrainIter', { iter }] as const), 'afterRun']);
}

/** A hook that logs its id at afterTrainIter. */
class Named extends Hook {
  constructor(readonly log: string[], id: string) {
    super();
    this.hookId = id;
  }
  override afterTrainIter(): void { this.log.push(this.hookId!); }
}

const replayRunner = () => new ReplayRunner({ logger: new MemoryLogger() });

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try { await promise; } catch (error) { return error as Error; }
  throw new Error('expected a rejection');
}

describe('runner.on: the subscription primitive', () => {
  it('orders handlers among hooks by priority, keeping registration order at equal priority', async () => {
    const log: string[] = [];
    const runner = replayRunner();
    runner.registerHook(new Named(log, 'A'));
    runner.on('afterTrainIter', () => { log.push('high'); }, { priority: 'HIGH' });
    runner.registerHook(new Named(log, 'B'), 'NORMAL');
    runner.on('afterTrainIter', () => { log.push('normal'); });
    runner.on('afterTrainIter', () => { log.push('low'); }, { priority: 70 });
    runner.registerHook(new Named(log, 'C'), 'LOW');
    runner.on('afterTrainIter', () => { log.push('highest'); }, { priority: 'HIGHEST' });
    await runner.run(iterations(1));
    expect(log).to.deep.equal(['highest', 'high', 'A', 'B', 'normal', 'low', 'C']);
  });

  it('runs after the default hooks of its priority, as a custom hook does, and shows in the plan by its label', () => {
    const { runner } = tinyRunner();
    runner.registerTrainingHooks({ optimizerConfig: {}, checkpointConfig: { interval: 1 }, logConfig: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] } });
    function lossCurve(): void {}
    runner.on(['afterTrainIter', 'afterTrainEpoch'], lossCurve);
    runner.on('afterTrainIter', () => {}, { priority: 'VERY_LOW', label: 'everyOther', filter: { every: 2 } });
    const plan = hookPlan(runner.hookInfo());
    expect(plan.afterTrainIter).to.deep.equal(['(ABOVE_NORMAL) OptimizerHook', '(NORMAL) CheckpointHook', '(NORMAL) lossCurve', '(LOW) IterTimerHook', '(VERY_LOW) TextLoggerHook', '(VERY_LOW) everyOther']);
    expect(plan.afterTrainEpoch).to.deep.equal(['(NORMAL) CheckpointHook', '(NORMAL) lossCurve', '(VERY_LOW) TextLoggerHook']);
    expect(runner.hookInfo(true)).to.include(`(VERY_LOW    ) ${'everyOther'.padEnd(35)} everyOther [every 2 iter]`);
  });

  it('expands aggregates, filters like @On, and passes the runner and the event', async () => {
    const runner = replayRunner();
    const seen: string[] = [];
    runner.on('afterIter', (r, event) => { seen.push(`${event.stage}@${r.iter}`); }, { filter: { every: 2 } });
    await runner.run(stageEvents([
      'beforeRun', ['afterTrainIter', { iter: 0 }], ['afterTrainIter', { iter: 1 }], ['afterValIter', { iter: 2, innerIter: 0 }], ['afterValIter', { iter: 2, innerIter: 1 }], 'afterRun',
    ]));
    expect(seen).to.deep.equal(['afterTrainIter@1', 'afterValIter@2']);
  });

  it('awaits a promise a handler returns before the next subscriber', async () => {
    const log: string[] = [];
    const runner = replayRunner();
    runner.on('afterTrainIter', async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push(`slow ${r.iter}`);
    }, { priority: 'HIGH' });
    runner.registerHook(new Named(log, 'A'));
    await runner.run(iterations(2));
    expect(log).to.deep.equal(['slow 0', 'A', 'slow 1', 'A']);
  });

  describe('handle.remove()', () => {
    it('unsubscribes, is idempotent, and reports whether it removed anything', async () => {
      const runner = replayRunner();
      const calls: number[] = [];
      const handle = runner.on(['afterTrainIter', 'afterRun'], (r) => { calls.push(r.iter); });
      expect(handle.stages).to.deep.equal(['afterTrainIter', 'afterRun']);
      expect(handle.active).to.equal(true);
      await runner.run(iterations(2));
      expect(handle.remove()).to.equal(true);
      expect(handle.active).to.equal(false);
      expect(handle.remove()).to.equal(false);
      await runner.run(iterations(2));
      // afterRun's event carries the counters it was recorded with (0 here).
      expect(calls).to.deep.equal([0, 1, 0]);
      expect(runner.hookInfo()).to.equal('');
    });

    it('removed during the dispatch of a stage, a later subscriber of that stage is not called any more', async () => {
      const log: string[] = [];
      const runner = replayRunner();
      let later: { remove(): boolean } | undefined;
      runner.on('afterTrainIter', (r) => {
        log.push(`first ${r.iter}`);
        if (r.iter === 1) later!.remove();
      }, { priority: 'HIGH' });
      runner.registerHook(new Named(log, 'A'));
      later = runner.on('afterTrainIter', (r) => { log.push(`later ${r.iter}`); }, { priority: 'LOW' });
      runner.registerHook(new Named(log, 'Z'), 'LOWEST');
      await runner.run(iterations(3));
      expect(log).to.deep.equal(['first 0', 'A', 'later 0', 'Z', 'first 1', 'A', 'Z', 'first 2', 'A', 'Z']);
    });

    it('a handler can remove itself (run once), and a handler added during a stage first runs at the next event', async () => {
      const log: string[] = [];
      const runner = replayRunner();
      const once = runner.on('afterTrainIter', (r) => {
        log.push(`once ${r.iter}`);
        once.remove();
        runner.on('afterTrainIter', (r2) => { log.push(`added ${r2.iter}`); }, { priority: 'LOWEST' });
      }, { priority: 'HIGHEST' });
      runner.registerHook(new Named(log, 'A'));
      await runner.run(iterations(3));
      expect(log).to.deep.equal(['once 0', 'A', 'A', 'added 1', 'A', 'added 2']);
    });

    it('removing a hook during a stage stops its remaining calls in that stage too', async () => {
      const log: string[] = [];
      const runner = replayRunner();
      const victim = new Named(log, 'victim');
      runner.on('afterTrainIter', (r) => { if (r.iter === 0) (runner as unknown as { dispatcher: { remove(h: Hook): boolean } }).dispatcher.remove(victim); }, { priority: 'HIGH' });
      runner.registerHook(victim);
      runner.registerHook(new Named(log, 'other'));
      await runner.run(iterations(2));
      expect(log).to.deep.equal(['other', 'other']);
    });
  });

  describe('errors', () => {
    it('a throwing handler stops the stage with a HookError named after its label', async () => {
      const runner = replayRunner();
      runner.on('afterTrainIter', function lossWatch() { throw new Error('NaN loss'); });
      const error = await rejection(runner.run(iterations(1)));
      expect(error).to.be.instanceOf(HookError);
      expect(error.message).to.equal('hook lossWatch failed in afterTrainIter: NaN loss');
    });

    it('a handler promise that outlives its timeout fails naming the handler', async () => {
      const runner = replayRunner();
      runner.on('afterTrainIter', () => new Promise<void>(() => {}), { label: 'stuck', timeout: 0.02 });
      const error = await rejection(runner.run(iterations(1)));
      expect(error).to.be.instanceOf(HookUnsettledError);
      expect(error.message).to.equal('hook stuck did not settle in afterTrainIter within 0.02 s (its timeout)');
    });

    it('bad arguments are ConfigErrors that name the value', () => {
      const runner = replayRunner();
      const message = (fn: () => unknown) => {
        try { fn(); } catch (error) { expect(error).to.be.instanceOf(ConfigError); return (error as Error).message; }
        throw new Error('expected a ConfigError');
      };
      const noop = () => {};
      expect(message(() => runner.on('afterTrainIters' as EventStage, noop))).to.equal("runner.on(noop): runner.on stage 'afterTrainIters' is not a stage; did you mean 'afterTrainIter'?");
      expect(message(() => runner.on([], noop))).to.equal('runner.on(noop): runner.on needs at least one stage');
      expect(message(() => runner.on('afterRun', 'noop' as never))).to.equal('runner.on(handler): runner.on needs a handler function (runner, event) => void; got string');
      expect(message(() => runner.on('afterRun', noop, { filter: { every: 0 } }))).to.equal('runner.on(noop): runner.on filter every must be a positive integer; got 0');
      expect(message(() => runner.on('afterRun', noop, { label: '' }))).to.equal('runner.on(noop): runner.on label must be a non-empty string; got ""');
      expect(message(() => runner.on('afterRun', noop, { timeout: -1 }))).to.equal('runner.on(noop).timeout: must be a positive number of seconds; got -1');
      expect(() => runner.on('afterRun', noop, { priority: 'URGENT' as never })).to.throw(/URGENT/);
      expect(runner.hookInfo()).to.equal('');
    });
  });
});

describe('Hook: this.on(...) in the constructor', () => {
  /** Subscribes where its options say: the MMCV-style override cannot depend on options. */
  class Reporter extends Hook<RunnerView> {
    readonly seen: string[] = [];
    constructor(options: { at: EventStage[]; every?: number }) {
      super();
      this.on(options.at, (runner, event) => { this.seen.push(`${event.stage}@${runner.iter}`); }, { label: 'report', ...(options.every ? { filter: { every: options.every } } : {}) });
    }
    override beforeRun(): void { this.seen.push('beforeRun'); }
  }

  it('adds subscriptions after the overridden methods; the triggered stages and the plan derive from them', async () => {
    const hook = new Reporter({ at: ['afterTrainIter', 'afterRun'], every: 2 });
    expect(hook.getSubscriptions().map((s) => [s.stage, s.label, s.filterText])).to.deep.equal([
      ['beforeRun', 'beforeRun', undefined], ['afterTrainIter', 'report', 'every 2 iter'], ['afterRun', 'report', 'every 2 epoch'],
    ]);
    expect(hook.getTriggeredStages()).to.deep.equal(['beforeRun', 'afterTrainIter', 'afterRun']);
    expect(new Reporter({ at: ['beforeValEpoch'] }).getTriggeredStages()).to.deep.equal(['beforeRun', 'beforeValEpoch']);
    const runner = replayRunner();
    runner.registerHook(hook, 'LOW');
    await runner.run(iterations(4));
    expect(hook.seen).to.deep.equal(['beforeRun', 'afterTrainIter@1', 'afterTrainIter@3']);
    expect(runner.hookInfo(true)).to.include(`afterTrainIter:\n(LOW         ) ${'Reporter'.padEnd(35)} report [every 2 iter]`);
  });

  it('rejects bad stages at construction, naming the class', () => {
    expect(() => new Reporter({ at: ['afterEpochs' as EventStage] })).to.throw(ConfigError, "Reporter: on stage 'afterEpochs' is not a stage; did you mean 'afterEpoch'?");
  });
});

describe('deprecated ways of subscribing still work', () => {
  it('a hand-written getSubscriptions() override built with subscriptionsFor, and stagesOf', async () => {
    class Legacy extends Hook<RunnerView> {
      readonly calls: string[] = [];
      override afterEpoch(runner: RunnerView): void { this.calls.push(`afterEpoch@${runner.epoch}`); }
      override afterIter(): void { this.calls.push('afterIter'); }
      override getSubscriptions(): HookSubscription<RunnerView>[] {
        return subscriptionsFor(this, ['afterEpoch']);
      }
    }
    expect(stagesOf(['afterEpoch', 'beforeRun'])).to.deep.equal(['beforeRun', 'afterTrainEpoch', 'afterValEpoch']);
    const hook = new Legacy();
    expect(hook.getTriggeredStages()).to.deep.equal(['afterTrainEpoch', 'afterValEpoch']);
    const runner = replayRunner();
    runner.registerHook(hook);
    await runner.run(stageEvents(['beforeRun', 'afterTrainIter', ['afterTrainEpoch', { epoch: 0 }], ['afterEpoch', { epoch: 1 }], 'afterRun']));
    expect(hook.calls).to.deep.equal(['afterEpoch@0', 'afterEpoch@1']);
  });

  it('@On and overridden methods compile to the same ordering as runner.on', async () => {
    const log: string[] = [];
    class Decorated extends Hook<RunnerView> {
      @On('afterTrainIter') tick(): void { log.push('decorated'); }
    }
    const runner = replayRunner();
    runner.on('afterTrainIter', () => { log.push('handler'); }, { priority: 'NORMAL' });
    runner.registerHook(new Decorated());
    runner.registerHook(new Named(log, 'overridden'), 'HIGH');
    await runner.run(iterations(1));
    expect(log).to.deep.equal(['overridden', 'handler', 'decorated']);
  });
});
