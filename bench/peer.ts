/**
 * Peer bench: time per training step of hookflow against a plain tfjs loop and PyTorch, on the
 * same MNIST samples, model, batch size, optimizer (SGD momentum 0.9, weight decay 1e-4) and
 * grad-norm clip 10, for configs/mnist_mlp.json and configs/mnist_cnn.json at batch 16/64/256.
 *
 * Variants, run in interleaved rounds (stats.ts roundOrder) so machine load hits them alike:
 *  - runner: hookflow's runner built from the config by buildFromConfig (its lr schedule,
 *    optimizer hook with clip, timer, text + tensorboard loggers, journal; checkpoints and the
 *    EvalHook left out since they are not per-step work); one long run, a round is one of its
 *    epochs (see epoch-rounds.ts),
 *  - parts:  the same model.trainStep + clipGradNorm + SGD.step without the runner,
 *  - tfjs:   a plain tfjs loop (variableGrads, clip, weight decay, tf.train.momentum),
 *  - torch:  PyTorch in a child process (`/usr/bin/python3`, Debian's python3-torch, one
 *    thread, OpenBLAS preloaded); skipped with the reason when it is not installed.
 * Each variant reports wall and CPU ms per step (medians over rounds).
 *
 * Run: npx tsc -p tsconfig.json && node dist/bench/peer.js [--configs mlp,cnn] [--batches 16,64,256]
 *      [--rounds 5] [--samples 9600]
 */
import 'reflect-metadata';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tf from '../src/backend/tfjs.js';
import { currentBackend, describeBackend } from '../src/backend/index.js';
import { loadConfig } from '../src/config/load-config.js';
import { buildFromConfig } from '../src/config/build-from-config.js';
import { MemoryLogger } from '../src/core/services.js';
import '../plugins/index.js';
import { DataLoader } from '../src/training/data/data-loader.js';
import { sliceDataset } from '../src/training/data/dataset.js';
import { MNIST } from '../src/training/data/mnist.js';
import { MODELS } from '../src/training/model/models.js';
import { releaseOutputs, type TrainableModel } from '../src/training/model/trainable-model.js';
import { clipGradNorm } from '../src/training/optim/clip-grad.js';
import { SGD } from '../src/training/optim/sgd.js';
import { epochRounds } from './epoch-rounds.js';
import { numberFlag, stringFlag } from './flags.js';
import { median, roundOrder } from './stats.js';
import { PYTHON, torchEnv, torchMissing, writeTorchData } from './torch-child.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const MAX_NORM = 10;
const WEIGHT_DECAY = 1e-4;
const MOMENTUM = 0.9;

/** One timed sample: wall and CPU milliseconds of a whole round. */
interface Sample { wall: number; cpu: number }
type Variant = (steps: number) => Promise<Sample>;

async function timed(fn: () => unknown | Promise<unknown>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await fn();
  const wall = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

/** Endless batches of `batchSize` from `loader`'s dataset, epoch after epoch. */
function* cycle(loader: DataLoader) {
  for (;;) yield* loader;
}

/** PyTorch in a child process, one round per `run` line; undefined (with the reason printed) if unavailable. */
async function torchVariant(dataFile: string, config: string, batch: number, lr: number): Promise<{ run: Variant; close: () => void; info: string } | undefined> {
  const missing = torchMissing();
  if (missing) {
    console.log(`  torch: skipped (${missing})`);
    return undefined;
  }
  const env = torchEnv();
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [path.join(repoRoot, 'bench', 'peer_torch.py'), dataFile, config, String(batch), String(lr)], { env });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += String(d); });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`torch child ended: ${stderr.trim().split('\n').at(-1) ?? ''}`);
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  let ready: Record<string, unknown>;
  try {
    ready = await next();
  } catch (error) {
    console.log(`  torch: skipped (${(error as Error).message}; needs Debian's python3-torch and python3-numpy)`);
    return undefined;
  }
  const info = `torch ${String(ready.torch)}, ${String(ready.threads)} thread, BLAS ${ready.openblas ? 'OpenBLAS' : 'NOT OpenBLAS'} (${(ready.libs as string[]).join(', ')}), sgemm 512³ ${String(ready.sgemm_gflops)} GFLOP/s`;
  return {
    info,
    run: async (steps) => {
      child.stdin.write(`run ${steps}\n`);
      return (await next()) as unknown as Sample;
    },
    close: () => child.stdin.end(),
  };
}

async function benchConfig(name: string, batch: number, rounds: number, samples: number, mnist: MNIST, dataFile: string): Promise<Record<string, Sample>> {
  const raw = await loadConfig(path.join(repoRoot, 'configs', `mnist_${name}.json`));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-peer-'));
  const data = raw.data as { train: Record<string, unknown> };
  const built = await buildFromConfig({
    ...raw,
    data: { train: { ...data.train, batchSize: batch } },
    checkpointConfig: null,
    customHooks: [{ type: 'DistSamplerSeedHook' }],
    workflow: [['train', 1]],
    runner: { type: 'EpochBasedRunner', maxEpochs: 1_000_000 },
    workDir,
    backend: process.env.HOOKFLOW_BACKEND ?? raw.backend ?? 'auto',
  }, { logger: new MemoryLogger() });
  const { runner } = built;
  const lr = (raw.optimizer as { lr: number }).lr;
  const modelConfig = raw.model as Record<string, unknown>;
  const steps = Math.max(10, Math.round(samples / batch));
  // The runner runs one "epoch" per round over a slice of exactly `steps` batches.
  const roundData = sliceDataset(mnist, 0, steps * batch);
  const input = { ...roundData, sampleShape: (modelConfig.inputShape as number[] | undefined) ?? mnist.sampleShape };
  const runnerLoader = new DataLoader(input, { batchSize: batch, shuffle: true, seed: 0, dropLast: true });
  const runnerEpochs = epochRounds(runner, [runnerLoader], [['train', 1]]);

  const partsModel = MODELS.build({ seed: 0, ...modelConfig }) as TrainableModel;
  const partsOpt = new SGD(partsModel.params(), { lr, momentum: MOMENTUM, weightDecay: WEIGHT_DECAY });
  const partsBatches = cycle(new DataLoader(input, { batchSize: batch, shuffle: true, seed: 0, dropLast: true }));

  const net = (MODELS.build({ seed: 0, ...modelConfig }) as TrainableModel).net!;
  const weights = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const tfOpt = tf.train.momentum(lr, MOMENTUM);
  const tfBatches = cycle(new DataLoader(input, { batchSize: batch, shuffle: true, seed: 0, dropLast: true }));

  const variants: Record<string, Variant> = {
    runner: (n) => timed(async () => {
      if (n !== steps) throw new Error('runner rounds have a fixed length');
      await runnerEpochs.epoch();
    }),
    parts: (n) => timed(() => {
      for (let i = 0; i < n; i++) {
        const b = partsBatches.next().value!;
        const out = partsModel.trainStep(b);
        clipGradNorm(out.grads!, { maxNorm: MAX_NORM });
        partsOpt.step(out.grads!);
        releaseOutputs(out);
        b.dispose();
      }
    }),
    tfjs: (n) => timed(() => {
      for (let i = 0; i < n; i++) {
        const b = tfBatches.next().value!;
        const loss = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(b.y, net.apply(b.x, { training: true }) as tf.Tensor) as tf.Scalar, weights);
          const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
          const scale = tf.minimum(1, tf.div(MAX_NORM, tf.add(norm, 1e-6)));
          const named: tf.NamedTensorMap = {};
          for (const w of weights) named[w.name] = tf.add(tf.mul(grads[w.name]!, scale), tf.mul(w, WEIGHT_DECAY));
          tfOpt.applyGradients(named as Record<string, tf.Variable>);
          return value;
        });
        loss.dataSync();
        loss.dispose();
        b.dispose();
      }
    }),
  };
  const torch = await torchVariant(dataFile, name, batch, lr);
  if (torch) variants.torch = torch.run;

  const names = Object.keys(variants);
  const samplesBy: Record<string, Sample[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = -1; r < rounds; r++) { // round -1 warms up kernels and JIT
    for (const v of roundOrder(names, r + 1)) {
      const s = await variants[v]!(steps);
      if (r >= 0) samplesBy[v]!.push(s);
    }
  }
  torch?.close();
  await runnerEpochs.finish();
  tfOpt.dispose();
  partsOpt.dispose();
  fs.rmSync(workDir, { recursive: true, force: true });
  const result: Record<string, Sample> = {};
  for (const v of names) {
    result[v] = { wall: median(samplesBy[v]!.map((s) => s.wall)) / steps, cpu: median(samplesBy[v]!.map((s) => s.cpu)) / steps };
  }
  if (torch && batch === Number(stringFlag('batches', '16,64,256').split(',')[0])) console.log(`  ${torch.info}`);
  return result;
}

const configs = stringFlag('configs', 'mlp,cnn').split(',');
const batches = stringFlag('batches', '16,64,256').split(',').map(Number);
const rounds = numberFlag('rounds', 5);
const mnist = new MNIST({ split: 'train' });
// The bundled train split holds 8,000 digits: never ask for more (a missing label is NaN to torch).
const samples = Math.min(numberFlag('samples', 9600), mnist.labels.length);
const dataFile = writeTorchData(mnist, Math.min(Math.max(samples, 256 * 10), mnist.labels.length));
const fmt = (x: number) => x.toFixed(2).padStart(7);
try {
  for (const config of configs) {
    for (const batch of batches) {
      const load = os.loadavg()[0]!.toFixed(2);
      const r = await benchConfig(config, batch, rounds, samples, mnist, dataFile);
      const backend = describeBackend(currentBackend()!);
      console.log(`\nmnist_${config}, batch ${batch}, backend ${backend}, load ${load} -> ${os.loadavg()[0]!.toFixed(2)} (median of ${rounds} interleaved rounds, ms/step)`);
      console.log(`  ${'variant'.padEnd(8)} ${'cpu'.padStart(7)} ${'wall'.padStart(7)} ${'cpu/torch'.padStart(10)} ${'wall/torch'.padStart(10)}`);
      for (const [v, s] of Object.entries(r)) {
        const t = r.torch;
        console.log(`  ${v.padEnd(8)} ${fmt(s.cpu)} ${fmt(s.wall)} ${t ? fmt(s.cpu / t.cpu).padStart(10) : ''.padStart(10)} ${t ? fmt(s.wall / t.wall).padStart(10) : ''}`);
      }
      if (r.runner && r.parts) console.log(`  runner/parts: cpu ${(r.runner.cpu / r.parts.cpu).toFixed(3)}, wall ${(r.runner.wall / r.parts.wall).toFixed(3)}`);
    }
  }
} finally {
  fs.rmSync(path.dirname(dataFile), { recursive: true, force: true });
}
