/**
 * Allreduce latency and bandwidth of hookflow's MPI process group, 1e3..1e7 floats, 2 ranks:
 *
 *   npm run build && node dist/bench/collectives.js [--np 2] [--rounds 15]
 *
 * Started without MPI, it runs itself under `mpirun` in four variants, interleaved job by job:
 * as hookflow runs (ranks on one machine sum through shared memory, collectives under 1 MiB
 * inline on the JS thread, larger ones on the thread pool, glibc told to keep large buffers on
 * the heap, see native/mpi/mpi.cc), with MPI_Allreduce instead of shared memory (as across
 * machines), without the glibc settings, and with every collective on the thread pool. Inside
 * each job, `MpiProcessGroup.allReduce` (the queue hookflow uses) and the bare binding call are
 * measured in interleaved rounds (stats.ts roundOrder). Rank 0 prints median wall time, CPU time per call (this rank) and
 * the algorithm bandwidth (bytes reduced / time), with the load average.
 */
import os from 'node:os';
import { MpiProcessGroup } from '../src/dist/mpi-process-group.js';
import { loadMpiBinding } from '../src/dist/mpi-binding.js';
import { runVariantsUnderMpirun } from './mpirun-variants.js';
import { median, roundOrder } from './stats.js';
import { numberFlag } from './flags.js';

const SIZES = [1e3, 1e4, 1e5, 1e6, 1e7];
interface Variant {
  mallopt: boolean;
  asyncBytes: number | undefined;
  nodeAllreduce: boolean;
}

function describe({ mallopt, asyncBytes, nodeAllreduce }: Variant): string {
  if (!mallopt) return 'WITHOUT the mallopt settings';
  if (asyncBytes === 0) return 'every collective on the thread pool';
  return nodeAllreduce ? 'as hookflow runs' : 'MPI_Allreduce instead of shared memory';
}

async function measure(variant: Variant, rounds: number): Promise<void> {
  const mpi = loadMpiBinding().addon!;
  mpi.init(variant);
  const group = new MpiProcessGroup(mpi);
  const rows: string[] = [];
  for (const size of SIZES) {
    const values = new Float32Array(size).fill(1);
    const calls = Math.max(3, Math.min(200, Math.round(2e7 / size / 10)));
    const variants: Record<string, () => Promise<unknown>> = {
      group: () => group.allReduce([values], 'sum'),
      binding: () => mpi.allreduce(values, 'sum'),
    };
    await variants.group!(); // first touch and connection set-up out of the figures
    const wall: Record<string, number[]> = { group: [], binding: [] };
    const cpu: Record<string, number[]> = { group: [], binding: [] };
    const names = Object.keys(variants);
    for (let r = 0; r < rounds; r++) {
      for (const name of roundOrder(names, r)) {
        await group.barrier();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) await variants[name]!();
        wall[name]!.push((performance.now() - t0) / calls);
        const c = process.cpuUsage(c0);
        cpu[name]!.push((c.user + c.system) / 1000 / calls);
      }
    }
    const ms = median(wall.group!);
    rows.push(`  ${size.toExponential(0).padEnd(6)} ${ms.toFixed(3).padStart(9)} ms  cpu ${median(cpu.group!).toFixed(3).padStart(8)} ms  ${((size * 4) / (ms / 1000) / 1e9).toFixed(2).padStart(6)} GB/s  | bare binding ${median(wall.binding!).toFixed(3)} ms`);
  }
  if (group.rank === 0) {
    console.log(`\nallreduce (sum, in place), np ${group.worldSize}, ${describe(variant)} (${group.transport}); load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log('  floats      wall/call   cpu/call (rank 0)   bandwidth  | same through the bare binding');
    for (const row of rows) console.log(row);
  }
  mpi.finalize();
}

if (process.env.OMPI_COMM_WORLD_SIZE) {
  const variant = {
    mallopt: !process.argv.includes('--no-mallopt'),
    asyncBytes: process.argv.includes('--all-on-pool') ? 0 : undefined,
    nodeAllreduce: !process.argv.includes('--mpi-allreduce'),
  };
  await measure(variant, numberFlag('rounds', 15));
} else {
  runVariantsUnderMpirun('collectives', import.meta.url, numberFlag('np', 2), process.argv.slice(2),
    [[], ['--mpi-allreduce'], ['--no-mallopt'], ['--all-on-pool'], [], ['--mpi-allreduce'], ['--no-mallopt'], ['--all-on-pool']]);
}
