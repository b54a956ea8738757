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

/**
 * Runs `fn` with the active backend's kernel `name` computed by `kernelFunc`, then registers the
 * original again: the A/B of one of a kernel's paths against another.
 */
export async function withKernelFunc(name: string, kernelFunc: tf.KernelFunc, fn: () => unknown): Promise<void> {
  const backendName = tf.getBackend();
  const original = tf.getKernel(name, backendName);
  if (original == null) throw new Error(`${name} is not registered on ${backendName}`);
  tf.unregisterKernel(name, backendName);
  tf.registerKernel({ ...original, kernelFunc });
  try {
    await fn();
  } finally {
    tf.unregisterKernel(name, backendName);
    tf.registerKernel(original);
  }
}
