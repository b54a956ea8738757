// The watchdog's clock (see dist-watchdog.ts): runs in its own thread so it fires even while
// the training thread is blocked inside an MPI call.
import fs from 'node:fs';
import { workerData } from 'node:worker_threads';
import { loadMpiBinding } from './mpi-binding.js';

const { lastBeat, seconds, rank, exitCode } = workerData as { lastBeat: BigInt64Array; seconds: number; rank: number; exitCode: number };
const limitMs = seconds * 1000;

setInterval(() => {
  const idle = Date.now() - Number(Atomics.load(lastBeat, 0));
  if (idle < limitMs) return;
  fs.writeSync(2, `rank ${rank}: no iteration finished in ${seconds} s (--dist-timeout); aborting the job\n`);
  const mpi = loadMpiBinding().addon;
  if (mpi) mpi.abort(exitCode);
  process.kill(process.pid, 'SIGKILL');
}, Math.min(1000, limitMs / 4));
