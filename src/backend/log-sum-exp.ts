/**
 * log(sum_j exp(values[start + j])) over `count` values, computed stably (the largest value is
 * factored out, so no exp overflows) in double precision. Shared by the fused cross-entropy
 * kernel and the eval `loss` metric, which both reduce rows of logits (no tfjs: plain arrays).
 */
export function logSumExp(values: ArrayLike<number>, start: number, count: number): number {
  let max = -Infinity;
  for (let j = 0; j < count; j++) max = Math.max(max, values[start + j]!);
  let sum = 0;
  for (let j = 0; j < count; j++) sum += Math.exp(values[start + j]! - max);
  return max + Math.log(sum);
}
