/**
 * Sum of the squares of every element of several float32 tensors, read in place from the wasm
 * heap by native/blas in one pass: the global 2-norm of gradient clipping without the two tfjs
 * kernels per gradient, the AddN and the device read.
 */
import * as tf from '../tfjs.js';
import { heapOf, nativeBlasAddon } from './native-blas.js';
import type { WasmBackend } from './util.js';

/** Σ x² over all `tensors`, or undefined when the native path does not apply (not wasm, no addon, not float32). */
export function nativeSumOfSquares(tensors: readonly tf.Tensor[]): number | undefined {
  const addon = nativeBlasAddon();
  if (!addon || tf.getBackend() !== 'wasm' || tensors.some((t) => t.dtype !== 'float32' || t.isDisposed)) return undefined;
  const wasm = tf.backend() as unknown as WasmBackend;
  const spans = new Float64Array(tensors.length * 2);
  tensors.forEach((t, i) => {
    spans[2 * i] = wasm.getMemoryOffset(t.dataId);
    spans[2 * i + 1] = t.size;
  });
  return addon.sumOfSquares(heapOf(wasm), spans);
}
