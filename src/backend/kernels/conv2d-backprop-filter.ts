/**
 * `Conv2DBackpropFilter` for the wasm backend (tfjs-backend-wasm 4.22 has none), i.e. the
 * filter gradient of conv2d, conv1d and the pointwise half of separableConv2d.
 */
import * as tf from '../tfjs.js';
import { heapOf, heapOffset, nativeBlasAddon, nativeConvGeometry } from './native-blas.js';
import { allocF32, heapF32, nchwToNhwc, type ConvGeometry, type KernelArgs, type WasmBackend } from './util.js';
import { forEachTap, gatherDyRows, gemmPlan, parseConvBackprop } from './conv-backprop.js';

/**
 * dW[wR, wC, d1, d2] = Σ x[b, yR·sH − top + wR·dH, yC·sW − left + wC·dW, d1] · dy[b, yR, yC, d2]
 * over NHWC arrays. Accumulates in float64 because each weight sums batch × outH × outW terms.
 */
export function conv2dBackpropFilterNhwc(x: ArrayLike<number>, dy: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const { inChannels, outChannels, filterHeight, filterWidth } = g;
  const acc = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  const wColSize = inChannels * outChannels;
  forEachTap(g, (xOff, dyOff, tap) => {
    let o = tap * wColSize;
    for (let d1 = 0; d1 < inChannels; d1++, o += outChannels) {
      const xv = x[xOff + d1];
      for (let d2 = 0; d2 < outChannels; d2++) acc[o + d2] += xv * dy[dyOff + d2];
    }
  });
  return acc;
}

/** How {@link conv2dBackpropFilterWith} computes the gradient. */
export interface Conv2dBackpropFilterOptions {
  /**
   * `loop`: the float64 JS loop above. `matmul`: im2col plus the BatchMatMul kernel (XNNPACK's
   * GEMM, or OpenBLAS with native/blas), 3-15x faster than the loop on real layers. `direct`:
   * native/blas's direct loop (NHWC float32 only), which accumulates straight into the filter's
   * weights. `auto` (default) takes `direct` when native/blas is loaded and the filter has at
   * most {@link DIRECT_MAX_WEIGHTS} weights, else the loop for tiny problems (where the
   * allocations and the matmul call cost more than they save), else `matmul`.
   */
  path?: 'auto' | 'loop' | 'matmul' | 'direct';
  /**
   * Columns (output pixels) per GEMM; the batch is processed in chunks of whole output rows.
   * About 8192 measured fastest here (the operands stay in cache); the im2col buffer is also
   * capped at 4M floats (16 MB).
   */
  chunkColumns?: number;
}

const AUTO_MATMUL_MIN_MACS = 1 << 16;
/**
 * The largest filter (fH·fW·inC·outC) `auto` computes with native/blas's direct loop: up to it the
 * im2col GEMM has a short K and a tiny output, and the direct loop (its sums stay in registers)
 * was 1.0-2.1x faster; from 864 weights on, the GEMM was 1.1-1.4x faster
 * (`bench/conv-paths.ts`; the MNIST CNN's first conv has 72).
 */
export const DIRECT_MAX_WEIGHTS = 288;
const DEFAULT_CHUNK_COLUMNS = 8192;

/** Kernel function: inputs `x`, `dy`; attrs as tfjs's `Conv2DBackpropFilterAttrs`. NHWC and NCHW. */
export function conv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  return conv2dBackpropFilterWith(args, {});
}

/** {@link conv2dBackpropFilter} with an explicit choice of algorithm (for tests and benchmarks). */
export function conv2dBackpropFilterWith(args: KernelArgs, options: Conv2dBackpropFilterOptions): tf.TensorInfo {
  const { backend, dy, operand: x, gradShape: filterShape, g, channelsFirst } =
    parseConvBackprop('Conv2DBackpropFilter', args, 'filter', false);

  const weights = g.filterHeight * g.filterWidth * g.inChannels * g.outChannels;
  const macs = g.batchSize * g.outHeight * g.outWidth * weights;
  const path = options.path ?? 'auto';
  const addon = x.dtype === 'float32' && dy.dtype === 'float32' && !channelsFirst ? nativeBlasAddon() : undefined;
  if (path === 'direct' && !addon) {
    throw new Error('Conv2DBackpropFilter: path \'direct\' needs the native/blas addon, NHWC and float32 operands');
  }
  if (addon && (path === 'direct' || (path === 'auto' && weights <= DIRECT_MAX_WEIGHTS))) {
    const out = backend.makeOutput([...filterShape], 'float32');
    addon.conv2dBackpropFilterDirect(heapOf(backend), heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out),
      nativeConvGeometry(g));
    return out;
  }
  if (path === 'matmul' || (path === 'auto' && macs >= AUTO_MATMUL_MIN_MACS)) {
    const acc = backpropFilterByMatMul(backend, x, dy, g, channelsFirst, options.chunkColumns ?? DEFAULT_CHUNK_COLUMNS);
    const { out, values } = allocF32(backend, [...filterShape]);
    values.set(acc);
    return out;
  }

  const { out, values } = allocF32(backend, [...filterShape]);
  let xv: ArrayLike<number> = heapF32(backend, x);
  let dyv: ArrayLike<number> = heapF32(backend, dy);
  if (channelsFirst) {
    xv = nchwToNhwc(xv, g.batchSize, g.inChannels, g.inHeight, g.inWidth);
    dyv = nchwToNhwc(dyv, g.batchSize, g.outChannels, g.outHeight, g.outWidth);
  }
  values.set(conv2dBackpropFilterNhwc(xv, dyv, g));
  return out;
}

/**
 * dW = colᵀ · dY as a GEMM: `colT` is the transposed im2col matrix [K = fH·fW·inC, M output pixels]
 * and dY is [M, outC], so wasm's BatchMatMul takes its XNNPACK path (it does only when neither
 * operand is transposed). dY as the GEMM's weight operand keeps XNNPACK's per-call weight
 * packing at M·outC (the alternatives measured 20-40% slower). Output rows (b, yR) are
 * processed in chunks; chunk results add up in float64.
 */
function backpropFilterByMatMul(backend: WasmBackend, x: tf.TensorInfo, dy: tf.TensorInfo, g: ConvGeometry,
  channelsFirst: boolean, chunkColumns: number): Float64Array {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padTop, padLeft } = g;
  const { matMul, K, totalRows, rowsPerChunk } = gemmPlan('Conv2DBackpropFilter', g, chunkColumns);
  // Element strides of x for either layout.
  const xBatch = inHeight * inWidth * inChannels;
  const xChan = channelsFirst ? inHeight * inWidth : 1;
  const xRow = channelsFirst ? inWidth : inWidth * inChannels;
  const xCol = channelsFirst ? 1 : inChannels;
  const acc = new Float64Array(K * outChannels);
  const addon = nativeBlasAddon();

  for (let r0 = 0; r0 < totalRows; r0 += rowsPerChunk) {
    const r1 = Math.min(totalRows, r0 + rowsPerChunk);
    const M = (r1 - r0) * outWidth;
    // Fresh tensors per chunk: wasm caches the packed XNNPACK weights by tensor id, so a reused
    // buffer with new contents would silently multiply by the previous chunk's dY.
    const colT = backend.makeOutput([1, K, M], 'float32');
    const dyChunk = backend.makeOutput([1, M, outChannels], 'float32');
    try {
      // Views only after both allocations (util.ts).
      const xv = heapF32(backend, x);
      const dyv = heapF32(backend, dy);
      const dyc = backend.typedArrayFromHeap(dyChunk) as Float32Array;
      if (addon && x.dtype === 'float32') {
        // The same loop in native/blas.
        addon.im2colT(heapOf(backend), backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(colT.dataId), Float64Array.of(
          r0, r1, outHeight, outWidth, inHeight, inWidth, inChannels, filterHeight, filterWidth, strideHeight, strideWidth,
          dilationHeight, dilationWidth, padTop, padLeft, xBatch, xChan, xRow, xCol));
      } else {
        const col = backend.typedArrayFromHeap(colT) as Float32Array;
        im2colT(xv, col, g, r0, r1, M, [xBatch, xChan, xRow, xCol]);
      }
      gatherDyRows(dyv, dyc, g, r0, r1, channelsFirst);
      const product = matMul.kernelFunc({
        inputs: { a: colT, b: dyChunk }, backend, attrs: { transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      const pv = backend.typedArrayFromHeap(product) as Float32Array;
      for (let i = 0; i < acc.length; i++) acc[i] += pv[i];
      backend.disposeData(product.dataId);
    } finally {
      backend.disposeData(colT.dataId);
      backend.disposeData(dyChunk.dataId);
    }
  }
  return acc;
}

/** Registration config for the wasm backend. */
export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as tf.KernelFunc,
};

/** The transposed im2col matrix [K, M] of output rows [r0, r1) into `col`; x strides [batch, channel, row, column]. */
function im2colT(xv: Float32Array, col: Float32Array, g: ConvGeometry, r0: number, r1: number, M: number,
  [xBatch, xChan, xRow, xCol]: [number, number, number, number]): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth,
    filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padTop, padLeft } = g;
  let k = 0;
  for (let wR = 0; wR < filterHeight; wR++) {
    for (let wC = 0; wC < filterWidth; wC++) {
      for (let d1 = 0; d1 < inChannels; d1++, k++) {
        let m = k * M;
        for (let r = r0; r < r1; r++) {
          const b = Math.floor(r / outHeight);
          const yR = r - b * outHeight;
          const xR = yR * strideHeight - padTop + wR * dilationHeight;
          if (xR < 0 || xR >= inHeight) { col.fill(0, m, m + outWidth); m += outWidth; continue; }
          const xRowOff = b * xBatch + d1 * xChan + xR * xRow;
          for (let yC = 0; yC < outWidth; yC++, m++) {
            const xC = yC * strideWidth - padLeft + wC * dilationWidth;
            col[m] = xC >= 0 && xC < inWidth ? xv[xRowOff + xC * xCol]! : 0;
          }
        }
      }
    }
  }
}
