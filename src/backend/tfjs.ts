/**
 * The parts of TensorFlow.js hookflow uses, as one namespace: tfjs-core (tensors, ops, kernels,
 * io, optimizers) and tfjs-layers (layers and models). It stands in for the `@tensorflow/tfjs`
 * umbrella, which also installs the converter, data and webgl packages hookflow never loads.
 * Importing it registers the cpu backend (the fallback, and what the wasm kernels shim onto)
 * and the chained ops (`t.mul(x)`), which tfjs-core's node build leaves to the umbrella.
 */
import '@tensorflow/tfjs-backend-cpu';
// The methods' types; the methods themselves are registered below (tfjs-core's node build has none).
// The methods' types; the methods themselves are registered below (tfjs-core's node build has none).
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import * as core from '@tensorflow/tfjs-core';
import { version_layers } from '@tensorflow/tfjs-layers';

export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';

/** The versions in use, shaped like the umbrella's `tf.version`. */
export const version = { 'tfjs-core': core.version_core, 'tfjs-layers': version_layers, tfjs: core.version_core } as const;

type AnyOp = (...args: unknown[]) => core.Tensor;
type Chained = (this: core.Tensor, ...args: any[]) => unknown;

/** Tensor methods that call the op of the same name with the tensor first. */
const SAME_NAME_OPS = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan',
  'atan2', 'atanh', 'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil', 'clipByValue',
  'conv1d', 'conv2d', 'cos', 'cosh', 'cumprod', 'cumsum', 'depthToSpace', 'divNoNan', 'div',
  'dot', 'elu', 'equal', 'erf', 'euclideanNorm', 'exp', 'expandDims', 'expm1', 'fft', 'floor',
  'floorDiv', 'gather', 'greaterEqual', 'greater', 'ifft', 'irfft', 'isFinite', 'isInf', 'isNaN',
  'leakyRelu', 'lessEqual', 'less', 'logSigmoid', 'logSoftmax', 'logSumExp', 'log', 'log1p',
  'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor', 'matMul', 'max', 'maximum', 'mean',
  'min', 'minimum', 'mirrorPad', 'mod', 'mul', 'neg', 'norm', 'notEqual', 'oneHot', 'onesLike',
  'pad', 'pool', 'pow', 'prelu', 'prod', 'reciprocal', 'relu', 'relu6', 'reshape', 'reverse',
  'rfft', 'round', 'rsqrt', 'selu', 'sigmoid', 'sign', 'sin', 'sinh', 'slice', 'softmax',
  'softplus', 'spaceToBatchND', 'split', 'sqrt', 'square', 'squaredDifference', 'squeeze',
  'step', 'stridedSlice', 'sub', 'sum', 'tan', 'tanh', 'tile', 'topk', 'transpose', 'unique',
  'unstack', 'zerosLike',
] as const;

/** Tensor methods whose op takes other arguments. */
const SPECIAL: Record<string, Chained> = {
  asScalar() {
    core.util.assert(this.size === 1, () => 'The array must have only 1 element.');
    return core.reshape(this, []);
  },
  asType(dtype: core.DataType) { return core.cast(this, dtype); },
  toBool() { return core.cast(this, 'bool'); },
  toFloat() { return core.cast(this, 'float32'); },
  toInt() { return core.cast(this, 'int32'); },
  as1D() { return core.reshape(this, [this.size]); },
  flatten() { return core.reshape(this, [this.size]); },
  as2D(...shape: number[]) { return core.reshape(this, shape); },
  as3D(...shape: number[]) { return core.reshape(this, shape); },
  as4D(...shape: number[]) { return core.reshape(this, shape); },
  as5D(...shape: number[]) { return core.reshape(this, shape); },
  reshapeAs(x: core.Tensor) { return core.reshape(this, x.shape); },
  concat(x: core.Tensor | core.Tensor[], axis?: number) { return core.concat([this, ...(x instanceof core.Tensor ? [x] : x)], axis); },
  stack(x: core.Tensor | core.Tensor[], axis?: number) { return core.stack([this, ...(x instanceof core.Tensor ? [x] : x)], axis); },
  where(condition: core.Tensor, x: core.Tensor) { return core.where(condition, this, x); },
};

const proto = core.Tensor.prototype as unknown as Record<string, Chained>;
for (const name of SAME_NAME_OPS) {
  const op = (core as unknown as Record<string, AnyOp>)[name]!;
  proto[name] ??= function (this: core.Tensor, ...args: unknown[]) {
    this.throwIfDisposed();
    return op(this, ...args);
  };
}
for (const [name, method] of Object.entries(SPECIAL)) {
  proto[name] ??= function (this: core.Tensor, ...args: unknown[]) {
    this.throwIfDisposed();
    return method.apply(this, args);
  };
}
