import { expect } from 'chai';
import { median, pairedRatio, roundOrder } from '../../bench/stats.js';

describe('bench statistics', () => {
  it('roundOrder: over 2n rounds every variant takes every place and follows every other one equally often', () => {
    for (const variants of [['a', 'b'], ['a', 'b', 'c'], ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd', 'e']]) {
      const n = variants.length;
      const orders = Array.from({ length: 2 * n }, (_, r) => roundOrder(variants, r));
      for (const order of orders) expect([...order].sort()).to.deep.equal(variants);
      for (let place = 0; place < n; place++) {
        const counts = new Map<string, number>();
        for (const order of orders) counts.set(order[place]!, (counts.get(order[place]!) ?? 0) + 1);
        expect([...counts.values()], `place ${place} of ${n}`).to.deep.equal(variants.map(() => 2));
      }
      const follows = new Map<string, number>();
      for (const order of orders) for (let k = 1; k < n; k++) follows.set(`${order[k - 1]}>${order[k]}`, (follows.get(`${order[k - 1]}>${order[k]}`) ?? 0) + 1);
      const counts = [...follows.values()];
      expect(follows.size, `ordered pairs of ${n}`).to.equal(n * (n - 1));
      expect(Math.min(...counts), `pairs of ${n}: ${JSON.stringify([...follows])}`).to.equal(Math.max(...counts));
    }
  });

  it('roundOrder: rotations, then the same reversed, for 3 variants; a Williams square for 4', () => {
    expect([0, 1, 2, 3, 4, 5].map((r) => roundOrder(['a', 'b', 'c'], r).join(''))).to.deep.equal(['abc', 'bca', 'cab', 'cba', 'acb', 'bac']);
    expect([0, 1, 2, 3].map((r) => roundOrder(['a', 'b', 'c', 'd'], r).join(''))).to.deep.equal(['abdc', 'bcad', 'cdba', 'dacb']);
  });

  it('pairedRatio: the median of the per-round ratios, with quartiles; drift between rounds cancels', () => {
    // The machine slowed down from round to round, both variants alike: a is 10% slower in three
    // rounds of four, which the ratio of the medians (taken from different rounds) blurs.
    const a = [110, 210, 330, 440];
    const b = [100, 200, 300, 400];
    const r = pairedRatio(a, b);
    expect(r.median).to.be.closeTo(1.1, 1e-12);
    expect(r.q1).to.be.closeTo(1.075, 1e-12);
    expect(r.q3).to.be.closeTo(1.1, 1e-12);
    expect(median(a) / median(b)).to.be.closeTo(1.08, 1e-12);
    expect(Number.isNaN(pairedRatio([], []).median)).to.equal(true);
  });
});
