import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { ConfigError } from '../core/errors.js';
import { loadMpiBinding, MPI_PACKAGES } from './mpi-binding.js';
import { mpirunCommand, rankArguments, type MpirunSettings } from './mpirun-command.js';

/**
 * `hookflow train ... --nproc N`: runs the same train command as N ranks under `mpirun` on this
 * machine and resolves with mpirun's exit code. SIGINT and SIGTERM are passed on to mpirun, which
 * passes them to every rank: by `guard` when given (it receives the function that stops mpirun
 * and returns the one to call once mpirun has exited: the CLI's process guard), else by
 * listeners of its own. Fails with a {@link ConfigError} (exit 2) at once when the binding or
 * `mpirun` is missing.
 */
export async function launchNproc(cliScript: string, trainArgs: readonly string[], settings: Pick<MpirunSettings, 'nproc' | 'timeout'>,
  guard?: (stop: () => void) => () => void): Promise<number> {
  const loaded = loadMpiBinding();
  if (!loaded.addon) throw new ConfigError('--nproc', loaded.reason);
  const { file, args } = mpirunCommand({
    ...settings,
    isRoot: process.getuid?.() === 0,
    cores: os.availableParallelism(),
  }, [process.execPath, ...process.execArgv, cliScript, 'train', ...rankArguments(trainArgs, process.stdout.isTTY === true)]);
  const child = spawn(file, args, { stdio: 'inherit' });
  const release = guard ? guard(() => child.kill('SIGTERM')) : forwardSignals(child);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT'
        ? new ConfigError('--nproc', `needs Open MPI's mpirun on the PATH: on Debian/Ubuntu \`sudo apt-get install ${MPI_PACKAGES}\``)
        : error));
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
    });
  } finally {
    release();
  }
}

/** Passes SIGINT and SIGTERM on to `child` until the returned function is called. */
function forwardSignals(child: ChildProcess): () => void {
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return () => {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  };
}
