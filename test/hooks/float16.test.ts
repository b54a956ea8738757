import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  FLOAT16_MAX, FLOAT16_MIN_NORMAL, FLOAT16_MIN_SUBNORMAL, assignFloat16, float16Tensor, roundFloat16Array, roundToFloat16,
} from '../../src/hooks/fp16/float16.js';

/** The value of a binary16 bit pattern (IEEE 754 decoding, independent of the code under test). */
function decodeHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Nearest binary16 by search over the ordered positive patterns, ties to the even pattern. */
function referenceRound(x: number): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let lo = 0; // largest pattern in [0, 0x7bff] whose value <= a
  let hi = 0x7bff;
  if (a >= decodeHalf(0x7bff)) lo = 0x7bff;
  else {
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (decodeHalf(mid) <= a) lo = mid;
      else hi = mid;
    }
  }
  const below = decodeHalf(lo);
  const above = lo === 0x7bff ? 2 ** 16 : decodeHalf(lo + 1); // 2^16 stands for the overflow side
  let pick: number;
  if (a - below < above - a) pick = lo;
  else if (a - below > above - a) pick = lo + 1;
  else pick = lo % 2 === 0 ? lo : lo + 1;
  const value = pick > 0x7bff ? Infinity : decodeHalf(pick);
  return x < 0 ? -value : value;
}

describe('binary16 rounding', () => {
  it('rounds the known boundary values as IEEE 754 binary16 does', () => {
    expect(FLOAT16_MAX).to.equal(65504);
    expect(roundToFloat16(65504)).to.equal(65504);
    expect(roundToFloat16(65519.98)).to.equal(65504); // just below the midpoint
    expect(roundToFloat16(65520)).to.equal(Infinity); // the midpoint rounds to even: past the maximum
    expect(roundToFloat16(-65520)).to.equal(-Infinity);
    expect(roundToFloat16(1e6)).to.equal(Infinity);
    expect(roundToFloat16(3.4e38)).to.equal(Infinity);
    expect(roundToFloat16(FLOAT16_MIN_SUBNORMAL)).to.equal(2 ** -24);
    expect(roundToFloat16(2 ** -25)).to.equal(0); // tie between 0 and 2^-24: 0 is even
    expect(roundToFloat16(2 ** -25 * 1.0001)).to.equal(2 ** -24);
    expect(roundToFloat16(3 * 2 ** -25)).to.equal(2 ** -23); // 1.5 steps: tie, to the even 2 steps
    expect(roundToFloat16(5 * 2 ** -25)).to.equal(2 ** -23); // 2.5 steps: tie, to the even 2 steps
    expect(roundToFloat16(FLOAT16_MIN_NORMAL)).to.equal(2 ** -14);
    expect(roundToFloat16(2 ** -14 - 2 ** -26)).to.equal(2 ** -14); // the subnormal grid rounds up into the normals
    expect(roundToFloat16(1 + 2 ** -11)).to.equal(1); // tie: 1 has the even mantissa
    expect(roundToFloat16(1 + 3 * 2 ** -11)).to.equal(1 + 2 ** -9); // tie: up to the even mantissa
    expect(roundToFloat16(1 + 2 ** -11 + 2 ** -20)).to.equal(1 + 2 ** -10);
    expect(roundToFloat16(0.1)).to.equal(0.0999755859375);
    expect(roundToFloat16(-2049)).to.equal(-2048); // ulp 2 above 2048: tie to even
    expect(roundToFloat16(2051)).to.equal(2052);
  });

  it('keeps NaN, infinities and the sign of zero', () => {
    expect(roundToFloat16(NaN)).to.be.NaN;
    expect(roundToFloat16(Infinity)).to.equal(Infinity);
    expect(roundToFloat16(-Infinity)).to.equal(-Infinity);
    expect(Object.is(roundToFloat16(-0), -0)).to.equal(true);
    expect(Object.is(roundToFloat16(0), 0)).to.equal(true);
    expect(Object.is(roundToFloat16(-1e-8), -0)).to.equal(true); // underflow keeps the sign
    expect(Object.is(roundToFloat16(-(2 ** -25)), -0)).to.equal(true);
  });

  it('maps every binary16 value to itself', () => {
    const all = Float32Array.from({ length: 0x10000 }, (_, h) => decodeHalf(h));
    const rounded = roundFloat16Array(all);
    const changed: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const same = Number.isNaN(all[h]) ? Number.isNaN(rounded[h]) : Object.is(rounded[h], all[h]);
      if (!same) changed.push(`0x${h.toString(16)}: ${all[h]} -> ${rounded[h]}`);
    }
    expect(changed).to.deep.equal([]);
  });

  it('agrees with a nearest-value search for any float32', () => {
    fc.assert(fc.property(
      fc.oneof(fc.float(), fc.float({ min: -70000, max: 70000 }), fc.float({ min: Math.fround(-1e-3), max: Math.fround(1e-3) })),
      (x) => {
        const got = roundToFloat16(x);
        const want = referenceRound(x);
        return Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, want);
      },
    ), { numRuns: 20000 });
  });

  it('writes into out (in place when out is the input) and checks its length', () => {
    const values = new Float32Array([0.1, 70000, -3]);
    const out = new Float32Array(3);
    expect(roundFloat16Array(values, out)).to.equal(out);
    expect(Array.from(out)).to.deep.equal([0.0999755859375, Infinity, -3]);
    expect(values[0]).to.equal(Math.fround(0.1)); // the input is untouched
    roundFloat16Array(values, values);
    expect(Array.from(values)).to.deep.equal([0.0999755859375, Infinity, -3]);
    expect(() => roundFloat16Array([1, 2], new Float32Array(1))).to.throw(RangeError, 'roundFloat16Array: out has 1 elements, values has 2');
  });

  it('rounds tensors and variables without leaking', () => {
    const x = tf.tensor2d([[0.1, 65520], [2 ** -25, -1.0009765625]]);
    const v = tf.variable(x.clone(), false);
    const before = tf.memory().numTensors;
    const r = float16Tensor(x);
    expect(r.shape).to.deep.equal([2, 2]);
    expect(Array.from(r.dataSync())).to.deep.equal([0.0999755859375, Infinity, 0, -1.0009765625]);
    expect(Math.fround(x.dataSync()[0]!)).to.equal(Math.fround(0.1)); // the source is unchanged
    r.dispose();
    assignFloat16(v);
    expect(Array.from(v.dataSync())).to.deep.equal([0.0999755859375, Infinity, 0, -1.0009765625]);
    expect(tf.memory().numTensors).to.equal(before);
    x.dispose();
    v.dispose();
  });
});
