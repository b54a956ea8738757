import * as tf from '../src/backend/tfjs.js';

/**
 * Runs `fn` with the kernels `names` of the active backend unregistered, then registers them
 * again: the A/B of a hookflow kernel against the path tfjs takes without it, in one process.
 */
export async function withoutKernels(names: readonly string[], fn: () => unknown): Promise<void> {
  const backend = tf.getBackend();
  const configs = names.map((name) => tf.getKernel(name, backend)).filter((c): c is tf.KernelConfig => c != null);
  configs.forEach((c) => tf.unregisterKernel(c.kernelName, backend));
  try {
    await fn();
  } finally {
    configs.forEach((c) => tf.registerKernel(c));
  }
}
