/**
 * `Identity` and same-dtype `Cast` on the wasm backend without a copy.
 *
 * tfjs-backend-wasm 4.22 copies the whole buffer for both. Under gradient recording, tfjs-core
 * clones (an `Identity`) every tensor a gradient needs saved, so a training step copied each
 * activation once more: on the MNIST CNN, four [64,26,26,8] copies and more per step. tfjs
 * tensors are immutable (`Variable.assign` swaps data ids; every kernel writes fresh outputs),
 * so the output can share the input's data, reference-counted, as the wasm `Reshape` and the
 * cpu and webgl `Identity` already do.
 */
import type * as tf from '../tfjs.js';
import { kernelWrappers, type KernelArgs, type WasmBackend } from './util.js';

/** The kernels {@link withSharedData} wraps. */
export const SHARED_IDENTITY_KERNELS = ['Identity', 'Cast'] as const;

const wrappers = kernelWrappers();

/** True when `config` already is a wrapper made by {@link withSharedData}. */
export function hasSharedData(config: tf.KernelConfig): boolean {
  return wrappers.has(config);
}

/** Wraps the wasm `Identity` or `Cast` kernel: a numeric output of the input's dtype shares its data. */
export function withSharedData(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const dtype = original.kernelName === 'Cast' ? (args.attrs as { dtype?: tf.DataType }).dtype : x.dtype;
    if (x.dtype === 'string' || dtype !== x.dtype) return original.kernelFunc(args);
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return wrappers.wrap(original, kernelFunc);
}
