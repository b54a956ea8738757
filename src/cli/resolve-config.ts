import path from 'node:path';
import { applyOverrides, loadConfig } from '../config/load-config.js';
import { describeValue } from '../core/describe-value.js';
import { ConfigError } from '../core/errors.js';

/** Command-line settings that land in the config (what `print-config` shows). */
export interface ConfigFlags {
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
}

/** Loads the config with overrides and command-line settings applied. Loads no tfjs. */
export async function resolveConfig(configPath: string, opts: ConfigFlags) {
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
