/**
 * Padding fix for the wasm backend's forward convolutions (`Conv2D`, `DepthwiseConv2dNative`,
 * `FusedConv2D`, `FusedDepthwiseConv2D`).
 *
 * In tfjs-backend-wasm 4.22 these kernels hand tfjs's padding to XNNPACK in two ways that go
 * wrong (checked against the cpu backend):
 * - `'same'` padding gives wrong values when a filter axis has size 1 and a stride > 1 (e.g. a
 *   [1, 3] or [3, 1] kernel with stride 2 on an even-sized input; 1×1 and square kernels are
 *   fine), in Conv2D and depthwise alike. Those calls use XNNPACK's TensorFlow-SAME mode.
 * - numeric padding, and any `dimRoundingMode`, lets XNNPACK derive an output size that differs
 *   from the one tfjs allocated; results are wrong and writes can run past the output
 *   ("memory access out of bounds"). (tfjs itself sizes numeric padding with the filter
 *   *height* and stride *height* for both axes; the cpu backend follows that, so do we.)
 * Explicit padding is handled correctly by the same kernels. So the wrapper converts every pad
 * into explicit `[[0,0],[top,bottom],[left,right],[0,0]]` whose XNNPACK output size equals
 * tfjs's, and delegates to the original kernel. The rare geometry that would need negative
 * padding, and NCHW Conv2D (which wasm rejects), runs the cpu backend's kernel instead.
 */
import * as tf from '../tfjs.js';
import { kernelWrappers, runOnCpu, type ExplicitPadding, type ForwardConvAttrs, type KernelArgs } from './util.js';

/** Forward conv kernels whose wasm versions need the padding fix. */
export const FORWARD_CONV_KERNELS = ['Conv2D', 'DepthwiseConv2dNative', 'FusedConv2D', 'FusedDepthwiseConv2D'] as const;

/**
 * The bottom/right pad that makes XNNPACK's floor((in + before + after − effK) / stride) + 1
 * equal `outSize`, or null when none ≥ 0 exists.
 */
function afterPad(inSize: number, outSize: number, stride: number, effK: number, before: number): number | null {
  if (outSize < 1 || before < 0) return null;
  const lo = (outSize - 1) * stride + effK - inSize - before;
  const after = Math.max(lo, 0);
  return after <= lo + stride - 1 ? after : null;
}

/**
 * Explicit NHWC padding equivalent to `ci` (same output size, same top/left offsets), or null
 * when it cannot be expressed without cropping the input.
 */
export function explicitPaddingFor(ci: tf.backend_util.Conv2DInfo): ExplicitPadding | null {
  const { top, left } = ci.padInfo;
  const bottom = afterPad(ci.inHeight, ci.outHeight, ci.strideHeight, ci.effectiveFilterHeight, top);
  const right = afterPad(ci.inWidth, ci.outWidth, ci.strideWidth, ci.effectiveFilterWidth, left);
  if (bottom == null || right == null) return null;
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

const wrappers = kernelWrappers();

/** True when `config` already is a wrapper made by {@link withForwardPaddingFix}. */
export function hasForwardPaddingFix(config: tf.KernelConfig): boolean {
  return wrappers.has(config);
}

/** Wraps the wasm kernel `original` so that it only ever sees explicit padding. */
export function withForwardPaddingFix(original: tf.KernelConfig): tf.KernelConfig {
  const name = original.kernelName;
  const depthwise = name.includes('Depthwise');
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const attrs = args.attrs as unknown as ForwardConvAttrs;
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    // Depthwise kernels ignore dataFormat on both cpu and wasm, so only Conv2D checks it.
    if (!depthwise && attrs.dataFormat === 'NCHW') return runOnCpu(name, args);
    const ci = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, depthwise);
    const pad = explicitPaddingFor(ci);
    if (pad == null) return runOnCpu(name, args);
    return original.kernelFunc({ ...args, attrs: { ...args.attrs, pad, dimRoundingMode: undefined } as unknown as tf.NamedAttrMap });
  };
  return wrappers.wrap(original, kernelFunc);
}
