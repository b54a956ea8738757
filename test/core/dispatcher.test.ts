import { expect } from 'chai';
import { Dispatcher, type CallTimer } from '../../src/core/dispatcher.js';
import { ConfigError, HookError } from '../../src/core/errors.js';
import { Hook, type HookSubscription } from '../../src/core/hook.js';
import type { RunnerView } from '../../src/core/runner-view.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import type { EventStage } from '../../src/core/stages.js';
import { IterTimerHook } from '../../src/hooks/iter-timer-hook.js';
import { OptimizerHook } from '../../src/hooks/optimizer-hook.js';
import { tinyRunner } from '../helpers/tiny.js';

const RUNNER: RunnerView = { epoch: 0, iter: 0, innerIter: 0, mode: 'train' };

function event(stage: EventStage, seq = 1): StageEvent {
  return { seq, stage, mode: 'train', epoch: 0, iter: 0, innerIter: 0, time: 0 };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A hook that logs `<id> <stage>` for afterTrainIter and counts getSubscriptions() calls. */
class Logging extends Hook {
  subscriptionCalls = 0;
  constructor(readonly log: string[], id: string, priority: number) {
    super();
    this.hookId = id;
    this.priority = priority;
  }
  override afterTrainIter(): void { this.log.push(this.hookId!); }
  override getSubscriptions(): HookSubscription[] {
    this.subscriptionCalls++;
    return super.getSubscriptions();
  }
}

/** Rejected promise or thrown error of `fn`. */
async function failure(fn: () => unknown): Promise<Error> {
  try { await fn(); } catch (e) { return e as Error; }
  throw new Error('expected a failure');
}

describe('Dispatcher', () => {
  it('orders by priority, keeping registration order at equal priority', () => {
    const log: string[] = [];
    const d = new Dispatcher();
    const spec: Array<[string, number]> = [['a', 50], ['b', 30], ['c', 50], ['d', 70], ['e', 30], ['f', 50], ['g', 0], ['h', 100], ['i', 70]];
    for (const [id, p] of spec) d.add(new Logging(log, id, p));
    expect(d.hooks.map((h) => h.hookId)).to.deep.equal(['g', 'b', 'e', 'a', 'c', 'f', 'd', 'i', 'h']);
    expect(d.dispatch(event('afterTrainIter'), RUNNER)).to.equal(undefined);
    expect(log).to.deep.equal(['g', 'b', 'e', 'a', 'c', 'f', 'd', 'i', 'h']);
  });

  it('keeps the order after removing a hook, and re-inserts stably', () => {
    const log: string[] = [];
    const d = new Dispatcher();
    const b = new Logging(log, 'b', 50);
    d.add(new Logging(log, 'a', 50));
    d.add(b);
    d.add(new Logging(log, 'c', 50));
    expect(d.remove(b)).to.equal(true);
    expect(d.remove(b)).to.equal(false);
    d.add(b);
    d.dispatch(event('afterTrainIter'), RUNNER);
    expect(log).to.deep.equal(['a', 'c', 'b']);
  });

  it('refuses a hook without a priority', () => {
    const hook = new Hook();
    hook.hookId = 'loose';
    expect(() => new Dispatcher().add(hook)).to.throw(Error).with.property('message', 'loose has no priority; register it through the runner');
  });

  it('never calls a hook at a stage it does not subscribe to', () => {
    const d = new Dispatcher();
    const calls: string[] = [];
    class OnlyAfterTrainIter extends Hook {
      override afterTrainIter(): void { calls.push('afterTrainIter'); }
    }
    const hook = new OnlyAfterTrainIter();
    hook.priority = 50;
    // Instance-level methods do not subscribe; they would record a call if the dispatcher
    // called every stage method of every hook.
    for (const stage of ['beforeRun', 'beforeTrainIter', 'beforeIter', 'afterValIter', 'afterIter', 'afterEpoch'] as const) {
      hook[stage] = () => { calls.push(stage); };
    }
    d.add(hook);
    const stages: EventStage[] = ['beforeRun', 'beforeTrainEpoch', 'beforeTrainIter', 'afterTrainIter', 'afterTrainEpoch',
      'beforeValEpoch', 'beforeValIter', 'afterValIter', 'afterValEpoch', 'afterRun', 'beforeEpoch', 'afterEpoch'];
    for (let round = 0; round < 3; round++) for (const stage of stages) d.dispatch(event(stage), RUNNER);
    expect(calls).to.deep.equal(['afterTrainIter', 'afterTrainIter', 'afterTrainIter']);
    expect(d.callsFor('beforeTrainIter')).to.deep.equal([]);
    expect(d.callsFor('afterTrainIter').map((c) => [c.hook, c.subscription.stage])).to.deep.equal([[hook, 'afterTrainIter']]);
  });

  it('computes the per-stage plan once, and again only when the hooks change', () => {
    const log: string[] = [];
    const d = new Dispatcher();
    const a = new Logging(log, 'a', 50);
    const b = new Logging(log, 'b', 60);
    d.add(a);
    d.add(b);
    expect([a.subscriptionCalls, b.subscriptionCalls]).to.deep.equal([0, 0]);
    for (let i = 0; i < 100; i++) {
      d.dispatch(event('afterTrainIter', i), RUNNER);
      d.dispatch(event('beforeTrainIter', i), RUNNER);
    }
    expect([a.subscriptionCalls, b.subscriptionCalls]).to.deep.equal([1, 1]);
    expect(log).to.have.length(200);

    const c = new Logging(log, 'c', 10);
    d.add(c);
    for (let i = 0; i < 10; i++) d.dispatch(event('afterTrainIter'), RUNNER);
    expect([a.subscriptionCalls, b.subscriptionCalls, c.subscriptionCalls]).to.deep.equal([2, 2, 1]);
    expect(log.slice(-3)).to.deep.equal(['c', 'a', 'b']);

    d.remove(a);
    for (let i = 0; i < 10; i++) d.dispatch(event('afterTrainIter'), RUNNER);
    expect([a.subscriptionCalls, b.subscriptionCalls, c.subscriptionCalls]).to.deep.equal([2, 3, 2]);
    expect(log.slice(-2)).to.deep.equal(['c', 'b']);

    d.invalidate();
    d.dispatch(event('afterTrainIter'), RUNNER);
    expect([b.subscriptionCalls, c.subscriptionCalls]).to.deep.equal([4, 3]);
  });

  it('returns undefined when every hook is synchronous (and for stages nobody subscribes to)', () => {
    const d = new Dispatcher();
    d.add(new Logging([], 'a', 50));
    expect(d.dispatch(event('afterTrainIter'), RUNNER)).to.equal(undefined);
    expect(d.dispatch(event('afterRun'), RUNNER)).to.equal(undefined);
    expect(new Dispatcher().dispatch(event('afterRun'), RUNNER)).to.equal(undefined);
  });

  it('awaits a hook\'s promise before calling the next hook', async () => {
    const log: string[] = [];
    const d = new Dispatcher();
    const asyncHook = (id: string, ms: number) => {
      const h = new (class extends Hook {
        override async afterTrainIter(): Promise<void> {
          log.push(`${id} start`);
          await sleep(ms);
          log.push(`${id} end`);
        }
      })();
      h.hookId = id;
      return h;
    };
    const syncHook = (id: string) => {
      const h = new (class extends Hook {
        override afterTrainIter(): void { log.push(id); }
      })();
      h.hookId = id;
      return h;
    };
    const hooks = [syncHook('first'), asyncHook('slow', 30), syncHook('middle'), asyncHook('fast', 1), asyncHook('slower', 40), syncHook('last')];
    hooks.forEach((h, i) => { h.priority = i; d.add(h); });
    const pending = d.dispatch(event('afterTrainIter'), RUNNER);
    expect(pending).to.be.instanceOf(Promise);
    // Only the hooks up to the first pending promise ran synchronously.
    expect(log).to.deep.equal(['first', 'slow start']);
    await pending;
    expect(log).to.deep.equal(['first', 'slow start', 'slow end', 'middle', 'fast start', 'fast end', 'slower start', 'slower end', 'last']);
  });

  describe('errors', () => {
    const throwing = (id: string | undefined, fail: () => unknown) => {
      const h = new (class Thrower extends Hook {
        override afterTrainIter(): void | Promise<void> { return fail() as void; }
      })();
      if (id !== undefined) h.hookId = id;
      h.priority = 50;
      return h;
    };

    it('wraps a synchronous throw in a HookError naming the hook and stage, with the original as cause', () => {
      const d = new Dispatcher();
      const cause = new RangeError('disk full');
      const after: string[] = [];
      d.add(throwing('CheckpointHook', () => { throw cause; }));
      d.add(new Logging(after, 'later', 60));
      let error: unknown;
      try { d.dispatch(event('afterTrainIter'), RUNNER); } catch (e) { error = e; }
      expect(error).to.be.instanceOf(HookError);
      const hookError = error as HookError;
      expect(hookError.message).to.equal('hook CheckpointHook failed in afterTrainIter: disk full');
      expect(hookError.cause).to.equal(cause);
      expect([hookError.hookName, hookError.stage, hookError.label]).to.deep.equal(['CheckpointHook', 'afterTrainIter', 'afterTrainIter']);
      expect(after).to.deep.equal([]);
    });

    it('wraps a rejection the same way', async () => {
      const d = new Dispatcher();
      const cause = new TypeError('no network');
      d.add(throwing('uploader', async () => { await sleep(1); throw cause; }));
      const error = await failure(() => d.dispatch(event('afterTrainIter'), RUNNER));
      expect(error).to.be.instanceOf(HookError);
      expect(error.message).to.equal('hook uploader failed in afterTrainIter: no network');
      expect(error.cause).to.equal(cause);
    });

    it('wraps a synchronous throw after an async hook, and non-Error reasons', async () => {
      const d = new Dispatcher();
      const first = new (class extends Hook { override async afterTrainIter(): Promise<void> { await sleep(1); } })();
      first.priority = 10;
      d.add(first);
      d.add(throwing(undefined, () => { throw 'plain string'; }));
      const error = await failure(() => d.dispatch(event('afterTrainIter'), RUNNER));
      expect(error).to.be.instanceOf(HookError);
      expect(error.message).to.equal('hook Thrower failed in afterTrainIter: plain string');
      expect(error.cause).to.equal('plain string');
    });

    it('names the subscription when it is not the plain stage method', () => {
      class Piped extends Hook {
        override getSubscriptions(): HookSubscription[] {
          return [{ stage: 'afterTrainIter', label: 'lossWatch', handler: () => { throw new Error('NaN loss'); } }];
        }
      }
      const d = new Dispatcher();
      const hook = new Piped();
      hook.priority = 50;
      d.add(hook);
      expect(() => d.dispatch(event('afterTrainIter'), RUNNER)).to.throw(HookError)
        .with.property('message', 'hook Piped failed in afterTrainIter (lossWatch): NaN loss');
    });
  });

  it('times every call while a timer is attached', async () => {
    const d = new Dispatcher();
    d.add(new Logging([], 'a', 10));
    d.add(new Logging([], 'b', 20));
    let clock = 0;
    const records: Array<[string, string, string, number]> = [];
    const timer: CallTimer = {
      now: () => (clock += 5),
      record: (hook, stage, label, ms) => { records.push([hook!.hookId!, stage, label, ms]); },
    };
    d.setTimer(timer);
    await d.dispatch(event('afterTrainIter'), RUNNER);
    expect(records).to.deep.equal([['a', 'afterTrainIter', 'afterTrainIter', 5], ['b', 'afterTrainIter', 'afterTrainIter', 5]]);
    d.setTimer(undefined);
    expect(d.dispatch(event('afterTrainIter'), RUNNER)).to.equal(undefined);
    expect(records).to.have.length(2);
  });
});

describe('hook registration in a runner', () => {
  it('refuses to register the same instance twice', () => {
    const { runner } = tinyRunner();
    const hook = new OptimizerHook();
    runner.registerHook(hook);
    expect(() => runner.registerHook(hook, 'LOW')).to.throw(Error)
      .with.property('message', 'OptimizerHook is already registered (its priority is set); create a new instance to register it again');
    expect(runner.hooks).to.deep.equal([hook]);
    expect(hook.priority).to.equal(50);
  });

  it('numbers repeated classes: OptimizerHook, OptimizerHook#2, OptimizerHook#3', () => {
    const { runner } = tinyRunner();
    runner.registerHook(new OptimizerHook());
    runner.registerHookFromConfig({ type: 'OptimizerHook', priority: 'HIGH' });
    runner.registerHook(new OptimizerHook(), 'LOW');
    runner.registerHook(new IterTimerHook());
    expect(runner.hooks.map((h) => `${h.hookId}@${h.priority}`)).to.deep.equal(['OptimizerHook#2@30', 'OptimizerHook@50', 'IterTimerHook@50', 'OptimizerHook#3@70']);
  });

  it('refuses a duplicate explicit name with a ConfigError', () => {
    const { runner } = tinyRunner();
    runner.registerHookFromConfig({ type: 'IterTimerHook', name: 'timer' });
    const dup = (): unknown => runner.registerHookFromConfig({ type: 'OptimizerHook', name: 'timer' });
    expect(dup).to.throw(ConfigError).with.property('message', "name: hook id 'timer' is already used in this runner");
    // An explicit name may not take an id already given automatically either.
    runner.registerHook(new OptimizerHook());
    const taken = new IterTimerHook();
    taken.hookId = 'OptimizerHook';
    expect(() => runner.registerHook(taken)).to.throw(ConfigError).with.property('message', "name: hook id 'OptimizerHook' is already used in this runner");
    expect(runner.hooks.map((h) => h.hookId)).to.deep.equal(['timer', 'OptimizerHook']);
  });
});
