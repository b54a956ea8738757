import YAML from 'yaml';
import { resolveConfig, type ConfigFlags } from './resolve-config.js';

/** `hookflow print-config CONFIG`: the config after `_base_` merging and overrides (no tfjs). */
export async function printConfigCommand(configPath: string, opts: ConfigFlags & { format?: string }): Promise<void> {
  const raw = await resolveConfig(configPath, opts);
  console.log(opts.format === 'yaml' ? YAML.stringify(raw) : JSON.stringify(raw, null, 2));
}
