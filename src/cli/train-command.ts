import path from 'node:path';
import { buildFromConfig, validateConfig } from '../config/build-from-config.js';
import { applyOverrides, loadConfig } from '../config/load-config.js';
import { consoleLogger } from '../core/services.js';
import { Priority } from '../core/priority.js';
import { WorkDirLock } from '../runner/work-dir-lock.js';
import { ProgressBarHook } from './progress-bar-hook.js';
import { guardRun } from './process-guard.js';

/** Options of `hookflow train`. */
export interface TrainCommandOptions {
  workDir?: string;
  resumeFrom?: string;
  autoResume?: boolean;
  cfgOptions?: string[];
  seed?: string;
  backend?: string;
  profileHooks?: boolean;
  journal?: boolean;
  progress?: boolean;
}

/** Loads the config with overrides and command-line settings applied (what print-config shows). */
export async function resolveConfig(configPath: string, opts: Pick<TrainCommandOptions, 'cfgOptions' | 'workDir' | 'seed' | 'backend' | 'resumeFrom' | 'autoResume' | 'profileHooks' | 'journal'>) {
  const raw = applyOverrides(await loadConfig(configPath), opts.cfgOptions ?? []);
  if (opts.workDir) raw.workDir = opts.workDir;
  raw.workDir ??= path.join('work_dirs', path.basename(configPath).replace(/\.[^.]+$/, ''));
  if (opts.seed !== undefined) raw.seed = Number(opts.seed);
  if (opts.backend) raw.backend = opts.backend;
  if (opts.resumeFrom) raw.resumeFrom = opts.resumeFrom;
  if (opts.autoResume) raw.autoResume = true;
  if (opts.profileHooks) raw.profileHooks = true;
  if (opts.journal === false) raw.journal = false;
  return raw;
}

/** `hookflow train CONFIG`: build everything from the config, then run the workflow. */
export async function trainCommand(configPath: string, opts: TrainCommandOptions): Promise<void> {
  const raw = await resolveConfig(configPath, opts);
  validateConfig(raw); // a config error leaves no work dir behind
  // One trainer per work dir; under mpirun only rank 0 writes there, so only it takes the lock.
  const lock = typeof raw.workDir === 'string' && (process.env.OMPI_COMM_WORLD_RANK ?? '0') === '0' ? WorkDirLock.acquire(raw.workDir, consoleLogger) : undefined;
  const release = () => lock?.release();
  process.once('exit', release);
  try {
    const progress = opts.progress !== false && process.stdout.isTTY ? new ProgressBarHook() : undefined;
    const built = await buildFromConfig(raw, { logger: progress?.logger ?? consoleLogger });
    const { runner, dataLoaders, workflow } = built;
    if (progress) runner.registerHook(progress, Priority.LOWEST);
    const done = guardRun(runner);
    await runner.run(dataLoaders, workflow);
    done();
  } finally {
    release();
    process.off('exit', release);
  }
}
