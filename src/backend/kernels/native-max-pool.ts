/**
 * `MaxPool` forward on native/blas, four channels at a time in SIMD registers, with the cpu
 * backend's values exactly: the first strict maximum of each window, NaN never taken, -Infinity
 * for a window of NaNs, and a 1x1 pool that keeps the shape is the identity. wasm's kernel
 * (XNNPACK) answers -Infinity for a window that holds NaN beside real numbers (a [NaN, 1, NaN,
 * NaN] window gives -Infinity, not 1), which also disagrees with hookflow's `MaxPoolGrad`. The
 * native loop is 1.5-1.6x faster on pools of 8 and 16 channels with 2x2 windows (0.12 against
 * 0.18 ms on the MNIST CNN's [64, 26, 26, 8]) and 0.7-0.85x on 3 channels or overlapping 3x3
 * windows (bench/conv-paths.ts); it runs on all of them, for the values. Without native/blas,
 * XNNPACK's kernel stays.
 */
import * as tf from '../tfjs.js';
import { heapOf, heapOffset, nativeBlasAddon } from './native-blas.js';
import { kernelWrappers, type KernelArgs, type MaxPoolAttrs, type WasmBackend } from './util.js';

/** The pool through native/blas when the addon is loaded and `x` is float32, else undefined. */
export function nativeMaxPool(args: KernelArgs): tf.TensorInfo | undefined {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const addon = x.dtype === 'float32' ? nativeBlasAddon() : undefined;
  if (!addon) return undefined;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolAttrs;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const backend = args.backend as WasmBackend;
  if (info.filterWidth === 1 && info.filterHeight === 1 && tf.util.arraysEqual(info.inShape, info.outShape)) {
    // As the cpu backend: a 1x1 pool that keeps the shape is the identity (NaNs included).
    return tf.getKernel('Identity', 'wasm')!.kernelFunc({ inputs: { x }, backend, attrs: {} }) as tf.TensorInfo;
  }
  const out = backend.makeOutput([...info.outShape], 'float32');
  addon.maxPool(heapOf(backend), heapOffset(backend, x), heapOffset(backend, out), info.batchSize, info.inHeight, info.inWidth,
    info.inChannels, info.outHeight, info.outWidth, info.strideHeight, info.strideWidth, info.effectiveFilterHeight,
    info.effectiveFilterWidth, info.padInfo.top, info.padInfo.left);
  return out;
}

const wrappers = kernelWrappers();

/** Wraps the wasm `MaxPool` kernel `original`: float32 pools run natively. */
export function withNativeMaxPool(original: tf.KernelConfig): tf.KernelConfig {
  return wrappers.wrap(original, (args) => nativeMaxPool(args) ?? original.kernelFunc(args));
}

/** True when `config` already is a wrapper made by {@link withNativeMaxPool}. */
export const hasNativeMaxPool = wrappers.has;
/** The kernel a {@link withNativeMaxPool} wrapper delegates to (`config` itself when it is none): for tests and benches. */
export const withoutNativeMaxPool = wrappers.unwrap;
