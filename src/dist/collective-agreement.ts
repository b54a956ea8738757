import type { ProcessGroup } from '../core/services.js';

/** A step's log vars and sample count, averaged (summed) over the ranks. */
export interface ReducedLogVars {
  logVars: Record<string, number>;
  /** The samples of the step on all ranks together. */
  numSamples: number;
}

/**
 * Averages a step's log vars over the ranks with one all-reduce (MMCV all-reduces `log_vars`
 * in `_parse_losses`), so the logged loss is the global batch's; the sample count comes back
 * summed. Every rank must pass the same keys in the same order (the same model code does).
 */
export async function averageLogVars(group: ProcessGroup, logVars: Record<string, number>, numSamples: number): Promise<ReducedLogVars> {
  const keys = Object.keys(logVars);
  const values = new Float32Array(keys.length + 1);
  keys.forEach((k, i) => { values[i] = logVars[k]!; });
  values[keys.length] = numSamples;
  await group.allReduce([values], 'mean');
  return {
    logVars: Object.fromEntries(keys.map((k, i) => [k, values[i]!])),
    numSamples: Math.round(values[keys.length]! * group.worldSize),
  };
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
