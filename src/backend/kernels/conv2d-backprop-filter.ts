/**
 * `Conv2DBackpropFilter` for the wasm backend (tfjs-backend-wasm 4.22 has none), i.e. the
 * filter gradient of conv2d, conv1d and the pointwise half of separableConv2d.
 */
import * as tf from '@tensorflow/tfjs';
import {
  allocF32, assertShape, geometryOf, heapF32, nchwToNhwc,
  type ConvGeometry, type ConvPad, type DimRoundingMode, type KernelArgs, type WasmBackend,
} from './util.js';

/**
 * dW[wR, wC, d1, d2] = Σ x[b, yR·sH − top + wR·dH, yC·sW − left + wC·dW, d1] · dy[b, yR, yC, d2]
 * over NHWC arrays. Accumulates in float64 because each weight sums batch × outH × outW terms.
 */
export function conv2dBackpropFilterNhwc(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padTop, padLeft } = g;
  const acc = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  const wRowSize = filterWidth * inChannels * outChannels;
  const wColSize = inChannels * outChannels;
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
            let o = wR * wRowSize + wC * wColSize;
            for (let d1 = 0; d1 < inChannels; d1++, o += outChannels) {
              const xv = x[xOff + d1];
              if (xv === 0) continue; // common after ReLU; saves the whole d2 loop
              for (let d2 = 0; d2 < outChannels; d2++) acc[o + d2] += xv * dy[dyOff + d2];
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
  pad: ConvPad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: DimRoundingMode;
  filterShape: [number, number, number, number];
  /** Not sent by tfjs 4.22 (its conv2d gradient refuses dilation > 1) but honoured if present. */
  dilations?: number | [number, number];
}

/** Kernel function: inputs `x`, `dy`; attrs as tfjs's `Conv2DBackpropFilterAttrs`. NHWC and NCHW. */
export function conv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape, dilations } = args.attrs as unknown as Attrs;
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  const ci = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad,
    dimRoundingMode, false, format);
  assertShape('Conv2DBackpropFilter', 'dy', dy.shape, ci.outShape);
  const g = geometryOf(ci);

  const { out, values } = allocF32(backend, [...filterShape]);
  let xv: ArrayLike<number> = heapF32(backend, x);
  let dyv: ArrayLike<number> = heapF32(backend, dy);
  if (format === 'channelsFirst') {
    xv = nchwToNhwc(xv, g.batchSize, g.inChannels, g.inHeight, g.inWidth);
    dyv = nchwToNhwc(dyv, g.batchSize, g.outChannels, g.outHeight, g.outWidth);
  }
  values.set(conv2dBackpropFilterNhwc(xv, dyv, g));
  return out;
}

/** Registration config for the wasm backend. */
export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as tf.KernelFunc,
};
