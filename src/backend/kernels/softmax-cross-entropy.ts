/**
 * The mean softmax cross-entropy of a batch of logits as two kernels, one forward (the loss and
 * the softmax probabilities) and one for the gradient, instead of the 35 small tfjs kernels of
 * `tf.losses.softmaxCrossEntropy` forward and backward (Max, Sub, Exp, Sum, Log, Reshape, Cast,
 * Neg, RealDiv, ...). On an MNIST batch of 64 x 10 logits those took 215-340 us per training
 * step, almost all of it tfjs's per-kernel dispatch, half of the MLP step's kernels.
 *
 * The loss is tfjs's (and PyTorch's `cross_entropy` with probability targets): the mean over rows
 * of sum_c y_c (logsumexp(x) - x_c). Each row is computed in double precision and the results are
 * rounded to float32 once, so the values differ from tfjs's float32 chain only in the last bits.
 * The gradient is the exact one, (sum_c y_c) softmax(x) - y, times dy / rows; for targets whose
 * rows sum to 1 (one-hot) that is tfjs's softmax(x) - y.
 */
import { logSumExp } from '../log-sum-exp.js';
import * as tf from '../tfjs.js';
import { heapF32, type CpuBackendLike, type KernelArgs, type WasmBackend } from './util.js';

/** Kernel name of the forward pass: inputs logits and labels [rows, classes]; outputs the loss (a scalar) and the probabilities. */
export const SOFTMAX_CROSS_ENTROPY = 'HookflowSoftmaxCrossEntropy';
/** Kernel name of the gradient: inputs probs, labels and dy (a scalar); output the gradient of the logits. */
export const SOFTMAX_CROSS_ENTROPY_GRAD = 'HookflowSoftmaxCrossEntropyGrad';

/** The forward pass on arrays: fills `probs` and returns the mean loss. */
export function softmaxCrossEntropyValues(logits: Float32Array, labels: Float32Array, rows: number, classes: number, probs: Float32Array): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    const lse = logSumExp(logits, base, classes);
    for (let c = 0; c < classes; c++) {
      const x = logits[base + c]!;
      probs[base + c] = Math.exp(x - lse);
      const y = labels[base + c]!;
      if (y !== 0) total += y * (lse - x);
    }
  }
  return rows === 0 ? NaN : total / rows;
}

/** The gradient on arrays: `out = ((sum_c y_c) probs - y) dy / rows`. */
export function softmaxCrossEntropyGradValues(probs: Float32Array, labels: Float32Array, dy: number, rows: number, classes: number, out: Float32Array): void {
  const scale = dy / rows;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let labelSum = 0;
    for (let c = 0; c < classes; c++) labelSum += labels[base + c]!;
    for (let c = 0; c < classes; c++) out[base + c] = (labelSum * probs[base + c]! - labels[base + c]!) * scale;
  }
}

/** Reads a kernel input and makes outputs, on the wasm heap or in cpu backend arrays. */
interface KernelIo {
  read(t: tf.TensorInfo): Float32Array;
  /** Allocates every output first (a wasm allocation may move the heap), then returns writable arrays and finishes them. */
  outputs(shapes: number[][]): { values: Float32Array[]; finish(): tf.TensorInfo[] };
}

function wasmIo(backend: WasmBackend): KernelIo {
  return {
    read: (t) => heapF32(backend, t),
    outputs: (shapes) => {
      const infos = shapes.map((shape) => backend.makeOutput(shape, 'float32'));
      return { values: infos.map((info) => heapF32(backend, info)), finish: () => infos };
    },
  };
}

function cpuIo(backend: CpuBackendLike): KernelIo {
  return {
    read: (t) => backend.readSync(t.dataId) as Float32Array,
    outputs: (shapes) => {
      const values = shapes.map((shape) => new Float32Array(tf.util.sizeFromShape(shape)));
      return { values, finish: () => values.map((v, i) => backend.makeTensorInfo(shapes[i]!, 'float32', v)) };
    },
  };
}

function forward(io: KernelIo, { inputs }: KernelArgs): tf.TensorInfo[] {
  const { logits, labels } = inputs as { logits: tf.TensorInfo; labels: tf.TensorInfo };
  const [rows, classes] = logits.shape as [number, number];
  const out = io.outputs([[], [rows, classes]]);
  out.values[0]![0] = softmaxCrossEntropyValues(io.read(logits), io.read(labels), rows, classes, out.values[1]!);
  return out.finish();
}

function gradient(io: KernelIo, { inputs }: KernelArgs): tf.TensorInfo[] {
  const { probs, labels, dy } = inputs as { probs: tf.TensorInfo; labels: tf.TensorInfo; dy: tf.TensorInfo };
  const [rows, classes] = probs.shape as [number, number];
  const out = io.outputs([[rows, classes]]);
  const dyValue = io.read(dy)[0]!;
  softmaxCrossEntropyGradValues(io.read(probs), io.read(labels), dyValue, rows, classes, out.values[0]!);
  return out.finish();
}

function configs(backendName: 'wasm' | 'cpu', ioOf: (backend: unknown) => KernelIo): tf.KernelConfig[] {
  return [
    { kernelName: SOFTMAX_CROSS_ENTROPY, backendName, kernelFunc: ((args: KernelArgs) => forward(ioOf(args.backend), args)) as tf.KernelFunc },
    { kernelName: SOFTMAX_CROSS_ENTROPY_GRAD, backendName, kernelFunc: ((args: KernelArgs) => gradient(ioOf(args.backend), args)) as tf.KernelFunc },
  ];
}

/** The wasm kernels (installed by registerWasmTrainingKernels). */
export const softmaxCrossEntropyWasmConfigs: readonly tf.KernelConfig[] = configs('wasm', (b) => wasmIo(b as WasmBackend));
/** The cpu kernels (registered when this module loads). */
export const softmaxCrossEntropyCpuConfigs: readonly tf.KernelConfig[] = configs('cpu', (b) => cpuIo(b as CpuBackendLike));

/**
 * The mean softmax cross-entropy of `logits` ([rows, classes]) against `labels` (one-hot or
 * probabilities of the same shape), differentiable with respect to `logits`: two kernels where
 * the active backend has hookflow's (wasm, cpu), else `tf.losses.softmaxCrossEntropy`.
 */
export function softmaxCrossEntropy(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  const backend = tf.getBackend();
  const fused = logits.rank === 2 && logits.dtype === 'float32' && labels.dtype === 'float32' && tf.util.arraysEqual(labels.shape, logits.shape)
    && tf.getKernel(SOFTMAX_CROSS_ENTROPY, backend) != null;
  if (!fused) return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  const lossOf = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [loss, probs] = tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY, { logits: x, labels }) as [tf.Scalar, tf.Tensor];
    save([probs!, labels]);
    return {
      value: loss!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY_GRAD, { probs: saved[0]!, labels: saved[1]!, dy }) as tf.Tensor,
    };
  });
  return lossOf(logits) as tf.Scalar;
}

for (const config of softmaxCrossEntropyCpuConfigs) if (tf.getKernel(config.kernelName, 'cpu') == null) tf.registerKernel(config);
