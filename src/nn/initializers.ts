/**
 * Weight initialisers for tfjs layers with mmcv.cnn's names and defaults (`constant_init`,
 * `xavier_init`, `normal_init`, `uniform_init`, `kaiming_init`, `trunc_normal_init`). Each sets
 * the layer's weight (kernel; batch-norm gamma) and, when the layer has one, its bias (bias;
 * batch-norm beta) to `bias`. A layer without a weight is left alone, as in mmcv; a layer that
 * is not built yet (no weights exist) is an error.
 *
 * Fans follow PyTorch's `_calculate_fan_in_and_fan_out` on the equivalent PyTorch weight, which
 * matters because tfjs lays kernels out differently:
 * - dense `[in, out]`, conv `[...kernel, in, out]`, conv-transpose `[...kernel, out, in]`, LSTM
 *   `[in, 4 * units]`: fanIn = in-dim × receptive field, fanOut = out-dim × receptive field
 *   (tfjs's last two axes; PyTorch's first two, swapped);
 * - depthwise kernels `[...kernel, in, multiplier]`: PyTorch's `[in * multiplier, 1, ...kernel]`,
 *   so fanIn = receptive field and fanOut = in × multiplier × receptive field;
 * - embeddings `[count, dim]`: same layout as PyTorch, so fanIn = dim and fanOut = count.
 *
 * Random initialisers take a `seed` for reproducible values; without it they draw from tfjs's
 * unseeded generator.
 */
import * as tf from '../backend/tfjs.js';
import { z } from 'zod';
import { parseOptions } from '../config/parse-options.js';
import type { Layer } from './forward-hooks.js';

const BIAS_NAMES = new Set(['bias', 'beta']);
// Batch-norm statistics: state, not weights an initialiser should touch.
const STATE_NAMES = new Set(['moving_mean', 'moving_variance']);

/** The tfjs weight name without its layer prefix (`kernel`, `bias`, `gamma`...). */
function shortName(w: tf.LayerVariable): string {
  return w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
}

/** How a weight's axes map to PyTorch's fan computation. */
export type FanLayout = 'kernel' | 'depthwiseKernel' | 'embeddings';

/** The layout of a tfjs weight, from its name. */
export function fanLayoutOf(weightName: string): FanLayout {
  if (weightName === 'depthwise_kernel') return 'depthwiseKernel';
  if (weightName === 'embeddings') return 'embeddings';
  return 'kernel';
}

/** PyTorch's fan-in and fan-out of a weight of `shape` in tfjs layout (see the module notes). */
export function computeFans(shape: readonly number[], layout: FanLayout = 'kernel'): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new RangeError(`fan in and fan out need a weight with at least 2 dimensions; got shape ${JSON.stringify(shape)}`);
  }
  if (layout === 'embeddings') return { fanIn: shape[1]! * receptive(shape, 2), fanOut: shape[0]! * receptive(shape, 2) };
  const rf = receptive(shape, 0, shape.length - 2);
  const inDim = shape.at(-2)!;
  const outDim = shape.at(-1)!;
  if (layout === 'depthwiseKernel') return { fanIn: rf, fanOut: inDim * outDim * rf };
  return { fanIn: inDim * rf, fanOut: outDim * rf };
}

function receptive(shape: readonly number[], from: number, to = shape.length): number {
  return shape.slice(from, to).reduce((a, b) => a * b, 1);
}

/** Nonlinearity names of PyTorch's `calculate_gain`. */
export const NONLINEARITIES = [
  'linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d',
  'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu',
] as const;
export type Nonlinearity = (typeof NONLINEARITIES)[number];

/** PyTorch's `calculate_gain`: the recommended gain for a nonlinearity (`param`: leaky_relu's slope, default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope ** 2));
    }
    case 'selu': return 3 / 4;
    default:
      if (!NONLINEARITIES.includes(nonlinearity)) throw new RangeError(`unsupported nonlinearity ${JSON.stringify(nonlinearity)}; one of ${NONLINEARITIES.join(', ')}`);
      return 1;
  }
}

/** Builds a new weight value from the weight's shape and fans (only computed when asked for). */
type MakeWeight = (shape: number[], fans: () => { fanIn: number; fanOut: number }) => tf.Tensor;

/**
 * Sets the layer's weight to `make(...)` and its bias to the constant `bias`, through
 * getWeights()/setWeights(); the new tensors are disposed afterwards (the variables copy them).
 */
function initLayer(caller: string, layer: Layer, make: MakeWeight, bias: number): void {
  if (!(layer instanceof tf.layers.Layer)) throw new TypeError(`${caller}: expected a tfjs layer (tf.layers.Layer); got ${layer === null ? 'null' : typeof layer}`);
  if (!layer.built) {
    throw new Error(`${caller}: layer '${layer.name}' is not built yet, so it has no weights; give it an inputShape (or add it to a model that has one) or call it once first`);
  }
  const weights = layer.weights;
  const weightAt = weights.findIndex((w) => !BIAS_NAMES.has(shortName(w)) && !STATE_NAMES.has(shortName(w)));
  const biasAt = weights.findIndex((w) => BIAS_NAMES.has(shortName(w)));
  if (weightAt < 0 && biasAt < 0) return;
  // getWeights() hands out the live variable values: replace entries, never dispose them.
  const values = layer.getWeights();
  const created: tf.Tensor[] = [];
  try {
    if (weightAt >= 0) {
      const name = shortName(weights[weightAt]!);
      const shape = values[weightAt]!.shape;
      const fans = () => {
        try {
          return computeFans(shape, fanLayoutOf(name));
        } catch (error) {
          throw new RangeError(`${caller}: layer '${layer.name}' weight '${name}': ${(error as Error).message}`);
        }
      };
      created.push((values[weightAt] = make(shape.slice(), fans)));
    }
    if (biasAt >= 0) created.push((values[biasAt] = tf.fill(values[biasAt]!.shape, bias)));
    layer.setWeights(values);
  } finally {
    created.forEach((t) => t.dispose());
  }
}

// zod's numbers are finite: NaN and ±Infinity are rejected.
const finite = z.number();
const positive = z.number().positive();
const seed = z.number().int().optional();

/** Sets the weight to `val` and the bias to `bias` (mmcv `constant_init`). */
export function constantInit(layer: Layer, val: number, bias = 0): void {
  const opts = parseOptions(z.object({ val: finite, bias: finite }), { val, bias }, 'constantInit');
  initLayer('constantInit', layer, (shape) => tf.fill(shape, opts.val), opts.bias);
}

const XavierOptions = z.object({
  gain: positive.optional(),
  bias: finite.optional(),
  distribution: z.enum(['normal', 'uniform']).optional(),
  seed,
}).strict();
export type XavierInitOptions = z.input<typeof XavierOptions>;

/**
 * Glorot initialisation (mmcv `xavier_init`, defaults `gain = 1, bias = 0, distribution =
 * 'normal'`): std = gain × √(2 / (fanIn + fanOut)); uniform draws from ±√3 × std.
 */
export function xavierInit(layer: Layer, options: XavierInitOptions = {}): void {
  const { gain = 1, bias = 0, distribution = 'normal', seed: s } = parseOptions(XavierOptions, options, 'xavierInit');
  initLayer('xavierInit', layer, (shape, fans) => {
    const { fanIn, fanOut } = fans();
    return sample(shape, distribution, gain * Math.sqrt(2 / (fanIn + fanOut)), s);
  }, bias);
}

const NormalOptions = z.object({ mean: finite.optional(), std: positive.optional(), bias: finite.optional(), seed }).strict();
export type NormalInitOptions = z.input<typeof NormalOptions>;

/** Normal weights (mmcv `normal_init`, defaults `mean = 0, std = 1, bias = 0`). */
export function normalInit(layer: Layer, options: NormalInitOptions = {}): void {
  const { mean = 0, std = 1, bias = 0, seed: s } = parseOptions(NormalOptions, options, 'normalInit');
  initLayer('normalInit', layer, (shape) => tf.randomNormal(shape, mean, std, 'float32', s), bias);
}

const UniformOptions = z.object({ a: finite.optional(), b: finite.optional(), bias: finite.optional(), seed }).strict()
  .refine((o) => (o.a ?? 0) <= (o.b ?? 1), { message: 'must not be less than a', path: ['b'] });
export type UniformInitOptions = z.input<typeof UniformOptions>;

/** Uniform weights in [a, b) (a = b gives the constant a) (mmcv `uniform_init`, defaults `a = 0, b = 1, bias = 0`). */
export function uniformInit(layer: Layer, options: UniformInitOptions = {}): void {
  const { a = 0, b = 1, bias = 0, seed: s } = parseOptions(UniformOptions, options, 'uniformInit');
  initLayer('uniformInit', layer, (shape) => tf.randomUniform(shape, a, b, 'float32', s), bias);
}

const KaimingOptions = z.object({
  /** Negative slope of leaky_relu (ignored for other nonlinearities). */
  a: finite.optional(),
  /** Which fan keeps the variance: PyTorch/mmcv's 'fan_in'/'fan_out' are accepted too. */
  mode: z.enum(['fanIn', 'fanOut', 'fan_in', 'fan_out']).optional(),
  nonlinearity: z.enum(NONLINEARITIES).optional(),
  bias: finite.optional(),
  distribution: z.enum(['normal', 'uniform']).optional(),
  seed,
}).strict();
export type KaimingInitOptions = z.input<typeof KaimingOptions>;

/**
 * He initialisation (mmcv `kaiming_init`, defaults `a = 0, mode = 'fanOut', nonlinearity =
 * 'relu', bias = 0, distribution = 'normal'`): std = gain / √fan with PyTorch's gain; uniform
 * draws from ±√3 × std.
 */
export function kaimingInit(layer: Layer, options: KaimingInitOptions = {}): void {
  const { a = 0, mode = 'fanOut', nonlinearity = 'relu', bias = 0, distribution = 'normal', seed: s } = parseOptions(KaimingOptions, options, 'kaimingInit');
  initLayer('kaimingInit', layer, (shape, fans) => {
    const { fanIn, fanOut } = fans();
    const fan = mode === 'fanIn' || mode === 'fan_in' ? fanIn : fanOut;
    return sample(shape, distribution, calculateGain(nonlinearity, a) / Math.sqrt(fan), s);
  }, bias);
}

const TruncNormalOptions = z.object({
  mean: finite.optional(),
  std: positive.optional(),
  /** Lower cut-off, in absolute units (not standard deviations), as in PyTorch. */
  a: finite.optional(),
  /** Upper cut-off, in absolute units. */
  b: finite.optional(),
  bias: finite.optional(),
  seed,
}).strict().refine((o) => (o.a ?? -2) < (o.b ?? 2), { message: 'must be greater than a', path: ['b'] });
export type TruncNormalInitOptions = z.input<typeof TruncNormalOptions>;

/**
 * Normal weights truncated to [a, b] (mmcv `trunc_normal_init`, defaults `mean = 0, std = 1,
 * a = -2, b = 2, bias = 0`), drawn as PyTorch's `trunc_normal_` does: uniform probabilities
 * between the normal CDF at a and at b, mapped through the inverse CDF, then clamped.
 */
export function truncNormalInit(layer: Layer, options: TruncNormalInitOptions = {}): void {
  const { mean = 0, std = 1, a = -2, b = 2, bias = 0, seed: s } = parseOptions(TruncNormalOptions, options, 'truncNormalInit');
  initLayer('truncNormalInit', layer, (shape) => {
    const lo = normalCdf((a - mean) / std);
    const hi = normalCdf((b - mean) / std);
    const p = tf.randomUniform(shape, lo, hi, 'float32', s);
    const values = p.dataSync() as Float32Array;
    p.dispose();
    const out = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = Math.min(b, Math.max(a, mean + std * normalQuantile(values[i]!)));
    return tf.tensor(out, shape, 'float32');
  }, bias);
}

/** Zero-mean normal with `std`, or uniform on ±√3 × std (the same variance). */
function sample(shape: number[], distribution: 'normal' | 'uniform', std: number, seedValue: number | undefined): tf.Tensor {
  if (distribution === 'normal') return tf.randomNormal(shape, 0, std, 'float32', seedValue);
  const bound = Math.sqrt(3) * std;
  return tf.randomUniform(shape, -bound, bound, 'float32', seedValue);
}

/** Standard normal CDF, Φ(x) = erfc(-x / √2) / 2 (erfc to a relative error below 1.2e-7). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

// Numerical Recipes' Chebyshev fit of erfc.
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** Standard normal quantile Φ⁻¹(p) for p in (0, 1) (Acklam's algorithm, relative error below 1.2e-9); ±Infinity at 0 and 1. */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q)
    / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}
