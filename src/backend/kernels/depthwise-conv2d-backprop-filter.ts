/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (missing in tfjs-backend-wasm 4.22):
 * the filter gradient of depthwiseConv2d and of the depthwise half of separableConv2d.
 */
import * as tf from '../tfjs.js';
import { allocF32, heapF32, type ConvGeometry, type KernelArgs } from './util.js';
import { forEachTap, parseConvBackprop } from './conv-backprop.js';

/**
 * dW[wR, wC, c, m] = Σ x[b, yR·sH − top + wR·dH, yC·sW − left + wC·dW, c] · dy[b, yR, yC, c·M + m]
 * over NHWC arrays, M = channel multiplier. Float64 accumulation (long sums).
 */
export function depthwiseBackpropFilterNhwc(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const { inChannels, outChannels, filterHeight, filterWidth } = g;
  const mult = outChannels / inChannels;
  const acc = new Float64Array(filterHeight * filterWidth * outChannels);
  forEachTap(g, (xOff, dyOff, tap) => {
    const wOff = tap * outChannels;
    if (mult === 1) {
      for (let c = 0; c < inChannels; c++) acc[wOff + c] += x[xOff + c] * dy[dyOff + c];
    } else {
      for (let c = 0, q = 0; c < inChannels; c++) {
        const xv = x[xOff + c];
        for (let m = 0; m < mult; m++, q++) acc[wOff + q] += xv * dy[dyOff + q];
      }
    }
  });
  return acc;
}

/** Kernel function: inputs `x`, `dy` (NHWC, the only layout tfjs allows here); any stride, pad, dilation. */
export function depthwiseConv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { backend, dy, operand: x, gradShape: filterShape, g } =
    parseConvBackprop('DepthwiseConv2dNativeBackpropFilter', args, 'filter', true);
  const { out, values } = allocF32(backend, [...filterShape]);
  values.set(depthwiseBackpropFilterNhwc(heapF32(backend, x), heapF32(backend, dy), g));
  return out;
}

/** Registration config for the wasm backend. */
export const depthwiseConv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dBackpropFilter as tf.KernelFunc,
};
