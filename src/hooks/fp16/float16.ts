import * as tf from '../../backend/tfjs.js';

/** Largest finite IEEE 754 binary16 value. */
export const FLOAT16_MAX = 65504;
/** Smallest positive normal binary16 value (2^-14). */
export const FLOAT16_MIN_NORMAL = 2 ** -14;
/** Smallest positive binary16 value, a subnormal (2^-24). */
export const FLOAT16_MIN_SUBNORMAL = 2 ** -24;

// float32 bit patterns of the thresholds above.
const F32_INFINITY = 0x7f800000;
/** 65520: halfway between 65504 and 2^16; ties to even round it (and anything larger) up to Infinity. */
const F32_OVERFLOW = 0x477ff000;
const F32_MIN_NORMAL16 = 0x38800000;
const SUBNORMAL_STEPS = 2 ** 24;

/**
 * Rounds float32 values to the nearest IEEE 754 binary16 value (ties to even) and stores the
 * result as float32: what storing them in a float16 tensor would keep. Magnitudes from 65520
 * up become ±Infinity, values below 2^-14 land on the subnormal grid of 2^-24 (2^-25 and less
 * become ±0), signs of zeros and NaN are kept. Writes into `out` (which may be `values` itself
 * when that is a Float32Array) and returns it. No tfjs: a plain loop over the bits.
 */
export function roundFloat16Array(values: ArrayLike<number>, out: Float32Array = new Float32Array(values.length)): Float32Array {
  if (out.length !== values.length) throw new RangeError(`roundFloat16Array: out has ${out.length} elements, values has ${values.length}`);
  if (out !== values) out.set(values);
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    const abs = b & 0x7fffffff;
    if (abs >= F32_INFINITY) continue; // NaN and ±Infinity stay as they are
    const sign = b & 0x80000000;
    if (abs >= F32_OVERFLOW) {
      bits[i] = (sign | F32_INFINITY) >>> 0;
    } else if (abs >= F32_MIN_NORMAL16) {
      // Keep 10 of the 23 mantissa bits, rounding half to even; a carry moves into the exponent.
      bits[i] = (sign | ((abs + 0xfff + ((abs >>> 13) & 1)) & 0x7fffe000)) >>> 0;
    } else {
      // Subnormal binary16: a multiple of 2^-24 (exact in a double), rounded half to even.
      const steps = Math.abs(out[i]!) * SUBNORMAL_STEPS;
      let n = Math.floor(steps);
      const rest = steps - n;
      if (rest > 0.5 || (rest === 0.5 && (n & 1) === 1)) n++;
      out[i] = sign ? -n / SUBNORMAL_STEPS : n / SUBNORMAL_STEPS;
    }
  }
  return out;
}

/** {@link roundFloat16Array} for one number (first rounded to float32, as a float32 tensor holds it). */
export function roundToFloat16(x: number): number {
  return roundFloat16Array([x])[0]!;
}

/** A new float32 tensor holding the binary16 rounding of `t` (one read of `t`'s data). */
export function float16Tensor(t: tf.Tensor): tf.Tensor {
  return tf.tensor(roundFloat16Array(t.dataSync() as Float32Array), t.shape, 'float32');
}

/** Replaces the value of `v` by its binary16 rounding. */
export function assignFloat16(v: tf.Variable): void {
  const rounded = float16Tensor(v);
  v.assign(rounded);
  rounded.dispose();
}
