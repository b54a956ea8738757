import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { EmptyCacheHook, describeRelease, memorySnapshot } from '../../plugins/empty-cache-hook.js';
import { tinyRunner } from '../helpers/tiny.js';
import { hookPlan } from './hook-plan.js';

describe('EmptyCacheHook', () => {
  it("defaults to MMCV's afterEpoch only, subscribes to the enabled points only, and validates options", () => {
    const hook = new EmptyCacheHook();
    expect(hook.points).to.deep.equal(['afterEpoch']);
    expect(hook.getTriggeredStages()).to.deep.equal(['afterTrainEpoch', 'afterValEpoch']);
    expect(hook.getSubscriptions().map((s) => s.stage)).to.deep.equal(['afterTrainEpoch', 'afterValEpoch', 'afterEpoch']);
    const all = new EmptyCacheHook({ beforeEpoch: true, afterIter: true });
    expect(all.points).to.deep.equal(['beforeEpoch', 'afterEpoch', 'afterIter']);
    expect(all.getTriggeredStages()).to.deep.equal(['beforeTrainEpoch', 'afterTrainIter', 'afterTrainEpoch', 'beforeValEpoch', 'afterValIter', 'afterValEpoch']);
    expect(new EmptyCacheHook({ afterEpoch: false, afterIter: true }).getTriggeredStages()).to.deep.equal(['afterTrainIter', 'afterValIter']);
    expect(new EmptyCacheHook({ afterEpoch: false }).getSubscriptions()).to.deep.equal([]);
    expect(() => new EmptyCacheHook({ afterIter: 'yes' as never })).to.throw('EmptyCacheHook.afterIter: Invalid input: expected boolean, received string');
    expect(() => new EmptyCacheHook({ after_iter: true } as never)).to.throw("EmptyCacheHook: unknown option 'after_iter' (did you mean 'afterIter'?); allowed options: beforeEpoch, afterEpoch, afterIter");
  });

  it('sits at NORMAL in the epoch-end stages of the hook plan and nowhere else by default', () => {
    const { runner } = tinyRunner();
    runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'EmptyCacheHook' }] });
    const plan = hookPlan(runner.hookInfo());
    expect(plan.afterTrainEpoch).to.deep.equal(['(NORMAL) EmptyCacheHook']);
    expect(plan.afterValEpoch).to.deep.equal(['(NORMAL) EmptyCacheHook']);
    expect(plan.afterTrainIter).to.deep.equal(['(ABOVE_NORMAL) OptimizerHook', '(LOW) IterTimerHook']);
    expect(plan.beforeTrainEpoch).to.deep.equal(['(LOW) IterTimerHook']);
  });

  it('logs memory before and after at every enabled point of a real run, without touching live tensors', async () => {
    const { runner, train, val, logger, model } = tinyRunner({ maxEpochs: 2 });
    const hook = new EmptyCacheHook({ beforeEpoch: true, afterIter: true });
    runner.registerTrainingHooks({ optimizerConfig: {} });
    runner.registerHook(hook);
    const tensorsAfterIter: number[] = [];
    runner.addEventListener((e) => { if (e.stage === 'afterTrainIter') tensorsAfterIter.push(tf.memory().numTensors); });
    await runner.run([train, val], [['train', 1], ['val', 1]]);

    const lines = logger.lines.map((l) => l.message).filter((m) => m.startsWith('EmptyCacheHook'));
    const stages = lines.map((m) => /^EmptyCacheHook (\w+):/.exec(m)![1]);
    const epoch = (mode: 'Train' | 'Val') => [`before${mode}Epoch`, ...Array(3).fill(`after${mode}Iter`), `after${mode}Epoch`];
    expect(stages).to.deep.equal([...epoch('Train'), ...epoch('Val'), ...epoch('Train'), ...epoch('Val')]);
    for (const line of lines) {
      const m = /tensors (\d+) -> (\d+), tensor bytes (\d+) -> (\d+), JS array buffer bytes \d+ -> \d+ \((.+?)\)(, wasm heap bytes (\d+) \(wasm memory never shrinks\))?$/.exec(line);
      expect(m, line).to.not.equal(null);
      expect(m![1]).to.equal(m![2]);
      expect(m![3]).to.equal(m![4]);
      expect(m![5]).to.equal('no garbage collection: run node with --expose-gc');
      expect(m![6] !== undefined).to.equal(tf.getBackend() === 'wasm');
    }
    expect(hook.lastRelease!.stage).to.equal('afterValEpoch');
    expect(hook.lastRelease!.after.numTensors).to.equal(hook.lastRelease!.before.numTensors);
    expect(new Set(tensorsAfterIter).size).to.equal(1);
    // The model still works: nothing it holds was released.
    const logits = model.forward(tf.ones([2, 4]));
    expect(logits.shape).to.deep.equal([2, 3]);
    logits.dispose();
  });

  it('describes a release truthfully, with or without a garbage collection', () => {
    const before = { numTensors: 7, numBytes: 280, arrayBuffers: 5000 };
    expect(describeRelease({ stage: 'afterTrainEpoch', before, after: { ...before, arrayBuffers: 1000 }, collectedGarbage: true }))
      .to.equal('EmptyCacheHook afterTrainEpoch: tensors 7 -> 7, tensor bytes 280 -> 280, JS array buffer bytes 5000 -> 1000 (garbage collected)');
    const wasm = { ...before, wasmHeapBytes: 16777216 };
    expect(describeRelease({ stage: 'afterEpoch', before: wasm, after: wasm, collectedGarbage: false }))
      .to.equal('EmptyCacheHook afterEpoch: tensors 7 -> 7, tensor bytes 280 -> 280, JS array buffer bytes 5000 -> 5000 (no garbage collection: run node with --expose-gc), wasm heap bytes 16777216 (wasm memory never shrinks)');
    const now = memorySnapshot();
    expect(now.numTensors).to.equal(tf.memory().numTensors);
    expect(now.wasmHeapBytes !== undefined).to.equal(tf.getBackend() === 'wasm');
  });
});
