/**
 * Faster `Conv2DBackpropInput` for the wasm backend (the input gradient of every conv2d, conv1d
 * and separableConv2d layer except the first).
 *
 * tfjs-backend-wasm 4.22's own kernel is correct (checked against the cpu backend for every
 * stride, pad form, rounding mode and both layouts) but is a plain C++ loop, 7-10x slower than
 * the forward conv on layer-sized problems. This version computes the column gradient
 * dcol = dY · Wᵀ with XNNPACK (wasm's BatchMatMul) and scatters it back with col2im in JS. Tiny
 * problems keep the original kernel.
 */
import * as tf from '../tfjs.js';
import { heapF32, kernelWrappers, nhwcToNchw, type ConvGeometry, type KernelArgs, type WasmBackend } from './util.js';
import { gatherDyRows, gemmPlan, parseConvBackprop } from './conv-backprop.js';

const AUTO_GEMM_MIN_MACS = 1 << 18;
const CHUNK_COLUMNS = 8192;

/**
 * Kernel function using the GEMM + col2im algorithm for any geometry: inputs `dy`, `filter`;
 * attrs as tfjs's `Conv2DBackpropInputAttrs`; NHWC and NCHW.
 */
export function conv2dBackpropInputByGemm(args: KernelArgs, chunkColumns = CHUNK_COLUMNS): tf.TensorInfo {
  const { backend, dy, operand: filter, gradShape: inputShape, g, channelsFirst } =
    parseConvBackprop('Conv2DBackpropInput', args, 'input', false);
  const dxNhwc = backpropInputNhwcByGemm(backend, dy, filter, g, channelsFirst, chunkColumns);
  const out = backend.makeOutput([...inputShape], 'float32');
  const values = backend.typedArrayFromHeap(out) as Float32Array;
  if (channelsFirst) nhwcToNchw(dxNhwc, values, g.batchSize, g.inChannels, g.inHeight, g.inWidth);
  else values.set(dxNhwc);
  return out;
}

/** Returns dx in NHWC order. */
function backpropInputNhwcByGemm(backend: WasmBackend, dy: tf.TensorInfo, filter: tf.TensorInfo, g: ConvGeometry,
  channelsFirst: boolean, chunkColumns: number): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padTop, padLeft } = g;
  const { matMul, K, totalRows, rowsPerChunk } = gemmPlan('Conv2DBackpropInput', g, chunkColumns);
  const dx = new Float32Array(batchSize * inHeight * inWidth * inChannels);

  // Wᵀ [outC, K], the GEMM's weight operand. A fresh tensor: XNNPACK's packed weights are cached
  // by tensor id and freed with it.
  const filterT = backend.makeOutput([1, outChannels, K], 'float32');
  try {
    {
      const f = heapF32(backend, filter);
      const ft = backend.typedArrayFromHeap(filterT) as Float32Array;
      for (let k = 0; k < K; k++) for (let o = 0; o < outChannels; o++) ft[o * K + k] = f[k * outChannels + o];
    }
    for (let r0 = 0; r0 < totalRows; r0 += rowsPerChunk) {
      const r1 = Math.min(totalRows, r0 + rowsPerChunk);
      const M = (r1 - r0) * outWidth;
      const dyChunk = backend.makeOutput([1, M, outChannels], 'float32');
      try {
        const dyv = heapF32(backend, dy);
        const dyc = backend.typedArrayFromHeap(dyChunk) as Float32Array;
        gatherDyRows(dyv, dyc, g, r0, r1, channelsFirst);
        const product = matMul.kernelFunc({
          inputs: { a: dyChunk, b: filterT }, backend, attrs: { transposeA: false, transposeB: false },
        }) as tf.TensorInfo;
        try {
          // col2im: scatter each output pixel's K column gradients back onto the input taps.
          const dcol = backend.typedArrayFromHeap(product) as Float32Array; // [M, K]
          for (let r = r0, m = 0; r < r1; r++) {
            const b = Math.floor(r / outHeight);
            const yR = r - b * outHeight;
            for (let yC = 0; yC < outWidth; yC++, m++) {
              let o = m * K;
              for (let wR = 0; wR < filterHeight; wR++) {
                const xR = yR * strideHeight - padTop + wR * dilationHeight;
                if (xR < 0 || xR >= inHeight) { o += filterWidth * inChannels; continue; }
                const rowOff = (b * inHeight + xR) * inWidth;
                for (let wC = 0; wC < filterWidth; wC++, o += inChannels) {
                  const xC = yC * strideWidth - padLeft + wC * dilationWidth;
                  if (xC < 0 || xC >= inWidth) continue;
                  const xOff = (rowOff + xC) * inChannels;
                  for (let c = 0; c < inChannels; c++) dx[xOff + c] += dcol[o + c];
                }
              }
            }
          }
        } finally {
          backend.disposeData(product.dataId);
        }
      } finally {
        backend.disposeData(dyChunk.dataId);
      }
    }
  } finally {
    backend.disposeData(filterT.dataId);
  }
  return dx;
}

const wrappers = kernelWrappers();

/** True when `config` already is a wrapper made by {@link withConv2dBackpropInputSpeedup}. */
export function hasConv2dBackpropInputSpeedup(config: tf.KernelConfig): boolean {
  return wrappers.has(config);
}

/** Wraps wasm's own kernel: layer-sized problems take the GEMM path, tiny ones stay native. */
export function withConv2dBackpropInputSpeedup(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { dilations } = args.attrs as { dilations?: number | [number, number] };
    const macs = tf.util.sizeFromShape(dy.shape) * tf.util.sizeFromShape(filter.shape.slice(0, 3));
    // The native kernel ignores a dilations attr, so dilated requests always take the GEMM path.
    const dilated = dilations != null && (typeof dilations === 'number' ? dilations !== 1 : dilations.some((d) => d !== 1));
    return dilated || macs >= AUTO_GEMM_MIN_MACS ? conv2dBackpropInputByGemm(args) : original.kernelFunc(args);
  };
  return wrappers.wrap(original, kernelFunc);
}
