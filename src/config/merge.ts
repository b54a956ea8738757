/** A plain object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * MMCV's config merge: objects merge key by key, recursively; any other value (lists included)
 * replaces. An object with `_delete_: true` replaces instead of merging.
 */
export function mergeConfig(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (isPlainObject(value)) {
      const { _delete_: replace, ...rest } = value;
      out[key] = replace === true || !isPlainObject(out[key]) ? stripDeletes(rest) : mergeConfig(out[key] as Record<string, unknown>, rest);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function stripDeletes(value: Record<string, unknown>): Record<string, unknown> {
  return mergeConfig({}, value);
}
