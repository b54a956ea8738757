/**
 * The relu gradient as one kernel. tfjs-core computes it as `mul(dy, cast(step(x)))`: three
 * kernels per relu layer in every training step (the cast is free on wasm, shared-identity.ts,
 * but still dispatched), and two passes over the activation. On the MNIST CNN's conv layer
 * ([64, 26, 26, 8]) Step and Multiply took about 0.3 ms of a 4.5 ms step; on the MLP (one relu
 * layer) the dispatch of its three kernels is most of their cost.
 *
 * `HookflowReluGrad` computes the same float32 values in one pass, signed zeros and NaNs
 * included: `dy * s` with `s` NaN for a NaN `x`, 1 for `x > 0` and 0 otherwise (tfjs's `Step`
 * on cpu and wasm). hookflow registers it as tfjs's gradient of `Relu` for every backend; where
 * the active backend has no such kernel (webgl, say) the gradient is tfjs's own.
 */
import * as tf from '../tfjs.js';
import { heapOf, heapOffset, nativeBlasAddon } from './native-blas.js';
import { heapF32, type CpuBackendLike, type KernelArgs, type WasmBackend } from './util.js';

/** Kernel name: inputs `dy` and `x` (float32, one shape); output `dy * step(x)`. */
export const RELU_GRAD = 'HookflowReluGrad';

/** `out[i] = dy[i] * step(x[i])`, tfjs's relu gradient; multiplying by 1, 0 or NaN is exact in any precision. */
export function reluGradValues(dy: ArrayLike<number>, x: ArrayLike<number>, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const xi = x[i]!;
    out[i] = dy[i]! * (xi > 0 ? 1 : Number.isNaN(xi) ? NaN : 0);
  }
}

function wasmReluGrad({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = backend as WasmBackend;
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const out = wasm.makeOutput([...x.shape], 'float32');
  const addon = nativeBlasAddon();
  if (addon) {
    addon.reluGrad(heapOf(wasm), heapOffset(wasm, dy), heapOffset(wasm, x), heapOffset(wasm, out), tf.util.sizeFromShape(x.shape));
  } else {
    // Views after the allocation (util.ts).
    reluGradValues(heapF32(wasm, dy), heapF32(wasm, x), wasm.typedArrayFromHeap(out) as Float32Array);
  }
  return out;
}

function cpuReluGrad({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const cpu = backend as unknown as CpuBackendLike;
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const out = new Float32Array(tf.util.sizeFromShape(x.shape));
  reluGradValues(cpu.readSync(dy.dataId) as Float32Array, cpu.readSync(x.dataId) as Float32Array, out);
  return cpu.makeTensorInfo([...x.shape], 'float32', out);
}

/** The wasm kernel (installed by registerWasmTrainingKernels): native/blas's loop, or a JS loop on the heap. */
export const reluGradWasmConfig: tf.KernelConfig = { kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc: wasmReluGrad as tf.KernelFunc };
/** The cpu kernel (registered when this module loads). */
export const reluGradCpuConfig: tf.KernelConfig = { kernelName: RELU_GRAD, backendName: 'cpu', kernelFunc: cpuReluGrad as tf.KernelFunc };

/**
 * The gradient of relu at `x` for the upstream gradient `dy`: one `HookflowReluGrad` kernel on a
 * backend that has it, else tfjs's `mul(dy, cast(step(x)))`. Same values either way.
 */
export function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || tf.getKernel(RELU_GRAD, tf.getBackend()) == null) {
    return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
  }
  return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
}

if (tf.getKernel(RELU_GRAD, 'cpu') == null) tf.registerKernel(reluGradCpuConfig);
tf.registerGradient({
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => reluGrad(dy as tf.Tensor, saved[0]!) }),
});
// Second order, as through tfjs's ops: linear in dy, and step's gradient is zero.
tf.registerGradient({
  kernelName: RELU_GRAD,
  inputsToSave: ['x'],
  gradFunc: (ddy, saved) => ({ dy: () => reluGrad(ddy as tf.Tensor, saved[0]!), x: () => tf.zerosLike(saved[0]!) }),
});
