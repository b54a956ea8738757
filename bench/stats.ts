/** Small statistics helpers for benchmarks: medians of repeated, interleaved measurements. */

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Milliseconds taken by `fn` (awaited). */
export async function timeMs(fn: () => unknown | Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Runs every variant `rounds` times, interleaved and rotated (A B C, B C A, C A B, ...) so that
 * machine noise and the after-effects of one variant (GC) hit all of them alike, and returns
 * the median time of each.
 */
export async function interleaved(variants: Record<string, () => unknown | Promise<unknown>>, rounds: number): Promise<Record<string, number>> {
  return (await interleavedWallCpu(variants, rounds)).wall;
}

/** {@link interleaved}, with the median process CPU time (user + system ms) of each variant too. */
export async function interleavedWallCpu(variants: Record<string, () => unknown | Promise<unknown>>, rounds: number): Promise<{ wall: Record<string, number>; cpu: Record<string, number> }> {
  const entries = Object.entries(variants);
  const wall: Record<string, number[]> = Object.fromEntries(entries.map(([k]) => [k, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(entries.map(([k]) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < entries.length; k++) {
      const [name, fn] = entries[(r + k) % entries.length]!;
      const cpu0 = process.cpuUsage();
      wall[name]!.push(await timeMs(fn));
      const used = process.cpuUsage(cpu0);
      cpu[name]!.push((used.user + used.system) / 1000);
    }
  }
  const medians = (samples: Record<string, number[]>) => Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  return { wall: medians(wall), cpu: medians(cpu) };
}

/** Prints a two-column table. */
export function printTable(title: string, rows: Array<[string, string]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
