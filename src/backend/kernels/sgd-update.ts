/**
 * One kernel per parameter for an SGD step (PyTorch's `torch.optim.SGD`: weight decay,
 * momentum, dampening, Nesterov), instead of the seven tfjs ops of the generic path (see
 * fused-update.ts for where it runs; {@link sgdUpdate} returns undefined elsewhere).
 */
import * as tf from '../tfjs.js';
import { fusedUpdateKernels, runFusedUpdate, type FusedUpdate } from './fused-update.js';

/** Kernel name of the fused SGD step. */
export const SGD_UPDATE = 'HookflowSgdUpdate';

/** Hyper-parameters of one SGD step. */
export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** The step on plain arrays (`buffer` null on the first momentum step; `outBuffer` null without momentum). */
export function sgdUpdateValues(param: Float32Array, grad: Float32Array, buffer: Float32Array | null, outParam: Float32Array,
  outBuffer: Float32Array | null, h: SgdHyper): void {
  const { lr, momentum, dampening, weightDecay: wd, nesterov } = h;
  // Math.fround: the same float32 arithmetic as the native loop and tfjs's float32 ops.
  const [flr, fm, fdamp, fwd] = [lr, momentum, 1 - dampening, wd].map(Math.fround) as [number, number, number, number];
  for (let i = 0; i < param.length; i++) {
    const d = Math.fround(grad[i]! + Math.fround(fwd * param[i]!));
    if (outBuffer == null) {
      outParam[i] = param[i]! - Math.fround(flr * d);
      continue;
    }
    const b = buffer == null ? d : Math.fround(Math.fround(fm * buffer[i]!) + Math.fround(fdamp * d));
    outBuffer[i] = b;
    outParam[i] = param[i]! - Math.fround(flr * (nesterov ? Math.fround(d + Math.fround(fm * b)) : b));
  }
}

/** The fused SGD update: inputs param, grad and (after the first momentum step) buffer; outputs param and, with momentum, buffer. */
const SGD: FusedUpdate<SgdHyper> = {
  kernelName: SGD_UPDATE,
  inputs: ['param', 'grad', 'buffer'],
  outputCount: (h) => (h.momentum !== 0 ? 2 : 1),
  values: ({ param, grad, buffer }, [outParam, outBuffer], h) => sgdUpdateValues(param!, grad!, buffer ?? null, outParam!, outBuffer ?? null, h),
  native: (addon, heap, n, [param, grad, buffer], [outParam, outBuffer], h) => {
    addon.sgdUpdate(heap, n, param!, grad!, buffer!, outParam!, outBuffer ?? -1, h.lr, h.momentum, h.dampening, h.weightDecay, h.nesterov);
  },
};

const kernels = fusedUpdateKernels(SGD);
/** The wasm kernel (installed by registerWasmTrainingKernels). */
export const sgdUpdateWasmConfig: tf.KernelConfig = kernels.wasm;
/** The cpu kernel. */
export const sgdUpdateCpuConfig: tf.KernelConfig = kernels.cpu;

/**
 * One fused SGD step of `param` on the active backend: the new parameter and (with momentum)
 * the new momentum buffer, as new tensors; `buffer` is undefined on the first momentum step.
 * Undefined when the backend has no fused kernel or a tensor is not float32.
 */
export function sgdUpdate(param: tf.Tensor, grad: tf.Tensor, buffer: tf.Tensor | undefined, h: SgdHyper): { param: tf.Tensor; buffer?: tf.Tensor } | undefined {
  const outs = runFusedUpdate(SGD, { param, grad, buffer }, h);
  return outs && { param: outs[0]!, buffer: outs[1] };
}

if (tf.getKernel(SGD_UPDATE, 'cpu') == null) tf.registerKernel(sgdUpdateCpuConfig);
