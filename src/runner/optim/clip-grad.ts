import * as tf from '../../backend/tfjs.js';

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
  const totalTensor = tf.tidy(() => {
    const list = [...grads.values()];
    if (normType === Infinity) return tf.max(tf.stack(list.map((g) => g.abs().max())));
    const sum = tf.addN(list.map((g) => g.abs().pow(normType).sum()));
    return sum.pow(1 / normType);
  });
  const total = totalTensor.dataSync()[0]!;
  totalTensor.dispose();
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const [key, g] of grads) {
      grads.set(key, tf.tidy(() => g.mul(coef)));
      g.dispose();
    }
  }
  return total;
}
