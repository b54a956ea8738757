import './hook-modules.js';
import { buildFromConfig } from '../config/build-from-config.js';
import { consoleLogger } from '../core/services.js';
import { Priority } from '../core/priority.js';
import { ProgressBarHook, wantsProgressBar } from './progress-bar-hook.js';
import { resolveConfig, type ConfigFlags } from './resolve-config.js';

/** Options of `hookflow train`. */
export interface TrainCommandOptions extends ConfigFlags {
  progress?: boolean;
}

/** `hookflow train CONFIG`: build everything from the config, then run the workflow. */
export async function trainCommand(configPath: string, opts: TrainCommandOptions): Promise<void> {
  const raw = await resolveConfig(configPath, opts);
  const wanted = wantsProgressBar({ progress: opts.progress, isTTY: process.stdout.isTTY === true, env: process.env });
  const progress = wanted ? new ProgressBarHook() : undefined;
  const built = await buildFromConfig(raw, { logger: progress?.logger ?? consoleLogger });
  const { runner, dataLoaders, workflow } = built;
  if (progress && runner.rank === 0) runner.registerHook(progress, Priority.LOWEST);
  try {
    await runner.run(dataLoaders, workflow);
  } finally {
    progress?.stop();
  }
}
