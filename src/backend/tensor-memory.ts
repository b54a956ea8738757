/**
 * Host access to a tensor's values without the copy `dataSync()` makes, where the backend allows
 * it: on the wasm backend a float32 tensor's values are a range of the wasm heap, which a
 * Float32Array can view directly. Gradient averaging uses it to pack gradients into its
 * all-reduce buckets and to write the averages back into the same tensors, instead of reading
 * each gradient into a new array and building a new tensor from the result every step.
 */
import * as tf from './tfjs.js';
import { heapF32, type WasmBackend } from './kernels/util.js';

/**
 * Whether the active backend copies a new tensor's values into its own memory when the tensor is
 * created (wasm), so that the array given to `tf.tensor` may be reused at once. The cpu backend
 * keeps the array as the tensor's storage, and tensorflow keeps it until the tensor's first use.
 */
export function copiesOnCreate(): boolean {
  return tf.getBackend() === 'wasm';
}

/**
 * The values of `t`: a view of its own memory on the wasm backend, else a copy (`dataSync`).
 * A heap view is valid only until the next wasm allocation: read it at once, never keep it.
 */
export function readFloat32(t: tf.Tensor): Float32Array {
  return wasmView(t, false) ?? (t.dataSync() as Float32Array);
}

/**
 * A writable view of the memory of `t`, or undefined when writing through it is not safe or
 * not possible: another backend, another dtype, or memory shared with another tensor (a
 * reshape or clone shares it on wasm, and writing would change that tensor too). Valid only
 * until the next wasm allocation.
 */
export function ownedFloat32View(t: tf.Tensor): Float32Array | undefined {
  return wasmView(t, true);
}

function wasmView(t: tf.Tensor, owned: boolean): Float32Array | undefined {
  if (t.dtype !== 'float32' || t.isDisposed || tf.getBackend() !== 'wasm') return undefined;
  const wasm = tf.backend() as unknown as WasmBackend;
  if (owned && wasm.refCount(t.dataId) !== 1) return undefined;
  return heapF32(wasm, t);
}
