/**
 * One kernel per parameter for an RMSProp step (PyTorch's `torch.optim.RMSprop`, centered and
 * momentum variants included), instead of the eight to fourteen tfjs ops of the generic path (see
 * fused-update.ts for where it runs; {@link rmspropUpdate} returns undefined elsewhere). It
 * computes exactly what those ops compute, float32 operation for operation, with the scalars
 * rounded to float32 as tfjs rounds them.
 */
import * as tf from '../tfjs.js';
import { fusedUpdateKernels, runFusedUpdate, type FusedUpdate } from './fused-update.js';

/** Kernel name of the fused RMSProp step. */
export const RMSPROP_UPDATE = 'HookflowRmspropUpdate';

/** Hyper-parameters of one RMSProp step. */
export interface RmspropHyper {
  lr: number;
  alpha: number;
  eps: number;
  momentum: number;
  centered: boolean;
  weightDecay: number;
}

/** The step on plain arrays; `gradAvg`/`outGradAvg` only when centered, `buffer`/`outBuffer` only with momentum. */
export function rmspropUpdateValues(param: Float32Array, grad: Float32Array, squareAvg: Float32Array, gradAvg: Float32Array | null,
  buffer: Float32Array | null, outParam: Float32Array, outSquareAvg: Float32Array, outGradAvg: Float32Array | null,
  outBuffer: Float32Array | null, h: RmspropHyper): void {
  const f = Math.fround;
  const [wd, alpha, keep, eps, momentum, lr] = [h.weightDecay, h.alpha, 1 - h.alpha, h.eps, h.momentum, h.lr].map(f) as
    [number, number, number, number, number, number];
  for (let i = 0; i < param.length; i++) {
    const g = wd !== 0 ? f(grad[i]! + f(param[i]! * wd)) : grad[i]!;
    const s = f(f(squareAvg[i]! * alpha) + f(f(g * g) * keep));
    outSquareAvg[i] = s;
    let avg: number;
    if (gradAvg && outGradAvg) {
      const a = f(f(gradAvg[i]! * alpha) + f(g * keep));
      outGradAvg[i] = a;
      avg = f(f(Math.sqrt(f(s - f(a * a)))) + eps);
    } else {
      avg = f(f(Math.sqrt(s)) + eps);
    }
    if (buffer && outBuffer) {
      const b = f(f(buffer[i]! * momentum) + f(g / avg));
      outBuffer[i] = b;
      outParam[i] = f(param[i]! - f(b * lr));
    } else {
      outParam[i] = f(param[i]! - f(f(g / avg) * lr));
    }
  }
}

/** The kernel's outputs by role: param, squareAvg, then gradAvg when centered, then the momentum buffer with momentum. */
function outputsOf<T>(outs: T[], h: RmspropHyper): { param: T; squareAvg: T; gradAvg?: T; buffer?: T } {
  return { param: outs[0]!, squareAvg: outs[1]!, gradAvg: h.centered ? outs[2] : undefined, buffer: h.momentum > 0 ? outs.at(-1) : undefined };
}

const RMSPROP: FusedUpdate<RmspropHyper> = {
  kernelName: RMSPROP_UPDATE,
  inputs: ['param', 'grad', 'squareAvg', 'gradAvg', 'buffer'],
  outputCount: (h) => 2 + (h.centered ? 1 : 0) + (h.momentum > 0 ? 1 : 0),
  values: ({ param, grad, squareAvg, gradAvg, buffer }, outs, h) => {
    const out = outputsOf(outs, h);
    rmspropUpdateValues(param!, grad!, squareAvg!, gradAvg ?? null, buffer ?? null, out.param, out.squareAvg, out.gradAvg ?? null, out.buffer ?? null, h);
  },
  native: (addon, heap, n, inputs, outs, h) => {
    const out = outputsOf(outs, h);
    addon.rmspropUpdate(heap, n, ...inputs, out.param, out.squareAvg, out.gradAvg ?? -1, out.buffer ?? -1, h.weightDecay, h.alpha, 1 - h.alpha, h.eps, h.momentum, h.lr);
  },
};

const kernels = fusedUpdateKernels(RMSPROP);
/** The wasm kernel (installed by registerWasmTrainingKernels). */
export const rmspropUpdateWasmConfig: tf.KernelConfig = kernels.wasm;
/** The cpu kernel. */
export const rmspropUpdateCpuConfig: tf.KernelConfig = kernels.cpu;

/**
 * One fused RMSProp step of `param` on the active backend: the new parameter, square average and
 * (centered) gradient average and (with momentum) momentum buffer, as new tensors. `gradAvg` is
 * required when centered, `buffer` with momentum. Undefined when the backend has no fused kernel
 * or a tensor is not float32.
 */
export function rmspropUpdate(param: tf.Tensor, grad: tf.Tensor, squareAvg: tf.Tensor, gradAvg: tf.Tensor | undefined, buffer: tf.Tensor | undefined,
  h: RmspropHyper): { param: tf.Tensor; squareAvg: tf.Tensor; gradAvg?: tf.Tensor; buffer?: tf.Tensor } | undefined {
  const outs = runFusedUpdate(RMSPROP, { param, grad, squareAvg, gradAvg, buffer }, h);
  return outs && outputsOf(outs, h);
}

if (tf.getKernel(RMSPROP_UPDATE, 'cpu') == null) tf.registerKernel(rmspropUpdateCpuConfig);
