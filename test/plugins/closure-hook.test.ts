import { expect } from 'chai';
import { HOOKS } from '../../src/core/hooks-registry.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { ClosureHook } from '../../plugins/closure-hook.js';
import { tinyRunner } from '../helpers/tiny.js';
import { hookPlan } from './hook-plan.js';

const ALLOWED = 'beforeRun, beforeTrainEpoch, beforeTrainIter, afterTrainIter, afterTrainEpoch, beforeValEpoch, beforeValIter, afterValIter, afterValEpoch, afterRun, beforeEpoch, afterEpoch, beforeIter, afterIter, onException';

describe('ClosureHook', () => {
  it('validates fnName against the stage and aggregate names, and fn as a function', () => {
    const fn = () => {};
    expect(() => new ClosureHook({ fnName: 'after_epoch' as never, fn })).to.throw(`ClosureHook.fnName: must be a stage, aggregate or exception method name, one of ${ALLOWED}; got "after_epoch"`);
    expect(() => new ClosureHook({ fnName: 'afterEpoch', fn: 3 as never })).to.throw('ClosureHook.fn: must be a function; got number');
    expect(() => new ClosureHook(undefined as never)).to.throw(`ClosureHook.fnName: must be a stage, aggregate or exception method name, one of ${ALLOWED}; got undefined; ClosureHook.fn: must be a function; got undefined`);
    expect(() => new ClosureHook({ fnName: 'afterRun', fn, funcName: 'x' } as never)).to.throw("ClosureHook: unknown option 'funcName' (did you mean 'fnName'?); allowed options: fnName, fn");
    expect(HOOKS.get('ClosureHook')).to.equal(ClosureHook);
  });

  it('subscribes to the stages behind fnName (unlike MMCV, where it is invisible to get_hook_info)', () => {
    const fn = () => {};
    expect(new ClosureHook({ fnName: 'beforeRun', fn }).getTriggeredStages()).to.deep.equal(['beforeRun']);
    expect(new ClosureHook({ fnName: 'afterEpoch', fn }).getTriggeredStages()).to.deep.equal(['afterTrainEpoch', 'afterValEpoch']);
    expect(new ClosureHook({ fnName: 'beforeIter', fn }).getSubscriptions().map((s) => s.stage)).to.deep.equal(['beforeTrainIter', 'beforeValIter']);
    // IterBasedRunner calls the epoch aggregates directly, so those are subscribed too.
    expect(new ClosureHook({ fnName: 'afterEpoch', fn }).getSubscriptions().map((s) => s.stage)).to.deep.equal(['afterTrainEpoch', 'afterValEpoch', 'afterEpoch']);
  });

  it('runs fn with the runner at its stages in a real run, built from config, and shows in the hook plan', async () => {
    const { runner, train, val } = tinyRunner({ maxEpochs: 2 });
    const epochs: Array<[string, number]> = [];
    let iterations = 0;
    runner.registerTrainingHooks({
      optimizerConfig: {},
      customHooksConfig: [
        { type: 'ClosureHook', fnName: 'afterEpoch', fn: (r: BaseRunner) => { epochs.push([r.mode!, r.epoch]); } },
        { type: 'ClosureHook', fnName: 'afterIter', fn: () => { iterations++; } },
      ],
    });
    const plan = hookPlan(runner.hookInfo());
    expect(plan.afterTrainEpoch).to.deep.equal(['(NORMAL) ClosureHook']);
    expect(plan.afterValEpoch).to.deep.equal(['(NORMAL) ClosureHook']);
    expect(plan.afterTrainIter).to.deep.equal(['(ABOVE_NORMAL) OptimizerHook', '(NORMAL) ClosureHook', '(LOW) IterTimerHook']);
    expect(plan.beforeRun).to.equal(undefined);
    await runner.run([train, val], [['train', 1], ['val', 1]]);
    expect(epochs).to.deep.equal([['train', 0], ['val', 1], ['train', 1], ['val', 2]]);
    expect(iterations).to.equal(12); // 3 train + 3 val iterations, twice
  });

  it('awaits an async fn before the stage goes on, and runs the epoch aggregate once on an IterBasedRunner', async () => {
    const { runner, train } = tinyRunner({ kind: 'iter', maxIters: 3 });
    const seen: string[] = [];
    runner.registerHook(new ClosureHook({
      fnName: 'afterEpoch',
      fn: async (r) => {
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(`afterEpoch at iter ${r.iter}`);
      },
    }));
    runner.registerHook(new ClosureHook({ fnName: 'afterRun', fn: () => { seen.push('afterRun'); } }));
    runner.registerTrainingHooks({ optimizerConfig: {} });
    await runner.run([train], [['train', 1]]);
    expect(seen).to.deep.equal(['afterEpoch at iter 3', 'afterRun']);
  });
});
