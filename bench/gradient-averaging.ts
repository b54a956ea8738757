/**
 * What data-parallel gradient averaging costs one process, apart from the network: the MNIST
 * MLP (784-128-10, batch 64) train step and SGD update, without and with GradientBuckets
 * packing the gradients into flat buckets, one identity all-reduce per bucket (a group that
 * returns its input: no transport) and unpacking them into new tensors. Variants run
 * interleaved; medians of `--steps` steps are compared. CPU time is the process's, for all of it.
 * Run: npx tsc -p tsconfig.json && node dist/bench/gradient-averaging.js [--steps 50] [--rounds 5] [--bucket-mb 25]
 */
import 'reflect-metadata';
import os from 'node:os';
import * as tf from '../src/backend/tfjs.js';
import { selectBackend } from '../src/backend/index.js';
import { singleProcessGroup, type ProcessGroup } from '../src/core/services.js';
import { DataLoader, type DataBatch } from '../src/training/data/data-loader.js';
import { Synthetic } from '../src/training/data/synthetic.js';
import { MLPClassifier } from '../src/training/model/models.js';
import { GradientBuckets } from '../src/training/optim/gradient-buckets.js';
import { SGD } from '../src/training/optim/sgd.js';
import { interleaved, printTable } from './stats.js';
import { numberFlag } from './flags.js';

/** Two ranks as far as the buckets can tell, with an all-reduce that changes nothing. */
const identityGroup: ProcessGroup = { ...singleProcessGroup, worldSize: 2 };

async function main(): Promise<void> {
  const steps = numberFlag('steps', 50);
  const rounds = numberFlag('rounds', 5);
  const bucketMb = numberFlag('bucket-mb', 25);
  const backend = await selectBackend(process.env.HOOKFLOW_BACKEND ?? 'auto');
  const loader = new DataLoader(new Synthetic({ numSamples: 64 * 8, inputShape: [784], numClasses: 10 }), { batchSize: 64 });
  const batches: DataBatch[] = [...loader];
  const model = MLPClassifier({ inputShape: [784], hiddenUnits: [128], numClasses: 10 });
  const optimizer = new SGD(model.params(), { lr: 0.01, momentum: 0.9 });
  const buckets = new GradientBuckets(identityGroup, bucketMb);
  const run = (average: boolean) => async () => {
    for (let s = 0; s < steps; s++) {
      const { grads } = model.trainStep(batches[s % batches.length]!);
      if (average) await buckets.averageTensors(grads!);
      optimizer.step(grads!);
      for (const g of grads!.values()) g.dispose();
    }
  };
  const variants = { 'train step + SGD': run(false), 'train step + bucketed averaging + SGD': run(true) };
  const cpu = process.cpuUsage();
  await interleaved(variants, 1); // warm-up: kernels, JIT, optimizer slots
  const tensors = tf.memory().numTensors;
  const times = await interleaved(variants, rounds);
  const used = process.cpuUsage(cpu);
  const floats = [...model.params().values()].reduce((n, v) => n + v.size, 0);
  const plain = times['train step + SGD']!;
  const averaged = times['train step + bucketed averaging + SGD']!;
  printTable(`gradient averaging: MNIST MLP (${floats} floats, ${buckets.layout.length} bucket(s) of <= ${bucketMb} MB), batch 64, ${steps} steps, backend ${backend.active}, median of ${rounds} interleaved rounds`, [
    ['train step + SGD', `${plain.toFixed(0)} ms (${(plain / steps).toFixed(2)} ms/step)`],
    ['with bucketed averaging', `${averaged.toFixed(0)} ms (${(averaged / steps).toFixed(2)} ms/step)`],
    ['averaging per step', `${((averaged - plain) / steps).toFixed(2)} ms`],
    ['ratio', (averaged / plain).toFixed(3)],
    ['CPU time (user + system), all rounds', `${((used.user + used.system) / 1000).toFixed(0)} ms`],
    ['tensors leaked', String(tf.memory().numTensors - tensors)],
    ['load average (1, 5, 15 min)', os.loadavg().map((l) => l.toFixed(2)).join(', ')],
  ]);
  batches.forEach((b) => b.dispose());
}

await main();
