import * as tf from '../../src/backend/tfjs.js';

/**
 * Runs `body` with `backend` active (the test setup initialises both), then restores the previous
 * one: when `body` returns, or when the promise it returns settles.
 */
export function onBackend<T>(backend: 'cpu' | 'wasm', body: () => T): T {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  let result: T;
  try {
    result = body();
  } catch (error) {
    tf.setBackend(previous);
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => tf.setBackend(previous)) as T;
  tf.setBackend(previous);
  return result;
}
