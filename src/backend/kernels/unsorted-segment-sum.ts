/**
 * `UnsortedSegmentSum` for the wasm backend (missing in tfjs-backend-wasm 4.22). tfjs uses it
 * as the gradient of gather, so embedding layers cannot train on wasm without it.
 */
import * as tf from '../tfjs.js';
import type { KernelArgs, WasmBackend } from './util.js';

/**
 * out[s, j] = Σ_{i : ids[i] = s} x[i, j], with `x` viewed as [ids.length, inner].
 * Ids outside [0, numSegments) are dropped, as in TensorFlow. `out` must be zeroed.
 */
export function unsortedSegmentSumFlat(x: ArrayLike<number>, ids: ArrayLike<number>, numSegments: number,
  inner: number, out: Float64Array | Int32Array): void {
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (!(s >= 0 && s < numSegments)) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

/**
 * Kernel function: inputs `x`, `segmentIds` (int32); attr `numSegments`. Output shape
 * `[numSegments, ...x.shape.slice(segmentIds.rank)]` and dtype of `x` (int32 stays int32).
 */
export function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  const idRank = segmentIds.shape.length;
  if (idRank > x.shape.length || segmentIds.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
  }
  const outShape = [numSegments, ...x.shape.slice(idRank)];
  const inner = tf.util.sizeFromShape(x.shape.slice(idRank));
  const dtype: tf.DataType = x.dtype === 'int32' ? 'int32' : 'float32';

  const out = backend.makeOutput(outShape, dtype);
  // Views after the allocation (see util.ts).
  const xs = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const target = backend.typedArrayFromHeap(out);
  if (dtype === 'int32') {
    const acc = new Int32Array(target.length);
    unsortedSegmentSumFlat(xs, ids, numSegments, inner, acc);
    target.set(acc);
  } else {
    const acc = new Float64Array(target.length); // an id can repeat many times; sum in float64
    unsortedSegmentSumFlat(xs, ids, numSegments, inner, acc);
    target.set(acc);
  }
  return out;
}

/** Registration config for the wasm backend. */
export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as tf.KernelFunc,
};
