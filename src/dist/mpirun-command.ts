import { ConfigError } from '../core/errors.js';

/** What decides the `mpirun` flags of `hookflow train --nproc N`. */
export interface MpirunSettings {
  nproc: number;
  /** Running as root (mpirun refuses without `--allow-run-as-root`). */
  isRoot: boolean;
  /** Cores on this machine (more ranks need `--oversubscribe`). */
  cores: number;
  /** mpirun's `--timeout`: the whole job ends after this many seconds. */
  timeout?: number;
}

/** Options of `hookflow train` that belong to the launching process, not to the ranks. */
const LAUNCH_OPTIONS = new Set(['--nproc', '--timeout', '--launcher']);

/** Reads `--nproc`, naming the option on bad input. */
export function parseNproc(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError('--nproc', `must be a whole number of processes >= 1, not '${text}'`);
  return n;
}

/** Reads a number of seconds for `option`, naming it on bad input. */
export function parseSeconds(option: string, text: string): number {
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0) throw new ConfigError(option, `must be a positive number of seconds, not '${text}'`);
  return s;
}

/**
 * The train command line each rank runs: the user's arguments without the launch-only ones
 * (`--nproc`, `--timeout`, any `--launcher`, in `--opt value` or `--opt=value` form), then
 * `--launcher mpi`, and `--no-progress` unless the launcher writes to a terminal: under mpirun
 * every rank's stdout is a pty, so a rank cannot tell that the output goes to a file or a pipe.
 */
export function rankArguments(trainArgs: readonly string[], launcherOnTerminal: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < trainArgs.length; i++) {
    const arg = trainArgs[i]!;
    const name = arg.startsWith('--') ? arg.split('=')[0]! : '';
    if (!LAUNCH_OPTIONS.has(name)) out.push(arg);
    else if (!arg.includes('=')) i++;
  }
  out.push('--launcher', 'mpi');
  if (!launcherOnTerminal && !out.includes('--no-progress')) out.push('--no-progress');
  return out;
}

/**
 * `mpirun` and its arguments for `nproc` ranks of `command` (e.g. node, the CLI, `train`, the
 * rank arguments): `--allow-run-as-root` as root, `--oversubscribe` with more ranks than cores,
 * `--bind-to none` with fewer, `--timeout` when asked. Ranks find MPI through the environment
 * mpirun gives them.
 */
export function mpirunCommand(settings: MpirunSettings, command: readonly string[]): { file: string; args: string[] } {
  const args = ['-np', String(settings.nproc)];
  if (settings.isRoot) args.push('--allow-run-as-root');
  if (settings.nproc > settings.cores) args.push('--oversubscribe');
  // Open MPI binds each of 1 or 2 ranks to one core. A Node rank also runs V8's GC and compiler
  // threads (about 0.1 core): bound, they take turns with the rank on its core, while cores no
  // rank uses stay idle. MNIST MLP at --nproc 1 on 2 cores: 1.2 ms per step bound, 0.95 unbound.
  if (settings.nproc < settings.cores) args.push('--bind-to', 'none');
  if (settings.timeout !== undefined) args.push('--timeout', String(Math.ceil(settings.timeout)));
  return { file: 'mpirun', args: [...args, ...command] };
}
