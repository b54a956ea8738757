/**
 * Replacement `MaxPoolGrad` for the wasm backend.
 *
 * tfjs-backend-wasm 4.22's C++ MaxPoolGrad seeds its running max with
 * `std::numeric_limits<float>::min()` (the smallest *positive* float) and compares with `>=`.
 * Every window whose values are all <= 0 therefore sends its gradient to the wrong element, and
 * ties go to the last maximum where the cpu backend (and TensorFlow) pick the first. Networks
 * with tanh/linear activations before a max pool get wrong gradients. This JS version follows
 * the cpu backend: the first strict maximum of each window receives the gradient. With the
 * native/blas addon the same selection runs natively, four channels at a time.
 */
import * as tf from '../tfjs.js';
import { heapOf, heapOffset, nativeBlasAddon } from './native-blas.js';
import { allocF32, assertShape, heapF32, type KernelArgs, type MaxPoolAttrs, type WasmBackend } from './util.js';

/** Routes each dy element to the first maximum of its window; NHWC; `dx` must be zeroed. */
export function maxPoolGradNhwc(x: ArrayLike<number>, dy: ArrayLike<number>, info: tf.backend_util.Conv2DInfo, dx: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth,
    strideHeight, strideWidth, dilationHeight, dilationWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const rCorner = yR * strideHeight - padTop;
      let rMin = rCorner;
      while (rMin < 0) rMin += dilationHeight;
      const rMax = Math.min(inHeight, rCorner + effectiveFilterHeight);
      for (let yC = 0; yC < outWidth; yC++) {
        const cCorner = yC * strideWidth - padLeft;
        let cMin = cCorner;
        while (cMin < 0) cMin += dilationWidth;
        const cMax = Math.min(inWidth, cCorner + effectiveFilterWidth);
        const dyOff = ((b * outHeight + yR) * outWidth + yC) * channels;
        for (let d = 0; d < channels; d++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1; // stays -1 for an all-NaN or empty window: the gradient is dropped, as on cpu
          for (let r = rMin; r < rMax; r += dilationHeight) {
            const rowOff = (b * inHeight + r) * inWidth;
            for (let c = cMin; c < cMax; c += dilationWidth) {
              const idx = (rowOff + c) * channels + d;
              const v = x[idx];
              if (v > best) { best = v; at = idx; }
            }
          }
          if (at >= 0) dx[at] += dy[dyOff + d];
        }
      }
    }
  }
}

/** Kernel function: inputs `dy`, `input` (`output` unused); attrs as tfjs's `MaxPoolGradAttrs`. */
export function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  assertShape('MaxPoolGrad', 'dy', dy.shape, info.outShape);
  const addon = input.dtype === 'float32' && dy.dtype === 'float32' ? nativeBlasAddon() : undefined;
  if (addon) {
    // native/blas zeroes dx itself and selects four channels at a time in SIMD registers: 0.28 ms
    // against 3.1 ms for the JS loop on the MNIST CNN's [64, 26, 26, 8] pool.
    const out = backend.makeOutput([...input.shape], 'float32');
    addon.maxPoolGrad(heapOf(backend), heapOffset(backend, input), heapOffset(backend, dy), heapOffset(backend, out),
      info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.strideHeight, info.strideWidth,
      info.dilationHeight, info.dilationWidth, info.effectiveFilterHeight, info.effectiveFilterWidth, info.padInfo.top, info.padInfo.left);
    return out;
  }
  const { out, values } = allocF32(backend, [...input.shape]);
  maxPoolGradNhwc(heapF32(backend, input), heapF32(backend, dy), info, values);
  return out;
}

/** Registration config for the wasm backend (replaces the built-in one). */
export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as tf.KernelFunc,
};
