/** Small statistics helpers for benchmarks: medians of repeated, interleaved measurements. */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

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
 * A full garbage collection, so that one variant's garbage is not collected in the next one's
 * time (V8's `gc`, exposed once for this process).
 */
let gc: (() => void) | undefined;
function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

/**
 * The order of the variants in round `r`: the rows of a Williams design (a Latin square in which
 * every variant runs right after every other one equally often), its rows reversed in every
 * other cycle of `items.length` rounds. Over `2 x items.length` rounds every variant takes every
 * place equally often and follows every other one equally often (for 3 variants: A B C, B C A,
 * C A B, C B A, A C B, B A C). A plain rotation always runs B right after A, so A's
 * after-effects (its garbage, its caches) would always land on B.
 */
export function roundOrder<T>(items: readonly T[], r: number): T[] {
  const n = items.length;
  // The first row: 0, 1, n-1, 2, n-2, ...; row i adds i to every entry (mod n).
  const first = Array.from({ length: n }, (_, k) => (k % 2 === 1 ? (k + 1) / 2 : (n - k / 2) % n));
  const row = first.map((v) => items[(v + r) % n]!);
  return Math.floor(r / n) % 2 === 1 ? row.reverse() : row;
}

/**
 * Runs every variant `rounds` times, interleaved in {@link roundOrder} so that machine noise
 * and the after-effects of one variant hit all of them alike, each after a full garbage
 * collection (outside the timing), and returns the median time of each.
 */
export async function interleaved(variants: Record<string, () => unknown | Promise<unknown>>, rounds: number): Promise<Record<string, number>> {
  return (await interleavedWallCpu(variants, rounds)).wall;
}

/**
 * CPU time (ms) the process's JS thread has run so far, from the kernel's per-thread scheduler
 * statistics (nanoseconds); undefined where `/proc` has none (not Linux). The process's CPU time
 * also counts V8's GC and compiler threads, which run beside the JS thread.
 */
export function jsThreadCpuMs(): number | undefined {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/** Per-variant measurements of {@link interleavedWallCpu}, one entry per round, in round order. */
export interface RoundSamples {
  wall: Record<string, number[]>;
  cpu: Record<string, number[]>;
  /** Empty where the JS thread's CPU time cannot be read. */
  jsThread: Record<string, number[]>;
}

/**
 * {@link interleaved}, with the median process CPU time (user + system ms) of each variant too,
 * the median CPU time of the JS thread alone (`jsThread`, empty where it cannot be read), and
 * every round's samples (for {@link pairedRatio}).
 */
export async function interleavedWallCpu(variants: Record<string, () => unknown | Promise<unknown>>, rounds: number): Promise<{ wall: Record<string, number>; cpu: Record<string, number>; jsThread: Record<string, number>; samples: RoundSamples }> {
  const entries = Object.entries(variants);
  const perVariant = () => Object.fromEntries(entries.map(([k]) => [k, [] as number[]]));
  const samples: RoundSamples = { wall: perVariant(), cpu: perVariant(), jsThread: perVariant() };
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of roundOrder(entries, r)) {
      collectGarbage();
      const cpu0 = process.cpuUsage();
      const js0 = jsThreadCpuMs();
      samples.wall[name]!.push(await timeMs(fn));
      const used = process.cpuUsage(cpu0);
      const js1 = jsThreadCpuMs();
      samples.cpu[name]!.push((used.user + used.system) / 1000);
      if (js0 !== undefined && js1 !== undefined) samples.jsThread[name]!.push(js1 - js0);
    }
  }
  const medians = (of: Record<string, number[]>) => Object.fromEntries(Object.entries(of).filter(([, v]) => v.length > 0).map(([k, v]) => [k, median(v)]));
  return { wall: medians(samples.wall), cpu: medians(samples.cpu), jsThread: medians(samples.jsThread), samples };
}

/** A ratio of two variants, paired by round: its median and quartiles. */
export interface PairedRatio {
  median: number;
  q1: number;
  q3: number;
}

/**
 * The median over rounds of `a[i] / b[i]`, with the quartiles (medians of the lower and upper
 * halves): a paired comparison of two variants measured in the same rounds, seconds apart, so
 * the machine's drift from round to round (30-50% within minutes on these VMs) cancels out of
 * each ratio. NaN without samples.
 */
export function pairedRatio(a: number[], b: number[]): PairedRatio {
  const ratios = a.slice(0, b.length).map((x, i) => x / b[i]!).sort((x, y) => x - y);
  if (ratios.length === 0) return { median: NaN, q1: NaN, q3: NaN };
  const half = Math.max(1, ratios.length >> 1);
  return { median: median(ratios), q1: median(ratios.slice(0, half)), q3: median(ratios.slice(-half)) };
}

/** `1.035 [0.965-1.078]`: a {@link PairedRatio} as the benches print it. */
export function formatPairedRatio({ median: m, q1, q3 }: PairedRatio): string {
  return `${m.toFixed(3)} [${q1.toFixed(3)}-${q3.toFixed(3)}]`;
}

/** Prints a two-column table. */
export function printTable(title: string, rows: Array<[string, string]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
