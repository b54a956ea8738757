import { expect } from 'chai';
import { mergeRankResults } from '../../../plugins/eval/merge-rank-results.js';
import type { EvalResults } from '../../../plugins/eval/metrics.js';
import { DistributedSampler } from '../../../src/training/data/distributed-sampler.js';

/** The results a rank collects over its shard: sample i's outputs are [i, 100 + i], its label i. */
function shardResults(indices: Int32Array): EvalResults {
  const outputs = new Float32Array(indices.length * 2);
  indices.forEach((s, i) => { outputs[2 * i] = s; outputs[2 * i + 1] = 100 + s; });
  return { outputs, numOutputs: 2, labels: Int32Array.from(indices), numSamples: indices.length };
}

describe('mergeRankResults', () => {
  it("undoes the DistributedSampler's interleaving and cuts its padding (MMCV collect_results)", () => {
    for (const [length, worldSize] of [[10, 4], [7, 2], [9, 3], [2, 5]] as const) {
      const parts = Array.from({ length: worldSize }, (_, rank) => shardResults(new DistributedSampler(length, { rank, worldSize }).order()));
      const merged = mergeRankResults(parts, length);
      expect(Array.from(merged.labels)).to.deep.equal(Array.from({ length }, (_, i) => i));
      expect(Array.from(merged.outputs)).to.deep.equal(Array.from({ length }, (_, i) => [i, 100 + i]).flat());
      expect([merged.numSamples, merged.numOutputs]).to.deep.equal([length, 2]);
    }
  });

  it('keeps ranks with fewer results in order and refuses different output widths', () => {
    const merged = mergeRankResults([shardResults(Int32Array.from([0, 2, 4])), shardResults(Int32Array.from([1, 3]))], 10);
    expect(Array.from(merged.labels)).to.deep.equal([0, 1, 2, 3, 4]);
    const wide: EvalResults = { outputs: new Float32Array(3), numOutputs: 3, labels: new Int32Array(1), numSamples: 1 };
    expect(() => mergeRankResults([shardResults(Int32Array.from([0])), wide], 2)).to.throw('mergeRankResults: rank 1 has 3 outputs per sample, rank 0 has 2');
  });
});
