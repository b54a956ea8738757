import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import {
  calculateGain, computeFans, constantInit, kaimingInit, normalCdf, normalInit, normalQuantile, truncNormalInit, uniformInit, xavierInit,
} from '../../src/nn/initializers.js';

/** A built layer: its weights exist once it is added to a model with an input shape. */
function built<L extends tf.layers.Layer>(layer: L, inputShape: number[]): L {
  tf.sequential({ layers: [tf.layers.inputLayer({ inputShape }), layer] });
  return layer;
}

const dense = (inUnits: number, units: number) => built(tf.layers.dense({ units, name: `dense_${inUnits}_${units}` }), [inUnits]);
const conv = (inC: number, filters: number) => built(tf.layers.conv2d({ filters, kernelSize: 3, name: 'conv' }), [8, 8, inC]);

/** The values of the layer's weight number `i` (0: kernel, 1: bias). */
const values = (layer: tf.layers.Layer, i = 0) => Array.from(layer.getWeights()[i]!.dataSync());

function stats(xs: number[]) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { mean, std, min: xs.reduce((a, b) => Math.min(a, b)), max: xs.reduce((a, b) => Math.max(a, b)) };
}

/** Asserts that `actual` is within `rel` (relative) of `expected`. */
function near(actual: number, expected: number, rel: number, what: string): void {
  expect(Math.abs(actual - expected) / expected, `${what}: ${actual} vs ${expected}`).to.be.below(rel);
}

describe('weight initialisers', () => {
  it('computes fans as PyTorch does on the equivalent PyTorch weight', () => {
    expect(computeFans([3, 5])).to.deep.equal({ fanIn: 3, fanOut: 5 }); // dense [in, out]
    expect(computeFans([3, 3, 16, 32])).to.deep.equal({ fanIn: 144, fanOut: 288 }); // conv2d [h, w, in, out]
    expect(computeFans([5, 4, 6])).to.deep.equal({ fanIn: 20, fanOut: 30 }); // conv1d [k, in, out]
    expect(computeFans([3, 3, 8, 2], 'depthwiseKernel')).to.deep.equal({ fanIn: 9, fanOut: 144 }); // PyTorch [16, 1, 3, 3]
    expect(computeFans([100, 16], 'embeddings')).to.deep.equal({ fanIn: 16, fanOut: 100 });
    expect(() => computeFans([4])).to.throw('fan in and fan out need a weight with at least 2 dimensions; got shape [4]');
  });

  it("has PyTorch's gains", () => {
    expect(calculateGain('linear')).to.equal(1);
    expect(calculateGain('conv2d')).to.equal(1);
    expect(calculateGain('sigmoid')).to.equal(1);
    expect(calculateGain('tanh')).to.equal(5 / 3);
    expect(calculateGain('relu')).to.equal(Math.SQRT2);
    expect(calculateGain('leaky_relu')).to.equal(Math.sqrt(2 / (1 + 0.01 ** 2)));
    expect(calculateGain('leaky_relu', 0.2)).to.equal(Math.sqrt(2 / 1.04));
    expect(calculateGain('selu')).to.equal(0.75);
    expect(() => calculateGain('swish' as never)).to.throw('unsupported nonlinearity "swish"');
  });

  it('constantInit sets the weight and bias of dense, conv and batch-norm layers, leaving the statistics alone', () => {
    const d = dense(3, 2);
    const c = conv(2, 4);
    const bn = built(tf.layers.batchNormalization({ name: 'bn' }), [3]);
    const noBias = built(tf.layers.dense({ units: 2, useBias: false }), [2]);
    const flatten = built(tf.layers.flatten(), [2, 2]);
    const tensorsBefore = tf.memory().numTensors;
    constantInit(d, 1);
    expect(d.getWeights().map((w) => w.arraySync())).to.deep.equal([[[1, 1], [1, 1], [1, 1]], [0, 0]]);
    constantInit(c, 0.5, 2);
    expect(new Set(values(c))).to.deep.equal(new Set([0.5]));
    expect(values(c, 1)).to.deep.equal([2, 2, 2, 2]);
    constantInit(bn, 3, -1);
    expect(bn.getWeights().map((w) => Array.from(w.dataSync()))).to.deep.equal([[3, 3, 3], [-1, -1, -1], [0, 0, 0], [1, 1, 1]]);
    constantInit(noBias, 4, 9);
    expect(noBias.getWeights().map((w) => w.arraySync())).to.deep.equal([[[4, 4], [4, 4]]]);
    constantInit(flatten, 1); // no weight: left alone, as in mmcv
    expect(tf.memory().numTensors).to.equal(tensorsBefore);
  });

  it('xavierInit: std gain·√(2/(fanIn+fanOut)), uniform within ±√3·std, bias set', () => {
    const d = dense(400, 600);
    const tensorsBefore = tf.memory().numTensors;
    xavierInit(d, { seed: 1, bias: 0.1 });
    const n = stats(values(d));
    near(n.std, Math.sqrt(2 / 1000), 0.02, 'normal std');
    expect(Math.abs(n.mean)).to.be.below(0.001);
    expect(new Set(values(d, 1))).to.deep.equal(new Set([Math.fround(0.1)]));

    xavierInit(d, { gain: 2, distribution: 'uniform', seed: 2 });
    const u = stats(values(d));
    const bound = 2 * Math.sqrt(6 / 1000);
    near(u.std, bound / Math.sqrt(3), 0.02, 'uniform std');
    expect(u.min).to.be.at.least(-bound);
    expect(u.max).to.be.at.most(bound);
    near(u.max, bound, 0.01, 'uniform max');
    expect(values(d, 1).every((b) => b === 0)).to.equal(true);
    expect(tf.memory().numTensors).to.equal(tensorsBefore);
  });

  it('kaimingInit: std gain/√fan with fanOut by default, fanIn on request, uniform within ±√3·std', () => {
    const c = conv(32, 64); // kernel [3, 3, 32, 64]: fanIn 288, fanOut 576
    const tensorsBefore = tf.memory().numTensors;
    kaimingInit(c, { seed: 3 });
    near(stats(values(c)).std, Math.SQRT2 / Math.sqrt(576), 0.03, 'fanOut relu std');
    kaimingInit(c, { mode: 'fanIn', seed: 3 });
    near(stats(values(c)).std, Math.SQRT2 / Math.sqrt(288), 0.03, 'fanIn relu std');
    const fanIn = values(c);
    kaimingInit(c, { mode: 'fan_in', seed: 3 }); // mmcv's spelling
    expect(values(c)).to.deep.equal(fanIn);
    kaimingInit(c, { nonlinearity: 'leaky_relu', a: 1, distribution: 'uniform', seed: 4, bias: -0.5 });
    const u = stats(values(c));
    const bound = Math.sqrt(3) * (1 / Math.sqrt(576));
    near(u.std, bound / Math.sqrt(3), 0.03, 'leaky uniform std');
    expect(u.min).to.be.at.least(-bound);
    expect(u.max).to.be.at.most(bound);
    expect(new Set(values(c, 1))).to.deep.equal(new Set([-0.5]));
    expect(tf.memory().numTensors).to.equal(tensorsBefore);
  });

  it('normalInit and uniformInit draw with the given moments and bounds', () => {
    const d = dense(500, 400);
    const tensorsBefore = tf.memory().numTensors;
    normalInit(d, { mean: 0.5, std: 0.1, seed: 5 });
    const n = stats(values(d));
    expect(Math.abs(n.mean - 0.5)).to.be.below(0.001);
    near(n.std, 0.1, 0.02, 'normal std');
    uniformInit(d, { a: -1, b: 3, seed: 6 });
    const u = stats(values(d));
    expect(u.min).to.be.at.least(-1);
    expect(u.max).to.be.below(3);
    expect(Math.abs(u.mean - 1)).to.be.below(0.01);
    near(u.std, 4 / Math.sqrt(12), 0.02, 'uniform std');
    uniformInit(d, { seed: 7 });
    expect(stats(values(d)).min).to.be.at.least(0);
    expect(stats(values(d)).max).to.be.below(1);
    expect(tf.memory().numTensors).to.equal(tensorsBefore);
  });

  it('truncNormalInit keeps values in [a, b] with the moments of the truncated normal', () => {
    const d = dense(500, 400);
    const tensorsBefore = tf.memory().numTensors;
    truncNormalInit(d, { seed: 8 });
    const s = stats(values(d));
    expect(s.min).to.be.at.least(-2);
    expect(s.max).to.be.at.most(2);
    // Var of N(0,1) truncated to ±2: 1 - 2·2·φ(2) / (Φ(2) - Φ(-2)).
    const phi2 = Math.exp(-2) / Math.sqrt(2 * Math.PI);
    near(s.std, Math.sqrt(1 - (4 * phi2) / (normalCdf(2) - normalCdf(-2))), 0.02, 'std');
    expect(Math.abs(s.mean)).to.be.below(0.01);
    near(s.max, 2, 0.01, 'max reaches b');

    // An asymmetric window in absolute units: N(1, 2) cut to [0, 1.5].
    truncNormalInit(d, { mean: 1, std: 2, a: 0, b: 1.5, seed: 9, bias: 3 });
    const w = stats(values(d));
    expect(w.min).to.be.at.least(0);
    expect(w.max).to.be.at.most(1.5);
    // Mean of the truncated normal: μ + σ (φ(α) - φ(β)) / (Φ(β) - Φ(α)), α = -0.5, β = 0.25.
    const pdf = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
    near(w.mean, 1 + 2 * (pdf(-0.5) - pdf(0.25)) / (normalCdf(0.25) - normalCdf(-0.5)), 0.01, 'mean');
    expect(new Set(values(d, 1))).to.deep.equal(new Set([3]));
    expect(tf.memory().numTensors).to.equal(tensorsBefore);
  });

  it('uses accurate normal CDF and quantile functions', () => {
    expect(normalCdf(0)).to.be.closeTo(0.5, 1e-7);
    expect(normalCdf(1.959963984540054)).to.be.closeTo(0.975, 2e-7);
    expect(normalCdf(-3)).to.be.closeTo(0.0013498980316301, 1e-8);
    expect(normalQuantile(0.975)).to.be.closeTo(1.959963984540054, 1e-8);
    expect(normalQuantile(0.001)).to.be.closeTo(-3.090232306167813, 1e-8);
    expect(normalQuantile(0.5)).to.equal(0);
    expect([normalQuantile(0), normalQuantile(1)]).to.deep.equal([-Infinity, Infinity]);
  });

  it('is reproducible with a seed', () => {
    const a = dense(20, 30);
    const b = dense(20, 30);
    for (const init of [
      (l: tf.layers.Layer, seed: number) => xavierInit(l, { seed }),
      (l: tf.layers.Layer, seed: number) => kaimingInit(l, { seed, distribution: 'uniform' }),
      (l: tf.layers.Layer, seed: number) => normalInit(l, { seed }),
      (l: tf.layers.Layer, seed: number) => uniformInit(l, { seed }),
      (l: tf.layers.Layer, seed: number) => truncNormalInit(l, { seed }),
    ]) {
      init(a, 11);
      init(b, 11);
      expect(values(a)).to.deep.equal(values(b));
      init(b, 12);
      expect(values(a)).to.not.deep.equal(values(b));
    }
  });

  it('rejects bad options, unbuilt layers and weights without fans, with messages that say so', () => {
    const d = dense(2, 2);
    const bn = built(tf.layers.batchNormalization({ name: 'bn1' }), [4]);
    const tensorsBefore = tf.memory().numTensors;
    expect(() => xavierInit(d, { distribution: 'gaussian' as never })).to.throw('xavierInit.distribution: Invalid option: expected one of "normal"|"uniform"');
    expect(() => kaimingInit(d, { mode: 'in' as never })).to.throw('kaimingInit.mode: Invalid option: expected one of "fanIn"|"fanOut"|"fan_in"|"fan_out"');
    expect(() => normalInit(d, { std: 0 })).to.throw('normalInit.std: Too small: expected number to be >0');
    expect(() => uniformInit(d, { a: 2, b: 1 })).to.throw('uniformInit.b: must not be less than a');
    expect(() => truncNormalInit(d, { a: 1, b: 1 })).to.throw('truncNormalInit.b: must be greater than a');
    expect(() => constantInit(d, NaN)).to.throw('constantInit.val: Invalid input: expected number, received NaN');
    expect(() => normalInit(d, { sd: 1 } as never)).to.throw("normalInit: unknown option 'sd' (did you mean 'std'?)");
    expect(() => constantInit(tf.layers.dense({ units: 2, name: 'lonely' }), 1)).to.throw(
      "constantInit: layer 'lonely' is not built yet, so it has no weights; give it an inputShape (or add it to a model that has one) or call it once first",
    );
    expect(() => constantInit({} as never, 1)).to.throw('constantInit: expected a tfjs layer (tf.layers.Layer); got object');
    expect(() => xavierInit(bn)).to.throw("xavierInit: layer 'bn1' weight 'gamma': fan in and fan out need a weight with at least 2 dimensions; got shape [4]");
    normalInit(bn, { mean: 1, std: 0.02, seed: 1 }); // no fans needed
    expect(stats(values(bn)).mean).to.be.closeTo(1, 0.05);
    expect(tf.memory().numTensors).to.equal(tensorsBefore);
  });
});
