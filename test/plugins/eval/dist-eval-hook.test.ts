import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { ConfigError } from '../../../src/core/errors.js';
import { singleProcessGroup, type ProcessGroup } from '../../../src/core/services.js';
import type { StageEvent } from '../../../src/core/stage-event.js';
import { Classifier } from '../../../src/runner/model/classifier.js';
import { SGD } from '../../../src/runner/optim/sgd.js';
import { DistEvalHook } from '../../../plugins/eval/dist-eval-hook.js';
import { EvalHook } from '../../../plugins/eval/eval-hook.js';
import { tinyRunner } from '../../helpers/tiny.js';

/** A classifier with batch normalization, so the model has buffers (moving mean and variance). */
function bnClassifier(): Classifier {
  const net = tf.sequential({ name: 'bn' });
  net.add(tf.layers.dense({ units: 8, inputShape: [4], name: 'fc', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  net.add(tf.layers.batchNormalization({ name: 'bn' }));
  net.add(tf.layers.dense({ units: 3, name: 'logits', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return new Classifier(net);
}

/**
 * Rank `rank` of a two-process group, in one process: the broadcast returns what rank 0 would
 * send (every value 7).
 */
function rankOf(rank: number): ProcessGroup & { broadcasts: number } {
  const group = {
    ...singleProcessGroup,
    rank,
    worldSize: 2,
    broadcasts: 0,
    allReduceMean: async (values: Float32Array[]) => values,
    broadcast: async (values: Float32Array[]) => {
      group.broadcasts++;
      return rank === 0 ? values : values.map((v) => new Float32Array(v.length).fill(7));
    },
  };
  return group;
}

async function evalRun(hookFrom: (val: ReturnType<typeof tinyRunner>['val']) => Record<string, unknown>, group?: ProcessGroup) {
  const model = bnClassifier();
  const t = tinyRunner({ model, optimizer: new SGD(model.params(), { lr: 0.1 }), ...(group ? { processGroup: group } : {}) });
  const events: StageEvent[] = [];
  t.runner.events$.subscribe((e) => events.push(e));
  t.runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ priority: 'LOW', ...hookFrom(t.val) }] });
  await t.runner.run([t.train], [['train', 1]]);
  const metrics = events.filter((e) => e.payload?.metrics).map((e) => e.payload!.metrics);
  const buffers = ['bn/moving_mean', 'bn/moving_variance'].map((k) => Array.from(model.namedWeights().get(k)!.dataSync()));
  return { ...t, metrics, buffers };
}

describe('DistEvalHook', () => {
  it('is an EvalHook with broadcastBnBuffer (default true), validated under its own name', () => {
    const { val } = tinyRunner();
    const hook = new DistEvalHook({ dataloader: val });
    expect(hook).to.be.instanceOf(EvalHook);
    expect(hook.broadcastBnBuffer).to.equal(true);
    expect(new DistEvalHook({ dataloader: val, broadcastBnBuffer: false }).broadcastBnBuffer).to.equal(false);
    expect(() => new DistEvalHook({ dataloader: val, broadcastBnBuffer: 1 } as never)).to.throw(ConfigError, 'DistEvalHook.broadcastBnBuffer: must be a boolean; got 1');
    expect(() => new DistEvalHook({ dataloader: val, interval: -2 })).to.throw(ConfigError, 'DistEvalHook.interval: must be a positive integer; got -2');
    expect(() => new EvalHook({ dataloader: val, broadcastBnBuffer: true } as never)).to.throw(ConfigError, "EvalHook: unknown option 'broadcastBnBuffer'");
    expect(() => new DistEvalHook()).to.throw(ConfigError, 'DistEvalHook.dataloader: is required');
  });

  it('with one rank, evaluates exactly as EvalHook', async () => {
    const plain = await evalRun((val) => ({ type: 'EvalHook', dataloader: val }));
    const dist = await evalRun((val) => ({ type: 'DistEvalHook', dataloader: val }));
    expect(dist.metrics).to.have.length(2);
    expect(dist.metrics).to.deep.equal(plain.metrics);
  });

  it("on rank 1: takes rank 0's buffers before each evaluation and leaves evaluating to rank 0", async () => {
    const group = rankOf(1);
    const { metrics, buffers, runner } = await evalRun((val) => ({ type: 'DistEvalHook', dataloader: val }), group);
    expect(group.broadcasts).to.equal(2);
    expect(metrics).to.deep.equal([]);
    expect(buffers).to.deep.equal([Array(8).fill(7), Array(8).fill(7)]);
    expect(runner.logBuffer.output.has('evalIterNum')).to.equal(false);
  });

  it('on rank 0: broadcasts, then evaluates; broadcastBnBuffer false skips the broadcast', async () => {
    const zero = rankOf(0);
    expect((await evalRun((val) => ({ type: 'DistEvalHook', dataloader: val }), zero)).metrics).to.have.length(2);
    expect(zero.broadcasts).to.equal(2);
    const quiet = rankOf(1);
    const run = await evalRun((val) => ({ type: 'DistEvalHook', dataloader: val, broadcastBnBuffer: false }), quiet);
    expect(quiet.broadcasts).to.equal(0);
    expect(run.buffers[0]).to.not.deep.equal(Array(8).fill(7));
  });
});
