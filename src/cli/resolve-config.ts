import path from 'node:path';
import { applyOverrides, loadConfig } from '../config/load-config.js';

/** Command-line settings that land in the config (what `print-config` shows). */
export interface ConfigFlags {
  workDir?: string;
  resumeFrom?: string;
  autoResume?: boolean;
  cfgOptions?: string[];
  seed?: string;
  backend?: string;
  profileHooks?: boolean;
  journal?: boolean;
}

/** Loads the config with overrides and command-line settings applied. Loads no tfjs. */
export async function resolveConfig(configPath: string, opts: ConfigFlags) {
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
