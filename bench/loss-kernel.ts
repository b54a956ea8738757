/**
 * A whole training step (model.trainStep + SGD step, momentum 0.9) on MNIST with hookflow's fused
 * softmax cross-entropy (2 kernels) against the same step with those kernels unregistered, where
 * `tf.losses.softmaxCrossEntropy` runs its 35 (kernels/softmax-cross-entropy.ts):
 *
 *   npm run build && node dist/bench/loss-kernel.js [--rounds 12] [--steps 100]
 *
 * For the MLP at batch 16 and 64 and the CNN at batch 64, in interleaved rounds; prints the
 * median ms per step of each (wall, CPU) and the per-round ratio tfjs / fused with its quartiles.
 */
import os from 'node:os';
import { describeBackend, selectBackend, SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_GRAD } from '../src/backend/index.js';
import { DataLoader } from '../src/training/data/data-loader.js';
import { MNIST } from '../src/training/data/mnist.js';
import { CNNClassifier, MLPClassifier } from '../src/training/model/models.js';
import { releaseOutputs } from '../src/training/model/trainable-model.js';
import { SGD } from '../src/training/optim/sgd.js';
import { formatPairedRatio, interleavedWallCpu, pairedRatio } from './stats.js';
import { withoutKernels } from './without-kernels.js';
import { numberFlag } from './flags.js';

const rounds = numberFlag('rounds', 12);
const steps = numberFlag('steps', 100);

const backend = await selectBackend(process.env.HOOKFLOW_BACKEND ?? 'wasm');
console.log(`training step, fused softmax cross-entropy vs tfjs's, backend ${describeBackend(backend)}, load ${os.loadavg()[0]!.toFixed(2)}, ${rounds} rounds of ${steps} steps`);
console.log('  model, batch   fused wall / cpu     tfjs wall / cpu      tfjs / fused, wall [quartiles]');
for (const [name, batch] of [['mlp', 16], ['mlp', 64], ['cnn', 64]] as const) {
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
  const { wall, cpu, samples } = await interleavedWallCpu({ fused: run, tfjs: () => withoutKernels([SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_GRAD], run) }, rounds);
  const ms = (v: number) => (v / steps).toFixed(3);
  console.log(`  ${name}, ${String(batch).padEnd(4)}    ${ms(wall.fused!)} / ${ms(cpu.fused!)} ms   ${ms(wall.tfjs!)} / ${ms(cpu.tfjs!)} ms    ${formatPairedRatio(pairedRatio(samples.wall.tfjs!, samples.wall.fused!))}`);
  optimizer.dispose();
}
console.log(`load ${os.loadavg()[0]!.toFixed(2)}`);
