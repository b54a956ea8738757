import './hook-modules.js';
import { buildFromConfig } from '../config/build-from-config.js';
import { consoleLogger } from '../core/services.js';
import { Priority } from '../core/priority.js';
import { ProgressBarHook } from './progress-bar-hook.js';
import { resolveConfig, type ConfigFlags } from './resolve-config.js';

/** Options of `hookflow train`. */
export interface TrainCommandOptions extends ConfigFlags {
  progress?: boolean;
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
