import { ConfigError } from '../core/errors.js';
import { singleProcessGroup, type ProcessGroup } from '../core/services.js';
import { parseLauncher, rankFromEnv, unwiredLaunch, type EnvRecord, type Launcher } from './launcher.js';
import { loadMpiBinding, type MpiAllreduce, type MpiBinding } from './mpi-binding.js';
import { MpiProcessGroup } from './mpi-process-group.js';

/** The distributed context of this process, once {@link initDist} has run. */
export interface DistContext {
  readonly launcher: Launcher;
  readonly processGroup: ProcessGroup;
  /** The binding when MPI is initialised (for {@link abortJob} and finalize). */
  readonly mpi?: MpiBinding;
}

let current: DistContext | undefined;

/** This process's distributed context: the one {@link initDist} made, or a single process. */
export function distContext(): DistContext {
  return current ?? { launcher: 'none', processGroup: singleProcessGroup };
}

/**
 * Joins the job this process was started in (MMCV's `init_dist(launcher)`): `none` is one
 * process; `mpi` (mpirun, `hookflow train --nproc N`) and `slurm` (`srun --mpi=pmix`) initialise
 * Open MPI through hookflow's binding. Fails with a {@link ConfigError} (exit 2), before any
 * training, when the binding or Open MPI is missing, or when the launcher started several tasks
 * that MPI does not see as one job.
 */
export function initDist(launcherName: string | undefined): DistContext {
  const launcher = parseLauncher(launcherName);
  if (current) {
    if (current.launcher !== launcher) throw new Error(`initDist: already initialised with launcher '${current.launcher}'`);
    return current;
  }
  if (launcher === 'none') return (current = { launcher, processGroup: singleProcessGroup });
  const allreduce = mpiAllreduceFromEnv();
  const unwired = unwiredLaunch(launcher);
  if (unwired) throw new ConfigError('--launcher', unwired);
  const loaded = loadMpiBinding();
  if (!loaded.addon) throw new ConfigError('--launcher', `'${launcher}' cannot start: ${loaded.reason}`);
  const processGroup = new MpiProcessGroup(loaded.addon, allreduce);
  const expected = rankFromEnv(launcher);
  if (expected && expected.worldSize !== processGroup.worldSize) {
    const hint = launcher === 'slurm' ? 'start it with `srun --mpi=pmix` (see `srun --mpi=list`)' : 'start it with the mpirun of the Open MPI hookflow was built against';
    loaded.addon.finalize();
    throw new ConfigError('--launcher', `'${launcher}': ${expected.source} say ${expected.worldSize} processes but MPI sees a world of ${processGroup.worldSize}; ${hint}`);
  }
  current = { launcher, processGroup, mpi: loaded.addon };
  return current;
}

/**
 * `HOOKFLOW_MPI_ALLREDUCE`: `auto` (the default: through shared memory among the ranks of each
 * machine) or `mpi` (always MPI_Allreduce over all ranks), checked before MPI starts.
 */
export function mpiAllreduceFromEnv(env: EnvRecord = process.env): MpiAllreduce {
  const value = env.HOOKFLOW_MPI_ALLREDUCE ?? 'auto';
  if (value !== 'auto' && value !== 'mpi') throw new ConfigError('HOOKFLOW_MPI_ALLREDUCE', `must be one of auto, mpi, not '${value}'`);
  return value;
}

/** Ends this process's part of an MPI job cleanly (every rank calls it after training). */
export function finalizeDist(): void {
  current?.mpi?.finalize();
}

/** `rank N: ` in a job of several processes, else nothing. */
export function rankPrefix(): string {
  const group = distContext().processGroup;
  return group.worldSize > 1 ? `rank ${group.rank}: ` : '';
}

/**
 * Ends the whole job after this rank failed: MPI_Abort, so `mpirun` stops every other rank
 * (which may be waiting in a collective for this one, with no timeout) and exits non-zero. Call
 * it after printing the error. In a job of one it only finalizes MPI, and the caller exits normally.
 */
export function abortJob(exitCode: number): void {
  const { mpi, processGroup } = distContext();
  if (!mpi) return;
  if (processGroup.worldSize > 1) mpi.abort(exitCode || 1);
  mpi.finalize();
}
