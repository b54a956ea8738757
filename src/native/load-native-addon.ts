import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The outcome of loading an optional native addon: the addon, or why it is not there. */
export type NativeAddonLoad<T> = { readonly addon: T; readonly reason?: undefined } | { readonly addon?: undefined; readonly reason: string };

const require = createRequire(import.meta.url);
/** `native/` at the package root, from `dist/src/native/` (compiled) or `src/native/` (sources). */
const nativeRoot = [path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../native'), path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native')]
  .find((dir) => fs.existsSync(dir)) ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../native');

const cache = new Map<string, NativeAddonLoad<unknown>>();

/**
 * Loads `native/<name>/build/Release/<name>.node`, built at install time by
 * `scripts/build-native.mjs`. Never throws: a missing or unloadable addon comes back as a reason
 * that names the rebuild command, so callers can fall back or fail with a useful message.
 */
export function loadNativeAddon<T>(name: string): NativeAddonLoad<T> {
  const cached = cache.get(name);
  if (cached) return cached as NativeAddonLoad<T>;
  const file = path.join(nativeRoot, name, 'build', 'Release', `${name}.node`);
  let result: NativeAddonLoad<T>;
  if (!fs.existsSync(file)) {
    const log = path.join(nativeRoot, name, 'build-error.log');
    const why = fs.existsSync(log) ? `its build failed (see ${log})` : 'it was not built';
    result = { reason: `the native addon '${name}' is not available: ${why}; rebuild with \`npm run build:native -- ${name}\`` };
  } else {
    try {
      result = { addon: require(file) as T };
    } catch (error) {
      result = { reason: `the native addon '${name}' did not load (${(error as Error).message.split('\n')[0]}); rebuild with \`npm run build:native -- ${name}\`` };
    }
  }
  cache.set(name, result);
  return result;
}
