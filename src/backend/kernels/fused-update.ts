/**
 * The plumbing shared by hookflow's fused optimizer kernels (SGD, Adam, RMSProp, Adagrad): one
 * kernel per parameter that reads float32 tensors of the parameter's shape (some of them
 * optional, such as a momentum buffer before the first step) and returns new tensors of that
 * shape, instead of the chain of tfjs ops of the generic update, each of which costs a kernel
 * dispatch.
 *
 * The outputs are new tensors that the optimizer assigns, like any tfjs op: writing a variable in
 * place would leave stale XNNPACK weights cached by tensor id. On wasm a kernel runs its
 * native/blas loop on the heap, and is registered only when the addon is built (a JS loop on the
 * heap is 2-3x slower than wasm's own ops); on cpu it runs its JS loop. Other backends have no
 * such kernels and keep the generic path.
 */
import * as tf from '../tfjs.js';
import { heapOf, nativeBlasAddon, type BlasAddon } from './native-blas.js';
import type { CpuBackendLike, KernelArgs, WasmBackend } from './util.js';

/** One fused update: its kernel name, its inputs and outputs, and its loop in JS (cpu) and native (wasm). */
export interface FusedUpdate<H> {
  kernelName: string;
  /** Input names, in the order the native loop takes their offsets. */
  inputs: readonly string[];
  /** How many outputs these hyper-parameters give. */
  outputCount(h: H): number;
  /** The update on arrays: inputs by name (null when absent), outputs in order. */
  values(inputs: Record<string, Float32Array | null>, outputs: Float32Array[], h: H): void;
  /** The same on the wasm heap with native/blas: element count, input offsets in `inputs` order (-1: absent), output offsets. */
  native(addon: BlasAddon, heap: ArrayBuffer, n: number, inputOffsets: number[], outputOffsets: number[], h: H): void;
}

/** The update's wasm and cpu kernel configs (register them; {@link runFusedUpdate} finds them). */
export function fusedUpdateKernels<H>(update: FusedUpdate<H>): { wasm: tf.KernelConfig; cpu: tf.KernelConfig } {
  const wasmKernel = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const wasm = backend as WasmBackend;
    const h = attrs as unknown as H;
    const shape = inputs[update.inputs[0]!]!.shape;
    // Outputs first: an allocation may grow the heap and detach earlier views.
    const outs = Array.from({ length: update.outputCount(h) }, () => wasm.makeOutput(shape, 'float32'));
    const addon = nativeBlasAddon();
    if (!addon) throw new Error(`${update.kernelName} needs native/blas (registerWasmTrainingKernels installs it only then)`);
    const offset = (t: tf.TensorInfo | undefined) => (t ? wasm.getMemoryOffset(t.dataId) : -1);
    update.native(addon, heapOf(wasm), tf.util.sizeFromShape(shape), update.inputs.map((name) => offset(inputs[name])), outs.map(offset), h);
    return outs;
  };
  const cpuKernel = ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const cpu = backend as unknown as CpuBackendLike;
    const h = attrs as unknown as H;
    const shape = inputs[update.inputs[0]!]!.shape;
    const n = tf.util.sizeFromShape(shape);
    const read = (t: tf.TensorInfo | undefined) => (t ? cpu.readSync(t.dataId) as Float32Array : null);
    const outs = Array.from({ length: update.outputCount(h) }, () => new Float32Array(n));
    update.values(Object.fromEntries(update.inputs.map((name) => [name, read(inputs[name])])), outs, h);
    return outs.map((values) => cpu.makeTensorInfo(shape, 'float32', values));
  };
  return {
    wasm: { kernelName: update.kernelName, backendName: 'wasm', kernelFunc: wasmKernel as tf.KernelFunc },
    cpu: { kernelName: update.kernelName, backendName: 'cpu', kernelFunc: cpuKernel as tf.KernelFunc },
  };
}

/**
 * Runs the fused update on the active backend: the outputs as new tensors, or undefined when the
 * backend has no such kernel, a tensor is not float32 or the shapes differ (the caller then runs
 * the generic ops). `inputs` maps the update's input names to tensors; absent ones are undefined.
 */
export function runFusedUpdate<H>(update: FusedUpdate<H>, inputs: Record<string, tf.Tensor | undefined>, h: H): tf.Tensor[] | undefined {
  if (tf.getKernel(update.kernelName, tf.getBackend()) == null) return undefined;
  const present: tf.NamedTensorMap = {};
  const shape = inputs[update.inputs[0]!]!.shape;
  for (const name of update.inputs) {
    const t = inputs[name];
    if (!t) continue;
    if (t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, shape)) return undefined;
    present[name] = t;
  }
  return tf.engine().runKernel(update.kernelName, present, { ...h } as unknown as tf.NamedAttrMap) as tf.Tensor[];
}
