import path from 'node:path';
import { buildFromConfig, validateConfig } from '../config/build-from-config.js';
import { applyOverrides, loadConfig } from '../config/load-config.js';
import { consoleLogger } from '../core/services.js';
import { Priority } from '../core/priority.js';
import { ProgressBarHook } from './progress-bar-hook.js';
import { DistWatchdogHook } from '../dist/dist-watchdog.js';
import { finalizeDist, initDist } from '../dist/init-dist.js';
import { launchNproc } from '../dist/launch-nproc.js';
import { parseNproc, parseSeconds } from '../dist/mpirun-command.js';

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
  launcher?: string;
  nproc?: string;
  timeout?: string;
  distTimeout?: string;
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
  const distTimeout = opts.distTimeout === undefined ? undefined : parseSeconds('--dist-timeout', opts.distTimeout);
  if (opts.nproc !== undefined) {
    const timeout = opts.timeout === undefined ? undefined : parseSeconds('--timeout', opts.timeout);
    const trainArgs = process.argv.slice(process.argv.indexOf('train', 2) + 1);
    // A config error is reported once, here, rather than by every rank.
    validateConfig(await resolveConfig(configPath, opts));
    process.exitCode = await launchNproc(process.argv[1]!, trainArgs, { nproc: parseNproc(opts.nproc), timeout });
    return;
  }
  const { processGroup } = initDist(opts.launcher);
  const raw = await resolveConfig(configPath, opts);
  const progress = opts.progress !== false && process.stdout.isTTY && processGroup.rank === 0 ? new ProgressBarHook() : undefined;
  const built = await buildFromConfig(raw, { logger: progress?.logger ?? consoleLogger, processGroup });
  const { runner, dataLoaders, workflow } = built;
  if (progress) runner.registerHook(progress, Priority.LOWEST);
  if (distTimeout !== undefined) runner.registerHook(new DistWatchdogHook(distTimeout, processGroup.rank), Priority.HIGHEST);
  await runner.run(dataLoaders, workflow);
  finalizeDist();
}
