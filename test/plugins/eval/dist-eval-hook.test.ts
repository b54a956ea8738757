import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '../../../src/backend/tfjs.js';
import { expect } from 'chai';
import { ConfigError } from '../../../src/core/errors.js';
import { MemoryLogger, singleProcessGroup, type ProcessGroup } from '../../../src/core/services.js';
import type { StageEvent } from '../../../src/core/stage-event.js';
import { runOnLocalRanks } from '../../../src/dist/local-process-groups.js';
import { DataLoader } from '../../../src/training/data/data-loader.js';
import { sliceDataset } from '../../../src/training/data/dataset.js';
import { DistributedSampler } from '../../../src/training/data/distributed-sampler.js';
import { Synthetic } from '../../../src/training/data/synthetic.js';
import { EpochBasedRunner } from '../../../src/runner/epoch-based-runner.js';
import { Classifier } from '../../../src/training/model/classifier.js';
import { MLPClassifier } from '../../../src/training/model/models.js';
import { SGD } from '../../../src/training/optim/sgd.js';
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

async function evalRun(hookFrom: (val: ReturnType<typeof tinyRunner>['val']) => Record<string, unknown>, group?: ProcessGroup, seed = 0) {
  const model = bnClassifier();
  const t = tinyRunner({ model, seed, optimizer: new SGD(model.params(), { lr: 0.1 }), ...(group ? { processGroup: group } : {}) });
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

  it("with several ranks: every rank takes rank 0's buffers before evaluating (broadcastBnBuffer), unless told not to", async () => {
    for (const broadcastBnBuffer of [true, false]) {
      const ranks = await runOnLocalRanks(2, (group) => evalRun((val) => ({ type: 'DistEvalHook', dataloader: val, broadcastBnBuffer }), group, group.rank));
      // Each rank trained its batch-norm statistics on its own data (seeded by rank here).
      expect(ranks[1]!.buffers).to.deep.equal(broadcastBnBuffer ? ranks[0]!.buffers : ranks[1]!.buffers);
      if (!broadcastBnBuffer) expect(ranks[1]!.buffers).to.not.deep.equal(ranks[0]!.buffers);
      // The val loader is not sharded: rank 0 evaluates it whole, says so once, and every rank gets the metrics.
      expect(ranks[0]!.metrics).to.have.length(2);
      expect(ranks[1]!.metrics).to.deep.equal(ranks[0]!.metrics);
      expect(ranks[0]!.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([
        'DistEvalHook: the val loader is not sharded across ranks (no DistributedSampler), so rank 0 evaluates all of it',
      ]);
    }
  });

  it('with several ranks: each evaluates its shard, rank 0 merges them in dataset order and computes the metrics every rank gets; rank 0 alone saves the best', async () => {
    const single = await shardedEval(singleProcessGroup, 'EvalHook');
    const ranks = await runOnLocalRanks(2, (group) => shardedEval(group, 'DistEvalHook'));
    try {
      expect(single.metrics).to.have.length(3);
      expect(ranks[1]!.metrics).to.deep.equal(ranks[0]!.metrics);
      ranks[0]!.metrics.forEach((m, i) => {
        expect(m.accuracy).to.equal(single.metrics[i]!.accuracy);
        expect(m.loss).to.be.closeTo(single.metrics[i]!.loss!, 1e-5);
      });
      expect(ranks[1]!.hook.bestScore).to.equal(ranks[0]!.hook.bestScore);
      expect(ranks[0]!.files.filter((f) => f.startsWith('best_'))).to.deep.equal(single.files.filter((f) => f.startsWith('best_')));
      expect(ranks[0]!.files.some((f) => f.startsWith('best_accuracy_epoch_'))).to.equal(true);
      expect(ranks[1]!.files).to.deep.equal([]);
      expect([...single.warnings, ...ranks[0]!.warnings, ...ranks[1]!.warnings]).to.deep.equal([]);
    } finally {
      [single, ...ranks].forEach((r) => fs.rmSync(r.workDir, { recursive: true, force: true }));
    }
  });

  it('a plain EvalHook in a run of several ranks warns once, on rank 0, that it scores only its shard', async () => {
    const ranks = await runOnLocalRanks(2, (group) => shardedEval(group, 'EvalHook'));
    try {
      expect(ranks[0]!.warnings).to.deep.equal([
        "EvalHook in a run of 2 processes scores only this rank's shard of the val loader (1/2 of it), and saveBest follows that score; use DistEvalHook, which gathers every shard (the same results with one process)",
      ]);
      expect(ranks[1]!.warnings).to.deep.equal([]);
    } finally {
      ranks.forEach((r) => fs.rmSync(r.workDir, { recursive: true, force: true }));
    }
  });
});

/**
 * Trains an MLP on 24 samples (8 a step in all) for 3 epochs and evaluates 7 val samples after
 * each with saveBest; with several ranks, both loaders are sharded with a DistributedSampler.
 */
async function shardedEval(group: ProcessGroup, type: 'EvalHook' | 'DistEvalHook') {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-disteval-'));
  const model = MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed: 0 });
  const all = new Synthetic({ numSamples: 31, inputShape: [4], numClasses: 3, seed: 1, separation: 1 });
  const [train, val] = [sliceDataset(all, 0, 24), sliceDataset(all, 24, 31)];
  const shard = (length: number, shuffle: boolean) => (group.worldSize > 1 ? new DistributedSampler(length, { rank: group.rank, worldSize: group.worldSize, shuffle, seed: 0 }) : undefined);
  const trainLoader = new DataLoader(train, { batchSize: 8 / group.worldSize, shuffle: true, sampler: shard(24, true) });
  const valLoader = new DataLoader(val, { batchSize: 2, sampler: shard(7, false) });
  const logger = new MemoryLogger();
  const runner = new EpochBasedRunner({ model, optimizer: new SGD(model.params(), { lr: 0.3 }), logger, workDir, processGroup: group, maxEpochs: 3 });
  runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type, dataloader: valLoader, saveBest: 'accuracy', priority: 'LOW' }] });
  const events: StageEvent[] = [];
  runner.events$.subscribe((e) => events.push(e));
  await runner.run([trainLoader], [['train', 1]]);
  const metrics = events.filter((e) => e.payload?.metrics).map((e) => e.payload!.metrics as Record<string, number>);
  const hook = runner.hooks.find((h) => h instanceof EvalHook) as EvalHook;
  const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
  return { metrics, hook, workDir, warnings, files: fs.readdirSync(workDir).sort() };
}
