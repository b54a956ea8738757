import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { ConfigError } from '../core/errors.js';
import { isPlainObject, mergeConfig } from './merge.js';

/** A config as loaded: plain data (functions allowed in JS configs). */
export type RawConfig = Record<string, unknown>;

const EXTENSIONS = ['.json', '.yaml', '.yml', '.js', '.mjs', '.cjs'];

async function readOne(file: string): Promise<RawConfig> {
  if (!fs.existsSync(file)) throw new ConfigError('', `config file ${file} does not exist`);
  const ext = path.extname(file).toLowerCase();
  let data: unknown;
  try {
    if (ext === '.json') data = JSON.parse(fs.readFileSync(file, 'utf8'));
    else if (ext === '.yaml' || ext === '.yml') data = YAML.parse(fs.readFileSync(file, 'utf8'));
    else if (ext === '.js' || ext === '.mjs' || ext === '.cjs') {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      data = typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
    } else {
      throw new ConfigError('', `config file ${file} has an unknown extension; allowed: ${EXTENSIONS.join(', ')}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError('', `cannot read config file ${file}: ${(error as Error).message}`);
  }
  if (!isPlainObject(data)) throw new ConfigError('', `config file ${file} must hold an object at the top level`);
  return data;
}

/**
 * Loads a JSON, YAML or JS config (a JS module's default export, or a function returning it),
 * merging its `_base_` files first (a path or a list, relative to the file; later bases win,
 * the file itself wins over all). `customImports` paths are made absolute relative to the file
 * that names them.
 */
export async function loadConfig(file: string, seen: string[] = []): Promise<RawConfig> {
  const abs = path.resolve(file);
  if (seen.includes(abs)) throw new ConfigError('_base_', `circular _base_ chain: ${[...seen, abs].join(' -> ')}`);
  const own = await readOne(abs);
  const dir = path.dirname(abs);
  if (Array.isArray(own.customImports)) {
    own.customImports = own.customImports.map((entry) =>
      typeof entry === 'string' && (entry.startsWith('./') || entry.startsWith('../')) ? path.resolve(dir, entry) : entry);
  }
  const { _base_: bases, ...rest } = own;
  if (bases === undefined) return rest;
  const list = Array.isArray(bases) ? bases : [bases];
  let merged: RawConfig = {};
  for (const base of list) {
    if (typeof base !== 'string') throw new ConfigError('_base_', `must be a path or a list of paths; got ${JSON.stringify(base)}`);
    merged = mergeConfig(merged, await loadConfig(path.resolve(dir, base), [...seen, abs]));
  }
  return mergeConfig(merged, rest);
}

/** Parses a `--cfg-options` value: JSON/YAML scalars and lists (`1`, `true`, `[1,2]`, `null`), else the string. */
function parseValue(text: string): unknown {
  try {
    return YAML.parse(text);
  } catch {
    return text;
  }
}

/**
 * Applies `a.b.c=value` overrides (MMCV `--cfg-options`) after `_base_` merging. Numeric path
 * segments index lists (`workflow.0.1=2`).
 */
export function applyOverrides(config: RawConfig, overrides: string[]): RawConfig {
  const out = structuredCloneConfig(config);
  for (const item of overrides) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError('--cfg-options', `'${item}' must look like key.path=value`);
    const keys = item.slice(0, eq).split('.');
    const value = parseValue(item.slice(eq + 1));
    let node: Record<string, unknown> | unknown[] = out;
    keys.forEach((key, i) => {
      const last = i === keys.length - 1;
      const container = node as Record<string, unknown>;
      if (last) {
        container[key] = value;
        return;
      }
      if (container[key] === null || typeof container[key] !== 'object') container[key] = {};
      node = container[key] as Record<string, unknown>;
    });
  }
  return out;
}

/** Deep copy that keeps functions (JS configs may hold them, e.g. a ClosureHook's fn). */
function structuredCloneConfig<T>(value: T): T {
  if (Array.isArray(value)) return value.map(structuredCloneConfig) as T;
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, structuredCloneConfig(v)])) as T;
  return value;
}
