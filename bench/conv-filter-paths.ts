/**
 * `Conv2DBackpropFilter` on the wasm backend by each of its paths (kernels/conv2d-backprop-filter.ts)
 * for a range of first-layer shapes, in interleaved rounds: native/blas's direct loop, im2col +
 * GEMM (OpenBLAS with native/blas) and the float64 JS loop. The direct path's size limit
 * (`DIRECT_MAX_WEIGHTS`) comes from this table.
 *
 *   npm run build && node dist/bench/conv-filter-paths.js [--rounds 7] [--calls 20]
 */
import os from 'node:os';
import * as tf from '../src/backend/tfjs.js';
import { conv2dBackpropFilterWith, describeBackend, nativeBlasStatus, selectBackend } from '../src/backend/index.js';
import { seeded } from '../test/helpers/seeded.js';
import { numberFlag } from './flags.js';
import { formatPairedRatio, interleavedWallCpu, pairedRatio } from './stats.js';

const rounds = numberFlag('rounds', 7);
const calls = numberFlag('calls', 20);
/** [batch, height, width, in channels, out channels], 3x3 filters, valid padding, stride 1. */
const SHAPES: Array<[number, number, number, number, number]> = [
  [64, 28, 28, 1, 8], [16, 28, 28, 1, 8], [32, 32, 32, 3, 8], [32, 16, 16, 4, 8], [32, 16, 16, 2, 16],
  [16, 16, 16, 3, 32], [16, 16, 16, 8, 16], [32, 16, 16, 16, 16],
];

const backend = await selectBackend('wasm');
if (!nativeBlasStatus().active) throw new Error('needs native/blas (npm run build:native -- blas)');
console.log(`Conv2DBackpropFilter by path, backend ${describeBackend(backend)}, load ${os.loadavg()[0]!.toFixed(2)}, median of ${rounds} rounds of ${calls} calls, ms per call`);
console.log('  x shape -> filter            weights   direct   matmul    loop   matmul / direct [quartiles]');
const wasm = tf.backend();
for (const [b, h, w, inC, outC] of SHAPES) {
  const x = tf.tensor4d(seeded(b * h * w * inC, 1), [b, h, w, inC]);
  const dy = tf.tensor4d(seeded(b * (h - 2) * (w - 2) * outC, 2), [b, h - 2, w - 2, outC]);
  const args = { inputs: { x, dy }, backend: wasm, attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, inC, outC], dilations: 1 } };
  const by = (path: 'direct' | 'matmul' | 'loop') => () => {
    for (let i = 0; i < calls; i++) wasm.disposeData(conv2dBackpropFilterWith(args as unknown as Parameters<tf.KernelFunc>[0], { path }).dataId);
  };
  const variants = { direct: by('direct'), matmul: by('matmul'), loop: by('loop') };
  Object.values(variants).forEach((run) => run()); // warm-up
  const { wall, samples } = await interleavedWallCpu(variants, rounds);
  const ms = (v: number) => (v / calls).toFixed(3).padStart(7);
  const label = `[${b},${h},${w},${inC}] -> [3,3,${inC},${outC}]`.padEnd(28);
  console.log(`  ${label} ${String(9 * inC * outC).padStart(7)}  ${ms(wall.direct!)}  ${ms(wall.matmul!)}  ${ms(wall.loop!)}   ${formatPairedRatio(pairedRatio(samples.wall.matmul!, samples.wall.direct!))}`);
  tf.dispose([x, dy]);
}
console.log(`load ${os.loadavg()[0]!.toFixed(2)}`);
