/**
 * A layer's bias add and its gradient on the native path (native/blas), for the wasm backend.
 *
 * In training, tfjs-layers does not fuse a conv or dense layer's bias with its activation (tfjs
 * fuses only without gradients), so every step runs `Add([..., C], [C])` forward and
 * `Sum([..., C], all axes but the last)` backward. wasm's broadcasting Add walks indices element by
 * element and its Sum transposes first: on the MNIST CNN's [64,26,26,8] conv output, 0.6 and
 * 0.9 ms CPU, a third of the conv layer's step. Natively each is one pass over the rows. Any
 * other Add or Sum goes to the wasm kernel unchanged, and without the addon nothing is wrapped.
 */
import * as tf from '../tfjs.js';
import { heapOf, heapOffset, nativeBlasAddon } from './native-blas.js';
import { kernelWrappers, type KernelArgs, type WasmBackend } from './util.js';

/** The kernels {@link withNativeBias} wraps. */
export const NATIVE_BIAS_KERNELS = ['Add', 'Sum'] as const;

const wrappers = kernelWrappers();

/** True when `config` already is a wrapper made by {@link withNativeBias}. */
export function hasNativeBias(config: tf.KernelConfig): boolean {
  return wrappers.has(config);
}

/** True when `bias` ([C], or [1, ..., 1, C] of at most x's rank) broadcasts along the last axis of `x`. */
function isBiasOf(bias: tf.TensorInfo, x: tf.TensorInfo): boolean {
  const c = x.shape.at(-1);
  if (x.shape.length < 2 || c === undefined || c === 0 || bias.shape.length > x.shape.length || bias.shape.at(-1) !== c) return false;
  return bias.shape.every((d, i) => i === bias.shape.length - 1 || d === 1);
}

/** Wraps the wasm `Add` or `Sum` kernel with the native bias add or row sum. */
export function withNativeBias(original: tf.KernelConfig): tf.KernelConfig {
  const add = original.kernelName === 'Add';
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const addon = nativeBlasAddon();
    const backend = args.backend as WasmBackend;
    if (addon && add) {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      if (a.dtype === 'float32' && b.dtype === 'float32' && !tf.util.arraysEqual(a.shape, b.shape)) {
        const [x, bias] = isBiasOf(b, a) ? [a, b] : isBiasOf(a, b) ? [b, a] : [];
        if (x && bias) {
          const channels = x.shape.at(-1)!;
          const out = backend.makeOutput([...x.shape], 'float32');
          addon.addBias(heapOf(backend), heapOffset(backend, x), heapOffset(backend, bias), heapOffset(backend, out),
            tf.util.sizeFromShape(x.shape) / channels, channels);
          return out;
        }
      }
    } else if (addon) {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const rank = x.shape.length;
      const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
      if (x.dtype === 'float32' && rank >= 2 && x.shape[rank - 1]! > 0 && axes.length === rank - 1 && axes.every((v, i) => v === i)) {
        const channels = x.shape[rank - 1]!;
        const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), channels] : [channels], 'float32');
        addon.sumRows(heapOf(backend), heapOffset(backend, x), heapOffset(backend, out), tf.util.sizeFromShape(x.shape) / channels, channels);
        return out;
      }
    }
    return original.kernelFunc(args);
  };
  return wrappers.wrap(original, kernelFunc);
}
