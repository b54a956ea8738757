import path from 'node:path';
import { buildFromConfig } from '../config/build-from-config.js';
import { applyOverrides, loadConfig } from '../config/load-config.js';
import { describeValue } from '../core/describe-value.js';
import { ConfigError } from '../core/errors.js';
import { consoleLogger } from '../core/services.js';
import { Priority } from '../core/priority.js';
import { ProgressBarHook } from './progress-bar-hook.js';

/** Options of `hookflow train`. */
export interface TrainCommandOptions {
  workDir?: string;
  resumeFrom?: string;
  autoResume?: boolean;
  /** false (`--no-resume`): start from scratch whatever the config and the work dir hold. */
  resume?: boolean;
  cfgOptions?: string[];
  seed?: string;
  backend?: string;
  profileHooks?: boolean;
  journal?: boolean;
  progress?: boolean;
}

/** Loads the config with overrides and command-line settings applied (what print-config shows). */
export async function resolveConfig(configPath: string, opts: Pick<TrainCommandOptions, 'cfgOptions' | 'workDir' | 'seed' | 'backend' | 'resumeFrom' | 'autoResume' | 'resume' | 'profileHooks' | 'journal'>) {
  const raw = applyOverrides(await loadConfig(configPath), opts.cfgOptions ?? []);
  // Checked before --work-dir replaces it: a broken config stays broken whatever the flags say.
  if (raw.workDir !== undefined && (typeof raw.workDir !== 'string' || raw.workDir === '')) {
    throw new ConfigError('config.workDir', `must be a non-empty string (a directory); got ${describeValue(raw.workDir)}`);
  }
  if (opts.workDir) raw.workDir = opts.workDir;
  raw.workDir ??= path.join('work_dirs', path.basename(configPath).replace(/\.[^.]+$/, ''));
  if (opts.seed !== undefined) raw.seed = Number(opts.seed);
  if (opts.backend) raw.backend = opts.backend;
  if (opts.resumeFrom) raw.resumeFrom = opts.resumeFrom;
  if (opts.autoResume) raw.autoResume = true;
  if (opts.resume === false) {
    delete raw.resumeFrom;
    raw.autoResume = false;
  }
  if (opts.profileHooks) raw.profileHooks = true;
  if (opts.journal === false) raw.journal = false;
  return raw;
}

/** `hookflow train CONFIG`: build everything from the config, then run the workflow. */
export async function trainCommand(configPath: string, opts: TrainCommandOptions): Promise<void> {
  const raw = await resolveConfig(configPath, opts);
  const progress = opts.progress !== false && process.stdout.isTTY ? new ProgressBarHook() : undefined;
  const built = await buildFromConfig(raw, { logger: progress?.logger ?? consoleLogger });
  const { runner, dataLoaders, workflow } = built;
  if (progress) runner.registerHook(progress, Priority.LOWEST);
  await runner.run(dataLoaders, workflow);
}
