/**
 * Fix for the wasm backend's `BatchMatMul` and `_FusedMatMul` (speed, and for the fused one also
 * correctness).
 *
 * tfjs-backend-wasm 4.22 uses XNNPACK only when neither operand is transposed and both batch
 * sizes are 1; anything else runs a naive blocked C++ loop, about 7x slower on dense-layer
 * shapes. Every dense layer's backward pass asks for `xᵀ·dy` and `dy·Wᵀ`, so training was stuck
 * on the slow loop. The wrapper transposes the flagged operand with wasm's own Transpose kernel
 * (a cheap copy) and calls the original kernel without transpose flags, which then takes the
 * XNNPACK path. Values agree with the slow loop to float32 rounding (~3e-7 relative).
 *
 * That slow loop is also wrong for `_FusedMatMul` (checked against the cpu backend): it indexes
 * the bias with the flat output index (only row 0 gets the right bias) and applies bias and
 * relu/relu6 clamping to every 48-wide partial sum. After the transpose fix only batched fused
 * products can still reach it; those with a bias or an activation run the cpu kernel instead.
 * (Layers never send batched ones: dense reshapes to 2-D first.)
 */
import * as tf from '../tfjs.js';
import { kernelWrappers, runOnCpu, type KernelArgs, type WasmBackend } from './util.js';

/** Matmul kernels whose wasm versions get the transpose fix. */
export const MATMUL_KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;

const wrappers = kernelWrappers();

/** True when `config` already is a wrapper made by {@link withMatMulTransposeFix}. */
export function hasMatMulTransposeFix(config: tf.KernelConfig): boolean {
  return wrappers.has(config);
}

/** Swaps the last two axes of `t` with the wasm Transpose kernel; the caller disposes the result. */
function swapLastAxes(backend: WasmBackend, t: tf.TensorInfo): tf.TensorInfo {
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (transpose == null) throw new Error('matmul transpose fix: the wasm Transpose kernel is not registered');
  const rank = t.shape.length;
  const perm = t.shape.map((_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return transpose.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } }) as tf.TensorInfo;
}

/** Wraps the wasm kernel `original` so that unbatched transposed products reach XNNPACK. */
export function withMatMulTransposeFix(original: tf.KernelConfig): tf.KernelConfig {
  const fused = original.kernelName === '_FusedMatMul';
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const backend = args.backend as WasmBackend;
    const { a, b, bias } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo };
    const { transposeA, transposeB, activation } = args.attrs as { transposeA?: boolean; transposeB?: boolean; activation?: string };
    // Other dtypes are rejected by the original with its own message.
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original.kernelFunc(args);
    const unbatched = (t: tf.TensorInfo) => t.shape.length >= 2 && tf.util.sizeFromShape(t.shape.slice(0, -2)) === 1;
    if (!unbatched(a) || !unbatched(b)) {
      // Batched: the slow loop is right for plain products only.
      if (fused && (bias != null || (activation ?? 'linear') !== 'linear')) return runOnCpu(original.kernelName, args);
      return original.kernelFunc(args);
    }
    if (!transposeA && !transposeB) return original.kernelFunc(args); // already the XNNPACK path
    const temps: tf.TensorInfo[] = [];
    try {
      const a2 = transposeA ? swapLastAxes(backend, a) : a;
      if (transposeA) temps.push(a2);
      const b2 = transposeB ? swapLastAxes(backend, b) : b;
      if (transposeB) temps.push(b2);
      return original.kernelFunc({
        inputs: { ...args.inputs, a: a2, b: b2 }, backend,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
  return wrappers.wrap(original, kernelFunc);
}
