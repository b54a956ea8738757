import leven from 'leven';

/**
 * The registered names closest to `wanted` (case-insensitive edit distance), best first,
 * for "did you mean" hints. Only plausible matches are returned.
 */
export function nearestNames(wanted: string, names: Iterable<string>, limit = 3): string[] {
  const target = wanted.toLowerCase();
  return [...names]
    .map((name) => {
      const lower = name.toLowerCase();
      // Same letters in another case first, then containment (closest length first), then edits.
      const distance = lower === target ? 0
        : lower.includes(target) || target.includes(lower) ? 0.5 + Math.abs(lower.length - target.length) / 1000
          : leven(target, lower);
      return { name, distance };
    })
    .filter(({ name, distance }) => distance <= Math.max(2, Math.ceil(Math.max(name.length, wanted.length) * 0.4)))
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map(({ name }) => name);
}

/**
 * `unknown option 'x' (did you mean 'y'?); allowed options: a, b`: the message for option keys
 * that `known` does not contain, with a hint per key where one is close.
 */
export function unknownOptionsMessage(keys: readonly string[], known: readonly string[]): string {
  const parts = keys.map((key) => {
    const [hint] = nearestNames(key, known, 1);
    return hint ? `'${key}' (did you mean '${hint}'?)` : `'${key}'`;
  });
  const allowed = known.length ? `allowed options: ${known.join(', ')}` : 'it takes no options';
  return `unknown option${keys.length > 1 ? 's' : ''} ${parts.join(', ')}; ${allowed}`;
}
