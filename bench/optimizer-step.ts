/**
 * One optimizer step on the MNIST MLP's parameters (784x128, 128, 128x10, 10; 101,770 floats),
 * with the fused kernel (one per parameter) against the generic tfjs ops of the same optimizer:
 *
 *   npm run build && node dist/bench/optimizer-step.js [--rounds 9] [--steps 200]
 *
 * For SGD (momentum 0.9, weight decay 1e-4), Adam (weight decay 1e-4), AdamW, RMSProp (centered,
 * momentum 0.9) and Adagrad, in interleaved
 * rounds; the generic variant runs with the fused kernel unregistered for the round, so both run
 * the same optimizer class. Prints median wall and CPU ms per step and the ratio, with the
 * backend and the load average.
 */
import os from 'node:os';
import * as tf from '../src/backend/tfjs.js';
import { describeBackend, selectBackend } from '../src/backend/index.js';
import { ADAGRAD_UPDATE, ADAM_UPDATE, RMSPROP_UPDATE, SGD_UPDATE } from '../src/backend/kernels/index.js';
import { Adagrad } from '../src/training/optim/adagrad.js';
import { Adam, AdamW } from '../src/training/optim/adam.js';
import type { ParamGroupOptimizer } from '../src/training/optim/param-group-optimizer.js';
import { RMSProp } from '../src/training/optim/rmsprop.js';
import { SGD } from '../src/training/optim/sgd.js';
import { interleavedWallCpu } from './stats.js';
import { withoutKernels } from './without-kernels.js';
import { numberFlag } from './flags.js';

const rounds = numberFlag('rounds', 9);
const steps = numberFlag('steps', 200);

const backend = await selectBackend(process.env.HOOKFLOW_BACKEND ?? 'wasm');
const SHAPES = [[784, 128], [128], [128, 10], [10]];
const grads = new Map(SHAPES.map((shape, i) => [`p${i}`, tf.randomNormal(shape)]));
/** Fresh parameters (their random initial values are freed). */
const params = () => new Map(SHAPES.map((shape, i) => {
  const initial = tf.randomNormal(shape);
  const variable = tf.variable(initial);
  initial.dispose();
  return [`p${i}`, variable];
}));

const cases: Array<[string, string, ParamGroupOptimizer]> = [
  ['SGD', SGD_UPDATE, new SGD(params(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 })],
  ['Adam', ADAM_UPDATE, new Adam(params(), { lr: 1e-3, weightDecay: 1e-4 })],
  ['AdamW', ADAM_UPDATE, new AdamW(params(), { lr: 1e-3 })],
  ['RMSProp', RMSPROP_UPDATE, new RMSProp(params(), { lr: 1e-3, centered: true, momentum: 0.9 })],
  ['Adagrad', ADAGRAD_UPDATE, new Adagrad(params(), { lr: 1e-2 })],
];
console.log(`optimizer step on the MNIST MLP's parameters, backend ${describeBackend(backend)}, load ${os.loadavg()[0]!.toFixed(2)}`);
if (tf.getKernel(SGD_UPDATE, tf.getBackend()) == null) console.log('  (this backend has no fused optimizer kernels: both columns run the generic ops)');
console.log('  optimizer   fused wall / cpu    generic wall / cpu   generic / fused (wall)');
for (const [name, kernel, optimizer] of cases) {
  const run = () => { for (let i = 0; i < steps; i++) optimizer.step(grads); };
  for (let i = 0; i < 20; i++) optimizer.step(grads); // slots, JIT
  const { wall, cpu } = await interleavedWallCpu({ fused: run, generic: () => withoutKernels([kernel], run) }, rounds);
  const ms = (v: number) => (v / steps).toFixed(3);
  console.log(`  ${name.padEnd(9)}  ${ms(wall.fused!)} / ${ms(cpu.fused!)} ms     ${ms(wall.generic!)} / ${ms(cpu.generic!)} ms      ${(wall.generic! / wall.fused!).toFixed(2)}x`);
  optimizer.dispose();
}
console.log(`load ${os.loadavg()[0]!.toFixed(2)}; tensors left: ${tf.memory().numTensors} (4 gradients and 5 x 4 parameters: nothing leaked)`);
