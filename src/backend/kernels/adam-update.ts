/**
 * One kernel per parameter for an Adam or AdamW step (PyTorch's `torch.optim.Adam`/`AdamW`),
 * instead of the twelve tfjs ops of the generic path (see fused-update.ts for where it runs;
 * {@link adamUpdate} returns undefined elsewhere). It computes exactly what those ops compute,
 * float32 operation for operation, with the scalars rounded to float32 as tfjs rounds them.
 */
import * as tf from '../tfjs.js';
import { fusedUpdateKernels, runFusedUpdate, type FusedUpdate } from './fused-update.js';

/** Kernel name of the fused Adam step. */
export const ADAM_UPDATE = 'HookflowAdamUpdate';

/** Hyper-parameters of one Adam step; `step` counts from 1. */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: the weight decay scales the parameter instead of adding to the gradient. */
  decoupled: boolean;
  step: number;
}

/** The step's scalars, computed in double as the generic path computes them before tfjs rounds them. */
function scalars(h: AdamHyper): number[] {
  const decay = h.decoupled && h.weightDecay !== 0 ? 1 - h.lr * h.weightDecay : 1;
  const coupled = h.decoupled ? 0 : h.weightDecay;
  const sqrtBias2 = Math.sqrt(1 - h.beta2 ** h.step);
  const stepSize = h.lr / (1 - h.beta1 ** h.step);
  return [decay, coupled, h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, sqrtBias2, h.eps, stepSize];
}

/** The step on plain arrays: new parameter, first and second moments into the `out*` arrays. */
export function adamUpdateValues(param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array,
  outParam: Float32Array, outExpAvg: Float32Array, outExpAvgSq: Float32Array, h: AdamHyper): void {
  const [decay, wd, b1, k1, b2, k2, sqrtBias2, eps, stepSize] = scalars(h).map(Math.fround) as
    [number, number, number, number, number, number, number, number, number];
  const f = Math.fround;
  for (let i = 0; i < param.length; i++) {
    const g = wd !== 0 ? f(grad[i]! + f(param[i]! * wd)) : grad[i]!;
    const m = f(f(expAvg[i]! * b1) + f(g * k1));
    const v = f(f(expAvgSq[i]! * b2) + f(f(g * g) * k2));
    const denom = f(f(f(Math.sqrt(v)) / sqrtBias2) + eps);
    outExpAvg[i] = m;
    outExpAvgSq[i] = v;
    outParam[i] = f(f(param[i]! * decay) - f(f(m / denom) * stepSize));
  }
}

const ADAM: FusedUpdate<AdamHyper> = {
  kernelName: ADAM_UPDATE,
  inputs: ['param', 'grad', 'expAvg', 'expAvgSq'],
  outputCount: () => 3,
  values: ({ param, grad, expAvg, expAvgSq }, [outParam, outExpAvg, outExpAvgSq], h) =>
    adamUpdateValues(param!, grad!, expAvg!, expAvgSq!, outParam!, outExpAvg!, outExpAvgSq!, h),
  native: (addon, heap, n, inputs, outputs, h) => addon.adamUpdate(heap, n, ...inputs, ...outputs, ...scalars(h)),
};

const kernels = fusedUpdateKernels(ADAM);
/** The wasm kernel (installed by registerWasmTrainingKernels). */
export const adamUpdateWasmConfig: tf.KernelConfig = kernels.wasm;
/** The cpu kernel. */
export const adamUpdateCpuConfig: tf.KernelConfig = kernels.cpu;

/**
 * One fused Adam step of `param` on the active backend: the new parameter and moments, as new
 * tensors. Undefined when the backend has no fused kernel or a tensor is not float32.
 */
export function adamUpdate(param: tf.Tensor, grad: tf.Tensor, expAvg: tf.Tensor, expAvgSq: tf.Tensor, h: AdamHyper):
  { param: tf.Tensor; expAvg: tf.Tensor; expAvgSq: tf.Tensor } | undefined {
  const outs = runFusedUpdate(ADAM, { param, grad, expAvg, expAvgSq }, h);
  return outs && { param: outs[0]!, expAvg: outs[1]!, expAvgSq: outs[2]! };
}

if (tf.getKernel(ADAM_UPDATE, 'cpu') == null) tf.registerKernel(adamUpdateCpuConfig);
