import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import type { ProcessGroup } from '../../src/core/services.js';
import { runOnLocalRanks } from '../../src/dist/local-process-groups.js';
import { GradientBuckets } from '../../src/training/optim/gradient-buckets.js';

/** Gradients of 5, 3, 300 and 2 floats, rank-dependent values. */
function gradients(rank: number): Map<string, tf.Tensor> {
  return new Map<string, tf.Tensor>([
    ['a', tf.fill([5], rank + 1)],
    ['b', tf.fill([3, 1], 10 * rank)],
    ['c', tf.tidy(() => tf.range(0, 300).reshape([10, 30]).mul(rank))],
    ['d', tf.tensor1d([rank, -rank])],
  ]);
}

/** A group that records the buffer passed to every allReduce. */
function recording(group: ProcessGroup, seen: Float32Array[][]): ProcessGroup {
  return { ...group, allReduce: (values, op) => { seen.push(values); return group.allReduce(values, op); } };
}

/**
 * A group that offers `allReduceViews` for payloads under `inlineBytes` (through `allReduce` on
 * the views), recording the part lengths of every such call and the buffers of every `allReduce`.
 */
function offeringViews(group: ProcessGroup, inlineBytes: number, viewCalls: number[][], packed: Float32Array[][]): ProcessGroup {
  const recorded = recording(group, packed);
  return {
    ...recorded,
    inlineBytes,
    allReduceViews: async (views, op) => {
      const parts = views();
      viewCalls.push(parts.map((v) => v.length));
      await group.allReduce(parts, op);
    },
  };
}

describe('GradientBuckets', () => {
  it('packs gradients in order into buckets of at most bucketSizeMb, a larger one alone, and averages each with one all-reduce', async () => {
    // 40 bytes = 10 floats: [a 5, b 3], [c 300] alone, [d 2].
    const results = await runOnLocalRanks(2, async (group) => {
      const seen: Float32Array[][] = [];
      const buckets = new GradientBuckets(recording(group, seen), 40 / 2 ** 20);
      const grads = gradients(group.rank);
      await buckets.averageTensors(grads);
      const out = Object.fromEntries([...grads].map(([k, g]) => [k, { shape: g.shape, values: Array.from(g.dataSync()) }]));
      grads.forEach((g) => g.dispose());
      return { layout: buckets.layout, calls: seen.map((c) => c.map((v) => v.length)), out };
    });
    expect(results[0]!.layout).to.deep.equal([['a', 'b'], ['c'], ['d']]);
    expect(results[0]!.calls).to.deep.equal([[8], [300], [2]]);
    expect(results[1]!.out).to.deep.equal(results[0]!.out);
    expect(results[0]!.out.a).to.deep.equal({ shape: [5], values: Array(5).fill(1.5) });
    expect(results[0]!.out.b).to.deep.equal({ shape: [3, 1], values: Array(3).fill(5) });
    expect(results[0]!.out.c!.shape).to.deep.equal([10, 30]);
    expect(results[0]!.out.c!.values.slice(0, 3)).to.deep.equal([0, 0.5, 1]);
    expect(results[0]!.out.d).to.deep.equal({ shape: [2], values: [0.5, -0.5] });
  });

  it('on wasm writes the averages into the gradients that own their memory, and replaces one that shares it', async function () {
    if (tf.getBackend() !== 'wasm') this.skip();
    const before = tf.memory().numTensors;
    const results = await runOnLocalRanks(2, async (group) => {
      const owned = tf.tensor1d([group.rank, 2 * group.rank]);
      const base = tf.tensor1d([4 * group.rank, 6 * group.rank]);
      const sharing = base.reshape([2, 1]); // shares base's memory
      const grads = new Map<string, tf.Tensor>([['owned', owned], ['sharing', sharing]]);
      await new GradientBuckets(group).averageTensors(grads);
      const out = {
        ownedKept: grads.get('owned') === owned,
        owned: Array.from(owned.dataSync()),
        sharingReplaced: grads.get('sharing') !== sharing && sharing.isDisposed,
        sharing: Array.from(grads.get('sharing')!.dataSync()),
        base: Array.from(base.dataSync()),
      };
      grads.forEach((g) => g.dispose());
      base.dispose();
      return out;
    });
    expect(results[0]).to.deep.equal({ ownedKept: true, owned: [0.5, 1], sharingReplaced: true, sharing: [2, 3], base: [0, 0] });
    expect(results[1]).to.deep.equal({ ownedKept: true, owned: [0.5, 1], sharingReplaced: true, sharing: [2, 3], base: [4, 6] });
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('on wasm averages a bucket straight on the heap where the group offers views, the rider as the last part; it packs a bucket over inlineBytes or with a gradient that shares memory', async function () {
    if (tf.getBackend() !== 'wasm') this.skip();
    const before = tf.memory().numTensors;
    const results = await runOnLocalRanks(2, async (group) => {
      const run = async (inlineBytes: number, share: boolean) => {
        const [viewCalls, packed]: [number[][], Float32Array[][]] = [[], []];
        const grads = gradients(group.rank);
        const kept = new Map(grads);
        const base = tf.tensor1d([4 * group.rank, 6 * group.rank]);
        if (share) grads.set('d', base.reshape([2])); // shares base's memory
        const rider = new Float32Array([group.rank, 64]);
        await new GradientBuckets(offeringViews(group, inlineBytes, viewCalls, packed), -1).averageTensors(grads, rider);
        const out = {
          viewCalls,
          packed: packed.map((c) => c.map((v) => v.length)),
          sameTensors: ['a', 'b', 'c'].every((k) => grads.get(k) === kept.get(k)),
          a: Array.from(grads.get('a')!.dataSync()),
          c: Array.from(grads.get('c')!.dataSync()).slice(0, 3),
          d: Array.from(grads.get('d')!.dataSync()),
          rider: Array.from(rider),
        };
        grads.forEach((g) => g.dispose());
        kept.get('d')!.dispose();
        base.dispose();
        return out;
      };
      return { views: await run(1 << 20, false), tooLarge: await run(16, false), sharing: await run(1 << 20, true) };
    });
    for (const r of results) {
      expect(r.views).to.deep.equal({ viewCalls: [[5, 3, 300, 2, 2]], packed: [], sameTensors: true, a: Array(5).fill(1.5), c: [0, 0.5, 1], d: [0.5, -0.5], rider: [0.5, 64] });
      expect(r.tooLarge).to.deep.include({ viewCalls: [], packed: [[312]], sameTensors: true, d: [0.5, -0.5], rider: [0.5, 64] });
      expect(r.sharing).to.deep.include({ viewCalls: [], packed: [[312]], sameTensors: true, d: [2, 3], rider: [0.5, 64] });
    }
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('allocates its buckets once and reuses them step after step, with no tensor left behind; -1 makes one bucket', async () => {
    // Both ranks share this process's tensors: counted before and after them all.
    const before = tf.memory().numTensors;
    await runOnLocalRanks(2, async (group) => {
      const seen: Float32Array[][] = [];
      const buckets = new GradientBuckets(recording(group, seen), -1);
      for (let step = 0; step < 3; step++) {
        const grads = gradients(group.rank);
        await buckets.averageTensors(grads);
        grads.forEach((g) => g.dispose());
      }
      expect(buckets.layout).to.deep.equal([['a', 'b', 'c', 'd']]);
      expect(seen).to.have.length(3);
      expect(seen[1]![0]).to.equal(seen[0]![0]);
      expect(seen[2]![0]).to.equal(seen[0]![0]);
    });
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('carries rider values (a step\'s log vars) at the end of the last bucket, or alone when there is no gradient', async () => {
    const results = await runOnLocalRanks(2, async (group) => {
      const seen: Float32Array[][] = [];
      const buckets = new GradientBuckets(recording(group, seen), 40 / 2 ** 20);
      const grads = gradients(group.rank);
      const rider = new Float32Array([group.rank, 10, 64]);
      await buckets.averageTensors(grads, rider);
      const d = Array.from(grads.get('d')!.dataSync());
      grads.forEach((g) => g.dispose());
      const alone = new Float32Array([4 * group.rank]);
      const noGrads = new GradientBuckets(group);
      await noGrads.averageTensors(new Map(), alone);
      return { calls: seen.map((c) => c.map((v) => v.length)), rider: Array.from(rider), d, alone: Array.from(alone), aloneLayout: noGrads.layout };
    });
    // [a 5, b 3], [c 300], [d 2 + rider 3]: no collective of its own for the rider.
    expect(results[0]!.calls).to.deep.equal([[8], [300], [5]]);
    for (const r of results) {
      expect(r.rider).to.deep.equal([0.5, 10, 64]);
      expect(r.d).to.deep.equal([0.5, -0.5]);
      expect(r.alone).to.deep.equal([2]);
      expect(r.aloneLayout).to.deep.equal([[]]);
    }
  });

  it('averages host gradients in place (the fp16 path), Infinity included', async () => {
    const results = await runOnLocalRanks(2, async (group) => {
      const grads = [{ key: 'a', values: new Float32Array([group.rank, 2]) }, { key: 'b', values: new Float32Array([group.rank === 1 ? Infinity : 0]) }];
      await new GradientBuckets(group).averageHost(grads);
      return grads.map((g) => Array.from(g.values));
    });
    expect(results).to.deep.equal([[[0.5, 2], [Infinity]], [[0.5, 2], [Infinity]]]);
  });

  it('rejects a bad bucket size', () => {
    expect(() => new GradientBuckets({} as ProcessGroup, -2)).to.throw(RangeError, 'bucketSizeMb must be -1 (one bucket) or a number >= 0; got -2');
  });
});
