import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { ConfigError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import { On, type EventFilter } from '../../src/core/on.js';
import type { RunnerView } from '../../src/core/runner-view.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import type { EventStage } from '../../src/core/stages.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { buildToyRunner, expectHookCalls, hookCalls, stageEvent } from '../../src/testing/index.js';

/** A hook whose `hit` method is subscribed to `stages` with `filter`. */
function filtered(stages: EventStage | EventStage[], filter?: EventFilter): Hook {
  class Filtered extends Hook {
    @On(stages, filter)
    hit(): void {}
  }
  return new Filtered();
}

/** a..f: six train iterations, iter 0..5, innerIter 0,1,2,0,1,2 (two epochs of three). */
const iters: Record<string, StageEvent> = Object.fromEntries(
  'abcdef'.split('').map((k, i) => [k, stageEvent('afterTrainIter', { iter: i, innerIter: i % 3, epoch: Math.floor(i / 3), payload: { logVars: { loss: [3, 0.5, 2, 0.1, 1.5, 0.2][i]! } } })]),
);

describe('@On filters (marbles)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => { expect(actual).to.deep.equal(expected); });
  });

  const cases: Array<[string, EventFilter | undefined, string]> = [
    ['no filter', undefined, 'abcdef|'],
    ['every 2 (iter)', { every: 2 }, '-b-d-f|'],
    ['once 3', { once: 3 }, '--c---|'],
    ['once [1, 5]', { once: [1, 5] }, 'a---e-|'],
    ['before 3', { before: 3 }, 'ab----|'],
    ['after 4', { after: 4 }, '----ef|'],
    ['a predicate', (e: StageEvent) => (e.payload!.logVars as Record<string, number>).loss! > 1, 'a-c-e-|'],
    ['when (predicate in the object)', { when: (e: StageEvent) => e.epoch === 1 }, '---def|'],
    ['every 2 and after 2', { every: 2, after: 2 }, '---d-f|'],
    ['after 1 and before 5', { after: 1, before: 5 }, '-bcd--|'],
    ['every 2 and a predicate', { every: 2, when: (e: StageEvent) => e.epoch === 0 }, '-b----|'],
    ['every 2 counting innerIter', { every: 2, counter: 'innerIter' }, '-b--e-|'],
    ['once 1 counting epoch', { once: 1, counter: 'epoch' }, 'abc---|'],
  ];
  for (const [name, filter, expected] of cases) {
    it(name, () => {
      scheduler.run(({ cold, expectObservable }) => {
        expectObservable(hookCalls(filtered('afterTrainIter', filter), cold('abcdef|', iters))).toBe(expected, iters);
      });
    });
  }

  it('counts epochs at epoch stages and inner iterations at val iteration stages by default', () => {
    const epochs = Object.fromEntries('abcd'.split('').map((k, i) => [k, stageEvent('afterTrainEpoch', { epoch: i, iter: 3 * i + 3 })]));
    const vals = Object.fromEntries('abcd'.split('').map((k, i) => [k, stageEvent('afterValIter', { epoch: 1, iter: 6, innerIter: i })]));
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(hookCalls(filtered('afterTrainEpoch', { every: 2 }), cold('a-b-c-d|', epochs))).toBe('--b---d|', epochs);
      expectObservable(hookCalls(filtered('afterValIter', { every: 2 }), cold('abcd|', vals))).toBe('-b-d|', vals);
      // Counting iter in validation passes all events or none: iter does not move there.
      expectObservable(hookCalls(filtered('afterValIter', { every: 7, counter: 'iter' }), cold('abcd|', vals))).toBe('abcd|', vals);
    });
  });

  it('an aggregate subscribes to the train and the val stage, each with its own default counter', () => {
    const v = {
      a: stageEvent('afterTrainIter', { iter: 0 }), b: stageEvent('afterTrainIter', { iter: 1 }),
      c: stageEvent('afterValIter', { iter: 2, innerIter: 0 }), d: stageEvent('afterValIter', { iter: 2, innerIter: 1 }),
      e: stageEvent('beforeTrainIter', { iter: 2 }),
    };
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(hookCalls(filtered('afterIter', { every: 2 }), cold('abcde|', v))).toBe('-b-d-|', v);
    });
  });

  it('the kit helper asserts the same in one call, per method', () => {
    class Two extends Hook {
      @On('afterTrainIter', { every: 3 }) third(): void {}
      @On('afterTrainIter', { once: 2 }) second(): void {}
    }
    expectHookCalls(new Two(), 'abcdef|', iters, '--c--f|', { label: 'third' });
    // Any method: second at b, third at c and f.
    expectHookCalls(new Two(), 'abcdef|', iters, '-bc--f|');
    expect(() => expectHookCalls(new Two(), 'abcdef|', iters, 'a-----|', { label: 'second' })).to.throw();
  });
});

describe('@On subscriptions', () => {
  it('pass (runner, event) to the method and await a returned promise', async () => {
    const seen: Array<[number, number]> = [];
    class Async extends Hook<BaseRunner> {
      @On('afterTrainIter', { every: 2 })
      async onIter(runner: BaseRunner, event: StageEvent): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 1));
        seen.push([runner.iter, event.seq]);
      }
    }
    const toy = buildToyRunner({ workDir: false, maxEpochs: 2, workflow: [['train', 1]] });
    const order: string[] = [];
    toy.runner.registerHook(new Async());
    toy.runner.events$.subscribe((e) => { if (e.stage === 'afterTrainIter') order.push(`${e.iter}:${seen.length}`); });
    await toy.run();
    expect(seen.map((s) => s[0])).to.deep.equal([1, 3, 5]);
    // The runner waited: the event of iteration 1 was published after the method finished.
    expect(order).to.deep.equal(['0:0', '1:1', '2:1', '3:2', '4:2', '5:3']);
  });

  it('are part of getSubscriptions with their filter text, and hookInfo(true) shows them', () => {
    class Mixed extends Hook<BaseRunner> {
      override beforeRun(): void {}
      @On(['afterTrainIter', 'afterValEpoch'], { every: 10, after: 100 })
      logIt(): void {}
      @On('afterEpoch', function isBest() { return true; })
      maybe(): void {}
    }
    const hook = new Mixed();
    expect(hook.getSubscriptions().map((s) => [s.stage, s.label, s.filterText])).to.deep.equal([
      ['beforeRun', 'beforeRun', undefined],
      ['afterTrainIter', 'logIt', 'every 10 iter, after 100 iter'],
      ['afterValEpoch', 'logIt', 'every 10 epoch, after 100 epoch'],
      ['afterTrainEpoch', 'maybe', 'when isBest'],
      ['afterValEpoch', 'maybe', 'when isBest'],
      ['afterEpoch', 'maybe', 'when isBest'],
    ]);
    // The triggered stages are those of all its subscriptions, overridden and decorated.
    expect(hook.getTriggeredStages()).to.deep.equal(['beforeRun', 'afterTrainIter', 'afterTrainEpoch', 'afterValEpoch']);
    const toy = buildToyRunner({ workDir: false, trainingHooks: null });
    toy.runner.registerHook(hook, 'LOW');
    expect(toy.runner.hookInfo(true)).to.equal([
      'beforeRun:', `(LOW         ) ${'Mixed'.padEnd(35)}`, ' -------------------- ',
      'afterTrainIter:', `(LOW         ) ${'Mixed'.padEnd(35)} logIt [every 10 iter, after 100 iter]`, ' -------------------- ',
      'afterTrainEpoch:', `(LOW         ) ${'Mixed'.padEnd(35)} maybe [when isBest]`, ' -------------------- ',
      'afterValEpoch:', `(LOW         ) ${'Mixed'.padEnd(35)} logIt [every 10 epoch, after 100 epoch], maybe [when isBest]`, ' -------------------- ',
    ].join('\n'));
    // Without filters the layout is MMCV's.
    expect(toy.runner.hookInfo()).to.not.include('[');
  });

  it('a decorated stage method runs only through its @On subscription', () => {
    const calls: number[] = [];
    class Sparse extends Hook<RunnerView> {
      @On('afterTrainIter', { every: 2 })
      override afterTrainIter(runner: RunnerView): void { calls.push(runner.iter); }
      @On('afterTrainEpoch')
      override afterEpoch(): void {}
    }
    const hook = new Sparse();
    // Not `afterValEpoch`, which overriding afterEpoch alone would subscribe to.
    expect(hook.getTriggeredStages()).to.deep.equal(['afterTrainIter', 'afterTrainEpoch']);
    expect(hook.getSubscriptions().map((s) => [s.stage, s.label, s.filterText])).to.deep.equal([
      ['afterTrainIter', 'afterTrainIter', 'every 2 iter'],
      ['afterTrainEpoch', 'afterEpoch', undefined],
    ]);
  });

  it('are inherited; a subclass redecorating a method replaces them; several @On on one method add up', () => {
    class Base extends Hook {
      @On('afterTrainIter') a(): void {}
      @On('beforeRun') b(): void {}
    }
    class Child extends Base {
      @On('afterRun')
      @On('afterTrainEpoch', { every: 2 })
      override a(): void {}
      @On('afterValIter') c(): void {}
    }
    expect(new Child().getSubscriptions().map((s) => [s.stage, s.label])).to.deep.equal([
      ['afterRun', 'a'], ['afterTrainEpoch', 'a'], ['afterValIter', 'c'], ['beforeRun', 'b'],
    ]);
    expect(new Base().getSubscriptions().map((s) => [s.stage, s.label])).to.deep.equal([['afterTrainIter', 'a'], ['beforeRun', 'b']]);
  });

  it('work without decorator syntax', () => {
    class Plain extends Hook {
      tick(): void {}
    }
    On('afterValEpoch', { once: 1 })(Plain.prototype, 'tick');
    expect(new Plain().getSubscriptions().map((s) => [s.stage, s.label, s.filterText])).to.deep.equal([['afterValEpoch', 'tick', 'once 1 epoch']]);
  });
});

describe('@On validation', () => {
  /** The error decorating `Bad.method` with these arguments gives. */
  function errorOf(stages: unknown, filter?: unknown): ConfigError {
    try {
      class Bad extends Hook {
        method(): void {}
      }
      On(stages as EventStage, filter as EventFilter)(Bad.prototype, 'method');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  it('names the hook, the method and the bad value', () => {
    const messages: Array<[unknown, unknown, string]> = [
      ['afterTrainIter', { every: 0 }, 'Bad.method: @On filter every must be a positive integer; got 0'],
      ['afterTrainIter', { every: -2 }, 'Bad.method: @On filter every must be a positive integer; got -2'],
      ['afterTrainIter', { every: 1.5 }, 'Bad.method: @On filter every must be a positive integer; got 1.5'],
      ['afterTrainIte', undefined, "Bad.method: @On stage 'afterTrainIte' is not a stage; did you mean 'afterTrainIter'?"],
      ['onTrain', undefined, "Bad.method: @On stage 'onTrain' is not a stage; stages are beforeRun, beforeTrainEpoch, beforeTrainIter, afterTrainIter, afterTrainEpoch, beforeValEpoch, beforeValIter, afterValIter, afterValEpoch, afterRun, beforeEpoch, afterEpoch, beforeIter, afterIter, onException"],
      [[], undefined, 'Bad.method: @On needs at least one stage'],
      ['afterTrainIter', { every: 2, counter: 'iters' }, "Bad.method: @On filter counter must be one of 'iter', 'innerIter', 'epoch'; got \"iters\""],
      ['afterTrainIter', { evry: 2 }, "Bad.method: @On filter: unknown option 'evry' (did you mean 'every'?); allowed options: every, once, before, after, counter, when"],
      ['afterTrainIter', { once: [] }, 'Bad.method: @On filter once must be a positive integer or a non-empty list of them; got []'],
      ['afterTrainIter', { once: [1, 0] }, 'Bad.method: @On filter once must be a positive integer or a non-empty list of them; got [1,0]'],
      ['afterTrainIter', { before: 1 }, 'Bad.method: @On filter before must be an integer >= 2 (counts start at 1); got 1'],
      ['afterTrainIter', { after: -1 }, 'Bad.method: @On filter after must be an integer >= 0; got -1'],
      ['afterTrainIter', { after: 3, before: 4 }, 'Bad.method: @On filter before 4 and after 3 leave no count to pass'],
      ['afterTrainIter', { when: true }, 'Bad.method: @On filter when must be a function (event, runner) => boolean; got true'],
      ['afterTrainIter', 5, 'Bad.method: @On filter must be an object such as { every: 10 } or a predicate (event, runner) => boolean; got 5'],
    ];
    for (const [stages, filter, message] of messages) expect(errorOf(stages, filter).message, message).to.equal(message);
  });

  it('happens when the class is defined, and rejects non-methods and static methods', () => {
    expect(() => {
      class Early extends Hook {
        @On('afterTrainIter', { every: 0 }) never(): void {}
      }
      return Early;
    }).to.throw(ConfigError, 'Early.never: @On filter every must be a positive integer; got 0');
    class Holder extends Hook {
      value = 1;
      static tick(): void {}
    }
    expect(() => On('beforeRun')(Holder.prototype, 'value')).to.throw('Holder.value: @On decorates methods; this member is not a function');
    expect(() => On('beforeRun')(Holder, 'tick')).to.throw('Holder.tick: @On decorates instance methods, not static ones');
  });
});
