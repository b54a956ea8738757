/**
 * Shared plumbing for the JS kernels that hookflow installs on the tfjs wasm backend.
 *
 * The kernels read their inputs straight from the wasm heap (no copy) and write their results
 * into a tensor allocated on that heap. A heap view becomes invalid when wasm memory grows, so
 * every kernel allocates its output *before* it takes any view.
 */
import * as tf from '../tfjs.js';
// Type-only: a runtime import would register the wasm backend as a side effect.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The wasm backend as seen by a kernel function. */
export type WasmBackend = BackendWasm;

/** Arguments tfjs passes to a kernel function. */
export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Explicit padding as tfjs spells it: `[[0, 0], [top, bottom], [left, right], [0, 0]]` (NHWC). */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** The padding forms tfjs conv ops accept. */
export type ConvPad = 'valid' | 'same' | number | ExplicitPadding;

/** The attributes of tfjs's forward conv kernels (`Conv2D`, `DepthwiseConv2dNative`, the fused ones). */
export interface ForwardConvAttrs {
  strides: number | [number, number];
  pad: ConvPad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: DimRoundingMode;
}

/** The attributes of tfjs's `MaxPool` and `MaxPoolGrad` kernels. */
export interface MaxPoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: ConvPad;
  dimRoundingMode?: DimRoundingMode;
}

/** Rounding modes tfjs conv ops accept for numeric padding. */
export type DimRoundingMode = 'floor' | 'round' | 'ceil' | undefined;

/**
 * Allocates a float32 output on the wasm heap and returns it with a zeroed view of its memory.
 * Call it before {@link heapF32} so that no later allocation can detach the input views.
 */
export function allocF32(backend: WasmBackend, shape: number[]): { out: tf.TensorInfo; values: Float32Array } {
  const out = backend.makeOutput(shape, 'float32');
  const values = backend.typedArrayFromHeap(out) as Float32Array;
  values.fill(0); // malloc'd memory is not cleared
  return { out, values };
}

/**
 * Float32 view of a wasm tensor (no copy when it already is float32). Valid only until the next
 * wasm allocation, so take views after allocating outputs and do not keep them.
 */
export function heapF32(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(t);
  return view instanceof Float32Array ? view : Float32Array.from(view as ArrayLike<number>);
}

/** Geometry the loop needs; a subset of tfjs's `Conv2DInfo`, always in NHWC terms. */
export interface ConvGeometry {
  batchSize: number;
  inHeight: number; inWidth: number; inChannels: number;
  outHeight: number; outWidth: number; outChannels: number;
  filterHeight: number; filterWidth: number;
  strideHeight: number; strideWidth: number;
  dilationHeight: number; dilationWidth: number;
  padTop: number; padLeft: number;
}

/** Extracts {@link ConvGeometry} from a tfjs conv info. */
export function geometryOf(ci: tf.backend_util.Conv2DInfo): ConvGeometry {
  return {
    batchSize: ci.batchSize,
    inHeight: ci.inHeight, inWidth: ci.inWidth, inChannels: ci.inChannels,
    outHeight: ci.outHeight, outWidth: ci.outWidth, outChannels: ci.outChannels,
    filterHeight: ci.filterHeight, filterWidth: ci.filterWidth,
    strideHeight: ci.strideHeight, strideWidth: ci.strideWidth,
    dilationHeight: ci.dilationHeight, dilationWidth: ci.dilationWidth,
    padTop: ci.padInfo.top, padLeft: ci.padInfo.left,
  };
}

/** Throws unless `actual` equals `expected` (shape mismatches would read past the heap views). */
export function assertShape(kernel: string, what: string, actual: readonly number[], expected: readonly number[]): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${kernel}: ${what} has shape [${actual.join(',')}] but the conv geometry needs [${expected.join(',')}]`);
  }
}

/** Copies an NCHW array into NHWC order. */
export function nchwToNhwc(src: ArrayLike<number>, n: number, c: number, h: number, w: number): Float32Array {
  const dst = new Float32Array(n * c * h * w);
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    const sb = b * c * hw;
    const db = b * hw * c;
    for (let ch = 0; ch < c; ch++) {
      const s = sb + ch * hw;
      for (let p = 0; p < hw; p++) dst[db + p * c + ch] = src[s + p];
    }
  }
  return dst;
}

/** Copies an NHWC array into NCHW order. */
export function nhwcToNchw(src: ArrayLike<number>, dst: Float32Array, n: number, c: number, h: number, w: number): void {
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    const sb = b * hw * c;
    const db = b * c * hw;
    for (let ch = 0; ch < c; ch++) {
      const d = db + ch * hw;
      for (let p = 0; p < hw; p++) dst[d + p] = src[sb + p * c + ch];
    }
  }
}

/** The cpu backend as seen by a kernel function (what hookflow's cpu kernels and {@link runOnCpu} use of it). */
export interface CpuBackendLike {
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object;
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * Runs the cpu backend's own kernel on copies of wasm tensors and copies the result back.
 * Slow, but exactly the reference semantics; used only for rare calls that a wasm kernel gets
 * wrong and no fast path covers (NCHW forward conv2d, padding that would need cropping, batched
 * `_FusedMatMul` with bias or activation).
 */
export function runOnCpu(kernelName: string, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const wasm = args.backend as WasmBackend;
  const cpu = tf.findBackend('cpu') as unknown as CpuBackendLike | null;
  const kernel = tf.getKernel(kernelName, 'cpu');
  if (cpu == null || kernel == null) throw new Error(`${kernelName}: the cpu backend is needed as a fallback but is not available`);
  const cpuInputs: Record<string, tf.TensorInfo> = {};
  const written: object[] = [];
  for (const [name, t] of Object.entries(args.inputs)) {
    if (t == null) continue; // optional inputs (bias, prelu weights) arrive as undefined
    const dataId = cpu.write(wasm.readSync(t.dataId), t.shape, t.dtype);
    written.push(dataId);
    cpuInputs[name] = { dataId, shape: t.shape, dtype: t.dtype };
  }
  try {
    const result = kernel.kernelFunc({ inputs: cpuInputs, backend: cpu, attrs: args.attrs });
    const outs = Array.isArray(result) ? result : [result];
    const copied = outs.map((o) => wasm.makeOutput(o.shape, o.dtype, undefined, cpu.readSync(o.dataId)));
    for (const o of outs) if (!written.includes(o.dataId)) cpu.disposeData(o.dataId, true);
    return Array.isArray(result) ? copied : copied[0];
  } finally {
    for (const id of written) cpu.disposeData(id, true);
  }
}

/** Kernel wrappers of one kind: a registry of the wrappers made, to tell one and get back the kernel it wraps. */
export interface KernelWrappers {
  /** `original` with `kernelFunc` in its place, recorded as one of these wrappers. */
  wrap(original: tf.KernelConfig, kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]): tf.KernelConfig;
  /** True when `config` is one of these wrappers. */
  has(config: tf.KernelConfig): boolean;
  /** The kernel the wrapper `config` delegates to (`config` itself when it is not a wrapper). */
  unwrap(config: tf.KernelConfig): tf.KernelConfig;
}

/**
 * A new {@link KernelWrappers}: each wrapping module keeps one, so that installing its kernels
 * twice (`registerWasmTrainingKernels`) can tell its wrapper from the kernel it wraps.
 */
export function kernelWrappers(): KernelWrappers {
  const wrapped = new WeakMap<tf.KernelFunc, tf.KernelConfig>();
  return {
    wrap(original, kernelFunc) {
      wrapped.set(kernelFunc as tf.KernelFunc, original);
      return { ...original, kernelFunc: kernelFunc as tf.KernelFunc };
    },
    has: (config) => wrapped.has(config.kernelFunc),
    unwrap: (config) => wrapped.get(config.kernelFunc) ?? config,
  };
}
