/**
 * Data-parallel scaling: training samples per second of the MNIST configs at `--nproc 1` vs
 * `--nproc 2`, same per-process batch (so 2 processes train a global batch twice as large):
 *
 *   npm run build && node dist/bench/dist-scaling.js [--rounds 3] [--configs mnist_mlp,mnist_cnn]
 *
 * Each run is `hookflow train CONFIG --nproc N` for three epochs of training only (no
 * evaluation, no checkpoints, the text logger every 10 iterations). Throughput comes from the
 * logged per-iteration time (IterTimerHook) of the last epoch only, so process start, data
 * loading and warm-up are not counted. Rounds are interleaved (1 2, 2 1, ...). Printed per run: samples/s,
 * CPU seconds of all processes (from this process's reaped children) and the load average.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load-config.js';
import { loadMpiBinding } from '../src/dist/mpi-binding.js';
import { median } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const cli = path.join(root, 'dist/src/cli/main.js');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};

/** CPU seconds used by reaped child processes so far (and their reaped children: mpirun's ranks). */
function childrenCpuSeconds(): number {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** Epochs per run; the last one is measured. */
const EPOCHS = 3;

async function trainOnce(config: string, nproc: number): Promise<{ samplesPerSecond: number; cpu: number; wall: number; iters: number }> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-scaling-'));
  const cpu0 = childrenCpuSeconds();
  const t0 = performance.now();
  const result = spawnSync(process.execPath, [cli, 'train', path.join(root, 'configs', `${config}.json`), '--nproc', String(nproc), '--work-dir', workDir, '--no-progress', '--no-journal',
    '--cfg-options', `runner.maxEpochs=${EPOCHS}`, 'workflow=[["train",1]]', 'customHooks=[{"type":"DistSamplerSeedHook"}]', 'checkpointConfig=null',
    'logConfig={"interval":10,"hooks":[{"type":"TextLoggerHook"}]}'], { encoding: 'utf8', env: { ...process.env, HOOKFLOW_BACKEND: process.env.HOOKFLOW_BACKEND ?? 'wasm' } });
  const wall = (performance.now() - t0) / 1000;
  const cpu = childrenCpuSeconds() - cpu0;
  if (result.status !== 0) throw new Error(`${config} --nproc ${nproc} failed:\n${result.stdout}\n${result.stderr}`);
  const log = fs.readdirSync(workDir).find((f) => f.endsWith('.log.json'))!;
  const lines = fs.readFileSync(path.join(workDir, log), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as { mode: string; epoch: number; time: number });
  // Steady state only: the last epoch's records. Warm-up (JIT, first-touch memory, MPI's shared
  // memory) costs the same per process, so it would weigh twice as much on a 2-rank epoch, which
  // has half the iterations.
  const times = lines.filter((l) => l.mode === 'train' && l.epoch === EPOCHS).map((l) => l.time);
  const batch = ((await loadConfig(path.join(root, 'configs', `${config}.json`))).data as { train: { batchSize: number } }).train.batchSize;
  fs.rmSync(workDir, { recursive: true, force: true });
  return { samplesPerSecond: (batch * nproc) / median(times), cpu, wall, iters: times.length * 10 };
}

const missing = loadMpiBinding().reason;
if (missing) {
  console.log(`dist-scaling: skipped, ${missing}`);
} else {
  const rounds = Number(arg('--rounds', '3'));
  for (const config of arg('--configs', 'mnist_mlp,mnist_cnn').split(',')) {
    const rates: Record<number, number[]> = { 1: [], 2: [] };
    console.log(`\n${config}: steady state (epoch ${EPOCHS} of ${EPOCHS}), per-process batch as configured`);
    for (let r = 0; r < rounds; r++) {
      for (const nproc of r % 2 ? [2, 1] : [1, 2]) {
        const run = await trainOnce(config, nproc);
        rates[nproc]!.push(run.samplesPerSecond);
        console.log(`  round ${r + 1} --nproc ${nproc}: ${run.samplesPerSecond.toFixed(0).padStart(6)} samples/s  (wall ${run.wall.toFixed(1)} s incl. start-up, CPU ${run.cpu.toFixed(1)} s, load ${os.loadavg()[0]!.toFixed(2)})`);
      }
    }
    const [one, two] = [median(rates[1]!), median(rates[2]!)];
    console.log(`  median: --nproc 1 ${one.toFixed(0)} samples/s, --nproc 2 ${two.toFixed(0)} samples/s: ${(two / one).toFixed(2)}x`);
  }
}
