import './hook-modules.js';
import { buildFromConfig } from '../config/build-from-config.js';
import { MemoryLogger } from '../core/services.js';
import { resolveConfig, type ConfigFlags } from './resolve-config.js';

/** `hookflow hooks CONFIG`: prints the resolved hook plan, per stage. */
export async function hooksCommand(configPath: string, opts: ConfigFlags): Promise<void> {
  const raw = await resolveConfig(configPath, { ...opts, journal: false });
  const { runner } = await buildFromConfig({ ...raw, workDir: undefined }, { logger: new MemoryLogger() });
  console.log(runner.hookInfo(true));
}
