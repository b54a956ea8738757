import * as tf from '../../backend/tfjs.js';
import { nativeSumOfSquares } from '../../backend/kernels/sum-of-squares.js';

/** Options of gradient clipping by global norm (PyTorch `clip_grad_norm_`). */
export interface GradClipOptions {
  maxNorm: number;
  /** The p of the p-norm; `Infinity` for the max norm. Default 2. */
  normType?: number;
}

/**
 * Global p-norm of all `grads` (PyTorch `clip_grad_norm_`): when it exceeds `maxNorm`, every
 * gradient is scaled by `maxNorm / (norm + 1e-6)`, replacing the map's tensors. Returns the
 * norm before clipping.
 */
export function clipGradNorm(grads: Map<string, tf.Tensor>, options: GradClipOptions): number {
  const { maxNorm, normType = 2 } = options;
  if (grads.size === 0) return 0;
  const list = [...grads.values()];
  // The 2-norm in one native pass over the wasm heap when native/blas is built.
  const squares = normType === 2 ? nativeSumOfSquares(list) : undefined;
  const total = squares !== undefined ? Math.sqrt(squares) : pNorm(list, normType);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const [key, g] of grads) {
      grads.set(key, tf.tidy(() => g.mul(coef)));
      g.dispose();
    }
  }
  return total;
}

/** |g|^p elementwise. square() and abs() for p = 2 and 1: wasm's Pow is a scalar loop, ~120x slower than Square. */
function powerOfAbs(g: tf.Tensor, p: number): tf.Tensor {
  if (p === 2) return tf.square(g);
  if (p === 1) return tf.abs(g);
  return tf.pow(tf.abs(g), p);
}

/** The global p-norm of `list` with tfjs ops (one device read). */
function pNorm(list: tf.Tensor[], normType: number): number {
  const totalTensor = tf.tidy(() => {
    if (normType === Infinity) return tf.max(tf.stack(list.map((g) => g.abs().max())));
    const powered = list.map((g) => tf.sum(powerOfAbs(g, normType)));
    return powered.length === 1 ? powered[0]! : tf.addN(powered);
  });
  const reduced = totalTensor.dataSync()[0]!;
  totalTensor.dispose();
  // The root is taken in JS: one kernel fewer per step.
  return normType === Infinity ? reduced : normType === 2 ? Math.sqrt(reduced) : reduced ** (1 / normType);
}
