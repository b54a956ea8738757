import { ConfigError } from '../core/errors.js';

/** Environment variables (a plain record, so hookflow's declarations need no @types/node). */
export type EnvRecord = Readonly<Record<string, string | undefined>>;

/** How the processes of a job were started (MMCV's `--launcher`). */
export const LAUNCHERS = ['none', 'mpi', 'slurm'] as const;
export type Launcher = (typeof LAUNCHERS)[number];

/** A process's place in its job, as its launcher reports it in the environment. */
export interface RankFromEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  /** The variables it came from, for messages. */
  source: string;
}

/** Checks a `--launcher` value, naming the allowed ones. */
export function parseLauncher(value: string | undefined): Launcher {
  const launcher = value ?? 'none';
  if (!(LAUNCHERS as readonly string[]).includes(launcher)) throw new ConfigError('--launcher', `must be one of ${LAUNCHERS.join(', ')}, not '${launcher}'`);
  return launcher as Launcher;
}

function integer(env: EnvRecord, name: string): number | undefined {
  const text = env[name];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * Rank, world size and local rank from the launcher's environment: Open MPI's `mpirun`
 * (`OMPI_COMM_WORLD_*`), a PMI launcher (`PMI_RANK`/`PMI_SIZE`, `PMIX_RANK`) or Slurm's `srun`
 * (`SLURM_PROCID`/`SLURM_NTASKS`/`SLURM_LOCALID`). MPI itself is the authority once initialised;
 * this is for messages before that, and to catch a launcher that did not wire MPI up.
 */
export function rankFromEnv(launcher: Launcher, env: EnvRecord = process.env): RankFromEnv | undefined {
  const read = (rank: string, size: string, local: string, source: string): RankFromEnv | undefined => {
    const r = integer(env, rank);
    const s = integer(env, size);
    return r === undefined || s === undefined ? undefined : { rank: r, worldSize: s, localRank: integer(env, local) ?? 0, source };
  };
  if (launcher === 'slurm') return read('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID', 'SLURM_PROCID/SLURM_NTASKS');
  if (launcher === 'mpi') {
    return read('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE')
      ?? read('PMI_RANK', 'PMI_SIZE', 'MPI_LOCALRANKID', 'PMI_RANK/PMI_SIZE');
  }
  return undefined;
}

/**
 * Why MPI cannot join the tasks of this job, judged from the environment before MPI starts
 * (Open MPI aborts inside MPI_Init with a message about a NULL communicator otherwise), or
 * undefined. Debian's Open MPI joins `srun` tasks only through PMIx: `srun --mpi=pmix` sets
 * `PMIX_RANK`; `--mpi=none` and `--mpi=pmi2` start the tasks without it.
 */
export function unwiredLaunch(launcher: Launcher, env: EnvRecord = process.env): string | undefined {
  if (launcher !== 'slurm') return undefined;
  const tasks = rankFromEnv('slurm', env)?.worldSize ?? 1;
  if (tasks <= 1 || env.PMIX_RANK !== undefined) return undefined;
  return `'slurm': srun started ${tasks} tasks without PMIx (PMIX_RANK is not set), so MPI cannot join them into one job; start it with \`srun --mpi=pmix\` (see \`srun --mpi=list\`) or set MpiDefault=pmix in slurm.conf`;
}
