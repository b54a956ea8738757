/**
 * One kernel per parameter for an SGD step (PyTorch's `torch.optim.SGD`: weight decay,
 * momentum, dampening, Nesterov), instead of the seven tfjs ops of the generic path.
 *
 * The kernel returns new tensors (the new parameter and momentum buffer) that the optimizer
 * assigns, like any tfjs op: writing a variable in place would leave stale XNNPACK weights
 * cached by tensor id. On wasm it runs the native/blas loop on the heap when the addon is
 * built and a JS loop on the heap otherwise; on cpu, the JS loop. Other backends have no such
 * kernel and keep the generic path ({@link sgdUpdate} returns undefined).
 */
import * as tf from '../tfjs.js';
import { heapOf, nativeBlasAddon } from './native-blas.js';
import type { KernelArgs, WasmBackend } from './util.js';

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

type Inputs = { param: tf.TensorInfo; grad: tf.TensorInfo; buffer?: tf.TensorInfo };

function wasmSgdUpdate({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const wasm = backend as WasmBackend;
  const { param, grad, buffer } = inputs as Inputs;
  const h = attrs as unknown as SgdHyper;
  const outParam = wasm.makeOutput(param.shape, 'float32');
  const outBuffer = h.momentum !== 0 ? wasm.makeOutput(param.shape, 'float32') : undefined;
  const addon = nativeBlasAddon();
  if (addon) {
    const offset = (t: tf.TensorInfo | undefined) => (t ? wasm.getMemoryOffset(t.dataId) : -1);
    addon.sgdUpdate(heapOf(wasm), tf.util.sizeFromShape(param.shape), offset(param), offset(grad), offset(buffer), offset(outParam),
      offset(outBuffer), h.lr, h.momentum, h.dampening, h.weightDecay, h.nesterov);
  } else {
    const view = (t: tf.TensorInfo | undefined) => (t ? wasm.typedArrayFromHeap(t) as Float32Array : null);
    sgdUpdateValues(view(param)!, view(grad)!, view(buffer), view(outParam)!, view(outBuffer), h);
  }
  return outBuffer ? [outParam, outBuffer] : [outParam];
}

interface CpuBackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

function cpuSgdUpdate({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const cpu = backend as unknown as CpuBackendLike;
  const { param, grad, buffer } = inputs as Inputs;
  const h = attrs as unknown as SgdHyper;
  const read = (t: tf.TensorInfo) => cpu.readSync(t.dataId) as Float32Array;
  const outParam = new Float32Array(tf.util.sizeFromShape(param.shape));
  const outBuffer = h.momentum !== 0 ? new Float32Array(outParam.length) : null;
  sgdUpdateValues(read(param), read(grad), buffer ? read(buffer) : null, outParam, outBuffer, h);
  const p = cpu.makeTensorInfo(param.shape, 'float32', outParam);
  return outBuffer ? [p, cpu.makeTensorInfo(param.shape, 'float32', outBuffer)] : [p];
}

/** The wasm kernel (installed by registerWasmTrainingKernels). */
export const sgdUpdateWasmConfig: tf.KernelConfig = { kernelName: SGD_UPDATE, backendName: 'wasm', kernelFunc: wasmSgdUpdate as tf.KernelFunc };
/** The cpu kernel. */
export const sgdUpdateCpuConfig: tf.KernelConfig = { kernelName: SGD_UPDATE, backendName: 'cpu', kernelFunc: cpuSgdUpdate as tf.KernelFunc };

/**
 * One fused SGD step of `param` on the active backend: the new parameter and (with momentum)
 * the new momentum buffer, as new tensors; `buffer` is undefined on the first momentum step.
 * Undefined when the backend has no fused kernel or a tensor is not float32.
 */
export function sgdUpdate(param: tf.Tensor, grad: tf.Tensor, buffer: tf.Tensor | undefined, h: SgdHyper): { param: tf.Tensor; buffer?: tf.Tensor } | undefined {
  if (tf.getKernel(SGD_UPDATE, tf.getBackend()) == null) return undefined;
  if (param.dtype !== 'float32' || grad.dtype !== 'float32' || (buffer && buffer.dtype !== 'float32') || !tf.util.arraysEqual(param.shape, grad.shape)) return undefined;
  const inputs: tf.NamedTensorMap = buffer ? { param, grad, buffer } : { param, grad };
  const outs = tf.engine().runKernel(SGD_UPDATE, inputs, { ...h } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { param: outs[0]!, buffer: outs[1] };
}

if (tf.getKernel(SGD_UPDATE, 'cpu') == null) tf.registerKernel(sgdUpdateCpuConfig);
