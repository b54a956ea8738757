/**
 * Attribute parsing and dy-row gathering shared by the conv2d / depthwiseConv2d backprop kernels.
 */
import * as tf from '../tfjs.js';
import {
  assertShape, geometryOf,
  type ConvGeometry, type ConvPad, type DimRoundingMode, type KernelArgs, type WasmBackend,
} from './util.js';

type Shape4 = [number, number, number, number];

/** The attrs tfjs sends to the four conv backprop kernels (`filterShape` or `inputShape`). */
interface BackpropAttrs {
  strides: number | [number, number];
  pad: ConvPad;
  /** Only conv2d kernels take it; depthwise ones are NHWC-only. */
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: DimRoundingMode;
  /** Not sent by tfjs 4.22 for conv2d (its gradient refuses dilation > 1) but honoured if present. */
  dilations?: number | [number, number];
  filterShape?: Shape4;
  inputShape?: Shape4;
}

/** A parsed backprop call: its inputs, the shape of the gradient it returns and the conv geometry. */
export interface ConvBackpropCall {
  backend: WasmBackend;
  dy: tf.TensorInfo;
  /** `x` for a filter gradient, `filter` for an input gradient. */
  operand: tf.TensorInfo;
  /** The gradient's shape: the `filterShape` or `inputShape` attr. */
  gradShape: Shape4;
  g: ConvGeometry;
  channelsFirst: boolean;
}

/**
 * Reads inputs and attrs of a conv backprop kernel call (`gradient` says which of filter/input it
 * computes), builds the conv geometry and checks dy's shape against it.
 */
export function parseConvBackprop(kernel: string, args: KernelArgs, gradient: 'filter' | 'input', depthwise: boolean): ConvBackpropCall {
  const attrs = args.attrs as unknown as BackpropAttrs;
  const dy = args.inputs.dy as tf.TensorInfo;
  const operand = (gradient === 'filter' ? args.inputs.x : args.inputs.filter) as tf.TensorInfo;
  const gradShape = (gradient === 'filter' ? attrs.filterShape : attrs.inputShape) as Shape4;
  const [xShape, filterShape] = gradient === 'filter' ? [operand.shape as Shape4, gradShape] : [gradShape, operand.shape as Shape4];
  const format = depthwise ? 'channelsLast' : tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  const ci = tf.backend_util.computeConv2DInfo(
    xShape, filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, depthwise, format);
  assertShape(kernel, 'dy', dy.shape, ci.outShape);
  return { backend: args.backend as WasmBackend, dy, operand, gradShape, g: geometryOf(ci), channelsFirst: format === 'channelsFirst' };
}

/** How a GEMM path splits the output rows (b, yR) of a conv into chunks. */
export interface GemmPlan {
  /** wasm's BatchMatMul kernel (XNNPACK). */
  matMul: tf.KernelConfig;
  /** Columns of the im2col matrix: fH·fW·inC. */
  K: number;
  /** batch × outH output rows. */
  totalRows: number;
  /** About `chunkColumns` columns per chunk, the K-row operand capped at 4M floats (16 MB). */
  rowsPerChunk: number;
}

/** The {@link GemmPlan} of `kernel`'s GEMM path; throws when wasm's BatchMatMul is missing. */
export function gemmPlan(kernel: string, g: ConvGeometry, chunkColumns: number): GemmPlan {
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (matMul == null) throw new Error(`${kernel}: the wasm BatchMatMul kernel is not registered`);
  const K = g.filterHeight * g.filterWidth * g.inChannels;
  const rowsPerChunk = Math.max(1, Math.floor(Math.min(chunkColumns, (1 << 22) / K) / g.outWidth));
  return { matMul, K, totalRows: g.batchSize * g.outHeight, rowsPerChunk };
}

/** Copies dy's output rows [r0, r1) (r = b·outH + yR) into `dst` as an [M, outC] matrix. */
export function gatherDyRows(dyv: Float32Array, dst: Float32Array, g: ConvGeometry, r0: number, r1: number, channelsFirst: boolean): void {
  const { outHeight, outWidth, outChannels } = g;
  if (channelsFirst) {
    // dY is [N, outC, outH, outW].
    const perImage = outHeight * outWidth;
    for (let r = r0, m = 0; r < r1; r++) {
      const b = Math.floor(r / outHeight);
      const base = b * outChannels * perImage + (r - b * outHeight) * outWidth;
      for (let yC = 0; yC < outWidth; yC++, m++) {
        for (let c = 0; c < outChannels; c++) dst[m * outChannels + c] = dyv[base + c * perImage + yC];
      }
    }
  } else {
    const start = r0 * outWidth * outChannels;
    dst.set(dyv.subarray(start, start + (r1 - r0) * outWidth * outChannels));
  }
}

/**
 * Visits every (output pixel, filter tap) pair whose input pixel lies inside the image, in the
 * order b, yR, wR, yC, wC, over NHWC arrays: `xOff` and `dyOff` are the offsets of the input and
 * output pixels' channels, `tap` = wR·filterWidth + wC. Used by the direct-loop gradients.
 */
export function forEachTap(g: ConvGeometry, visit: (xOff: number, dyOff: number, tap: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padTop, padLeft } = g;
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
            visit((xRowOff + xC) * inChannels, dyOff, wR * filterWidth + wC);
          }
        }
      }
    }
  }
}
