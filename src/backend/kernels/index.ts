/**
 * Training kernels for the tfjs wasm backend.
 *
 * tfjs-backend-wasm 4.22 registers 157 kernels against the cpu backend's 172. Of the missing
 * ones, layer gradients need four: `Conv2DBackpropFilter` (conv2d, conv1d, separableConv2d),
 * `DepthwiseConv2dNativeBackpropFilter` / `…BackpropInput` (depthwiseConv2d, separableConv2d)
 * and `UnsortedSegmentSum` (gather, hence embedding). The others (Complex, ComplexAbs, Draw,
 * Einsum, FFT, IFFT, Imag, Real, RaggedGather, RaggedRange, RaggedTensorToTensor,
 * StaticRegexReplace) appear in no layer's gradient.
 *
 * Built-in wasm kernels that compute wrong values are replaced or wrapped: `MaxPoolGrad`
 * (max-pool-grad.ts), the padding of the forward convolutions (conv-forward-padding.ts),
 * batched `_FusedMatMul` (batch-mat-mul.ts) and, with native/blas, `MaxPool` with NaNs
 * (native-max-pool.ts). Two correct but slow training kernels get XNNPACK paths: the
 * transposed matmuls of every dense layer's backward pass (batch-mat-mul.ts) and
 * `Conv2DBackpropInput` (conv2d-backprop-input.ts). With the optional native/blas addon, the
 * matmuls (and through them the conv GEMMs) run on OpenBLAS (native-mat-mul.ts). `Identity` and
 * same-dtype `Cast` share their input's data instead of copying it (shared-identity.ts); with
 * native/blas, a layer's bias add and bias gradient run natively (native-bias.ts), and so does
 * the forward `Conv2D` of a small filter (native-conv2d.ts). Relu's gradient is one kernel,
 * `HookflowReluGrad`, instead of tfjs's Step, Cast and Multiply (relu-grad.ts).
 */
import * as tf from '../tfjs.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { depthwiseConv2dBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dBackpropInputConfig } from './depthwise-conv2d-backprop-input.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';
import { FORWARD_CONV_KERNELS, hasForwardPaddingFix, withForwardPaddingFix } from './conv-forward-padding.js';
import { MATMUL_KERNELS, hasMatMulTransposeFix, withMatMulTransposeFix } from './batch-mat-mul.js';
import { hasConv2dBackpropInputSpeedup, withConv2dBackpropInputSpeedup } from './conv2d-backprop-input.js';
import { hasNativeMatMul, withNativeMatMul } from './native-mat-mul.js';
import { nativeBlasStatus } from './native-blas.js';
import { sgdUpdateWasmConfig } from './sgd-update.js';
import { adamUpdateWasmConfig } from './adam-update.js';
import { adagradUpdateWasmConfig } from './adagrad-update.js';
import { rmspropUpdateWasmConfig } from './rmsprop-update.js';
import { SHARED_IDENTITY_KERNELS, hasSharedData, withSharedData } from './shared-identity.js';
import { NATIVE_BIAS_KERNELS, hasNativeBias, withNativeBias } from './native-bias.js';
import { hasNativeConv2d, withNativeConv2d } from './native-conv2d.js';
import { hasNativeMaxPool, withNativeMaxPool } from './native-max-pool.js';
import { softmaxCrossEntropyWasmConfigs } from './softmax-cross-entropy.js';
import { reluGradWasmConfig } from './relu-grad.js';

export {
  conv2dBackpropFilter, conv2dBackpropFilterConfig, conv2dBackpropFilterNhwc, conv2dBackpropFilterWith, DIRECT_MAX_WEIGHTS,
  type Conv2dBackpropFilterOptions,
} from './conv2d-backprop-filter.js';
export { depthwiseConv2dBackpropFilter, depthwiseConv2dBackpropFilterConfig, depthwiseBackpropFilterNhwc } from './depthwise-conv2d-backprop-filter.js';
export {
  depthwiseConv2dBackpropInput, depthwiseConv2dBackpropInputConfig, depthwiseBackpropInputNhwc, depthwiseConv2dBackpropInputWith,
  type DepthwiseBackpropInputOptions,
} from './depthwise-conv2d-backprop-input.js';
export { maxPoolGrad, maxPoolGradConfig, maxPoolGradNhwc } from './max-pool-grad.js';
export { unsortedSegmentSum, unsortedSegmentSumConfig, unsortedSegmentSumFlat } from './unsorted-segment-sum.js';
export { FORWARD_CONV_KERNELS, explicitPaddingFor, hasForwardPaddingFix, withForwardPaddingFix } from './conv-forward-padding.js';
export { MATMUL_KERNELS, hasMatMulTransposeFix, withMatMulTransposeFix } from './batch-mat-mul.js';
export { NATIVE_ACTIVATIONS, hasNativeMatMul, withNativeMatMul } from './native-mat-mul.js';
export { BLAS_PACKAGES, blasThreadCount, nativeBlasStatus, withBlasInstallHint, type NativeBlasStatus } from './native-blas.js';
export { nativeSumOfSquares } from './sum-of-squares.js';
export { SGD_UPDATE, sgdUpdate, sgdUpdateValues, type SgdHyper } from './sgd-update.js';
export { ADAM_UPDATE, adamUpdate, adamUpdateValues, type AdamHyper } from './adam-update.js';
export { ADAGRAD_UPDATE, adagradUpdate, adagradUpdateValues, type AdagradHyper } from './adagrad-update.js';
export { RMSPROP_UPDATE, rmspropUpdate, rmspropUpdateValues, type RmspropHyper } from './rmsprop-update.js';
export { SHARED_IDENTITY_KERNELS, hasSharedData, withSharedData } from './shared-identity.js';
export { NATIVE_BIAS_KERNELS, hasNativeBias, withNativeBias } from './native-bias.js';
export { NATIVE_CONV2D_MAX_WEIGHTS, hasNativeConv2d, nativeConv2d, withNativeConv2d, withoutNativeConv2d } from './native-conv2d.js';
export { hasNativeMaxPool, nativeMaxPool, withNativeMaxPool, withoutNativeMaxPool } from './native-max-pool.js';
export { conv2dBackpropInputByGemm, hasConv2dBackpropInputSpeedup, withConv2dBackpropInputSpeedup } from './conv2d-backprop-input.js';
export {
  SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_GRAD, softmaxCrossEntropy, softmaxCrossEntropyGradValues, softmaxCrossEntropyValues,
} from './softmax-cross-entropy.js';
export { RELU_GRAD, reluGrad, reluGradValues } from './relu-grad.js';
export type { ConvGeometry, ExplicitPadding, MaxPoolAttrs } from './util.js';

/**
 * JS kernels registered as they are: the four missing ones, the MaxPoolGrad replacement, the
 * fused softmax cross-entropy (two kernels where tfjs's op runs 35) and the relu gradient (one
 * where tfjs runs three; relu-grad.ts also makes it relu's gradient).
 */
const OWN_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseConv2dBackpropFilterConfig,
  depthwiseConv2dBackpropInputConfig,
  unsortedSegmentSumConfig,
  maxPoolGradConfig,
  ...softmaxCrossEntropyWasmConfigs,
  reluGradWasmConfig,
];

/**
 * The fused optimizer steps, registered on wasm only with native/blas: their JS loops on the heap
 * are 2-3x slower than wasm's own ops of the generic update (MLP parameters, SGD 0.65 vs 0.25 ms,
 * Adam 1.7 vs 0.64 ms), so without the addon the optimizers run the ops.
 */
const FUSED_UPDATE_KERNELS: readonly tf.KernelConfig[] = [sgdUpdateWasmConfig, adamUpdateWasmConfig, adagradUpdateWasmConfig, rmspropUpdateWasmConfig];

/** Names of the fused optimizer steps (registered on wasm only with native/blas). */
export const FUSED_UPDATE_KERNEL_NAMES: readonly string[] = FUSED_UPDATE_KERNELS.map((k) => k.kernelName);

/** The kernels of {@link OWN_KERNELS} and, with native/blas, {@link FUSED_UPDATE_KERNELS}. */
function ownKernels(): readonly tf.KernelConfig[] {
  return nativeBlasStatus().active ? [...OWN_KERNELS, ...FUSED_UPDATE_KERNELS] : OWN_KERNELS;
}

/** The matmul transpose fix, under OpenBLAS's sgemm when the native/blas addon is available. */
function withMatMulSpeedups(original: tf.KernelConfig): tf.KernelConfig {
  const fixed = withMatMulTransposeFix(original);
  return nativeBlasStatus().active ? withNativeMatMul(fixed) : fixed;
}

/** Built-in wasm kernels that are wrapped rather than replaced: [names, is-wrapped test, wrapper]. */
const WRAPPED_KERNELS: ReadonlyArray<readonly [readonly string[], (k: tf.KernelConfig) => boolean, (k: tf.KernelConfig) => tf.KernelConfig]> = [
  [FORWARD_CONV_KERNELS, (k) => hasForwardPaddingFix(k) || hasNativeConv2d(k), withForwardPaddingFix],
  // Only with native/blas, around the padding fix: small filters run natively.
  [['Conv2D'], (k) => hasNativeConv2d(k) || !nativeBlasStatus().active, withNativeConv2d],
  [['MaxPool'], (k) => hasNativeMaxPool(k) || !nativeBlasStatus().active, withNativeMaxPool],
  [MATMUL_KERNELS, (k) => hasMatMulTransposeFix(k) || hasNativeMatMul(k), withMatMulSpeedups],
  [['Conv2DBackpropInput'], hasConv2dBackpropInputSpeedup, withConv2dBackpropInputSpeedup],
  [SHARED_IDENTITY_KERNELS, hasSharedData, withSharedData],
  // Only with native/blas: without it, wasm's own Add and Sum stay registered.
  [NATIVE_BIAS_KERNELS, (k) => hasNativeBias(k) || !nativeBlasStatus().active, withNativeBias],
];

/** Every kernel name {@link registerWasmTrainingKernels} manages on the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = [...new Set([
  ...OWN_KERNELS.map((k) => k.kernelName), ...FUSED_UPDATE_KERNEL_NAMES, ...WRAPPED_KERNELS.flatMap(([names]) => names),
])];

/**
 * Installs hookflow's kernels on the `wasm` backend: the missing training kernels, the
 * MaxPoolGrad replacement, the forward-conv padding fix, the matmul fix and the faster
 * Conv2DBackpropInput, and when native/blas is built the native BLAS matmuls, bias kernels and
 * fused optimizer steps. Idempotent: a kernel that already is hookflow's is left alone. Safe to
 * call before or after the wasm backend initialises (the wrappers need tfjs-backend-wasm to be
 * imported, and are skipped until it is).
 *
 * @returns the kernel names this call (re)registered; empty when everything was in place.
 */
export function registerWasmTrainingKernels(): string[] {
  const registered: string[] = [];
  for (const config of ownKernels()) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    // Unregister first: registerKernel only warns on a duplicate, and the warning is noise here.
    if (current != null) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
    registered.push(config.kernelName);
  }
  for (const [names, isWrapped, wrap] of WRAPPED_KERNELS) {
    for (const name of names) {
      const current = tf.getKernel(name, 'wasm');
      if (current == null || isWrapped(current)) continue;
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(wrap(current));
      registered.push(name);
    }
  }
  return registered;
}
