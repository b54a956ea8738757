/**
 * A conv block's kernels on the wasm backend by each of their paths, for a range of first-layer
 * shapes, in interleaved rounds:
 *  - forward `Conv2D`: native/blas's direct loop (native-conv2d.ts) against XNNPACK (wasm's own
 *    kernel, behind the padding fix);
 *  - `Conv2DBackpropFilter`: the direct loop, im2col + GEMM (OpenBLAS with native/blas) and the
 *    float64 JS loop (conv2d-backprop-filter.ts);
 *  - `MaxPool`: native/blas (native-max-pool.ts) against XNNPACK.
 * The direct paths' size limits (`NATIVE_CONV2D_MAX_WEIGHTS`, `DIRECT_MAX_WEIGHTS`) come from
 * these tables.
 *
 *   npm run build && node dist/bench/conv-paths.js [--rounds 7] [--calls 20]
 */
import os from 'node:os';
import * as tf from '../src/backend/tfjs.js';
import {
  conv2dBackpropFilterWith, describeBackend, nativeBlasStatus, nativeConv2d, nativeMaxPool, selectBackend, withoutNativeConv2d, withoutNativeMaxPool,
} from '../src/backend/index.js';
import { seeded } from '../test/helpers/seeded.js';
import { numberFlag } from './flags.js';
import { formatPairedRatio, interleavedWallCpu, pairedRatio } from './stats.js';

type KernelArgs = Parameters<tf.KernelFunc>[0];

const rounds = numberFlag('rounds', 7);
const calls = numberFlag('calls', 20);
/** [batch, height, width, in channels, out channels], 3x3 filters, valid padding, stride 1. */
const SHAPES: Array<[number, number, number, number, number]> = [
  [64, 28, 28, 1, 8], [16, 28, 28, 1, 8], [32, 32, 32, 3, 8], [32, 16, 16, 4, 8], [32, 16, 16, 2, 16],
  [16, 16, 16, 3, 32], [16, 16, 16, 8, 16], [32, 16, 16, 16, 16],
];

const backend = await selectBackend('wasm');
if (!nativeBlasStatus().active) throw new Error('needs native/blas (npm run build:native -- blas)');
const wasm = tf.backend();
const xnnpack = withoutNativeConv2d(tf.getKernel('Conv2D', 'wasm')!);

type Path = (args: KernelArgs) => tf.TensorInfo;

/**
 * Times `paths` (each: one call returning its output) on `args` in interleaved rounds and prints
 * one row: `label`, ms per call of each path, and the paired ratio `ratio[0] / ratio[1]`.
 */
async function timeRow(label: string, paths: Record<string, Path>, args: KernelArgs, ratio: [string, string]): Promise<void> {
  const names = Object.keys(paths);
  const variants = Object.fromEntries(names.map((n) => [n, () => {
    for (let i = 0; i < calls; i++) wasm.disposeData(paths[n]!(args).dataId);
  }]));
  Object.values(variants).forEach((run) => run()); // warm-up
  const { wall, samples } = await interleavedWallCpu(variants, rounds);
  const times = names.map((n) => (wall[n]! / calls).toFixed(3).padStart(8)).join(' ');
  console.log(`  ${label} ${times}   ${formatPairedRatio(pairedRatio(samples.wall[ratio[0]]!, samples.wall[ratio[1]]!))}`);
}

/** Prints `title` and a header, then {@link timeRow} of `paths` for every conv shape. */
async function table(title: string, paths: Record<string, Path>, operand: 'filter' | 'dy', ratio: [string, string]): Promise<void> {
  console.log(`\n${title}`);
  console.log(`  x shape -> filter            weights ${Object.keys(paths).map((n) => n.padStart(8)).join(' ')}   ${ratio[0]} / ${ratio[1]} [quartiles]`);
  for (const [b, h, w, inC, outC] of SHAPES) {
    const x = tf.tensor4d(seeded(b * h * w * inC, 1), [b, h, w, inC]);
    const second = operand === 'filter'
      ? tf.tensor4d(seeded(9 * inC * outC, 2), [3, 3, inC, outC])
      : tf.tensor4d(seeded(b * (h - 2) * (w - 2) * outC, 2), [b, h - 2, w - 2, outC]);
    const args = {
      inputs: operand === 'filter' ? { x, filter: second } : { x, dy: second }, backend: wasm,
      attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, inC, outC], dilations: 1 },
    } as unknown as KernelArgs;
    await timeRow(`${`[${b},${h},${w},${inC}] -> [3,3,${inC},${outC}]`.padEnd(28)} ${String(9 * inC * outC).padStart(7)}`, paths, args, ratio);
    tf.dispose([x, second]);
  }
}

console.log(`conv kernels by path, backend ${describeBackend(backend)}, load ${os.loadavg()[0]!.toFixed(2)}, median of ${rounds} rounds of ${calls} calls, ms per call`);
await table('Conv2D forward', {
  direct: (args) => nativeConv2d(args, Infinity)!,
  xnnpack: (args) => xnnpack.kernelFunc(args) as tf.TensorInfo,
}, 'filter', ['xnnpack', 'direct']);
await table('Conv2DBackpropFilter', {
  direct: (args) => conv2dBackpropFilterWith(args, { path: 'direct' }),
  matmul: (args) => conv2dBackpropFilterWith(args, { path: 'matmul' }),
  loop: (args) => conv2dBackpropFilterWith(args, { path: 'loop' }),
}, 'dy', ['matmul', 'direct']);

/** [batch, height, width, channels, pool size, stride], valid padding. */
const POOLS: Array<[number, number, number, number, number, number]> = [
  [64, 26, 26, 8, 2, 2], [16, 26, 26, 8, 2, 2], [32, 32, 32, 16, 2, 2], [32, 16, 16, 32, 3, 2], [16, 24, 24, 3, 2, 2],
];
const xnnpackPool = withoutNativeMaxPool(tf.getKernel('MaxPool', 'wasm')!);
console.log('\nMaxPool');
console.log('  x shape, pool / stride           native  xnnpack   xnnpack / native [quartiles]');
for (const [b, h, w, c, size, stride] of POOLS) {
  const x = tf.tensor4d(seeded(b * h * w * c, 3), [b, h, w, c]);
  const args = { inputs: { x }, backend: wasm, attrs: { filterSize: size, strides: stride, pad: 'valid' } } as unknown as KernelArgs;
  await timeRow(`[${b},${h},${w},${c}], ${size} / ${stride}`.padEnd(30), {
    native: (a) => nativeMaxPool(a)!,
    xnnpack: (a) => xnnpackPool.kernelFunc(a) as tf.TensorInfo,
  }, args, ['xnnpack', 'native']);
  x.dispose();
}
console.log(`load ${os.loadavg()[0]!.toFixed(2)}`);
