import type { EvalResults } from './metrics.js';

/**
 * Puts the evaluation results of the ranks' shards back in dataset order (MMCV
 * `collect_results`): a DistributedSampler gave rank r the samples r, r + n, r + 2n... of the
 * padded order, so sample i of every rank, in rank order, comes before sample i + 1 of any.
 * The padding (samples repeated from the start to fill the last round) is cut off at
 * `datasetLength`.
 */
export function mergeRankResults(parts: readonly EvalResults[], datasetLength: number): EvalResults {
  if (parts.length === 0) throw new Error('mergeRankResults: no results to merge');
  const numOutputs = parts[0]!.numOutputs;
  const differing = parts.findIndex((p) => p.numSamples > 0 && p.numOutputs !== numOutputs);
  if (differing >= 0) throw new Error(`mergeRankResults: rank ${differing} has ${parts[differing]!.numOutputs} outputs per sample, rank 0 has ${numOutputs}`);
  const total = parts.reduce((n, p) => n + p.numSamples, 0);
  const length = Math.min(datasetLength, total);
  const outputs = new Float32Array(length * numOutputs);
  const labels = new Int32Array(length);
  let at = 0;
  for (let i = 0; at < length; i++) {
    for (const part of parts) {
      if (at === length) break;
      if (i >= part.numSamples) continue;
      outputs.set(part.outputs.subarray(i * numOutputs, (i + 1) * numOutputs), at * numOutputs);
      labels[at] = part.labels[i]!;
      at++;
    }
  }
  return { outputs, numOutputs, labels, numSamples: length };
}
