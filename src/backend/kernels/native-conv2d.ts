/**
 * `Conv2D` forward on native/blas for filters with few weights: a network's first conv (one to
 * three input channels) gives XNNPACK a GEMM with K = 9-27, where most of its time goes to
 * packing and edges; the direct loop (`conv2dDirect` in native/blas) keeps each pixel's outputs
 * in SIMD registers: 0.44 against 0.74 ms on the MNIST CNN's [64, 28, 28, 1] -> 8 @ 3x3 conv.
 * Larger filters, NCHW, other dtypes and a missing addon go to the wrapped kernel (wasm's,
 * behind the padding fix).
 */
import * as tf from '../tfjs.js';
import { heapOf, heapOffset, nativeBlasAddon, nativeConvGeometry } from './native-blas.js';
import { geometryOf, kernelWrappers, type ForwardConvAttrs, type KernelArgs, type WasmBackend } from './util.js';

/**
 * The largest filter (fH·fW·inC·outC) computed by the direct loop. In bench/conv-paths.ts its
 * lead over XNNPACK shrinks as the filter grows: 1.6-1.7x at 72 weights, 1.1-1.3x at 216-1152,
 * even at 2304.
 */
export const NATIVE_CONV2D_MAX_WEIGHTS = 1152;

/**
 * The conv through native/blas's direct loop when it applies (the addon loaded, NHWC float32,
 * at most `maxWeights` filter weights), else undefined.
 */
export function nativeConv2d(args: KernelArgs, maxWeights = NATIVE_CONV2D_MAX_WEIGHTS): tf.TensorInfo | undefined {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ForwardConvAttrs;
  const addon = x.dtype === 'float32' && filter.dtype === 'float32' && attrs.dataFormat !== 'NCHW' ? nativeBlasAddon() : undefined;
  if (!addon || tf.util.sizeFromShape(filter.shape) > maxWeights) return undefined;
  const ci = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode);
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput([...ci.outShape], 'float32');
  addon.conv2dDirect(heapOf(backend), heapOffset(backend, x), heapOffset(backend, filter), heapOffset(backend, out),
    nativeConvGeometry(geometryOf(ci)));
  return out;
}

const wrappers = kernelWrappers();

/** Wraps the wasm `Conv2D` kernel `original`: small filters run natively, the rest as before. */
export function withNativeConv2d(original: tf.KernelConfig): tf.KernelConfig {
  return wrappers.wrap(original, (args) => nativeConv2d(args) ?? original.kernelFunc(args));
}

/** True when `config` already is a wrapper made by {@link withNativeConv2d}. */
export const hasNativeConv2d = wrappers.has;
/** The kernel a {@link withNativeConv2d} wrapper delegates to (`config` itself when it is none): for tests and benches. */
export const withoutNativeConv2d = wrappers.unwrap;
