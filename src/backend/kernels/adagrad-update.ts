/**
 * One kernel per parameter for an Adagrad step (PyTorch's `torch.optim.Adagrad`), instead of the
 * seven tfjs ops of the generic path (see fused-update.ts for where it runs; {@link adagradUpdate}
 * returns undefined elsewhere). It computes exactly what those ops compute, float32 operation for
 * operation, with the scalars rounded to float32 as tfjs rounds them.
 */
import * as tf from '../tfjs.js';
import { fusedUpdateKernels, runFusedUpdate, type FusedUpdate } from './fused-update.js';

/** Kernel name of the fused Adagrad step. */
export const ADAGRAD_UPDATE = 'HookflowAdagradUpdate';

/** Hyper-parameters of one Adagrad step; `step` counts from 1. */
export interface AdagradHyper {
  lr: number;
  lrDecay: number;
  eps: number;
  weightDecay: number;
  step: number;
}

/** The step's learning rate, `lr / (1 + (step - 1) · lrDecay)`. */
function clrOf(h: AdagradHyper): number {
  return h.lr / (1 + (h.step - 1) * h.lrDecay);
}

/** The step on plain arrays: new parameter and sum of squares into the `out*` arrays. */
export function adagradUpdateValues(param: Float32Array, grad: Float32Array, sum: Float32Array, outParam: Float32Array, outSum: Float32Array,
  h: AdagradHyper): void {
  const f = Math.fround;
  const [wd, clr, eps] = [h.weightDecay, clrOf(h), h.eps].map(f) as [number, number, number];
  for (let i = 0; i < param.length; i++) {
    const g = wd !== 0 ? f(grad[i]! + f(param[i]! * wd)) : grad[i]!;
    const s = f(sum[i]! + f(g * g));
    outSum[i] = s;
    outParam[i] = f(param[i]! - f(f(g / f(f(Math.sqrt(s)) + eps)) * clr));
  }
}

const ADAGRAD: FusedUpdate<AdagradHyper> = {
  kernelName: ADAGRAD_UPDATE,
  inputs: ['param', 'grad', 'sum'],
  outputCount: () => 2,
  values: ({ param, grad, sum }, [outParam, outSum], h) => adagradUpdateValues(param!, grad!, sum!, outParam!, outSum!, h),
  native: (addon, heap, n, inputs, outputs, h) => addon.adagradUpdate(heap, n, ...inputs, ...outputs, h.weightDecay, clrOf(h), h.eps),
};

const kernels = fusedUpdateKernels(ADAGRAD);
/** The wasm kernel (installed by registerWasmTrainingKernels). */
export const adagradUpdateWasmConfig: tf.KernelConfig = kernels.wasm;
/** The cpu kernel. */
export const adagradUpdateCpuConfig: tf.KernelConfig = kernels.cpu;

/**
 * One fused Adagrad step of `param` on the active backend: the new parameter and sum of squares,
 * as new tensors. Undefined when the backend has no fused kernel or a tensor is not float32.
 */
export function adagradUpdate(param: tf.Tensor, grad: tf.Tensor, sum: tf.Tensor, h: AdagradHyper): { param: tf.Tensor; sum: tf.Tensor } | undefined {
  const outs = runFusedUpdate(ADAGRAD, { param, grad, sum }, h);
  return outs && { param: outs[0]!, sum: outs[1]! };
}

if (tf.getKernel(ADAGRAD_UPDATE, 'cpu') == null) tf.registerKernel(adagradUpdateCpuConfig);
