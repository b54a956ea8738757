/**
 * Data-parallel scaling: training samples per second of the MNIST configs at `--nproc 2` against
 * one process, same per-process batch (so 2 processes train a global batch twice as large):
 *
 *   npm run build && node dist/bench/dist-scaling.js [--rounds 3] [--epochs N] [--configs mnist_mlp,mnist_cnn]
 *
 * Variants, reordered from round to round (stats.ts roundOrder):
 * - `none`: one process, `--launcher none` (what a user without MPI runs);
 * - `nproc 1`: one rank under mpirun;
 * - `nproc 2`: two ranks, gradients and log vars averaged every step (through shared memory);
 * - `nproc 2 MPI`: the same with `HOOKFLOW_MPI_ALLREDUCE=mpi` (MPI_Allreduce, as before the
 *   shared-memory path and as between machines);
 * - `2 alone`: two independent single processes at the same time (no MPI, no communication).
 *   This is the machine's ceiling for two processes: what `--nproc 2` would reach if its
 *   collectives cost nothing;
 * - `torch` and `torch DDP 2`: the peer, PyTorch as MMCV runs it on CPUs: one process, and two
 *   processes with DistributedDataParallel on gloo (bench/dist_scaling_torch.py; Debian's
 *   python3-torch, skipped with the reason when missing), the same model, batch per process,
 *   optimizer, clip and iterations per process.
 * Every process trains the same number of iterations: `--epochs` epochs of one process (default
 * 64 for the MLP, 32 for the CNN), so a 2-process run trains twice the epochs, each of half the
 * iterations per process. A process warms up over its first 2,000-4,000 iterations, while V8's
 * optimising compiler takes over hookflow's and tfjs's JavaScript (with `--no-opt` an MLP rank's
 * step stays at 2.1-2.2 ms; warm, it is 1.0-1.1 ms). Counting epochs measured a 2-process run,
 * whose epochs have half the iterations per process, inside that warm-up: until 2026-12-06 this
 * bench read 1.24x for the MLP's `--nproc 2` over `--nproc 1` where the steady state gives
 * 1.34-1.39x, and 1.53x for the CNN where it gives 1.61-1.68x (the same hour, the same host).
 * No evaluation, no checkpoints, the text logger every 10 iterations. Throughput comes from the
 * logged per-iteration times (IterTimerHook) of the second half of the epochs, averaged
 * (throughput is set by the mean step, slow ones included), so process start, data loading and
 * the warm-up are not counted. Printed per run: samples/s, CPU
 * seconds of all its processes (reaped children) and the load average; then the medians and
 * the ratios to `none` and to `nproc 1`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load-config.js';
import { loadMpiBinding } from '../src/dist/mpi-binding.js';
import { MNIST } from '../src/training/data/mnist.js';
import { median, roundOrder } from './stats.js';
import { PYTHON, torchEnv, torchMissing, writeTorchData } from './torch-child.js';
import { numberFlag, stringFlag } from './flags.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const cli = path.join(root, 'dist/src/cli/main.js');
/** Epochs of one process: the second half is past the warm-up of every variant (see above). */
const DEFAULT_EPOCHS: Record<string, number> = { mnist_mlp: 64, mnist_cnn: 32 };
/** Epochs of a run of `world` processes: the same iterations per process as one process's epochs. */
const epochsOf = (config: string, world = 1) => world * numberFlag('epochs', DEFAULT_EPOCHS[config] ?? 32);

/** CPU seconds used by reaped child processes so far (and their reaped children: mpirun's ranks). */
function childrenCpuSeconds(): number {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

type Variant = 'none' | 'nproc 1' | 'nproc 2' | 'nproc 2 MPI' | '2 alone' | 'torch' | 'torch DDP 2';
const HOOKFLOW_VARIANTS: Variant[] = ['none', 'nproc 1', 'nproc 2', 'nproc 2 MPI', '2 alone'];

/** Runs `file args`; resolves with its stdout and stderr together, rejects naming `what` when it exits non-zero. */
function runChild(what: string, file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(file, args, { env });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  return new Promise((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${what} failed:\n${output}`))));
  });
}

/** One `hookflow train` of `world` processes with `launch` arguments; resolves with its log's mean step time (s) over the second half of the epochs. */
async function train(config: string, world: number, launch: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const epochs = epochsOf(config, world);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-scaling-'));
  try {
    await runChild(`${config} ${launch.join(' ')}`, process.execPath, [cli, 'train', path.join(root, 'configs', `${config}.json`), ...launch, '--work-dir', workDir, '--no-progress', '--no-journal',
      '--cfg-options', `runner.maxEpochs=${epochs}`, 'workflow=[["train",1]]', 'customHooks=[{"type":"DistSamplerSeedHook"}]', 'checkpointConfig=null',
      'logConfig={"interval":10,"hooks":[{"type":"TextLoggerHook"}]}'], { ...process.env, HOOKFLOW_BACKEND: process.env.HOOKFLOW_BACKEND ?? 'wasm', ...env });
    const log = fs.readdirSync(workDir).find((f) => f.endsWith('.log.json'))!;
    const records = fs.readFileSync(path.join(workDir, log), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as { mode: string; epoch: number; time: number });
    // Steady state only: warm-up (JIT, first-touch memory, MPI's shared memory) costs the same
    // per process, so it would weigh twice as much on a 2-rank epoch, which has half the iterations.
    const times = records.filter((l) => l.mode === 'train' && l.epoch > epochs / 2).map((l) => l.time);
    return times.reduce((a, b) => a + b, 0) / times.length;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** PyTorch's run of the same training: one process, or `world` with DDP on gloo; resolves with samples/s of all processes. */
async function trainTorch(dataFile: string, config: string, batch: number, lr: number, world: number, samples: number): Promise<number> {
  const steps = epochsOf(config, world) * Math.floor(samples / (batch * world));
  const what = `torch ${config} world ${world}`;
  const output = await runChild(what, PYTHON, [path.join(root, 'bench', 'dist_scaling_torch.py'), dataFile, config.replace('mnist_', ''), String(batch), String(lr), String(world), String(steps)], torchEnv());
  const line = output.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${what} printed no result:\n${output}`);
  return (JSON.parse(line) as { samplesPerSecond: number }).samplesPerSecond;
}

interface Setup { config: string; batch: number; lr: number; samples: number; dataFile?: string }

/** Samples per second (all processes together) of one run of `variant`, with its CPU seconds and wall seconds. */
async function runVariant(setup: Setup, variant: Variant): Promise<{ samplesPerSecond: number; cpu: number; wall: number }> {
  const { config, batch } = setup;
  const cpu0 = childrenCpuSeconds();
  const t0 = performance.now();
  let samplesPerSecond: number;
  if (variant === '2 alone') {
    const steps = await Promise.all([train(config, 1, ['--launcher', 'none']), train(config, 1, ['--launcher', 'none'])]);
    samplesPerSecond = steps.reduce((sum, step) => sum + batch / step, 0);
  } else if (variant === 'torch' || variant === 'torch DDP 2') {
    samplesPerSecond = await trainTorch(setup.dataFile!, config, batch, setup.lr, variant === 'torch' ? 1 : 2, setup.samples);
  } else {
    const nproc = variant.startsWith('nproc 2') ? 2 : 1;
    const env = variant === 'nproc 2 MPI' ? { HOOKFLOW_MPI_ALLREDUCE: 'mpi' } : {};
    samplesPerSecond = (batch * nproc) / await train(config, nproc, variant === 'none' ? ['--launcher', 'none'] : ['--nproc', String(nproc)], env);
  }
  return { samplesPerSecond, cpu: childrenCpuSeconds() - cpu0, wall: (performance.now() - t0) / 1000 };
}

const missing = loadMpiBinding().reason;
if (missing) {
  console.log(`dist-scaling: skipped, ${missing}`);
} else {
  const rounds = numberFlag('rounds', 3);
  const torchReason = torchMissing();
  if (torchReason) console.log(`dist-scaling: the torch variants are skipped: ${torchReason}`);
  const variants = torchReason ? HOOKFLOW_VARIANTS : [...HOOKFLOW_VARIANTS, 'torch', 'torch DDP 2'] as Variant[];
  const mnist = new MNIST({ split: 'train' });
  const samples = mnist.labels.length;
  const dataFile = torchReason ? undefined : writeTorchData(mnist, samples);
  try {
    for (const config of stringFlag('configs', 'mnist_mlp,mnist_cnn').split(',')) {
      const loaded = await loadConfig(path.join(root, 'configs', `${config}.json`));
      const setup: Setup = {
        config, samples, dataFile,
        batch: (loaded.data as { train: { batchSize: number } }).train.batchSize,
        lr: (loaded.optimizer as { lr: number }).lr,
      };
      const epochs = epochsOf(config);
      const rates = Object.fromEntries(variants.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
      const iterations = epochs * Math.floor(samples / setup.batch);
      console.log(`\n${config}: ${iterations} iterations per process (${epochs} epochs of one process), mean step of the second half, batch ${setup.batch} per process`);
      for (let r = 0; r < rounds; r++) {
        const order = roundOrder(variants, r);
        for (const variant of order) {
          const run = await runVariant(setup, variant);
          rates[variant].push(run.samplesPerSecond);
          console.log(`  round ${r + 1} ${variant.padEnd(11)}: ${run.samplesPerSecond.toFixed(0).padStart(6)} samples/s  (wall ${run.wall.toFixed(1)} s incl. start-up, CPU ${run.cpu.toFixed(1)} s, load ${os.loadavg()[0]!.toFixed(2)})`);
        }
      }
      const m = Object.fromEntries(variants.map((v) => [v, median(rates[v])])) as Record<Variant, number>;
      console.log(`  median samples/s: ${variants.map((v) => `${v} ${m[v].toFixed(0)}`).join(', ')}`);
      console.log(`  --nproc 2 vs --nproc 1: ${(m['nproc 2'] / m['nproc 1']).toFixed(2)}x; vs one process: ${(m['nproc 2'] / m.none).toFixed(2)}x; `
        + `the machine's ceiling (2 alone vs one process): ${(m['2 alone'] / m.none).toFixed(2)}x; `
        + `shared memory vs MPI_Allreduce: ${(m['nproc 2'] / m['nproc 2 MPI']).toFixed(2)}x`);
      if (!torchReason) {
        console.log(`  PyTorch DDP 2 vs one PyTorch process: ${(m['torch DDP 2'] / m.torch).toFixed(2)}x; hookflow --nproc 2 vs PyTorch DDP 2: ${(m['nproc 2'] / m['torch DDP 2']).toFixed(2)}x`);
      }
    }
  } finally {
    if (dataFile) fs.rmSync(path.dirname(dataFile), { recursive: true, force: true });
  }
}
