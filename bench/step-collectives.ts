/**
 * What the runner's collectives cost a data-parallel step, and so how well a model of a given
 * step time can scale at 2 ranks on this machine:
 *
 *   npm run build && node dist/bench/step-collectives.js [--np 2] [--rounds 3]
 *
 * Each rank repeats the step pattern of a multi-rank training iteration around a synthetic
 * compute (a fixed amount of arithmetic calibrated once per process to take C ms, so a busy
 * machine stretches it as it stretches a model: 70% before the gradient all-reduce, 30% after)
 * with the runner's collectives: the gradient all-reduce (the MNIST models' gradient sizes, one
 * bucket, with the 3 log-var floats riding at its end) and the stop agreement (1 float). A process of one
 * rank runs the compute alone, as `--nproc 1` does. Printed per (nominal compute, floats): ms
 * per step alone (the step time that counts: V8 does not always run the synthetic work at its
 * calibrated speed, and the nominal 5 ms case measured about 14 ms here), ms per step at np
 * ranks, the collectives' cost per step, and the scaling bound `np x alone / step`: what
 * `--nproc np` can reach at best with that step time. Variants, interleaved by round: as
 * hookflow runs (collectives under 1 MiB inline on the JS thread) and every one on the thread pool.
 */
import os from 'node:os';
import { MpiProcessGroup } from '../src/dist/mpi-process-group.js';
import { loadMpiBinding } from '../src/dist/mpi-binding.js';
import { runVariantsUnderMpirun } from './mpirun-variants.js';
import { median } from './stats.js';
import { numberFlag } from './flags.js';

/** (compute ms, gradient floats): the MLP's and the CNN's steps and gradient sizes, measured. */
const CASES: Array<[number, number]> = [[1.9, 101_770], [5, 87_242]];
const STEPS = 200;
let sink = 0;
/** `n` rounds of dependent floating-point work (the result is kept so it is not optimised away). */
function work(n: number): void {
  let x = sink;
  for (let i = 0; i < n; i++) x = x * 0.999999 + 1e-7;
  sink = x;
}

/** Work rounds per millisecond on this core: the fastest of several short timings. */
function calibrate(): number {
  let best = 0;
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    work(1e5);
    best = Math.max(best, 1e5 / (performance.now() - t0));
  }
  return best;
}
const perMs = calibrate();
const busy = (ms: number) => work(Math.round(ms * perMs));

/** ms per step of `steps` steps with `compute` ms of work and, with a group, the runner's collectives. */
async function steps(group: MpiProcessGroup | undefined, compute: number, grads: Float32Array): Promise<number> {
  const stop = new Float32Array(1);
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) {
    busy(compute * 0.7);
    if (group) {
      await group.allReduce([grads], 'mean');
    }
    busy(compute * 0.3);
    if (group) await group.allReduce([stop], 'min');
  }
  return (performance.now() - t0) / STEPS;
}

async function rank(asyncBytes: number | undefined, rounds: number): Promise<void> {
  const mpi = loadMpiBinding().addon!;
  mpi.init({ asyncBytes });
  const group = new MpiProcessGroup(mpi);
  const lines: string[] = [];
  for (const [compute, floats] of CASES) {
    const grads = new Float32Array(floats + 3).fill(1);
    await steps(group, compute, grads); // warm-up: first touch, connections, JIT
    const alone: number[] = [];
    const together: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await group.barrier();
      // Every rank computes alone at the same time, as one `--nproc 1` process would.
      alone.push(await steps(undefined, compute, grads));
      await group.barrier();
      together.push(await steps(group, compute, grads));
    }
    const [a, t] = [median(alone), median(together)];
    lines.push(`  ${compute.toFixed(1).padStart(4)} ms  ${String(floats).padStart(7)}  ${a.toFixed(3).padStart(7)} ms  ${t.toFixed(3).padStart(7)} ms  ${(t - a).toFixed(3).padStart(6)} ms  ${((group.worldSize * a) / t).toFixed(2).padStart(5)}x`);
  }
  if (group.rank === 0) {
    const variant = asyncBytes === 0 ? 'every collective on the thread pool' : 'as hookflow runs (collectives under 1 MiB inline)';
    console.log(`\nnp ${group.worldSize}, ${variant}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log('  nominal   floats    alone   np ranks  collectives  bound');
    for (const line of lines) console.log(line);
  }
  mpi.finalize();
}

if (process.env.OMPI_COMM_WORLD_SIZE) {
  await rank(process.argv.includes('--all-on-pool') ? 0 : undefined, numberFlag('rounds', 3));
} else {
  const passOn = process.argv.slice(2).filter((a, i, all) => a !== '--np' && all[i - 1] !== '--np');
  runVariantsUnderMpirun('step-collectives', import.meta.url, numberFlag('np', 2), passOn, [[], ['--all-on-pool'], [], ['--all-on-pool']]);
}
