/**
 * Where `a` and `b` first differ bit for bit (NaN equals NaN, -0 differs from 0), as
 * `at <index>: <a> vs <b>`; undefined when they are the same. For kernels that promise tfjs's
 * exact values.
 */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string | undefined {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `at ${i}: ${a[i]} vs ${b[i]}`;
  return undefined;
}
