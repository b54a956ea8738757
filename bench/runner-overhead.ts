/**
 * Runner overhead on the MNIST MLP (784-128-10, batch 64, SGD momentum 0.9), in one run:
 *  - hookflow's EpochBasedRunner with the default hook set (OptimizerHook, IterTimerHook,
 *    TextLoggerHook every 50 iterations to a temp dir),
 *  - a hand-written tfjs loop doing the same updates on the same batches,
 *  - tfjs `model.fit` with equivalent callbacks (a batch-end logger every 50 batches).
 * Variants run interleaved; medians of the epoch times are compared as ratios.
 * Run: npx tsc -p tsconfig.json && node dist/bench/runner-overhead.js [--epochs-per-sample 1] [--rounds 5]
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '../src/backend/tfjs.js';
import { selectBackend } from '../src/backend/index.js';
import { MemoryLogger } from '../src/core/services.js';
import '../src/hooks/index.js';
import { DataLoader } from '../src/training/data/data-loader.js';
import { MNIST } from '../src/training/data/mnist.js';
import { EpochBasedRunner } from '../src/runner/epoch-based-runner.js';
import { MLPClassifier } from '../src/training/model/models.js';
import { releaseOutputs } from '../src/training/model/trainable-model.js';
import { SGD } from '../src/training/optim/sgd.js';
import { epochRounds } from './epoch-rounds.js';
import { formatPairedRatio, interleaved, interleavedWallCpu, pairedRatio, printTable, type PairedRatio } from './stats.js';
import { numberFlag } from './flags.js';

/** What {@link benchRunnerOverhead} measured. */
export interface RunnerOverhead {
  /** Median ms per epoch (wall, process CPU) of each variant. */
  wall: Record<string, number>;
  cpu: Record<string, number>;
  /** runner / raw, paired by round (see pairedRatio): wall, process CPU, JS thread CPU. */
  ratio: Record<'wall' | 'cpu' | 'jsThread', PairedRatio>;
  load: number;
  backend: string;
  leaked: number;
  iterations: number;
}

export async function benchRunnerOverhead(rounds = 5): Promise<RunnerOverhead> {
  const backend = await selectBackend(process.env.HOOKFLOW_BACKEND ?? 'auto');
  const dataset = new MNIST({ split: 'train' });
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-bench-'));

  // Each variant has its own model and optimizer, all trained on identical batch sequences.
  const runnerModel = MLPClassifier({ seed: 1 });
  const runner = new EpochBasedRunner({
    model: runnerModel, optimizer: new SGD(runnerModel.params(), { lr: 0.05, momentum: 0.9 }),
    workDir, logger: new MemoryLogger(), maxEpochs: 1_000_000,
  });
  runner.registerTrainingHooks({ optimizerConfig: {}, logConfig: { interval: 50, hooks: [{ type: 'TextLoggerHook' }] } });
  const runnerLoader = new DataLoader(dataset, { batchSize: 64, shuffle: true, seed: 0 });
  // One long run, one epoch per round: a real run starts and ends once.
  const runnerEpochs = epochRounds(runner, [runnerLoader], [['train', 1]]);

  const rawModel = MLPClassifier({ seed: 1 });
  const rawOpt = new SGD(rawModel.params(), { lr: 0.05, momentum: 0.9 });
  const rawLoader = new DataLoader(dataset, { batchSize: 64, shuffle: true, seed: 0 });

  const fitModel = MLPClassifier({ seed: 1 }).net;
  fitModel.compile({ optimizer: tf.train.momentum(0.05, 0.9), loss: (y: tf.Tensor, p: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, p) });
  const fitLoader = new DataLoader(dataset, { batchSize: dataset.length });
  const all = fitLoader.makeBatch(Int32Array.from({ length: dataset.length }, (_, i) => i));
  let fitLogged = 0;

  const variants = {
    runner: () => runnerEpochs.epoch(),
    raw: () => {
      let i = 0;
      for (const batch of rawLoader) {
        const out = rawModel.trainStep(batch);
        rawOpt.step(out.grads!);
        releaseOutputs(out);
        batch.dispose();
        if (++i % 50 === 0) fitLogged += out.loss;
      }
    },
    fit: async () => {
      await fitModel.fit(all.x, all.y, {
        batchSize: 64, epochs: 1, shuffle: true, verbose: 0,
        callbacks: { onBatchEnd: async (batch, logs) => { if ((batch + 1) % 50 === 0) fitLogged += logs?.loss ?? 0; } },
      });
    },
  };
  await interleaved(variants, 1); // warm-up: kernels, JIT
  const { wall: times, cpu, samples } = await interleavedWallCpu(variants, rounds);
  const paired = (of: Record<string, number[]>) => pairedRatio(of.runner!, of.raw!);
  const start = tf.memory().numTensors;
  await variants.runner();
  const leaked = tf.memory().numTensors - start;
  await runnerEpochs.finish();
  all.dispose();
  fs.rmSync(workDir, { recursive: true, force: true });
  if (!Number.isFinite(fitLogged)) throw new Error('the fit variant logged a non-finite loss');
  return {
    wall: times, cpu, ratio: { wall: paired(samples.wall), cpu: paired(samples.cpu), jsThread: paired(samples.jsThread) },
    load: os.loadavg()[0]!, backend: backend.active, leaked, iterations: runnerLoader.length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchRunnerOverhead(numberFlag('rounds', 5));
  const ms = (variant: string) => `${r.wall[variant]!.toFixed(0)} ms (${(r.wall[variant]! / r.iterations).toFixed(2)} ms/iter), CPU ${r.cpu[variant]!.toFixed(0)} ms`;
  printTable(`runner overhead: MNIST MLP, one epoch of ${r.iterations} iterations, backend ${r.backend}, median of interleaved rounds, load ${r.load.toFixed(2)}`, [
    ['hookflow runner + default hooks', ms('runner')],
    ['hand-written tfjs loop', ms('raw')],
    ['tfjs model.fit + callbacks', ms('fit')],
    ['runner / raw, wall', formatPairedRatio(r.ratio.wall)],
    ['runner / raw, process CPU', formatPairedRatio(r.ratio.cpu)],
    ['runner / raw, JS thread CPU', formatPairedRatio(r.ratio.jsThread)],
    ['runner / fit', `${(r.wall.runner! / r.wall.fit!).toFixed(3)} (CPU ${(r.cpu.runner! / r.cpu.fit!).toFixed(3)})`],
    ['tensors leaked by one runner epoch', `${r.leaked}`],
  ]);
  console.log('  (runner / raw: the median over rounds of the two variants\' ratio in the same round, [quartiles])');
}
