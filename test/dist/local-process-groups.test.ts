import { expect } from 'chai';
import { createLocalProcessGroups, runOnLocalRanks } from '../../src/dist/local-process-groups.js';
import { rejection } from '../helpers/errors.js';

describe('createLocalProcessGroups', () => {
  it('gives each rank its rank, the world size and a local rank', () => {
    const groups = createLocalProcessGroups(3);
    expect(groups.map((g) => [g.rank, g.worldSize, g.localRank])).to.deep.equal([[0, 3, 0], [1, 3, 1], [2, 3, 2]]);
    expect(() => createLocalProcessGroups(0)).to.throw(RangeError, 'createLocalProcessGroups: n must be a positive integer; got 0');
  });

  it('all-reduces in place, in rank order and float32, with the same bits on every rank', async () => {
    const results = await runOnLocalRanks(3, async (g) => {
      const a = new Float32Array([g.rank, 1, 0.1 * (g.rank + 1)]);
      const b = new Float32Array([10 * g.rank]);
      const same = await g.allReduce([a, b], 'sum');
      expect(same[0]).to.equal(a);
      expect(same[1]).to.equal(b);
      const max = new Float32Array([g.rank === 1 ? 5 : -1]);
      const min = new Float32Array([g.rank === 1 ? 5 : -1]);
      const mean = new Float32Array([g.rank + 1]);
      await g.allReduce([max], 'max');
      await g.allReduce([min], 'min');
      await g.allReduceMean([mean]);
      return { a: Array.from(a), b: Array.from(b), max: max[0], min: min[0], mean: mean[0] };
    });
    // ((0.1 + 0.2) + 0.3) in float32, then rounded to float32.
    const f = Math.fround;
    const third = f(f(f(0.1) + f(0.2)) + f(0.30000000000000004));
    for (const r of results) {
      expect(r).to.deep.equal({ a: [3, 3, third], b: [30], max: 5, min: -1, mean: 2 });
    }
  });

  it('broadcasts arrays in place from any root, and objects of any size', async () => {
    const results = await runOnLocalRanks(3, async (g) => {
      const values = [new Float32Array([g.rank, g.rank]), new Float32Array([g.rank])];
      await g.broadcast(values, 2);
      const obj = await g.broadcastObject(g.rank === 0 ? { list: [1, 2, 3], tag: 'zero' } : null);
      return { values: values.map((v) => Array.from(v)), obj };
    });
    for (const r of results) expect(r).to.deep.equal({ values: [[2, 2], [2]], obj: { list: [1, 2, 3], tag: 'zero' } });
  });

  it('gathers variable-size values in rank order, as copies; gather delivers on the root only', async () => {
    const sent: unknown[] = [];
    const results = await runOnLocalRanks(3, async (g) => {
      const mine = { rank: g.rank, data: new Int32Array(g.rank + 1).fill(g.rank) };
      sent[g.rank] = mine;
      const all = await g.allGather(mine);
      const atRoot = await g.gather(`r${g.rank}`, 1);
      await g.barrier();
      return { all, atRoot };
    });
    expect(results[0]!.all.map((v) => Array.from(v.data))).to.deep.equal([[0], [1, 1], [2, 2, 2]]);
    expect(results[0]!.all[0]).to.not.equal(sent[0]);
    expect(results.map((r) => r.atRoot)).to.deep.equal([undefined, ['r0', 'r1', 'r2'], undefined]);
  });

  it('rejects on every rank, naming each call, when the ranks call different collectives', async () => {
    const [g0, g1] = createLocalProcessGroups(2);
    const errors = await Promise.all([rejection(g0!.allReduce([new Float32Array(3)], 'sum')), rejection(g1!.broadcast([new Float32Array(3)]))]);
    expect(errors[0]!.message).to.equal('collective #0 does not match across ranks: rank 0 called allReduce(sum) of lengths [3]; rank 1 called broadcast(root 0) of lengths [3]');
    expect(errors[1]).to.equal(errors[0]);
    const [h0, h1] = createLocalProcessGroups(2);
    const lengths = await Promise.all([rejection(h0!.allReduceMean([new Float32Array(3)])), rejection(h1!.allReduceMean([new Float32Array(4)]))]);
    expect(lengths[0]!.message).to.equal('collective #0 does not match across ranks: rank 0 called allReduce(mean) of lengths [3]; rank 1 called allReduce(mean) of lengths [4]');
  });

  it('fails the collectives of the other ranks, instead of hanging, when a rank leaves', async () => {
    const error = await rejection(runOnLocalRanks(2, async (g) => {
      await g.barrier();
      if (g.rank === 1) return 'done early';
      await g.allReduce([new Float32Array(1)]);
      return 'never';
    }));
    expect(error.message).to.match(/^(collective #1 cannot complete: rank 1 returned while rank 0 in allReduce\(sum\) waited|rank 0: allReduce\(sum\) \(collective #1\) cannot complete: rank 1 returned)$/);
  });

  it("rethrows the failing rank's own error, not the errors it caused on the others", async () => {
    const error = await rejection(runOnLocalRanks(3, async (g) => {
      if (g.rank === 2) throw new Error('rank 2 broke');
      await g.barrier();
    }));
    expect(error.message).to.equal('rank 2 broke');
  });

  it('checks roots and ops', async () => {
    const [g] = createLocalProcessGroups(1);
    expect((await rejection(g!.broadcast([], 1))).message).to.equal('broadcast(root 1): root must be a rank in 0..0; got 1');
    expect((await rejection(g!.allReduce([], 'prod' as never))).message).to.equal('allReduce: op must be one of sum, mean, max, min; got prod');
  });
});
