/**
 * Lengths for the all-reduce tests: empty, fewer elements than ranks, odd, and more than one
 * shared-memory chunk at 3 ranks (1 MiB of slots: 43,690 floats per chunk).
 */
export const ALLREDUCE_LENGTHS = [0, 1, 1001, 1_000_003];

/** Every reduction the binding offers. */
export const ALLREDUCE_OPS = ['sum', 'mean', 'max', 'min'] as const;

/** Rank-dependent float32 values of mixed signs and magnitudes, so the order of a sum shows in its bits. */
export function allreduceInput(rank: number, length: number): Float32Array {
  const values = new Float32Array(length);
  for (let i = 0; i < length; i++) values[i] = Math.sin(i * 12.9898 + rank * 78.233) * 10 ** ((i + rank) % 7 - 3);
  return values;
}
