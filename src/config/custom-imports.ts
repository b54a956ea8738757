import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../core/errors.js';

/**
 * Imports plugin modules named by `customImports` (absolute paths, resolved by loadConfig
 * relative to the config file, or package names), so their `@RegisterHook` classes are in the
 * registry before any hook is built.
 */
export async function importCustomModules(entries: readonly string[] = []): Promise<void> {
  for (const [i, entry] of entries.entries()) {
    const specifier = path.isAbsolute(entry) ? pathToFileURL(entry).href : entry;
    try {
      await import(specifier);
    } catch (error) {
      const hint = /\.[cm]?tsx?$/.test(entry)
        ? '; hookflow imports JavaScript: compile the TypeScript file (e.g. with tsc) and list the .js it emits'
        : '';
      throw new ConfigError(`customImports[${i}]`, `cannot import '${entry}': ${(error as Error).message}${hint}`);
    }
  }
}
