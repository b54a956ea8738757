/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (missing in tfjs-backend-wasm 4.22):
 * the input gradient of depthwiseConv2d / separableConv2d when they are not the first layer.
 */
import * as tf from '@tensorflow/tfjs';
import {
  allocF32, assertShape, geometryOf, heapF32,
  type ConvGeometry, type ConvPad, type DimRoundingMode, type KernelArgs, type WasmBackend,
} from './util.js';

/**
 * Scatters dy back through the filter: for every output pixel and tap,
 * dx[b, xR, xC, c] += Σ_m dy[b, yR, yC, c·M + m] · f[wR, wC, c, m]. `dx` must be zeroed.
 * The scatter form handles stride and dilation with the same two bounds checks.
 */
export function depthwiseBackpropInputNhwc(dy: ArrayLike<number>, filter: ArrayLike<number>, g: ConvGeometry, dx: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padTop, padLeft } = g;
  const mult = outChannels / inChannels;
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
            const fOff = (wR * filterWidth + wC) * outChannels;
            if (mult === 1) {
              for (let c = 0; c < inChannels; c++) dx[xOff + c] += dy[dyOff + c] * filter[fOff + c];
            } else {
              for (let c = 0, q = 0; c < inChannels; c++) {
                let s = 0;
                for (let m = 0; m < mult; m++, q++) s += dy[dyOff + q] * filter[fOff + q];
                dx[xOff + c] += s;
              }
            }
          }
        }
      }
    }
  }
}

interface Attrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: ConvPad;
  dimRoundingMode?: DimRoundingMode;
  inputShape: [number, number, number, number];
}

/** Kernel function: inputs `dy`, `filter` (NHWC, the only layout tfjs allows here); any stride, pad, dilation. */
export function depthwiseConv2dBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs as unknown as Attrs;
  const ci = tf.backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, dilations ?? 1, pad,
    dimRoundingMode, true);
  assertShape('DepthwiseConv2dNativeBackpropInput', 'dy', dy.shape, ci.outShape);
  const { out, values } = allocF32(backend, [...inputShape]);
  depthwiseBackpropInputNhwc(heapF32(backend, dy), heapF32(backend, filter), geometryOf(ci), values);
  return out;
}

/** Registration config for the wasm backend. */
export const depthwiseConv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dBackpropInput as tf.KernelFunc,
};
