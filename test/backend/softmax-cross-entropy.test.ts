import { expect } from 'chai';
import fc from 'fast-check';
import * as tf from '../../src/backend/tfjs.js';
import { SOFTMAX_CROSS_ENTROPY, softmaxCrossEntropy, softmaxCrossEntropyGradValues, softmaxCrossEntropyValues } from '../../src/backend/index.js';
import { onBackend } from '../helpers/on-backend.js';
import { seeded } from '../helpers/seeded.js';

/** The loss and the gradient of the logits of `ce` (labels, logits) -> scalar, read back. */
function lossAndGrad(ce: (labels: tf.Tensor, logits: tf.Tensor) => tf.Scalar, labels: Float32Array, logits: Float32Array, shape: [number, number]): { loss: number; grad: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor2d(logits, shape);
    const y = tf.tensor2d(labels, shape);
    const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => ce(y, l))(x);
    return { loss: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
  });
}

const tfjsLoss = (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;

function oneHot(rows: number, classes: number, seed: number): Float32Array {
  const out = new Float32Array(rows * classes);
  const pick = seeded(rows, seed);
  for (let r = 0; r < rows; r++) out[r * classes + Math.min(classes - 1, Math.floor((pick[r]! + 1) / 2 * classes))] = 1;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('fused softmax cross-entropy', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: equals tf.losses.softmaxCrossEntropy, loss and gradient, on one-hot targets (property test)`, () => {
      onBackend(backend, () => {
        expect(tf.getKernel(SOFTMAX_CROSS_ENTROPY, backend), 'kernel registered').to.not.equal(undefined);
        fc.assert(fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 1e6 }), fc.constantFrom(1, 10, 60),
          (rows, classes, seed, scale) => {
            const logits = seeded(rows * classes, seed, scale);
            const labels = oneHot(rows, classes, seed + 1);
            const fused = lossAndGrad(softmaxCrossEntropy, labels, logits, [rows, classes]);
            const reference = lossAndGrad(tfjsLoss, labels, logits, [rows, classes]);
            // tfjs's float32 logsumexp is off by a few ulps of the logits' magnitude (the fused
            // rows are computed in double), and so are its probabilities.
            const slack = 1e-6 * scale;
            expect(Math.abs(fused.loss - reference.loss)).to.be.at.most(1e-6 * Math.max(1, Math.abs(reference.loss)) + slack);
            expect(maxAbsDiff(fused.grad, reference.grad)).to.be.at.most(slack);
          }), { numRuns: 40 });
      });
    });
  }

  it('is stable where exp overflows float32 (logits of +-1000), as tfjs is', () => {
    const logits = Float32Array.from([1000, -1000, 0, -1000, 1000, 999]);
    const labels = Float32Array.from([0, 1, 0, 0, 0, 1]);
    const fused = lossAndGrad(softmaxCrossEntropy, labels, logits, [2, 3]);
    const reference = lossAndGrad(tfjsLoss, labels, logits, [2, 3]);
    // Row 1: logsumexp 1000 minus the target's -1000; row 2: logsumexp 1000 + log(1 + e^-1) minus 999.
    expect(fused.loss).to.be.closeTo((2000 + 1 + Math.log(1 + Math.exp(-1))) / 2, 1e-3);
    expect(fused.loss).to.be.closeTo(reference.loss, 1e-3);
    // (softmax - target) / rows; tfjs's float32 logsumexp at 1000 is off by ulps of 6e-5.
    const sigmoid1 = 1 / (1 + Math.exp(-1));
    expect(maxAbsDiff(fused.grad, [0.5, -0.5, 0, 0, sigmoid1 / 2, (1 - sigmoid1 - 1) / 2])).to.be.at.most(1e-6);
    expect(maxAbsDiff(fused.grad, reference.grad)).to.be.at.most(1e-4);
  });

  it('takes probability targets; the gradient is exact also where a target row does not sum to 1', () => {
    const logits = Float32Array.from([0.5, -1, 2, 0.1, 0.2, 0.3]);
    const labels = Float32Array.from([0.2, 0.3, 0.5, 0.6, 0.6, 0]); // the second row sums to 1.2
    const fused = lossAndGrad(softmaxCrossEntropy, labels, logits, [2, 3]);
    // The loss as tfjs defines it, and its gradient by central differences in double precision.
    const lossAt = (x: Float64Array) => {
      let total = 0;
      for (let r = 0; r < 2; r++) {
        const row = Array.from(x.subarray(3 * r, 3 * r + 3));
        const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
        row.forEach((v, c) => { total += labels[3 * r + c]! * (lse - v); });
      }
      return total / 2;
    };
    const x = Float64Array.from(logits);
    expect(fused.loss).to.be.closeTo(lossAt(x), 1e-6);
    expect(fused.loss).to.be.closeTo(lossAndGrad(tfjsLoss, labels, logits, [2, 3]).loss, 1e-6);
    const h = 1e-6;
    const numeric = Array.from(x, (_, i) => {
      const up = Float64Array.from(x); up[i]! += h;
      const down = Float64Array.from(x); down[i]! -= h;
      return (lossAt(up) - lossAt(down)) / (2 * h);
    });
    expect(maxAbsDiff(fused.grad, numeric)).to.be.at.most(1e-5);
  });

  it('array loops: the loss, the probabilities and the gradient scaled by dy / rows', () => {
    const probs = new Float32Array(4);
    const loss = softmaxCrossEntropyValues(Float32Array.from([0, 0, Math.log(3), 0]), Float32Array.from([1, 0, 0, 1]), 2, 2, probs);
    expect(loss).to.be.closeTo((Math.log(2) + Math.log(4)) / 2, 1e-7);
    expect(Array.from(probs)).to.deep.equal(Array.from(Float32Array.from([0.5, 0.5, 0.75, 0.25])));
    const grad = new Float32Array(4);
    softmaxCrossEntropyGradValues(probs, Float32Array.from([1, 0, 0, 1]), 3, 2, 2, grad);
    expect(Array.from(grad)).to.deep.equal(Array.from(Float32Array.from([-0.75, 0.75, 1.125, -1.125])));
    expect(Number.isNaN(softmaxCrossEntropyValues(new Float32Array(0), new Float32Array(0), 0, 3, new Float32Array(0)))).to.equal(true);
  });

  it('runs 5 kernels for forward and backward where tfjs runs 35, and leaves no tensor behind', async () => {
    const logits = tf.variable(tf.tensor2d(seeded(64 * 10, 3, 3), [64, 10]));
    const labels = tf.tensor2d(oneHot(64, 10, 4), [64, 10]);
    const step = (ce: typeof tfjsLoss) => {
      const { value, grads } = tf.variableGrads(() => ce(labels, logits), [logits]);
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    };
    try {
      const kernels = async (ce: typeof tfjsLoss) => (await tf.profile(() => step(ce))).kernels.length;
      expect(await kernels(softmaxCrossEntropy)).to.equal(5);
      expect(await kernels(tfjsLoss)).to.equal(35);
      const start = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) step(softmaxCrossEntropy);
      expect(tf.memory().numTensors).to.equal(start);
    } finally {
      logits.dispose();
      labels.dispose();
    }
  });

  it('rejects labels and logits of different shapes with tfjs\'s message, which names both', () => {
    tf.tidy(() => {
      expect(() => softmaxCrossEntropy(tf.zeros([2, 3]), tf.zeros([2, 4]))).to.throw('Error in softmaxCrossEntropy:  Shapes 2,3 and 2,4 must match');
    });
  });

  it('falls back to tfjs where it does not apply (logits of rank 3)', () => {
    const loss = tf.tidy(() => {
      const logits = tf.tensor3d(seeded(12, 5), [2, 2, 3]);
      const labels = tf.tensor3d(oneHot(4, 3, 6), [2, 2, 3]);
      return [softmaxCrossEntropy(labels, logits).dataSync()[0]!, tfjsLoss(labels, logits).dataSync()[0]!];
    });
    expect(loss[0]).to.equal(loss[1]);
  });
});
