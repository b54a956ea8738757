import { ConfigError } from '../core/errors.js';
import { isPlainObject } from './merge.js';

/** The key of an environment reference: `{ "$env": "UPLOAD_TOKEN" }` in a config. */
export const ENV_REF_KEY = '$env';

function envRefName(value: unknown, where: string): string | undefined {
  if (!isPlainObject(value) || !(ENV_REF_KEY in value)) return undefined;
  const name = value[ENV_REF_KEY];
  if (Object.keys(value).length !== 1 || typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ConfigError(where, `an environment reference must be exactly { "${ENV_REF_KEY}": "VARIABLE_NAME" }; got ${JSON.stringify(value)}`);
  }
  return name;
}

function mapRefs(value: unknown, where: string, replace: (name: string, where: string) => unknown): unknown {
  const name = envRefName(value, where);
  if (name !== undefined) return replace(name, where);
  if (Array.isArray(value)) return value.map((v, i) => mapRefs(v, `${where}.${i}`, replace));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapRefs(v, `${where}.${k}`, replace)]));
  return value;
}

/**
 * The config with every `{ "$env": "NAME" }` replaced by the value of environment variable
 * NAME (a string), for building the run. A variable that is not set is a config error naming
 * the key and the variable.
 */
export function resolveEnvRefs(config: Record<string, unknown>, env: Readonly<Record<string, string | undefined>> = process.env): Record<string, unknown> {
  return mapRefs(config, 'config', (name, where) => {
    const value = env[name];
    if (value === undefined) throw new ConfigError(where, `refers to the environment variable ${name}, which is not set`);
    return value;
  }) as Record<string, unknown>;
}

/**
 * The config with every `{ "$env": "NAME" }` written as `"<redacted:NAME>"`: what goes into
 * artefacts (checkpoint meta, logs, the journal, print-config), so secrets never do.
 */
export function redactEnvRefs(config: Record<string, unknown>): Record<string, unknown> {
  return mapRefs(config, 'config', (name) => `<redacted:${name}>`) as Record<string, unknown>;
}
