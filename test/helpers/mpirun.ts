import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMpiBinding } from '../../src/dist/mpi-binding.js';
import { mpirunCommand } from '../../src/dist/mpirun-command.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled CLI. */
export const CLI = path.resolve(here, '../../src/cli/main.js');

/** What each of `np` ranks wrote to `<dir>/rank<N>.json`, in rank order (the MPI test children's convention). */
export function readRankFiles<T>(dir: string, np: number): T[] {
  return Array.from({ length: np }, (_, r) => JSON.parse(fs.readFileSync(path.join(dir, `rank${r}.json`), 'utf8')) as T);
}

/** Why the real MPI tests cannot run here (no mpirun, or the binding is not built), or undefined. */
export function mpiMissing(): string | undefined {
  if (spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).error) return 'mpirun is not on the PATH (apt-get install openmpi-bin libopenmpi-dev)';
  return loadMpiBinding().reason;
}

/** What a finished process printed and how it ended. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs `command` to its end, or kills its whole process group after `timeoutMs` (so no rank is
 * left behind when a test fails), with the wasm backend.
 */
export function runToEnd(file: string, args: string[], options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  const started = Date.now();
  const child = spawn(file, args, { cwd: options.cwd, detached: true, env: { ...process.env, HOOKFLOW_BACKEND: 'wasm', ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => {
    stderr += `\n[test] killed after ${options.timeoutMs} ms`;
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
  }, options.timeoutMs ?? 120000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* no leftovers */ }
      resolve({ code, signal, stdout, stderr, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** `mpirun -np N` (with the flags this machine needs) of a compiled node script. */
export function mpirunNode(np: number, script: string, args: string[], options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  // Always --oversubscribe: other jobs may hold this machine's cores.
  const { file, args: mpiArgs } = mpirunCommand({ nproc: np, isRoot: process.getuid?.() === 0, cores: 1 }, [process.execPath, script, ...args]);
  return runToEnd(file, mpiArgs, options);
}

/** `hookflow ARGS` in `cwd`, to its end. */
export function hookflowCli(args: string[], cwd: string, timeoutMs = 120000): Promise<Finished> {
  return runToEnd(process.execPath, [CLI, ...args], { cwd, timeoutMs });
}
