/**
 * The optional native/blas addon: native compute on tensors in the tfjs wasm heap (OpenBLAS
 * sgemm, and the one-pass loops of gradient clipping, SGD, Adam, RMSProp, Adagrad, MaxPool and
 * MaxPoolGrad, the relu gradient, a small conv's forward pass and Conv2DBackpropFilter (direct,
 * or the im2col of its GEMM), and a layer's bias add and bias gradient). It is built at install
 * when a compiler and OpenBLAS are present; without it, or with `HOOKFLOW_NATIVE_BLAS=0`,
 * hookflow runs on plain wasm kernels.
 */
import os from 'node:os';
import type * as tf from '../tfjs.js';
import { loadNativeAddon } from '../../native/load-native-addon.js';
import type { ConvGeometry, WasmBackend } from './util.js';

/** What native/blas/blas.cc exports. */
export interface BlasAddon {
  sgemm(heap: ArrayBuffer, batch: number, m: number, n: number, k: number, aOffset: number, bOffset: number, cOffset: number,
    transposeA: boolean, transposeB: boolean, aBatchStride: number, bBatchStride: number, biasOffset: number, biasLength: number,
    activation: number, alpha: number): void;
  sumOfSquares(heap: ArrayBuffer, offsetsAndLengths: Float64Array): number;
  sgdUpdate(heap: ArrayBuffer, n: number, paramOffset: number, gradOffset: number, bufferOffset: number, outParamOffset: number,
    outBufferOffset: number, lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean): void;
  /** One Adam step; the scalars as adam-update.ts computes them (decay, coupled decay, beta1, 1 - beta1, beta2, 1 - beta2, sqrt(bias2), eps, step size). */
  adamUpdate(heap: ArrayBuffer, n: number, ...offsetsAndScalars: number[]): void;
  /** One Adagrad step: param, grad, sum, out param, out sum offsets; weight decay, step lr, eps. */
  adagradUpdate(heap: ArrayBuffer, n: number, ...offsetsAndScalars: number[]): void;
  /** One RMSProp step: param, grad, squareAvg, gradAvg, buffer, and the four out offsets (-1: absent); weight decay, alpha, 1 - alpha, eps, momentum, lr. */
  rmspropUpdate(heap: ArrayBuffer, n: number, ...offsetsAndScalars: number[]): void;
  /** NHWC max pooling; y[b, r, c, d] = the window's first strict maximum (-Infinity for none). */
  maxPool(heap: ArrayBuffer, xOffset: number, yOffset: number, batch: number, inHeight: number, inWidth: number, channels: number,
    outHeight: number, outWidth: number, strideHeight: number, strideWidth: number, effectiveFilterHeight: number, effectiveFilterWidth: number,
    padTop: number, padLeft: number): void;
  /** NHWC; dx is overwritten (zeroed, then each dy element added at its window's first maximum). */
  maxPoolGrad(heap: ArrayBuffer, xOffset: number, dyOffset: number, dxOffset: number, batch: number, inHeight: number, inWidth: number,
    channels: number, outHeight: number, outWidth: number, strideHeight: number, strideWidth: number, dilationHeight: number,
    dilationWidth: number, effectiveFilterHeight: number, effectiveFilterWidth: number, padTop: number, padLeft: number): void;
  im2colT(heap: ArrayBuffer, xOffset: number, colOffset: number, geometry: Float64Array): void;
  /** The filter gradient of an NHWC conv2d; geometry from {@link nativeConvGeometry}. */
  conv2dBackpropFilterDirect(heap: ArrayBuffer, xOffset: number, dyOffset: number, dwOffset: number, geometry: Float64Array): void;
  /** The forward NHWC conv2d with an HWIO filter, zero padding; geometry from {@link nativeConvGeometry}. */
  conv2dDirect(heap: ArrayBuffer, xOffset: number, filterOffset: number, yOffset: number, geometry: Float64Array): void;
  /** out = dy * step(x): tfjs's relu gradient in one pass. */
  reluGrad(heap: ArrayBuffer, dyOffset: number, xOffset: number, outOffset: number, n: number): void;
  addBias(heap: ArrayBuffer, xOffset: number, biasOffset: number, outOffset: number, rows: number, channels: number): void;
  sumRows(heap: ArrayBuffer, xOffset: number, outOffset: number, rows: number, channels: number): void;
  setThreads(threads: number): number;
  info(): { library: string; config: string; threads: number };
}

/** Whether the native BLAS path is on, with what, or why not. */
export type NativeBlasStatus =
  | { readonly active: true; readonly library: string; readonly threads: number; readonly config: string }
  | { readonly active: false; readonly reason: string };

/**
 * OpenBLAS threads per process: `HOOKFLOW_BLAS_THREADS` when set; 1 under MPI
 * (`OMPI_COMM_WORLD_SIZE` or `PMI_SIZE` set: the ranks already use one process per core, and
 * more BLAS threads would oversubscribe); otherwise 1 as well: hookflow's layers are small
 * GEMMs (OpenBLAS itself keeps those on one thread), the rest of a step is single-threaded JS
 * and wasm, and the machine may be shared. Set `HOOKFLOW_BLAS_THREADS` higher for large layers
 * on an idle machine.
 */
export function blasThreadCount(env: Record<string, string | undefined> = process.env): number {
  const requested = env.HOOKFLOW_BLAS_THREADS?.trim();
  if (requested) {
    const n = Number(requested);
    if (!Number.isInteger(n) || n < 1 || n > os.availableParallelism() * 4) {
      throw new Error(`HOOKFLOW_BLAS_THREADS: must be an integer from 1 to ${os.availableParallelism() * 4}; got '${requested}'`);
    }
    return n;
  }
  return 1;
}

/** The Debian packages native/blas builds with: a C++ compiler and OpenBLAS with its headers. */
export const BLAS_PACKAGES = 'g++ libopenblas-dev';

/** Why the addon did not load, and how to get it. */
export function withBlasInstallHint(reason: string): string {
  return `${reason}. It needs a C++ compiler and OpenBLAS: on Debian/Ubuntu \`sudo apt-get install ${BLAS_PACKAGES}\`, then \`npm run build:native -- blas\``;
}

let addon: BlasAddon | undefined;
let status: NativeBlasStatus | undefined;

/** Loads the addon once (unless `HOOKFLOW_NATIVE_BLAS=0`) and sets its thread count. */
export function nativeBlasStatus(): NativeBlasStatus {
  if (status) return status;
  if (['0', 'false', 'off'].includes((process.env.HOOKFLOW_NATIVE_BLAS ?? '').trim().toLowerCase())) {
    status = { active: false, reason: 'disabled by HOOKFLOW_NATIVE_BLAS' };
    return status;
  }
  const loaded = loadNativeAddon<BlasAddon>('blas');
  if (!loaded.addon) {
    status = { active: false, reason: withBlasInstallHint(loaded.reason) };
    return status;
  }
  addon = loaded.addon;
  const threads = addon.setThreads(blasThreadCount());
  const { library, config } = addon.info();
  status = { active: true, library, threads, config };
  return status;
}

/** The addon when {@link nativeBlasStatus} is active. */
export function nativeBlasAddon(): BlasAddon | undefined {
  return nativeBlasStatus().active ? addon : undefined;
}

/** The wasm heap; read it after allocating outputs, since an allocation may grow (replace) it. */
export function heapOf(backend: WasmBackend): ArrayBuffer {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
}

/** Byte offset of tensor `t`'s data in the wasm heap (what native/blas takes for an operand). */
export function heapOffset(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.getMemoryOffset(t.dataId);
}

/** A conv's geometry in the order native/blas's direct conv loops read it (`ConvGeometry` in blas.cc). */
export function nativeConvGeometry(g: ConvGeometry): Float64Array {
  return Float64Array.of(g.batchSize, g.inHeight, g.inWidth, g.inChannels, g.outHeight, g.outWidth, g.outChannels, g.filterHeight,
    g.filterWidth, g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, g.padTop, g.padLeft);
}
