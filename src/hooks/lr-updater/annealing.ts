/**
 * MMCV's annealing helpers. The operation order is MMCV's, so the results are the same IEEE
 * doubles (MMCV's tests assert values such as 0.01999999999999999).
 */

/** An annealing function: from `start` (factor 0) to `end` (factor 1). */
export type AnnealFunction = (start: number, end: number, factor: number) => number;

/**
 * Cosine annealing from `start` to `end`: `end + 0.5 * weight * (start - end) * (cos(π factor) + 1)`.
 * At factor 0 it is `end + weight * (start - end)`; at factor 1 it is `end`.
 */
export function annealingCos(start: number, end: number, factor: number, weight = 1): number {
  const cosOut = Math.cos(Math.PI * factor) + 1;
  return end + 0.5 * weight * (start - end) * cosOut;
}

/** Linear annealing from `start` to `end`: `start + (end - start) * factor`. */
export function annealingLinear(start: number, end: number, factor: number): number {
  return start + (end - start) * factor;
}

/** The annealing strategies of the cyclic and one-cycle schedules. */
export const ANNEAL_STRATEGIES = ['cos', 'linear'] as const;
export type AnnealStrategy = (typeof ANNEAL_STRATEGIES)[number];

/** The function behind an `annealStrategy` option. */
export function annealFunction(strategy: AnnealStrategy): AnnealFunction {
  return strategy === 'cos' ? (start, end, factor) => annealingCos(start, end, factor) : annealingLinear;
}
