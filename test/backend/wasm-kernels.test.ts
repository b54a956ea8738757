// The wasm training kernels against the cpu backend's kernels (the reference), kernel by kernel
// with fast-check, then whole models trained on both backends.
import { expect } from 'chai';
import fc from 'fast-check';
import * as tf from '../../src/backend/tfjs.js';
import {
  blasThreadCount, conv2dBackpropFilterWith, FUSED_UPDATE_KERNEL_NAMES, conv2dBackpropInputByGemm, depthwiseConv2dBackpropInputWith, describeBackend,
  adagradUpdate, adagradUpdateValues, adamUpdate, adamUpdateValues, hasNativeBias, hasNativeMatMul, hasSharedData, nativeBlasStatus, nativeSumOfSquares, registerWasmTrainingKernels, rmspropUpdate,
  rmspropUpdateValues, sgdUpdate, sgdUpdateValues, WASM_TRAINING_KERNELS, withBlasInstallHint, hasNativeConv2d, hasNativeMaxPool, nativeConv2d, withoutNativeConv2d,
} from '../../src/backend/index.js';
import { nativeBlasAddon } from '../../src/backend/kernels/native-blas.js';
import { firstDifference } from '../helpers/first-difference.js';
import { seeded } from '../helpers/seeded.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | Shape4Pad;
type Shape4Pad = [[number, number], [number, number], [number, number], [number, number]];
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

interface Arr { values: Float32Array | Int32Array; shape: number[]; dtype?: 'float32' | 'int32' }
interface Out { values: Float32Array | Int32Array; shape: number[]; dtype: tf.DataType }

const RUNS = 40;
const TOLERANCE = 1e-4;
/** Largest relative error seen per kernel, printed after the suite (for the record). */
const worst = new Map<string, number>();

function backendOf(name: 'cpu' | 'wasm'): tf.KernelBackend {
  const b = tf.findBackend(name);
  if (b == null) throw new Error(`backend ${name} is not initialised`);
  return b;
}

/**
 * Runs one kernel on one backend with fresh input tensors, copies the result out and frees
 * everything; also checks that the kernel leaves no data behind on that backend.
 */
function runKernel(backendName: 'cpu' | 'wasm', kernelName: string, inputs: Record<string, Arr>, attrs: object,
  kernelFunc?: (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | tf.TensorInfo[]): Out {
  const backend = backendOf(backendName);
  const kernel = kernelFunc != null ? { kernelFunc } : tf.getKernel(kernelName, backendName);
  if (kernel == null) throw new Error(`${kernelName} is not registered for ${backendName}`);
  const before = backend.numDataIds();
  const infos: Record<string, tf.TensorInfo> = {};
  for (const [name, a] of Object.entries(inputs)) {
    const dtype = a.dtype ?? 'float32';
    infos[name] = { dataId: backend.write(a.values, a.shape, dtype), shape: a.shape, dtype };
  }
  const result = kernel.kernelFunc({ inputs: infos, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  const raw = backend.readSync(result.dataId) as Float32Array | Int32Array;
  const out: Out = { values: raw.slice(), shape: result.shape, dtype: result.dtype };
  backend.disposeData(result.dataId, true);
  for (const info of Object.values(infos)) backend.disposeData(info.dataId, true);
  expect(backend.numDataIds(), `${kernelName} on ${backendName} leaks tensor data`).to.equal(before);
  return out;
}

/**
 * max|a − b| / max|b|: error relative to the reference's scale. The scale is floored at 1e-2 so
 * that an output which cancels to almost nothing (a single relu'd pixel, say) does not turn
 * float32 summation-order noise into a large ratio; the inputs here are all O(1).
 */
function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-2;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

function expectClose(kernel: string, actual: Out, expected: { values: ArrayLike<number>; shape: number[] }, context: unknown): void {
  expect(actual.shape, `${kernel} shape for ${JSON.stringify(context)}`).to.deep.equal(expected.shape);
  const err = relError(actual.values, expected.values);
  worst.set(kernel, Math.max(worst.get(kernel) ?? 0, err));
  expect(err, `${kernel} rel. error for ${JSON.stringify(context)}`).to.be.at.most(TOLERANCE);
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Inserts dilation − 1 zeros between filter taps: a dilated conv is a plain conv with this filter. */
function dilateFilter(f: ArrayLike<number>, shape: Shape4, dH: number, dW: number): { values: Float32Array; shape: Shape4 } {
  const [kh, kw, c, o] = shape;
  const eh = (kh - 1) * dH + 1;
  const ew = (kw - 1) * dW + 1;
  const out = new Float32Array(eh * ew * c * o);
  for (let r = 0; r < kh; r++) for (let q = 0; q < kw; q++) {
    const src = (r * kw + q) * c * o;
    const dst = (r * dH * ew + q * dW) * c * o;
    for (let i = 0; i < c * o; i++) out[dst + i] = f[src + i];
  }
  return { values: out, shape: [eh, ew, c, o] };
}

/** The taps of an effective (dilated) filter gradient that belong to real filter weights. */
function undilateFilter(g: ArrayLike<number>, shape: Shape4, dH: number, dW: number): Float32Array {
  const [kh, kw, c, o] = shape;
  const ew = (kw - 1) * dW + 1;
  const out = new Float32Array(kh * kw * c * o);
  for (let r = 0; r < kh; r++) for (let q = 0; q < kw; q++) {
    const src = (r * dH * ew + q * dW) * c * o;
    const dst = (r * kw + q) * c * o;
    for (let i = 0; i < c * o; i++) out[dst + i] = g[src + i];
  }
  return out;
}

interface ConvCase {
  batch: number; inH: number; inW: number; inC: number; outC: number; fH: number; fW: number;
  sH: number; sW: number; dH: number; dW: number; pad: Pad; rounding: Rounding; format: 'NHWC' | 'NCHW';
}

/**
 * Random conv geometry: every pad form tfjs accepts (with rounding modes for numeric/explicit
 * pads), strides, and dilations when `dilation` is set (then stride and dilation may both be > 1;
 * tfjs's ops forbid that combination but the kernels' arithmetic does not care).
 */
function convCaseArb(opts: {
  formats: Array<'NHWC' | 'NCHW'>; dilation: boolean; maxOutC?: number; strideWithDilation?: boolean; unitStride?: boolean; maxInSize?: number;
}): fc.Arbitrary<ConvCase> {
  const small = (min: number, max: number) => fc.integer({ min, max });
  const explicit = fc.tuple(small(0, 3), small(0, 3), small(0, 3), small(0, 3));
  return fc.record({
    batch: small(1, 3), inH: small(1, opts.maxInSize ?? 9), inW: small(1, opts.maxInSize ?? 9), inC: small(1, 4), outC: small(1, opts.maxOutC ?? 4),
    fH: small(1, 4), fW: small(1, 4), sH: small(1, 3), sW: small(1, 3),
    dH: opts.dilation ? small(1, 3) : fc.constant(1), dW: opts.dilation ? small(1, 3) : fc.constant(1),
    padKind: fc.constantFrom('same', 'valid', 'number', 'explicit'), padNum: small(0, 3), padExplicit: explicit,
    rounding: fc.constantFrom<Rounding>(undefined, 'floor', 'round', 'ceil'),
    format: fc.constantFrom(...opts.formats),
  }).map((r) => {
    const [t, b, l, rr] = r.padExplicit;
    let pad: Pad;
    if (r.padKind === 'same' || r.padKind === 'valid') pad = r.padKind;
    else if (r.padKind === 'number') pad = r.padNum;
    else pad = r.format === 'NHWC' ? [[0, 0], [t, b], [l, rr], [0, 0]] : [[0, 0], [0, 0], [t, b], [l, rr]];
    // The cpu forward kernels (like tfjs's ops) insist that strides or dilations be 1.
    const unitStride = opts.unitStride === true || (opts.strideWithDilation === false && (r.dH > 1 || r.dW > 1));
    return {
      batch: r.batch, inH: r.inH, inW: r.inW, inC: r.inC, outC: r.outC, fH: r.fH, fW: r.fW,
      sH: unitStride ? 1 : r.sH, sW: unitStride ? 1 : r.sW, dH: r.dH, dW: r.dW, pad, rounding: typeof pad === 'string' ? undefined : r.rounding, format: r.format,
    };
  });
}

function xShapeOf(c: ConvCase): Shape4 {
  return c.format === 'NHWC' ? [c.batch, c.inH, c.inW, c.inC] : [c.batch, c.inC, c.inH, c.inW];
}

/**
 * A max-pool case: NHWC `x` of 1-9 channels, mostly negative values (a few integer levels with
 * `ties`, so windows hold equal maxima; NaN and -Infinity with `specials`), tfjs's attrs and its
 * pool info (whose output may be empty: callers skip those).
 */
const poolCaseArb = fc.record({
  batch: fc.integer({ min: 1, max: 2 }), inH: fc.integer({ min: 1, max: 9 }), inW: fc.integer({ min: 1, max: 9 }),
  channels: fc.integer({ min: 1, max: 9 }), fH: fc.integer({ min: 1, max: 4 }), fW: fc.integer({ min: 1, max: 4 }),
  sH: fc.integer({ min: 1, max: 3 }), sW: fc.integer({ min: 1, max: 3 }),
  pad: fc.oneof(fc.constantFrom<Pad>('same', 'valid'), fc.integer({ min: 0, max: 2 })),
  rounding: fc.constantFrom<Rounding>(undefined, 'floor', 'ceil', 'round'),
  ties: fc.boolean(), specials: fc.boolean(), seed: fc.integer(),
}).map((c) => {
  const xShape: Shape4 = [c.batch, c.inH, c.inW, c.channels];
  const rounding = typeof c.pad === 'number' ? c.rounding : undefined;
  const noise = seeded(size(xShape), c.seed);
  const values = c.ties ? Float32Array.from(noise, (v) => Math.round(v * 2) - 1) : noise.map((v) => v - 0.5);
  if (c.specials) values.forEach((v, i) => { if (v > 0.4) values[i] = i % 3 === 0 ? -Infinity : NaN; });
  return {
    c, x: { values, shape: xShape } as Arr,
    attrs: { filterSize: [c.fH, c.fW], strides: [c.sH, c.sW], pad: c.pad, dimRoundingMode: rounding },
    info: tf.backend_util.computePool2DInfo(xShape, [c.fH, c.fW], [c.sH, c.sW], 1, c.pad, rounding),
  };
});

/** Seeded `x` and `filter` inputs of a forward conv case. */
function forwardConvInputs(c: ConvCase, filterShape: Shape4, seed: number): Record<string, Arr> {
  return {
    x: { values: seeded(size(xShapeOf(c)), seed), shape: xShapeOf(c) },
    filter: { values: seeded(size(filterShape), seed + 1), shape: filterShape },
  };
}

/** tfjs's conv info for the case, or null when the output would be empty. */
function infoOf(c: ConvCase, filterShape: Shape4, depthwise: boolean, dilated = true): tf.backend_util.Conv2DInfo | null {
  const ci = tf.backend_util.computeConv2DInfo(
    xShapeOf(c), filterShape, [c.sH, c.sW], dilated ? [c.dH, c.dW] : 1, c.pad, c.rounding, depthwise,
    c.format === 'NHWC' ? 'channelsLast' : 'channelsFirst');
  return ci.outHeight > 0 && ci.outWidth > 0 ? ci : null;
}

describe('wasm training kernels', function () {
  before(function () {
    if (tf.getBackend() !== 'wasm') this.skip(); // the suite is about the wasm backend
  });

  after(function () {
    if (worst.size === 0) return;
    const rows = [...worst].map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ');
    console.log(`      max rel. error vs cpu: ${rows}`);
  });

  describe('installation', function () {
    it('was installed by selecting the wasm backend, and registering again changes nothing', function () {
      for (const name of WASM_TRAINING_KERNELS) {
        // The fused optimizer steps only with native/blas: without it wasm's own ops are faster.
        const expected = nativeBlasStatus().active || !FUSED_UPDATE_KERNEL_NAMES.includes(name);
        expect(tf.getKernel(name, 'wasm') !== undefined, name).to.equal(expected);
      }
      expect(registerWasmTrainingKernels()).to.deep.equal([]);
    });

    it('covers every cpu kernel the conv, depthwise, separable, conv1d and embedding gradients need', function () {
      const wasm = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
      const needed = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter',
        'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum', 'MaxPoolGrad', 'AvgPoolGrad', 'BatchMatMul'];
      for (const name of needed) expect(wasm.has(name), name).to.equal(true);
    });
  });

  describe('kernels match the cpu backend (property tests)', function () {
    it(`Conv2DBackpropFilter: NHWC/NCHW, any stride, pad, rounding and dilation; loop, GEMM${nativeBlasStatus().active ? ' and direct native' : ''} paths`, function () {
      const paths: Array<'loop' | 'matmul' | 'direct'> = nativeBlasStatus().active ? ['loop', 'matmul', 'direct'] : ['loop', 'matmul'];
      const pathArb = fc.record({ path: fc.constantFrom(...paths), chunkColumns: fc.integer({ min: 1, max: 40 }) });
      fc.assert(fc.property(convCaseArb({ formats: ['NHWC', 'NCHW'], dilation: true }), fc.integer(), pathArb, (c, seed, options) => {
        const filterShape: Shape4 = [c.fH, c.fW, c.inC, c.outC];
        const ci = infoOf(c, filterShape, false);
        fc.pre(ci != null && !(options.path === 'direct' && c.format === 'NCHW'));
        const x: Arr = { values: seeded(size(xShapeOf(c)), seed), shape: xShapeOf(c) };
        const dy: Arr = { values: seeded(size(ci!.outShape), seed + 1), shape: ci!.outShape };
        const attrs = { strides: [c.sH, c.sW], pad: c.pad, dataFormat: c.format, dimRoundingMode: c.rounding, filterShape };
        // small chunkColumns: the GEMM path also runs chunked, with chunks that split images
        const actual = runKernel('wasm', 'Conv2DBackpropFilter', { x, dy }, { ...attrs, dilations: [c.dH, c.dW] },
          (args) => conv2dBackpropFilterWith(args, options));
        // cpu has no dilation here: take the gradient of the equivalent zero-inserted filter.
        const eff = dilateFilter(new Float32Array(size(filterShape)), filterShape, c.dH, c.dW).shape;
        const ref = runKernel('cpu', 'Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: eff });
        expectClose('Conv2DBackpropFilter', actual, { values: undilateFilter(ref.values, filterShape, c.dH, c.dW), shape: filterShape }, c);
      }), { numRuns: RUNS });
    });

    it('Conv2DBackpropFilter/Input at layer sizes: the default (GEMM) paths against cpu and the float64 loop', function () {
      // Mid-size, so that the cpu kernel (slow) stays quick: takes the GEMM path by default.
      const x: Arr = { values: seeded(8 * 12 * 12 * 4, 31), shape: [8, 12, 12, 4] };
      const dy: Arr = { values: seeded(8 * 12 * 12 * 8, 32), shape: [8, 12, 12, 8] };
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 4, 8] };
      expectClose('Conv2DBackpropFilter', runKernel('wasm', 'Conv2DBackpropFilter', { x, dy }, attrs),
        runKernel('cpu', 'Conv2DBackpropFilter', { x, dy }, attrs), 'mid-size vs cpu');
      // Conv2DBackpropInput at this size takes the GEMM + col2im path by default.
      const filter: Arr = { values: seeded(3 * 3 * 4 * 8, 35), shape: [3, 3, 4, 8] };
      const inAttrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [8, 12, 12, 4] };
      expectClose('Conv2DBackpropInput', runKernel('wasm', 'Conv2DBackpropInput', { dy, filter }, inAttrs),
        runKernel('cpu', 'Conv2DBackpropInput', { dy, filter }, inAttrs), 'mid-size vs cpu');
      // The MNIST CNN's shape (43k output pixels per weight): GEMM sums in float32 within a chunk,
      // the direct path in float within an image.
      const bx: Arr = { values: seeded(64 * 28 * 28, 33), shape: [64, 28, 28, 1] };
      const bdy: Arr = { values: seeded(64 * 26 * 26 * 8, 34), shape: [64, 26, 26, 8] };
      const battrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 1, 8] };
      const loop = runKernel('wasm', 'Conv2DBackpropFilter', { x: bx, dy: bdy }, battrs, (args) => conv2dBackpropFilterWith(args, { path: 'loop' }));
      for (const path of nativeBlasStatus().active ? ['matmul', 'direct', 'auto'] as const : ['matmul', 'auto'] as const) {
        expectClose(`Conv2DBackpropFilter ${path} vs float64 loop (bench size)`,
          runKernel('wasm', 'Conv2DBackpropFilter', { x: bx, dy: bdy }, battrs, (args) => conv2dBackpropFilterWith(args, { path })), loop, `bench size, ${path}`);
      }
    });

    it('Conv2DBackpropFilter: the direct path is refused, with the reason, where it cannot run (NCHW, or without native/blas)', function () {
      const x: Arr = { values: seeded(2 * 3 * 5 * 5, 41), shape: [2, 3, 5, 5] };
      const dy: Arr = { values: seeded(2 * 4 * 3 * 3, 42), shape: [2, 4, 3, 3] };
      const attrs = { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
      expect(() => runKernel('wasm', 'Conv2DBackpropFilter', { x, dy }, attrs, (args) => conv2dBackpropFilterWith(args, { path: 'direct' })))
        .to.throw("Conv2DBackpropFilter: path 'direct' needs the native/blas addon, NHWC and float32 operands");
    });

    it('DepthwiseConv2dNativeBackpropFilter: any stride, pad, rounding, dilation and channel multiplier', function () {
      fc.assert(fc.property(convCaseArb({ formats: ['NHWC'], dilation: true, maxOutC: 3 }), fc.integer(), (c, seed) => {
        const filterShape: Shape4 = [c.fH, c.fW, c.inC, c.outC]; // outC is the channel multiplier
        const ci = infoOf(c, filterShape, true);
        fc.pre(ci != null);
        const x: Arr = { values: seeded(size(xShapeOf(c)), seed), shape: xShapeOf(c) };
        const dy: Arr = { values: seeded(size(ci!.outShape), seed + 1), shape: ci!.outShape };
        const attrs = { strides: [c.sH, c.sW], pad: c.pad, dimRoundingMode: c.rounding };
        const actual = runKernel('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, dilations: [c.dH, c.dW], filterShape });
        // The cpu kernel sizes the geometry with dilations but its loop ignores them, so the
        // reference uses the zero-inserted filter at dilation 1.
        const eff = dilateFilter(new Float32Array(size(filterShape)), filterShape, c.dH, c.dW).shape;
        const ref = runKernel('cpu', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, dilations: 1, filterShape: eff });
        expectClose('DepthwiseConv2dNativeBackpropFilter', actual, { values: undilateFilter(ref.values, filterShape, c.dH, c.dW), shape: filterShape }, c);
      }), { numRuns: RUNS });
    });

    it('DepthwiseConv2dNativeBackpropInput: any stride, pad, rounding, dilation and channel multiplier; loop and conv paths', function () {
      const pathArb = fc.constantFrom<'loop' | 'conv'>('loop', 'conv');
      // half the cases with stride 1 and multiplier 1, the geometry the 'conv' path handles
      const cases = fc.oneof(convCaseArb({ formats: ['NHWC'], dilation: true, maxOutC: 3 }),
        convCaseArb({ formats: ['NHWC'], dilation: true, maxOutC: 1, unitStride: true }));
      fc.assert(fc.property(cases, fc.integer(), pathArb, (c, seed, path) => {
        const filterShape: Shape4 = [c.fH, c.fW, c.inC, c.outC];
        const ci = infoOf(c, filterShape, true);
        fc.pre(ci != null);
        const filterValues = seeded(size(filterShape), seed);
        const dy: Arr = { values: seeded(size(ci!.outShape), seed + 1), shape: ci!.outShape };
        const attrs = { strides: [c.sH, c.sW], pad: c.pad, dimRoundingMode: c.rounding, inputShape: xShapeOf(c) };
        // path 'conv' only applies to stride 1 and multiplier 1 (else the loop runs)
        const actual = runKernel('wasm', 'DepthwiseConv2dNativeBackpropInput',
          { dy, filter: { values: filterValues, shape: filterShape } }, { ...attrs, dilations: [c.dH, c.dW] },
          (args) => depthwiseConv2dBackpropInputWith(args, { path }));
        const eff = dilateFilter(filterValues, filterShape, c.dH, c.dW);
        const ref = runKernel('cpu', 'DepthwiseConv2dNativeBackpropInput', { dy, filter: eff }, { ...attrs, dilations: 1 });
        expectClose('DepthwiseConv2dNativeBackpropInput', actual, ref, c);
      }), { numRuns: RUNS });
    });

    it("Conv2DBackpropInput (wasm's own kernel and the GEMM path): NHWC/NCHW, any stride, pad and rounding", function () {
      // tfjs passes no dilations to this kernel; both backends hard-code 1.
      const pathArb = fc.record({ gemm: fc.boolean(), chunkColumns: fc.integer({ min: 1, max: 40 }) });
      fc.assert(fc.property(convCaseArb({ formats: ['NHWC', 'NCHW'], dilation: false }), fc.integer(), pathArb, (c, seed, p) => {
        const filterShape: Shape4 = [c.fH, c.fW, c.inC, c.outC];
        const ci = infoOf(c, filterShape, false);
        fc.pre(ci != null);
        const inputs = {
          dy: { values: seeded(size(ci!.outShape), seed), shape: ci!.outShape },
          filter: { values: seeded(size(filterShape), seed + 1), shape: filterShape },
        };
        const attrs = { strides: [c.sH, c.sW], pad: c.pad, dataFormat: c.format, dimRoundingMode: c.rounding, inputShape: xShapeOf(c) };
        // these shapes are small enough that the registered kernel delegates to wasm's own one
        const actual = runKernel('wasm', 'Conv2DBackpropInput', inputs, attrs,
          p.gemm ? (args) => conv2dBackpropInputByGemm(args, p.chunkColumns) : undefined);
        expectClose('Conv2DBackpropInput', actual, runKernel('cpu', 'Conv2DBackpropInput', inputs, attrs), c);
      }), { numRuns: RUNS });
    });

    for (const kernel of ['Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D']) {
      const depthwise = kernel.includes('Depthwise');
      const fused = kernel.startsWith('Fused');
      it(`${kernel} forward (padding fix): any stride, pad, rounding and dilation${kernel === 'Conv2D' ? ', NHWC/NCHW' : ''}`, function () {
        const formats: Array<'NHWC' | 'NCHW'> = kernel === 'Conv2D' ? ['NHWC', 'NCHW'] : ['NHWC'];
        fc.assert(fc.property(convCaseArb({ formats, dilation: true, maxOutC: depthwise ? 3 : 4, strideWithDilation: false }), fc.integer(), (c, seed) => {
          const filterShape: Shape4 = [c.fH, c.fW, c.inC, c.outC];
          const ci = infoOf(c, filterShape, depthwise);
          fc.pre(ci != null);
          const inputs = forwardConvInputs(c, filterShape, seed);
          if (fused) inputs.bias = { values: seeded(ci!.outChannels, seed + 2), shape: [ci!.outChannels] };
          const attrs = {
            strides: [c.sH, c.sW], pad: c.pad, dataFormat: c.format, dilations: [c.dH, c.dW], dimRoundingMode: c.rounding,
            ...(fused ? { activation: 'relu', leakyreluAlpha: 0.2 } : {}),
          };
          const expected = runKernel('cpu', kernel, inputs, attrs);
          expectClose(kernel, runKernel('wasm', kernel, inputs, attrs), expected, c);
          // With native/blas, small Conv2D filters run natively: check wasm's own (padded) kernel too.
          const registered = tf.getKernel(kernel, 'wasm')!;
          const inner = withoutNativeConv2d(registered);
          if (inner !== registered) expectClose(`${kernel} (XNNPACK)`, runKernel('wasm', kernel, inputs, attrs, inner.kernelFunc as never), expected, c);
        }), { numRuns: RUNS });
      });
    }

    it(`Conv2D forward through native/blas's direct loop${nativeBlasStatus().active ? '' : ' (skipped: native/blas is off)'}: 1-12 output channels (8- and 4-wide blocks and the rest), inputs up to 24 wide (pixels four at a time), any stride, pad, rounding and dilation`, function () {
      if (!nativeBlasStatus().active) this.skip();
      expect(hasNativeConv2d(tf.getKernel('Conv2D', 'wasm')!), 'the registered Conv2D is the native wrapper').to.equal(true);
      fc.assert(fc.property(convCaseArb({ formats: ['NHWC'], dilation: true, maxOutC: 12, strideWithDilation: false, maxInSize: 24 }), fc.integer(), (c, seed) => {
        const filterShape: Shape4 = [c.fH, c.fW, c.inC, c.outC];
        const ci = infoOf(c, filterShape, false);
        fc.pre(ci != null);
        const inputs = forwardConvInputs(c, filterShape, seed);
        const attrs = { strides: [c.sH, c.sW], pad: c.pad, dataFormat: 'NHWC', dilations: [c.dH, c.dW], dimRoundingMode: c.rounding };
        const direct = runKernel('wasm', 'Conv2D', inputs, attrs, (args) => nativeConv2d(args, Infinity)!);
        expectClose('Conv2D (native direct)', direct, runKernel('cpu', 'Conv2D', inputs, attrs), c);
      }), { numRuns: RUNS });
      // The MNIST CNN's first conv, and strided convs wide enough for the four-pixel groups.
      const cases: Array<[Shape4, Shape4, number | [number, number], 'same' | 'valid']> = [
        [[8, 28, 28, 1], [3, 3, 1, 8], 1, 'valid'], [[2, 21, 22, 3], [3, 3, 3, 8], 2, 'same'], [[2, 9, 30, 2], [2, 3, 2, 12], [1, 3], 'valid'],
      ];
      for (const [xShape, filterShape, strides, pad] of cases) {
        const x: Arr = { values: seeded(size(xShape), 51), shape: xShape };
        const filter: Arr = { values: seeded(size(filterShape), 52), shape: filterShape };
        const attrs = { strides, pad, dataFormat: 'NHWC', dilations: 1 };
        expectClose('Conv2D (native direct)', runKernel('wasm', 'Conv2D', { x, filter }, attrs, (args) => nativeConv2d(args, Infinity)!),
          runKernel('cpu', 'Conv2D', { x, filter }, attrs), { xShape, filterShape, strides, pad });
      }
    });

    for (const kernel of ['BatchMatMul', '_FusedMatMul']) {
      it(`${kernel} (transpose fix): transposed operands, rank 2 and 3, batched${kernel === 'BatchMatMul' ? '' : ', bias and activations'}`, function () {
        const arb = fc.record({
          // k > 48 matters: wasm's slow loop works in 48-wide blocks
          m: fc.integer({ min: 1, max: 12 }), k: fc.integer({ min: 1, max: 70 }), n: fc.integer({ min: 1, max: 12 }),
          // 0: rank 2; 3: batched, which keeps wasm's own path. tfjs's fused matMul op always
          // sends rank 3 (wasm's _FusedMatMul reads out of bounds on rank 2), so no 0 there.
          batch: kernel === '_FusedMatMul' ? fc.constantFrom(1, 3) : fc.constantFrom(0, 1, 3),
          transposeA: fc.boolean(), transposeB: fc.boolean(), seed: fc.integer(), withBias: fc.boolean(),
          activation: fc.constantFrom('linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'),
        });
        fc.assert(fc.property(arb, ({ m, k, n, batch, transposeA, transposeB, seed, withBias, activation }) => {
          const lead = batch === 0 ? [] : [batch];
          const aShape = [...lead, ...(transposeA ? [k, m] : [m, k])];
          const bShape = [...lead, ...(transposeB ? [n, k] : [k, n])];
          const inputs: Record<string, Arr> = {
            a: { values: seeded(size(aShape), seed), shape: aShape },
            b: { values: seeded(size(bShape), seed + 1), shape: bShape },
          };
          const attrs: Record<string, unknown> = { transposeA, transposeB };
          if (kernel === '_FusedMatMul') {
            if (withBias) inputs.bias = { values: seeded(n, seed + 2), shape: [n] };
            if (activation === 'prelu') inputs.preluActivationWeights = { values: seeded(n, seed + 3), shape: [n] };
            Object.assign(attrs, { activation, leakyreluAlpha: 0.2 });
          }
          expectClose(kernel, runKernel('wasm', kernel, inputs, attrs), runKernel('cpu', kernel, inputs, attrs),
            { aShape, bShape, transposeA, transposeB, withBias, activation });
        }), { numRuns: RUNS });
      });
    }

    describe(`native BLAS matmuls (native/blas)${nativeBlasStatus().active ? '' : `: skipped, ${(nativeBlasStatus() as { reason: string }).reason}`}`, function () {
      before(function () {
        if (!nativeBlasStatus().active) this.skip();
      });

      it('are the registered wasm BatchMatMul and _FusedMatMul', function () {
        for (const kernel of ['BatchMatMul', '_FusedMatMul']) expect(hasNativeMatMul(tf.getKernel(kernel, 'wasm')!), kernel).to.equal(true);
      });

      for (const kernel of ['BatchMatMul', '_FusedMatMul']) {
        it(`${kernel}: equal to the cpu backend within 1e-5 for layer-sized shapes, transposes, broadcast batches${kernel === 'BatchMatMul' ? '' : ', biases and activations'}`, function () {
          const arb = fc.record({
            m: fc.integer({ min: 1, max: 70 }), k: fc.integer({ min: 1, max: 300 }), n: fc.integer({ min: 1, max: 70 }),
            // [a batch dims, b batch dims]: none, equal, one side broadcast, both broadcast (wasm fallback)
            batches: fc.constantFrom<[number[], number[]]>([[], []], [[1], [1]], [[3], [3]], [[1], [3]], [[3], [1]], [[2, 3], [2, 3]], [[2, 1], [1, 3]]),
            transposeA: fc.boolean(), transposeB: fc.boolean(), seed: fc.integer(),
            bias: fc.constantFrom('none', 'row', 'scalar'),
            activation: fc.constantFrom('linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'),
          });
          fc.assert(fc.property(arb, ({ m, k, n, batches: [batchA, batchB], transposeA, transposeB, seed, bias, activation }) => {
            // wasm's own _FusedMatMul reads out of bounds on rank 2 (tfjs's op always sends rank 3).
            fc.pre(kernel === 'BatchMatMul' || (batchA.length > 0 && batchB.length > 0));
            // prelu stays on plain wasm, whose prelu with a scalar bias differs from cpu (not native code).
            fc.pre(!(activation === 'prelu' && bias === 'scalar'));
            // Fused products whose operands both broadcast fail on plain wasm and on cpu alike.
            fc.pre(kernel === 'BatchMatMul' || size(batchA) === size(batchB) || size(batchA) === 1 || size(batchB) === 1 || (bias === 'none' && activation === 'linear'));
            const aShape = [...batchA, ...(transposeA ? [k, m] : [m, k])];
            const bShape = [...batchB, ...(transposeB ? [n, k] : [k, n])];
            const inputs: Record<string, Arr> = {
              a: { values: seeded(size(aShape), seed), shape: aShape },
              b: { values: seeded(size(bShape), seed + 1), shape: bShape },
            };
            const attrs: Record<string, unknown> = { transposeA, transposeB };
            if (kernel === '_FusedMatMul') {
              const biasShape = { none: undefined, row: [n], scalar: [1] }[bias];
              if (biasShape) inputs.bias = { values: seeded(size(biasShape), seed + 2), shape: biasShape };
              if (activation === 'prelu') inputs.preluActivationWeights = { values: seeded(n, seed + 3), shape: [n] };
              Object.assign(attrs, { activation, leakyreluAlpha: 0.3 });
            }
            const context = { aShape, bShape, transposeA, transposeB, bias, activation };
            const actual = runKernel('wasm', kernel, inputs, attrs);
            const expected = runKernel('cpu', kernel, inputs, attrs);
            expect(actual.shape, `shape for ${JSON.stringify(context)}`).to.deep.equal(expected.shape);
            expect(relError(actual.values, expected.values), `rel. error for ${JSON.stringify(context)}`).to.be.at.most(1e-5);
          }), { numRuns: RUNS });
        });
      }

      it('trains a dense model to the same weights as the cpu backend (gradients through the native kernels)', async function () {
        const train = async (backend: 'cpu' | 'wasm') => {
          const previous = tf.getBackend();
          tf.setBackend(backend);
          try {
            return tf.tidy(() => {
              const x = tf.tensor2d(seeded(32 * 20, 7), [32, 20]);
              const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: 32 }, (_, i) => i % 5), 'int32'), 5);
              const w1 = tf.variable(tf.tensor2d(seeded(20 * 16, 8), [20, 16]));
              const b1 = tf.variable(tf.tensor1d(seeded(16, 9)));
              const w2 = tf.variable(tf.tensor2d(seeded(16 * 5, 10), [16, 5]));
              const opt = tf.train.sgd(0.1);
              for (let step = 0; step < 5; step++) {
                opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.fused.matMul({ a: x, b: w1, bias: b1, activation: 'relu' }), w2)) as tf.Scalar);
              }
              const out = [w1, b1, w2].map((v) => v.dataSync().slice());
              [w1, b1, w2].forEach((v) => v.dispose());
              opt.dispose();
              return out;
            });
          } finally {
            tf.setBackend(previous);
          }
        };
        const [cpu, wasm] = [await train('cpu'), await train('wasm')];
        wasm.forEach((values, i) => expect(relError(values, cpu[i]!), `weight ${i}`).to.be.at.most(1e-5));
      });

      it('Add and Sum: the native bias add and bias gradient equal the cpu backend within 1e-5; other Adds and Sums are wasm\'s', function () {
        const arb = fc.record({
          lead: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }), channels: fc.integer({ min: 1, max: 70 }),
          biasRank: fc.integer({ min: 1, max: 4 }), biasFirst: fc.boolean(), negativeAxes: fc.boolean(), keepDims: fc.boolean(), seed: fc.integer(),
        });
        for (const kernel of ['Add', 'Sum']) expect(hasNativeBias(tf.getKernel(kernel, 'wasm')!), kernel).to.equal(true);
        fc.assert(fc.property(arb, ({ lead, channels, biasRank, biasFirst, negativeAxes, keepDims, seed }) => {
          const xShape = [...lead, channels];
          const biasShape = [...Array.from({ length: Math.min(biasRank, xShape.length) - 1 }, () => 1), channels];
          const x: Arr = { values: seeded(size(xShape), seed), shape: xShape };
          const bias: Arr = { values: seeded(channels, seed + 1), shape: biasShape };
          const addInputs = biasFirst ? { a: bias, b: x } : { a: x, b: bias };
          expectClose('Add (bias)', runKernel('wasm', 'Add', addInputs, {}), runKernel('cpu', 'Add', addInputs, {}), { xShape, biasShape, biasFirst });
          const axis = lead.map((_, i) => (negativeAxes ? i - xShape.length : i)).reverse();
          const sumAttrs = { axis, keepDims };
          const actual = runKernel('wasm', 'Sum', { x }, sumAttrs);
          const expected = runKernel('cpu', 'Sum', { x }, sumAttrs);
          expect(actual.shape).to.deep.equal(expected.shape);
          expect(relError(actual.values, expected.values), `Sum rel. error for ${JSON.stringify({ xShape, axis, keepDims })}`).to.be.at.most(1e-5);
          // Not a bias: Sum over another set of axes, a same-shape Add, an int32 Add.
          const inner = runKernel('wasm', 'Sum', { x }, { axis: [xShape.length - 1], keepDims });
          expectClose('Sum (other axes)', inner, runKernel('cpu', 'Sum', { x }, { axis: [xShape.length - 1], keepDims }), { xShape });
          const same = { a: x, b: { values: seeded(size(xShape), seed + 2), shape: xShape } };
          expectClose('Add (same shape)', runKernel('wasm', 'Add', same, {}), runKernel('cpu', 'Add', same, {}), { xShape });
          const ints = { a: { values: Int32Array.from(x.values, (v) => Math.round(v * 10)), shape: xShape, dtype: 'int32' as const }, b: { values: Int32Array.of(...Array.from({ length: channels }, (_, i) => i)), shape: [channels], dtype: 'int32' as const } };
          const intSum = runKernel('wasm', 'Add', ints, {});
          expect(intSum.dtype).to.equal('int32');
          expect(Array.from(intSum.values)).to.deep.equal(Array.from(runKernel('cpu', 'Add', ints, {}).values));
        }), { numRuns: RUNS });
      });
    });

    /** Where the fused optimizer kernels run: wasm with native/blas (they are not registered without), and cpu. */
    const fusedBackends = () => (nativeBlasStatus().active ? ['wasm', 'cpu'] as const : ['cpu'] as const);

    it('HookflowSgdUpdate (fused SGD step) equals the step on plain arrays, on wasm with native/blas and on cpu', async function () {
      const arb = fc.record({
        n: fc.integer({ min: 1, max: 300 }), seed: fc.integer(), withBuffer: fc.boolean(), nesterov: fc.boolean(),
        lr: fc.double({ min: 0, max: 1, noNaN: true }), momentum: fc.constantFrom(0, 0.5, 0.9),
        dampening: fc.constantFrom(0, 0.1), weightDecay: fc.constantFrom(0, 1e-4, 0.1),
      });
      for (const backend of fusedBackends()) {
        fc.assert(fc.property(arb, ({ n, seed, withBuffer, nesterov, lr, momentum, dampening, weightDecay }) => {
          const h = { lr, momentum, dampening, weightDecay, nesterov };
          const [p, g, b] = [seeded(n, seed), seeded(n, seed + 1), seeded(n, seed + 2)];
          const expectedParam = new Float32Array(n);
          const expectedBuffer = momentum !== 0 ? new Float32Array(n) : null;
          sgdUpdateValues(p, g, momentum !== 0 && withBuffer ? b : null, expectedParam, expectedBuffer, h);
          const previous = tf.getBackend();
          tf.setBackend(backend);
          try {
            const start = tf.memory().numTensors;
            tf.tidy(() => {
              const out = sgdUpdate(tf.tensor1d(p), tf.tensor1d(g), momentum !== 0 && withBuffer ? tf.tensor1d(b) : undefined, h)!;
              expect(relError(out.param.dataSync(), expectedParam), 'param').to.be.at.most(1e-6);
              if (expectedBuffer) expect(relError(out.buffer!.dataSync(), expectedBuffer), 'buffer').to.be.at.most(1e-6);
              else expect(out.buffer).to.equal(undefined);
            });
            expect(tf.memory().numTensors).to.equal(start);
          } finally {
            tf.setBackend(previous);
          }
        }), { numRuns: RUNS });
      }
    });

    /**
     * Checks a fused optimizer kernel against the generic tfjs ops it replaces, bit for bit, on
     * the backends that have it, and its JS loop on plain arrays against them too.
     * `arrays` makes the inputs from n and a seed; `fused` and `generic` return the outputs in the same order.
     */
    function fusedEqualsGeneric<H extends { n: number; seed: number }>(arb: fc.Arbitrary<H>, arrays: (h: H) => Float32Array[],
      fused: (inputs: tf.Tensor[], h: H) => tf.Tensor[], generic: (inputs: tf.Tensor[], h: H) => tf.Tensor[],
      values: (inputs: Float32Array[], h: H) => Float32Array[]): void {
      for (const backend of fusedBackends()) {
        fc.assert(fc.property(arb, (h) => {
          const inputs = arrays(h);
          const previous = tf.getBackend();
          tf.setBackend(backend);
          try {
            const start = tf.memory().numTensors;
            tf.tidy(() => {
              const tensors = inputs.map((a) => tf.tensor1d(a));
              const expected = generic(tensors, h).map((t) => Array.from(t.dataSync()));
              expect(fused(tensors, h).map((t) => Array.from(t.dataSync()))).to.deep.equal(expected);
              expect(values(inputs, h).map((a) => Array.from(a))).to.deep.equal(expected);
            });
            expect(tf.memory().numTensors).to.equal(start);
          } finally {
            tf.setBackend(previous);
          }
        }), { numRuns: RUNS });
      }
    }
    const outputs = (n: number, count: number) => Array.from({ length: count }, () => new Float32Array(n));
    const decayed = (g: tf.Tensor, p: tf.Tensor, wd: number) => (wd !== 0 ? g.add(p.mul(wd)) : g);

    it('HookflowAdamUpdate (fused Adam/AdamW step) equals the tfjs ops of the generic update bit for bit, on wasm with native/blas and on cpu', function () {
      const arb = fc.record({
        n: fc.integer({ min: 1, max: 300 }), seed: fc.integer(), step: fc.integer({ min: 1, max: 50 }), decoupled: fc.boolean(),
        lr: fc.double({ min: 1e-4, max: 1, noNaN: true }), beta1: fc.constantFrom(0, 0.5, 0.9), beta2: fc.constantFrom(0.9, 0.999),
        eps: fc.constantFrom(1e-8, 1e-3), weightDecay: fc.constantFrom(0, 1e-4, 0.1),
      });
      fusedEqualsGeneric(arb, ({ n, seed }) => [seeded(n, seed), seeded(n, seed + 1), seeded(n, seed + 2), seeded(n, seed + 3).map((x) => x * x)],
        ([p, g, m, v], h) => Object.values(adamUpdate(p!, g!, m!, v!, h)!),
        ([p, g, m, v], h) => {
          // AdamBase's generic ops (src/training/optim/adam.ts).
          const param = h.decoupled && h.weightDecay !== 0 ? p!.mul(1 - h.lr * h.weightDecay) : p!;
          const grad = h.decoupled ? g! : decayed(g!, p!, h.weightDecay);
          const m2 = m!.mul(h.beta1).add(grad.mul(1 - h.beta1));
          const v2 = v!.mul(h.beta2).add(grad.square().mul(1 - h.beta2));
          const denom = v2.sqrt().div(Math.sqrt(1 - h.beta2 ** h.step)).add(h.eps);
          return [param.sub(m2.div(denom).mul(h.lr / (1 - h.beta1 ** h.step))), m2, v2];
        },
        ([p, g, m, v], h) => {
          const out = outputs(h.n, 3);
          adamUpdateValues(p!, g!, m!, v!, out[0]!, out[1]!, out[2]!, h);
          return out;
        });
    });

    it('HookflowAdagradUpdate (fused Adagrad step) equals the tfjs ops of the generic update bit for bit, on wasm with native/blas and on cpu', function () {
      const arb = fc.record({
        n: fc.integer({ min: 1, max: 300 }), seed: fc.integer(), step: fc.integer({ min: 1, max: 50 }),
        lr: fc.double({ min: 1e-4, max: 1, noNaN: true }), lrDecay: fc.constantFrom(0, 0.05), eps: fc.constantFrom(1e-10, 1e-3),
        weightDecay: fc.constantFrom(0, 1e-4, 0.1),
      });
      fusedEqualsGeneric(arb, ({ n, seed }) => [seeded(n, seed), seeded(n, seed + 1), seeded(n, seed + 2).map((x) => x * x)],
        ([p, g, sum], h) => Object.values(adagradUpdate(p!, g!, sum!, h)!),
        ([p, g, sum], h) => {
          // Adagrad's generic ops (src/training/optim/adagrad.ts).
          const grad = decayed(g!, p!, h.weightDecay);
          const sum2 = sum!.add(grad.square());
          return [p!.sub(grad.div(sum2.sqrt().add(h.eps)).mul(h.lr / (1 + (h.step - 1) * h.lrDecay))), sum2];
        },
        ([p, g, sum], h) => {
          const out = outputs(h.n, 2);
          adagradUpdateValues(p!, g!, sum!, out[0]!, out[1]!, h);
          return out;
        });
    });

    it('HookflowRmspropUpdate (fused RMSProp step, centered and momentum too) equals the tfjs ops of the generic update bit for bit, on wasm with native/blas and on cpu', function () {
      const arb = fc.record({
        n: fc.integer({ min: 1, max: 300 }), seed: fc.integer(), centered: fc.boolean(), momentum: fc.constantFrom(0, 0.9),
        lr: fc.double({ min: 1e-4, max: 1, noNaN: true }), alpha: fc.constantFrom(0.9, 0.99), eps: fc.constantFrom(1e-8, 1e-2),
        weightDecay: fc.constantFrom(0, 1e-4, 0.1),
      });
      // The square average stays above the squared gradient average, as it does in training.
      fusedEqualsGeneric(arb, ({ n, seed }) => [seeded(n, seed), seeded(n, seed + 1), seeded(n, seed + 2).map((x) => 4 + x * x), seeded(n, seed + 3), seeded(n, seed + 4)],
        ([p, g, sq, ga, buf], h) => {
          const out = rmspropUpdate(p!, g!, sq!, h.centered ? ga : undefined, h.momentum > 0 ? buf : undefined, h)!;
          return [out.param, out.squareAvg, ...(out.gradAvg ? [out.gradAvg] : []), ...(out.buffer ? [out.buffer] : [])];
        },
        ([p, g, sq, ga, buf], h) => {
          // RMSProp's generic ops (src/training/optim/rmsprop.ts).
          const grad = decayed(g!, p!, h.weightDecay);
          const sq2 = sq!.mul(h.alpha).add(grad.square().mul(1 - h.alpha));
          const ga2 = h.centered ? ga!.mul(h.alpha).add(grad.mul(1 - h.alpha)) : undefined;
          const avg = (ga2 ? sq2.sub(ga2.square()) : sq2).sqrt().add(h.eps);
          const buf2 = h.momentum > 0 ? buf!.mul(h.momentum).add(grad.div(avg)) : undefined;
          const param = buf2 ? p!.sub(buf2.mul(h.lr)) : p!.sub(grad.div(avg).mul(h.lr));
          return [param, sq2, ...(ga2 ? [ga2] : []), ...(buf2 ? [buf2] : [])];
        },
        ([p, g, sq, ga, buf], h) => {
          const out = outputs(h.n, 4);
          rmspropUpdateValues(p!, g!, sq!, h.centered ? ga! : null, h.momentum > 0 ? buf! : null, out[0]!, out[1]!,
            h.centered ? out[2]! : null, h.momentum > 0 ? out[3]! : null, h);
          return [out[0]!, out[1]!, ...(h.centered ? [out[2]!] : []), ...(h.momentum > 0 ? [out[3]!] : [])];
        });
    });

    it('the native optimizer steps accept -1 only for their optional operands and refuse any operand outside the heap', function () {
      const addon = nativeBlasAddon();
      if (!addon) this.skip();
      // 4 floats each at bytes 0, 16, 32, 48, 64, 80: param, grad, sum / squareAvg, outputs.
      const heap = new ArrayBuffer(96);
      const f32 = new Float32Array(heap);
      f32.set([1, 2, 3, 4], 0);
      f32.set([0.5, 0.5, 0.5, 0.5], 4);
      // RMSProp without centering or momentum: gradAvg, buffer and their outputs absent (-1).
      addon!.rmspropUpdate(heap, 4, 0, 16, 32, -1, -1, 64, 80, -1, -1, 0, 0.9, 0.1, 1e-8, 0, 0.1);
      expect(Array.from(f32.subarray(20, 24))).to.deep.equal(Array(4).fill(Math.fround(Math.fround(0.25) * Math.fround(0.1))));
      expect(() => addon!.adagradUpdate(heap, 4, -1, 16, 32, 64, 80, 0, 0.1, 1e-10)).to.throw(RangeError, 'an operand lies outside the heap');
      expect(() => addon!.adamUpdate(heap, 4, 0, 16, 32, 48, 64, 80, 96, 1, 0, 0.9, 0.1, 0.999, 0.001, 1, 1e-8, 0.1)).to.throw(RangeError, 'an operand lies outside the heap');
      expect(() => addon!.sgdUpdate(heap, 4, 0, 16, -1, 64, -2, 0.1, 0.9, 0, 0, false)).to.throw(RangeError, 'an operand lies outside the heap');
    });

    it('nativeSumOfSquares equals the sum of squares of every element (undefined without native/blas)', function () {
      const tensors = [tf.tensor1d(seeded(1000, 1)), tf.tensor2d(seeded(12, 2), [3, 4]), tf.scalar(3)];
      const expected = tensors.reduce((sum, t) => sum + Array.from(t.dataSync()).reduce((a, v) => a + v * v, 0), 0);
      const actual = nativeSumOfSquares(tensors);
      if (nativeBlasStatus().active) expect(Math.abs(actual! - expected) / expected).to.be.at.most(1e-6);
      else expect(actual).to.equal(undefined);
      tf.tidy(() => {
        expect(nativeSumOfSquares([tf.tensor1d([1], 'int32')])).to.equal(undefined);
      });
      tensors.forEach((t) => t.dispose());
    });

    describe('native BLAS settings', function () {
      it('HOOKFLOW_BLAS_THREADS sets the thread count; one thread by default and under MPI; bad values are named', function () {
        expect(blasThreadCount({})).to.equal(1);
        expect(blasThreadCount({ OMPI_COMM_WORLD_SIZE: '2' })).to.equal(1);
        expect(blasThreadCount({ HOOKFLOW_BLAS_THREADS: '2', OMPI_COMM_WORLD_SIZE: '2' })).to.equal(2);
        expect(() => blasThreadCount({ HOOKFLOW_BLAS_THREADS: 'two' })).to.throw(/HOOKFLOW_BLAS_THREADS: must be an integer from 1 to \d+; got 'two'/);
        expect(() => blasThreadCount({ HOOKFLOW_BLAS_THREADS: '0' })).to.throw(/HOOKFLOW_BLAS_THREADS/);
      });

      it('the backend description says whether native BLAS is on, and why not', function () {
        const status = nativeBlasStatus();
        const text = describeBackend({ requested: 'wasm', active: 'wasm', fallbacks: [] });
        if (status.active) expect(text).to.equal(`wasm + native BLAS (OpenBLAS, ${status.threads} thread${status.threads === 1 ? '' : 's'})`);
        else expect(text).to.equal(`wasm (native BLAS off: ${status.reason})`);
        expect(describeBackend({ requested: 'auto', active: 'cpu', fallbacks: ['x failed'] })).to.equal('cpu (skipped: x failed)');
        // A failed build or load says which Debian packages the addon needs and how to rebuild it.
        expect(withBlasInstallHint("the native addon 'blas' is not available: its build failed")).to.equal(
          "the native addon 'blas' is not available: its build failed. It needs a C++ compiler and OpenBLAS: "
          + 'on Debian/Ubuntu `sudo apt-get install g++ libopenblas-dev`, then `npm run build:native -- blas`');
      });
    });

    it('UnsortedSegmentSum: float32 and int32, out-of-range ids dropped, any inner shape', function () {
      const arb = fc.record({
        n: fc.integer({ min: 1, max: 24 }), numSegments: fc.integer({ min: 1, max: 8 }),
        inner: fc.constantFrom<number[]>([], [3], [2, 3], [1, 4]), dtype: fc.constantFrom<'float32' | 'int32'>('float32', 'int32'),
        seed: fc.integer(),
      });
      fc.assert(fc.property(arb, ({ n, numSegments, inner, dtype, seed }) => {
        const noise = seeded(n, seed);
        // ids in [-2, numSegments + 1]: includes negative and too-large ids, which are dropped
        const ids = Int32Array.from(noise, (v) => Math.floor(((v + 1) / 2) * (numSegments + 4)) - 2);
        const xShape = [n, ...inner];
        const raw = seeded(size(xShape), seed + 1, 10);
        const x: Arr = { values: dtype === 'int32' ? Int32Array.from(raw, Math.round) : raw, shape: xShape, dtype };
        const inputs = { x, segmentIds: { values: ids, shape: [n], dtype: 'int32' as const } };
        const actual = runKernel('wasm', 'UnsortedSegmentSum', inputs, { numSegments });
        // The cpu kernel returns float32 even for int32 x; TensorFlow (and this kernel) keep the dtype.
        expect(actual.dtype).to.equal(dtype);
        expectClose('UnsortedSegmentSum', actual, runKernel('cpu', 'UnsortedSegmentSum', inputs, { numSegments }), { n, numSegments, inner, dtype });
      }), { numRuns: RUNS });
    });

    it('UnsortedSegmentSum: rank-2 segment ids sum over both id axes, as in TensorFlow', function () {
      // cpu only handles rank-1 ids correctly, so compare with the flattened problem.
      const ids = Int32Array.from([0, 2, 2, 1, 0, 5]);
      const x = seeded(6 * 3, 7);
      const actual = runKernel('wasm', 'UnsortedSegmentSum',
        { x: { values: x, shape: [2, 3, 3] }, segmentIds: { values: ids, shape: [2, 3], dtype: 'int32' } }, { numSegments: 3 });
      const flat = runKernel('cpu', 'UnsortedSegmentSum',
        { x: { values: x, shape: [6, 3] }, segmentIds: { values: ids, shape: [6], dtype: 'int32' } }, { numSegments: 3 });
      expectClose('UnsortedSegmentSum', actual, flat, 'rank-2 ids');
    });

    it('Identity and same-dtype Cast share their input\'s data (no copy); a real Cast converts; gradients flow', function () {
      for (const kernel of ['Identity', 'Cast']) expect(hasSharedData(tf.getKernel(kernel, 'wasm')!), kernel).to.equal(true);
      const wasm = backendOf('wasm') as unknown as { getMemoryOffset(dataId: object): number; numDataIds(): number };
      const tensors = tf.memory().numTensors;
      const dataIds = wasm.numDataIds();
      const x = tf.tensor2d([1.5, -2, 3, 4], [2, 2]);
      const clone = tf.clone(x);
      const same = tf.cast(x, 'float32');
      const ints = tf.cast(x, 'int32');
      expect(wasm.getMemoryOffset(clone.dataId)).to.equal(wasm.getMemoryOffset(x.dataId));
      expect(wasm.getMemoryOffset(same.dataId)).to.equal(wasm.getMemoryOffset(x.dataId));
      expect(wasm.getMemoryOffset(ints.dataId)).to.not.equal(wasm.getMemoryOffset(x.dataId));
      expect(Array.from(ints.dataSync())).to.deep.equal([1, -2, 3, 4]);
      expect(wasm.numDataIds()).to.equal(dataIds + 2); // x's data (shared thrice) and the int32 copy
      x.dispose();
      expect(Array.from(clone.dataSync())).to.deep.equal([1.5, -2, 3, 4]);
      clone.dispose();
      expect(Array.from(same.dataSync())).to.deep.equal([1.5, -2, 3, 4]);
      same.dispose();
      ints.dispose();
      expect(wasm.numDataIds()).to.equal(dataIds);
      tf.tidy(() => {
        const g = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.clone(v))))(tf.tensor1d([1, -2, 3]));
        expect(Array.from(g.dataSync())).to.deep.equal([2, -4, 6]);
      });
      expect(tf.memory().numTensors).to.equal(tensors);
    });

    it('MaxPoolGrad (replaces the wasm one): negative windows, ties, NaN and -Infinity, 1-9 channels (SIMD blocks and the rest), any stride, pad and rounding', function () {
      fc.assert(fc.property(poolCaseArb, ({ x, attrs, info, c }) => {
        fc.pre(info.outHeight > 0 && info.outWidth > 0);
        const y = runKernel('cpu', 'MaxPool', { x }, attrs);
        const inputs = { dy: { values: seeded(size(info.outShape), c.seed + 1), shape: info.outShape }, input: x, output: y as Arr };
        expectClose('MaxPoolGrad', runKernel('wasm', 'MaxPoolGrad', inputs, attrs), runKernel('cpu', 'MaxPoolGrad', inputs, attrs), c);
      }), { numRuns: RUNS });
    });

    it(`MaxPool${nativeBlasStatus().active ? ' through native/blas' : ' (skipped: native/blas is off)'}: the cpu backend's values exactly (NaN never taken, -Infinity for a window of NaNs), any stride, pad and rounding`, function () {
      if (!nativeBlasStatus().active) this.skip();
      expect(hasNativeMaxPool(tf.getKernel('MaxPool', 'wasm')!), 'the registered MaxPool is the native wrapper').to.equal(true);
      fc.assert(fc.property(poolCaseArb, ({ x, attrs, info, c }) => {
        fc.pre(info.outHeight > 0 && info.outWidth > 0);
        const actual = runKernel('wasm', 'MaxPool', { x }, attrs);
        const expected = runKernel('cpu', 'MaxPool', { x }, attrs);
        expect(actual.shape).to.deep.equal(expected.shape);
        expect(firstDifference(actual.values, expected.values), JSON.stringify(c)).to.equal(undefined);
      }), { numRuns: RUNS });
      // Windows holding NaN beside real numbers, where wasm's own kernel (XNNPACK) answers -Infinity.
      const x: Arr = { values: Float32Array.of(NaN, 1, 2, NaN, NaN, NaN, NaN, NaN, -1, NaN, NaN, -2, -Infinity, NaN, NaN, NaN), shape: [1, 4, 4, 1] };
      const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
      expect(Array.from(runKernel('wasm', 'MaxPool', { x }, attrs).values)).to.deep.equal([1, 2, -1, -2]);
      expect(Array.from(runKernel('cpu', 'MaxPool', { x }, attrs).values)).to.deep.equal([1, 2, -1, -2]);
    });
  });

  describe('dilated conv gradients', function () {
    it('are refused by tfjs-core itself (same error as on cpu), not by a missing wasm kernel', function () {
      const x = tf.ones([1, 6, 6, 2]);
      const f = tf.ones([3, 3, 2, 2]);
      const df = tf.ones([3, 3, 2, 1]);
      try {
        expect(() => tf.grad((t: tf.Tensor) => tf.conv2d(t as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NHWC', 2).sum())(x))
          .to.throw(/dilation rates greater than 1/);
        expect(() => tf.grad((t: tf.Tensor) => tf.depthwiseConv2d(t as tf.Tensor4D, df as tf.Tensor4D, 1, 'same', 'NHWC', 2).sum())(x))
          .to.throw(/dilation rates greater than 1/);
      } finally {
        tf.dispose([x, f, df]);
      }
    });
  });

  describe('training on wasm gives the same weights as on cpu', function () {
    this.timeout(60000);

    interface Run { weights: Float32Array[]; losses: number[]; tensorCounts: number[] }

    /**
     * Builds, seeds and trains a model with SGD on `backendName`, then switches back to the
     * previous backend (tests run on wasm; the cpu run is the reference).
     */
    async function train(backendName: 'cpu' | 'wasm', build: () => tf.LayersModel,
      data: () => { xs: tf.Tensor | tf.Tensor[]; ys: tf.Tensor }, steps: number): Promise<Run> {
      const previous = tf.getBackend();
      await tf.setBackend(backendName);
      try {
        const model = build();
        const seededWeights = model.getWeights().map((w, i) => tf.tensor(seeded(w.size, 1000 + i, 0.4), w.shape));
        model.setWeights(seededWeights);
        tf.dispose(seededWeights);
        const optimizer = tf.train.sgd(0.1);
        model.compile({ optimizer, loss: 'categoricalCrossentropy' });
        const { xs, ys } = data();
        const losses: number[] = [];
        const tensorCounts: number[] = [];
        for (let step = 0; step < steps; step++) {
          losses.push((await model.trainOnBatch(xs, ys)) as number);
          tensorCounts.push(tf.memory().numTensors);
        }
        const weights = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
        tf.dispose([xs, ys]);
        model.dispose();
        optimizer.dispose();
        return { weights, losses, tensorCounts };
      } finally {
        await tf.setBackend(previous);
      }
    }

    async function compare(name: string, build: () => tf.LayersModel, data: () => { xs: tf.Tensor | tf.Tensor[]; ys: tf.Tensor }): Promise<void> {
      const steps = 4;
      const ref = await train('cpu', build, data, steps);
      const got = await train('wasm', build, data, steps);
      expect(got.weights.length).to.equal(ref.weights.length);
      ref.weights.forEach((w, i) => expectClose(`${name} weights`, { values: got.weights[i], shape: [got.weights[i].length], dtype: 'float32' },
        { values: w, shape: [w.length] }, `weight ${i}`));
      expect(relError(got.losses, ref.losses)).to.be.at.most(TOLERANCE);
      // the loss must move, or the comparison proves little
      expect(Math.abs(ref.losses[steps - 1] - ref.losses[0])).to.be.greaterThan(1e-3);
      // no tensor leak per step on wasm (the first step creates the optimizer's state)
      expect(new Set(got.tensorCounts.slice(1)).size, `numTensors per step ${got.tensorCounts}`).to.equal(1);
    }

    const oneHot = (n: number, classes: number, seed: number): tf.Tensor =>
      tf.oneHot(tf.tensor1d(Array.from(seeded(n, seed), (v) => Math.floor(((v + 1) / 2) * classes) % classes), 'int32'), classes);

    it('CNN: conv2d (tanh) → maxPool → conv2d [1,3] stride 2 same → dense', async function () {
      await compare('cnn', () => {
        const m = tf.sequential();
        m.add(tf.layers.conv2d({ inputShape: [10, 10, 1], filters: 4, kernelSize: 3, activation: 'tanh' }));
        m.add(tf.layers.maxPooling2d({ poolSize: 2 })); // tanh → negative windows (the wasm MaxPoolGrad bug)
        // a size-1 filter axis with stride 2 and 'same': wrong in wasm's own forward conv
        m.add(tf.layers.conv2d({ filters: 6, kernelSize: [1, 3], strides: 2, padding: 'same', activation: 'relu' }));
        m.add(tf.layers.flatten());
        m.add(tf.layers.dense({ units: 5, activation: 'softmax' }));
        return m;
      }, () => ({ xs: tf.tensor4d(seeded(8 * 10 * 10, 11), [8, 10, 10, 1]), ys: oneHot(8, 5, 12) }));
    });

    it('layer-sized CNN (the GEMM / XNNPACK gradient paths): conv → depthwise → conv → maxPool → dense → dense', async function () {
      // Sizes chosen so that the filter and input gradients of the convs, the depthwise input
      // gradient and the dense layers' transposed matmuls all take their fast paths.
      await compare('layer-sized cnn', () => {
        const m = tf.sequential();
        m.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }));
        m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu' }));
        m.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }));
        m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
        m.add(tf.layers.flatten());
        m.add(tf.layers.dense({ units: 64, activation: 'relu' }));
        m.add(tf.layers.dense({ units: 4, activation: 'softmax' }));
        return m;
      }, () => ({ xs: tf.tensor4d(seeded(4 * 12 * 12 * 3, 41), [4, 12, 12, 3]), ys: oneHot(4, 4, 42) }));
    });

    it('depthwise + separable conv [3,1] stride 2, embedding + conv1d stride 2 → dense', async function () {
      await compare('mixed', () => {
        const image = tf.input({ shape: [8, 8, 3] });
        let a = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'tanh' }).apply(image) as tf.SymbolicTensor;
        a = tf.layers.separableConv2d({ filters: 4, kernelSize: [3, 1], strides: 2, padding: 'same', activation: 'relu' }).apply(a) as tf.SymbolicTensor;
        a = tf.layers.flatten().apply(a) as tf.SymbolicTensor;
        const tokens = tf.input({ shape: [12], dtype: 'int32' });
        let b = tf.layers.embedding({ inputDim: 15, outputDim: 5 }).apply(tokens) as tf.SymbolicTensor;
        b = tf.layers.conv1d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(b) as tf.SymbolicTensor;
        b = tf.layers.flatten().apply(b) as tf.SymbolicTensor;
        const merged = tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor;
        const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(merged) as tf.SymbolicTensor;
        return tf.model({ inputs: [image, tokens], outputs: out });
      }, () => ({
        xs: [
          tf.tensor4d(seeded(6 * 8 * 8 * 3, 21), [6, 8, 8, 3]),
          tf.tensor2d(Int32Array.from(seeded(6 * 12, 22), (v) => Math.floor(((v + 1) / 2) * 15) % 15), [6, 12], 'int32'),
        ],
        ys: oneHot(6, 3, 23),
      }));
    });
  });
});
