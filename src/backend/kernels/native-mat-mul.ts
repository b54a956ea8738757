/**
 * Native BLAS under the wasm backend: `BatchMatMul` and `_FusedMatMul` run OpenBLAS's sgemm
 * (the optional addon in native/blas) directly on the operands in the wasm heap, no copies.
 *
 * The wasm heap is one ArrayBuffer; the addon gets it and the tensors' byte offsets and writes
 * the product into an output allocated by the wasm backend, so the result is an ordinary wasm
 * tensor. One core does ~99 GFLOP/s of float32 GEMM natively against ~26 GFLOP/s in wasm SIMD.
 * Batch dims broadcast as in tfjs's own kernels (operand matrix = output batch index modulo the
 * operand's batch size).
 * Everything the native path does not cover (other dtypes, prelu, biases other than [n] or a
 * scalar, empty tensors) goes to the wrapped kernel,
 * which also produces the error messages for invalid shapes. The conv GEMMs of
 * src/backend/kernels call the registered BatchMatMul, so they take this path as well.
 *
 * The addon is optional (see native-blas.ts): without it the plain wasm kernels stay in place.
 */
import * as tf from '../tfjs.js';
import { heapOf, nativeBlasAddon } from './native-blas.js';
import { kernelWrappers, type KernelArgs, type WasmBackend } from './util.js';

/** Fused activations the native epilogue applies; their index is the addon's activation code. */
export const NATIVE_ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu'] as const;


const wrappers = kernelWrappers();

/** True when `config` already is a wrapper made by {@link withNativeMatMul}. */
export function hasNativeMatMul(config: tf.KernelConfig): boolean {
  return wrappers.has(config);
}

/** Product of the batch dims of `t` (all but the last two). */
function batchOf(t: tf.TensorInfo): number {
  return tf.util.sizeFromShape(t.shape.slice(0, -2));
}

/**
 * Wraps the wasm matmul kernel `original` (`BatchMatMul` or `_FusedMatMul`) so that float32
 * products run on the native sgemm; install only when {@link nativeBlasStatus} is active.
 */
export function withNativeMatMul(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as WasmBackend;
    const { a, b, bias } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo };
    const { transposeA = false, transposeB = false, activation = 'linear', leakyreluAlpha = 0.2 } =
      args.attrs as { transposeA?: boolean; transposeB?: boolean; activation?: string; leakyreluAlpha?: number };
    const code = (NATIVE_ACTIVATIONS as readonly string[]).indexOf(activation);
    const addon = nativeBlasAddon();
    if (addon == null || code < 0 || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
      return original.kernelFunc(args);
    }
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = a.shape[transposeA ? ra - 1 : ra - 2]!;
    const k = a.shape[transposeA ? ra - 2 : ra - 1]!;
    const n = b.shape[transposeB ? rb - 2 : rb - 1]!;
    if (k !== b.shape[transposeB ? rb - 1 : rb - 2] || m === 0 || n === 0 || k === 0) return original.kernelFunc(args);
    const batchA = batchOf(a);
    const batchB = batchOf(b);
    let outer: number[];
    try {
      outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    } catch {
      return original.kernelFunc(args); // it names the mismatch
    }
    const batch = tf.util.sizeFromShape(outer);
    const biasSize = bias ? tf.util.sizeFromShape(bias.shape) : 0;
    if (bias && (bias.dtype !== 'float32' || !(biasSize === 1 || (biasSize === n && bias.shape.at(-1) === n)))) {
      return original.kernelFunc(args);
    }
    const oneCall = (batchA === batch || batchA === 1) && (batchB === batch || batchB === 1);
    // Both operands broadcast and an epilogue: the wrapped kernel decides (layers never send these).
    if (!oneCall && (bias || code !== 0)) return original.kernelFunc(args);
    const out = backend.makeOutput([...outer, m, n], 'float32');
    // The heap is read after makeOutput: an allocation may grow (and replace) it.
    const heap = heapOf(backend);
    const [aOffset, bOffset, cOffset] = [a, b, out].map((t) => backend.getMemoryOffset(t.dataId)) as [number, number, number];
    const biasOffset = bias ? backend.getMemoryOffset(bias.dataId) : -1;
    if (oneCall) {
      // One call: each operand is either batched like the output or one matrix for all.
      addon.sgemm(heap, batch, m, n, k, aOffset, bOffset, cOffset, transposeA, transposeB,
        batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n, biasOffset, biasSize, code, leakyreluAlpha);
      return out;
    }
    // Both operands broadcast ([2,1] with [1,3]): one product per output matrix, operands taken
    // modulo their batch size as tfjs's cpu and wasm kernels do.
    for (let i = 0; i < batch; i++) {
      addon.sgemm(heap, 1, m, n, k, aOffset + (i % batchA) * m * k * 4, bOffset + (i % batchB) * k * n * 4, cOffset + i * m * n * 4,
        transposeA, transposeB, 0, 0, biasOffset, biasSize, code, leakyreluAlpha);
    }
    return out;
  };
  return wrappers.wrap(original, kernelFunc);
}
