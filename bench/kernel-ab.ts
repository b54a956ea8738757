/**
 * Whole training steps (model.trainStep + SGD step, momentum 0.9) on MNIST with one of hookflow's
 * kernels against the same steps without it, in one process and interleaved rounds:
 *
 *   npm run build && node dist/bench/kernel-ab.js [--kernel softmax-cross-entropy] [--rounds 12] [--steps 100]
 *
 * `--kernel`:
 *  - `softmax-cross-entropy`: the fused loss (2 kernels) against `tf.losses.softmaxCrossEntropy`
 *    (35), its kernels unregistered for the other rounds (kernels/softmax-cross-entropy.ts);
 *  - `relu-grad`: `HookflowReluGrad` against tfjs's Step, Cast and Multiply (kernels/relu-grad.ts);
 *  - `conv-filter-direct`: native/blas's direct `Conv2DBackpropFilter` against its im2col + GEMM
 *    path (kernels/conv2d-backprop-filter.ts; needs native/blas);
 *  - `conv2d-direct`: native/blas's direct forward `Conv2D` against XNNPACK's (kernels/native-conv2d.ts);
 *  - `max-pool`: native/blas's `MaxPool` against XNNPACK's (kernels/native-max-pool.ts).
 * For the MLP at batch 16 and 64 and the CNN at batch 16 and 64; prints the median ms per step of
 * each (wall, CPU) and the per-round ratio without / with, with its quartiles.
 */
import os from 'node:os';
import * as tf from '../src/backend/tfjs.js';
import {
  conv2dBackpropFilterWith, describeBackend, nativeBlasStatus, RELU_GRAD, selectBackend, SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_GRAD,
  withoutNativeConv2d, withoutNativeMaxPool,
} from '../src/backend/index.js';
import { DataLoader } from '../src/training/data/data-loader.js';
import { MNIST } from '../src/training/data/mnist.js';
import { CNNClassifier, MLPClassifier } from '../src/training/model/models.js';
import { releaseOutputs } from '../src/training/model/trainable-model.js';
import { SGD } from '../src/training/optim/sgd.js';
import { formatPairedRatio, interleavedWallCpu, pairedRatio } from './stats.js';
import { withKernelFunc, withoutKernels } from './without-kernels.js';
import { numberFlag, stringFlag } from './flags.js';

/** How to run a step without the kernel under test. */
const WITHOUT: Record<string, { what: string; run(fn: () => void): Promise<void> }> = {
  'softmax-cross-entropy': {
    what: "tf.losses.softmaxCrossEntropy's 35 kernels",
    run: (fn) => withoutKernels([SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_GRAD], fn),
  },
  'relu-grad': { what: "tfjs's Step, Cast and Multiply", run: (fn) => withoutKernels([RELU_GRAD], fn) },
  'conv-filter-direct': {
    what: 'im2col + GEMM',
    run: (fn) => withKernelFunc('Conv2DBackpropFilter', (args) => conv2dBackpropFilterWith(args, { path: 'matmul' }), fn),
  },
  'conv2d-direct': { what: "XNNPACK's Conv2D", run: (fn) => withInnerKernel('Conv2D', withoutNativeConv2d, fn) },
  'max-pool': { what: "XNNPACK's MaxPool", run: (fn) => withInnerKernel('MaxPool', withoutNativeMaxPool, fn) },
};

/** Runs `fn` with the active backend's wrapped kernel `name` replaced by the kernel it wraps. */
function withInnerKernel(name: string, unwrap: (config: tf.KernelConfig) => tf.KernelConfig, fn: () => void): Promise<void> {
  return withKernelFunc(name, unwrap(tf.getKernel(name, tf.getBackend())!).kernelFunc, fn);
}

const kernel = stringFlag('kernel', 'softmax-cross-entropy');
const rounds = numberFlag('rounds', 12);
const steps = numberFlag('steps', 100);
const without = WITHOUT[kernel];
if (!without) throw new Error(`--kernel: one of ${Object.keys(WITHOUT).join(', ')}; got '${kernel}'`);

const backend = await selectBackend(process.env.HOOKFLOW_BACKEND ?? 'wasm');
const convOnly = ['conv-filter-direct', 'conv2d-direct', 'max-pool'].includes(kernel);
if (convOnly && !nativeBlasStatus().active) throw new Error(`--kernel ${kernel} needs native/blas (npm run build:native -- blas)`);
console.log(`training step, ${kernel} against ${without.what}, backend ${describeBackend(backend)}, load ${os.loadavg()[0]!.toFixed(2)}, ${rounds} rounds of ${steps} steps`);
console.log('  model, batch   with wall / cpu      without wall / cpu   without / with, wall [quartiles]');
for (const [name, batch] of [['mlp', 16], ['mlp', 64], ['cnn', 16], ['cnn', 64]] as const) {
  if (convOnly && name === 'mlp') continue;
  const model = name === 'mlp' ? MLPClassifier({ seed: 0 }) : CNNClassifier({ seed: 0 });
  const dataset = new MNIST({ split: 'train', inputShape: name === 'mlp' ? [784] : [28, 28, 1] });
  const optimizer = new SGD(model.params(), { lr: 0.01, momentum: 0.9 });
  const loader = new DataLoader(dataset, { batchSize: batch, shuffle: true, seed: 0, dropLast: true });
  let batches = loader[Symbol.iterator]();
  const run = () => {
    for (let i = 0; i < steps; i++) {
      let next = batches.next();
      if (next.done) { batches = loader[Symbol.iterator](); next = batches.next(); }
      const outputs = model.trainStep(next.value!);
      optimizer.step(outputs.grads!);
      releaseOutputs(outputs);
      next.value!.dispose();
    }
  };
  run(); // kernels, JIT, optimizer slots
  await without.run(run);
  const { wall, cpu, samples } = await interleavedWallCpu({ with: run, without: () => without.run(run) }, rounds);
  const ms = (v: number) => (v / steps).toFixed(3);
  console.log(`  ${name}, ${String(batch).padEnd(4)}    ${ms(wall.with!)} / ${ms(cpu.with!)} ms   ${ms(wall.without!)} / ${ms(cpu.without!)} ms    ${formatPairedRatio(pairedRatio(samples.wall.without!, samples.wall.with!))}`);
  optimizer.dispose();
}
console.log(`load ${os.loadavg()[0]!.toFixed(2)}`);
