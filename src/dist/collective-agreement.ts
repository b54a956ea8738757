import type { ProcessGroup } from '../core/services.js';

/** A step's log vars and sample count, averaged (summed) over the ranks. */
export interface ReducedLogVars {
  logVars: Record<string, number>;
  /** The samples of the step on all ranks together. */
  numSamples: number;
}

/**
 * A step's log vars and sample count as one float vector (keys in order, the count last), ready
 * to be averaged across ranks; {@link readBack} turns the averaged vector into
 * {@link ReducedLogVars}. Every rank must pack the same keys in the same order (the same model
 * code does).
 */
export class PackedLogVars {
  readonly values: Float32Array;
  private readonly keys: string[];

  constructor(logVars: Record<string, number>, numSamples: number) {
    this.keys = Object.keys(logVars);
    this.values = new Float32Array(this.keys.length + 1);
    this.keys.forEach((k, i) => { this.values[i] = logVars[k]!; });
    this.values[this.keys.length] = numSamples;
  }

  /** The log vars after `values` were averaged over `worldSize` ranks (the count comes back summed). */
  readBack(worldSize: number): ReducedLogVars {
    return {
      logVars: Object.fromEntries(this.keys.map((k, i) => [k, this.values[i]!])),
      numSamples: Math.round(this.values[this.keys.length]! * worldSize),
    };
  }
}

/**
 * Averages a step's log vars over the ranks with one all-reduce (MMCV all-reduces `log_vars`
 * in `_parse_losses`), so the logged loss is the global batch's; the sample count comes back
 * summed.
 */
export async function averageLogVars(group: ProcessGroup, logVars: Record<string, number>, numSamples: number): Promise<ReducedLogVars> {
  const packed = new PackedLogVars(logVars, numSamples);
  await group.allReduce([packed.values], 'mean');
  return packed.readBack(group.worldSize);
}

/**
 * Whether any rank asked the run to stop, agreed with one all-reduce so that every rank leaves
 * its loop at the same iteration; resolves with the lowest asking rank, or undefined.
 */
export async function agreeOnStop(group: ProcessGroup, requested: boolean): Promise<number | undefined> {
  const flag = new Float32Array([requested ? group.rank : group.worldSize]);
  await group.allReduce([flag], 'min');
  return flag[0]! < group.worldSize ? flag[0]! : undefined;
}
