/**
 * For MPI benches that run themselves under `mpirun`: started without MPI, a bench script runs
 * itself once per variant (extra arguments), one job after the other so the variants interleave.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadMpiBinding } from '../src/dist/mpi-binding.js';
import { mpirunCommand } from '../src/dist/mpirun-command.js';

/**
 * Runs the script at `scriptUrl` under `mpirun -np np` once per entry of `variants` (its
 * arguments, plus the variant's), or says why not when the MPI binding is missing. A failed job
 * sets the exit code.
 */
export function runVariantsUnderMpirun(name: string, scriptUrl: string, np: number, args: readonly string[], variants: readonly string[][]): void {
  const missing = loadMpiBinding().reason;
  if (missing) {
    console.log(`${name}: skipped, ${missing}`);
    return;
  }
  const self = fileURLToPath(scriptUrl);
  for (const variant of variants) {
    const { file, args: mpiArgs } = mpirunCommand({ nproc: np, isRoot: process.getuid?.() === 0, cores: os.availableParallelism() }, [process.execPath, self, ...args, ...variant]);
    if (spawnSync(file, mpiArgs, { stdio: 'inherit' }).status !== 0) process.exitCode = 1;
  }
}
