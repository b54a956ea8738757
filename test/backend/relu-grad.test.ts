import { expect } from 'chai';
import fc from 'fast-check';
import * as tf from '../../src/backend/tfjs.js';
import { RELU_GRAD, reluGrad, reluGradValues } from '../../src/backend/index.js';
import { firstDifference } from '../helpers/first-difference.js';
import { onBackend } from '../helpers/on-backend.js';
import { seeded } from '../helpers/seeded.js';

/** Values a relu gradient must get exactly right: NaN, both zeros, infinities, tiny and ordinary numbers. */
const SPECIAL = [NaN, -0, 0, Infinity, -Infinity, 1e-45, -1e-45, 3.5, -2];

/** `n` seeded values with about a quarter replaced by {@link SPECIAL} ones. */
function withSpecials(n: number, seed: number): Float32Array {
  const values = seeded(n, seed, 4);
  const pick = seeded(n, seed + 7);
  for (let i = 0; i < n; i++) {
    if (pick[i]! > 0.5) values[i] = SPECIAL[Math.floor((pick[i]! - 0.5) * 2 * SPECIAL.length) % SPECIAL.length]!;
  }
  return values;
}

/** tfjs-core's own relu gradient, op for op. */
function tfjsReluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}

describe('relu gradient in one kernel (HookflowReluGrad)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: tf.grad of relu equals tfjs's mul(dy, cast(step(x))) exactly, NaNs and signed zeros included (property test)`, () => {
      onBackend(backend, () => {
        expect(tf.getKernel(RELU_GRAD, backend), 'kernel registered').to.not.equal(undefined);
        fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 1e6 }), (shape, seed) => {
          const n = tf.util.sizeFromShape(shape);
          const [actual, expected] = tf.tidy(() => {
            const x = tf.tensor(withSpecials(n, seed), shape);
            const dy = tf.tensor(withSpecials(n, seed + 1), shape);
            const grad = tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy);
            expect(grad.shape).to.deep.equal(shape);
            return [grad.dataSync().slice(), tfjsReluGrad(dy, x).dataSync().slice()];
          });
          expect(firstDifference(actual, expected), `shape ${shape}, seed ${seed}`).to.equal(undefined);
        }), { numRuns: 60 });
      });
    });

    it(`${backend}: runs one kernel where tfjs runs Step, Cast and Multiply, and leaves no tensor behind`, async () => {
      await onBackend(backend, async () => {
        const x = tf.tensor2d(seeded(64 * 32, 3), [64, 32]);
        const dy = tf.tensor2d(seeded(64 * 32, 4), [64, 32]);
        const before = tf.memory().numTensors;
        const profile = await tf.profile(() => reluGrad(dy, x));
        expect(profile.kernelNames).to.deep.equal([RELU_GRAD]);
        expect(tf.memory().numTensors - before, 'the result only').to.equal(1);
        profile.result instanceof tf.Tensor && profile.result.dispose();
        for (let i = 0; i < 3; i++) tf.tidy(() => { tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy); });
        expect(tf.memory().numTensors).to.equal(before);
        x.dispose();
        dy.dispose();
      });
    });
  }

  it('second order: the gradient of the relu gradient is step(x) for dy and zero for x, as through tfjs\'s ops', () => {
    const [byDy, byX] = tf.tidy(() => {
      const x = tf.tensor1d([-1, 0, 2, NaN, 5]);
      const dy = tf.tensor1d([1, 2, 3, 4, -5]);
      const [gDy, gX] = tf.grads((d: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(reluGrad(d, v), tf.tensor1d([1, 1, 1, 1, 2]))))([dy, x]);
      return [gDy!.dataSync().slice(), gX!.dataSync().slice()];
    });
    expect(Array.from(byDy)).to.deep.equal([0, 0, 1, NaN, 2]);
    expect(Array.from(byX)).to.deep.equal([0, 0, 0, 0, 0]);
  });

  it('the JS loop (wasm without native/blas) equals tfjs on the cpu backend exactly', () => {
    const n = 5000;
    const x = withSpecials(n, 11);
    const dy = withSpecials(n, 12);
    const out = new Float32Array(n);
    reluGradValues(dy, x, out);
    const expected = onBackend('cpu', () => tf.tidy(() => tfjsReluGrad(tf.tensor1d(dy), tf.tensor1d(x)).dataSync().slice()));
    expect(firstDifference(out, expected)).to.equal(undefined);
  });

  it('int32 operands take tfjs\'s ops (the kernel is float32 only)', async () => {
    const x = tf.tensor1d([-1, 2, 0], 'int32');
    const dy = tf.tensor1d([3, 4, 5], 'int32');
    const profile = await tf.profile(() => reluGrad(dy, x));
    expect(profile.kernelNames).to.not.include(RELU_GRAD);
    expect(Array.from((profile.result as tf.Tensor).dataSync())).to.deep.equal([0, 4, 0]);
    (profile.result as tf.Tensor).dispose();
    x.dispose();
    dy.dispose();
  });
});
