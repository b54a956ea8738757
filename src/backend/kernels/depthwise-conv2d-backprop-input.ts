/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (missing in tfjs-backend-wasm 4.22):
 * the input gradient of depthwiseConv2d / separableConv2d when they are not the first layer.
 */
import * as tf from '../tfjs.js';
import { allocF32, heapF32, type ConvGeometry, type KernelArgs, type WasmBackend } from './util.js';
import { forEachTap, parseConvBackprop } from './conv-backprop.js';

/**
 * Scatters dy back through the filter: for every output pixel and tap,
 * dx[b, xR, xC, c] += Σ_m dy[b, yR, yC, c·M + m] · f[wR, wC, c, m]. `dx` must be zeroed.
 * The scatter form handles stride and dilation with the same two bounds checks.
 */
export function depthwiseBackpropInputNhwc(dy: ArrayLike<number>, filter: ArrayLike<number>, g: ConvGeometry, dx: Float32Array): void {
  const { inChannels, outChannels } = g;
  const mult = outChannels / inChannels;
  forEachTap(g, (xOff, dyOff, tap) => {
    const fOff = tap * outChannels;
    if (mult === 1) {
      for (let c = 0; c < inChannels; c++) dx[xOff + c] += dy[dyOff + c] * filter[fOff + c];
    } else {
      for (let c = 0, q = 0; c < inChannels; c++) {
        let s = 0;
        for (let m = 0; m < mult; m++, q++) s += dy[dyOff + q] * filter[fOff + q];
        dx[xOff + c] += s;
      }
    }
  });
}

/** How {@link depthwiseConv2dBackpropInputWith} computes the gradient. */
export interface DepthwiseBackpropInputOptions {
  /**
   * `loop`: the JS scatter loop above (any geometry). `conv`: for stride 1 and channel
   * multiplier 1 the input gradient is itself a depthwise convolution of dy with the flipped
   * filter, which wasm's XNNPACK kernel runs 10-20x faster. `auto` (default) takes `conv` when
   * the geometry allows it and the problem is not tiny.
   */
  path?: 'auto' | 'loop' | 'conv';
}

const AUTO_CONV_MIN_MACS = 1 << 15;

/** Kernel function: inputs `dy`, `filter` (NHWC, the only layout tfjs allows here); any stride, pad, dilation. */
export function depthwiseConv2dBackpropInput(args: KernelArgs): tf.TensorInfo {
  return depthwiseConv2dBackpropInputWith(args, {});
}

/** {@link depthwiseConv2dBackpropInput} with an explicit choice of algorithm (for tests and benchmarks). */
export function depthwiseConv2dBackpropInputWith(args: KernelArgs, options: DepthwiseBackpropInputOptions): tf.TensorInfo {
  const { backend, dy, operand: filter, gradShape: inputShape, g } =
    parseConvBackprop('DepthwiseConv2dNativeBackpropInput', args, 'input', true);

  const path = options.path ?? 'auto';
  if (path !== 'loop') {
    const pads = transposedConvPads(g);
    const macs = g.batchSize * g.inHeight * g.inWidth * g.inChannels * g.filterHeight * g.filterWidth;
    if (pads != null && (path === 'conv' || macs >= AUTO_CONV_MIN_MACS)) return backpropInputByConv(backend, dy, filter, g, pads);
  }
  const { out, values } = allocF32(backend, [...inputShape]);
  depthwiseBackpropInputNhwc(heapF32(backend, dy), heapF32(backend, filter), g, values);
  return out;
}

/**
 * For stride 1 and multiplier 1: dx[xR] = Σ_i dy[xR − (effH − 1 − top) + i·dH] · f[fH − 1 − i], a
 * depthwise conv of dy with the flipped filter. Returns its explicit NHWC pads, or null when the
 * geometry does not qualify or would need negative padding.
 */
function transposedConvPads(g: ConvGeometry): [[number, number], [number, number], [number, number], [number, number]] | null {
  if (g.strideHeight !== 1 || g.strideWidth !== 1 || g.outChannels !== g.inChannels) return null;
  const effH = (g.filterHeight - 1) * g.dilationHeight + 1;
  const effW = (g.filterWidth - 1) * g.dilationWidth + 1;
  const top = effH - 1 - g.padTop;
  const left = effW - 1 - g.padLeft;
  // chosen so that the conv's output is exactly inHeight × inWidth
  const bottom = g.inHeight - 1 + effH - g.outHeight - top;
  const right = g.inWidth - 1 + effW - g.outWidth - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

function backpropInputByConv(backend: WasmBackend, dy: tf.TensorInfo, filter: tf.TensorInfo, g: ConvGeometry,
  pad: [[number, number], [number, number], [number, number], [number, number]]): tf.TensorInfo {
  const conv = tf.getKernel('DepthwiseConv2dNative', 'wasm');
  if (conv == null) throw new Error('DepthwiseConv2dNativeBackpropInput: the wasm DepthwiseConv2dNative kernel is not registered');
  const { filterHeight: fH, filterWidth: fW, inChannels: C } = g;
  // A fresh tensor each call: wasm caches packed XNNPACK weights by filter tensor id.
  const flipped = backend.makeOutput([fH, fW, C, 1], 'float32');
  try {
    const src = heapF32(backend, filter);
    const dst = backend.typedArrayFromHeap(flipped) as Float32Array;
    for (let r = 0; r < fH; r++) {
      for (let c = 0; c < fW; c++) {
        const from = (r * fW + c) * C;
        const to = ((fH - 1 - r) * fW + (fW - 1 - c)) * C;
        for (let ch = 0; ch < C; ch++) dst[to + ch] = src[from + ch];
      }
    }
    return conv.kernelFunc({
      inputs: { x: dy, filter: flipped }, backend,
      attrs: { strides: 1, pad, dataFormat: 'NHWC', dilations: [g.dilationHeight, g.dilationWidth] },
    }) as tf.TensorInfo;
  } finally {
    backend.disposeData(flipped.dataId);
  }
}

/** Registration config for the wasm backend. */
export const depthwiseConv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dBackpropInput as tf.KernelFunc,
};
