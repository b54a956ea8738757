/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (missing in tfjs-backend-wasm 4.22):
 * the filter gradient of depthwiseConv2d and of the depthwise half of separableConv2d.
 */
import * as tf from '@tensorflow/tfjs';
import {
  allocF32, assertShape, geometryOf, heapF32,
  type ConvGeometry, type ConvPad, type DimRoundingMode, type KernelArgs, type WasmBackend,
} from './util.js';

/**
 * dW[wR, wC, c, m] = Σ x[b, yR·sH − top + wR·dH, yC·sW − left + wC·dW, c] · dy[b, yR, yC, c·M + m]
 * over NHWC arrays, M = channel multiplier. Float64 accumulation (long sums).
 */
export function depthwiseBackpropFilterNhwc(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padTop, padLeft } = g;
  const mult = outChannels / inChannels;
  const acc = new Float64Array(filterHeight * filterWidth * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const xR0 = yR * strideHeight - padTop;
      for (let wR = 0; wR < filterHeight; wR++) {
        const xR = xR0 + wR * dilationHeight;
        if (xR < 0 || xR >= inHeight) continue;
        const xRowOff = (b * inHeight + xR) * inWidth;
        const dyRowOff = (b * outHeight + yR) * outWidth;
        for (let yC = 0; yC < outWidth; yC++) {
          const xC0 = yC * strideWidth - padLeft;
          const dyOff = (dyRowOff + yC) * outChannels;
          for (let wC = 0; wC < filterWidth; wC++) {
            const xC = xC0 + wC * dilationWidth;
            if (xC < 0 || xC >= inWidth) continue;
            const xOff = (xRowOff + xC) * inChannels;
            const wOff = (wR * filterWidth + wC) * outChannels;
            if (mult === 1) {
              for (let c = 0; c < inChannels; c++) acc[wOff + c] += x[xOff + c] * dy[dyOff + c];
            } else {
              for (let c = 0, q = 0; c < inChannels; c++) {
                const xv = x[xOff + c];
                for (let m = 0; m < mult; m++, q++) acc[wOff + q] += xv * dy[dyOff + q];
              }
            }
          }
        }
      }
    }
  }
  return acc;
}

interface Attrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: ConvPad;
  dimRoundingMode?: DimRoundingMode;
  filterShape: [number, number, number, number];
}

/** Kernel function: inputs `x`, `dy` (NHWC, the only layout tfjs allows here); any stride, pad, dilation. */
export function depthwiseConv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as Attrs;
  const ci = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad,
    dimRoundingMode, true);
  assertShape('DepthwiseConv2dNativeBackpropFilter', 'dy', dy.shape, ci.outShape);
  const { out, values } = allocF32(backend, [...filterShape]);
  values.set(depthwiseBackpropFilterNhwc(heapF32(backend, x), heapF32(backend, dy), geometryOf(ci)));
  return out;
}

/** Registration config for the wasm backend. */
export const depthwiseConv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dBackpropFilter as tf.KernelFunc,
};
