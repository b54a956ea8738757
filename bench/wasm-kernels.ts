/**
 * Training step time on the wasm backend (with hookflow's kernels) against the cpu backend.
 *
 *   npx tsc -p tsconfig.json; node dist/bench/wasm-kernels.js [rounds]
 *
 * Models (batch 64, SGD, softmax + categorical cross-entropy, one `trainOnBatch` per step):
 *   CNN  conv 8@3x3 (relu) on 28x28x1 → maxPool 2 → dense 64 (relu) → dense 10
 *   MLP  784 → 128 (relu) → 10
 * The machine is shared and noisy, so the bench warms up, then interleaves short blocks of steps
 * per (model, backend) over several rounds and reports medians and cpu/wasm ratios. Both
 * backends live in this one process; `tf.setBackend` switches before each block (each model's
 * tensors stay on the backend that created them).
 */
import { performance } from 'node:perf_hooks';
import * as tf from '../src/backend/tfjs.js';
import { selectBackend, WASM_TRAINING_KERNELS } from '../src/backend/index.js';
import { seeded } from '../test/helpers/seeded.js';

type BackendName = 'cpu' | 'wasm';

interface Subject {
  model: string;
  backend: BackendName;
  net: tf.LayersModel;
  optimizer: tf.Optimizer;
  xs: tf.Tensor;
  ys: tf.Tensor;
  blockSteps: number;
  times: number[];
}

const BATCH = 64;

function buildCnn(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 64, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return m;
}

function buildMlp(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return m;
}

async function makeSubject(model: 'CNN' | 'MLP', backend: BackendName, blockSteps: number): Promise<Subject> {
  await tf.setBackend(backend);
  const net = model === 'CNN' ? buildCnn() : buildMlp();
  const init = net.getWeights().map((w, i) => tf.tensor(seeded(w.size, 100 + i, 0.1), w.shape));
  net.setWeights(init);
  tf.dispose(init);
  const optimizer = tf.train.sgd(0.01);
  net.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const xs = model === 'CNN'
    ? tf.tensor4d(seeded(BATCH * 28 * 28, 7).map((v) => (v + 1) / 2), [BATCH, 28, 28, 1])
    : tf.tensor2d(seeded(BATCH * 784, 7).map((v) => (v + 1) / 2), [BATCH, 784]);
  const labels = tf.tensor1d(Array.from(seeded(BATCH, 8), (v) => Math.floor((v + 1) * 5) % 10), 'int32');
  const ys = tf.oneHot(labels, 10);
  labels.dispose();
  return { model, backend, net, optimizer, xs, ys, blockSteps, times: [] };
}

async function step(s: Subject): Promise<number> {
  const t0 = performance.now();
  await s.net.trainOnBatch(s.xs, s.ys);
  return performance.now() - t0;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median time of one kernel call on a backend, for the kernel table. */
function timeKernel(backendName: BackendName, kernelName: string, inputs: Record<string, { values: Float32Array; shape: number[] }>,
  attrs: object, calls: number): number {
  const backend = tf.findBackend(backendName)!;
  const kernel = tf.getKernel(kernelName, backendName)!;
  const infos: Record<string, tf.TensorInfo> = {};
  for (const [k, v] of Object.entries(inputs)) infos[k] = { dataId: backend.write(v.values, v.shape, 'float32'), shape: v.shape, dtype: 'float32' };
  const times: number[] = [];
  for (let i = 0; i < calls + 1; i++) {
    const t0 = performance.now();
    const out = kernel.kernelFunc({ inputs: infos, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
    const dt = performance.now() - t0;
    backend.disposeData(out.dataId, true);
    if (i > 0) times.push(dt); // first call warms up
  }
  for (const info of Object.values(infos)) backend.disposeData(info.dataId, true);
  return median(times);
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const choice = await selectBackend('wasm'); // installs the wasm training kernels
  if (choice.active !== 'wasm') throw new Error('the wasm backend did not initialise');
  console.log(`tfjs ${tf.version.tfjs}; hookflow wasm kernels: ${WASM_TRAINING_KERNELS.join(', ')}`);

  const subjects = [
    await makeSubject('CNN', 'cpu', 3),
    await makeSubject('CNN', 'wasm', 10),
    await makeSubject('MLP', 'cpu', 10),
    await makeSubject('MLP', 'wasm', 20),
  ];
  // Warm-up: first steps build the optimizer state and let the JIT settle.
  for (const s of subjects) {
    await tf.setBackend(s.backend);
    for (let i = 0; i < 3; i++) await step(s);
  }
  for (let r = 0; r < rounds; r++) {
    for (const s of subjects) {
      await tf.setBackend(s.backend);
      for (let i = 0; i < s.blockSteps; i++) s.times.push(await step(s));
    }
  }

  console.log('\nms per training step (batch 64), median after warm-up');
  console.log('model  backend   median     min   steps');
  for (const s of subjects) {
    console.log(`${s.model.padEnd(6)} ${s.backend.padEnd(8)} ${median(s.times).toFixed(1).padStart(7)} ${Math.min(...s.times).toFixed(1).padStart(7)} ${String(s.times.length).padStart(7)}`);
  }
  const ratio = (model: string) => {
    const cpu = subjects.find((s) => s.model === model && s.backend === 'cpu')!;
    const wasm = subjects.find((s) => s.model === model && s.backend === 'wasm')!;
    return median(cpu.times) / median(wasm.times);
  };
  const cnn = ratio('CNN');
  console.log(`\nspeed-up wasm vs cpu: CNN ${cnn.toFixed(1)}x (target >= 15x: ${cnn >= 15 ? 'met' : 'NOT met'}), MLP ${ratio('MLP').toFixed(1)}x`);

  // The kernel that dominates the cpu CNN step, on the bench's shapes.
  const x = { values: seeded(BATCH * 28 * 28, 1), shape: [BATCH, 28, 28, 1] };
  const dy = { values: seeded(BATCH * 26 * 26 * 8, 2), shape: [BATCH, 26, 26, 8] };
  const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 1, 8] };
  const kw = timeKernel('wasm', 'Conv2DBackpropFilter', { x, dy }, attrs, 10);
  const kc = timeKernel('cpu', 'Conv2DBackpropFilter', { x, dy }, attrs, 3);
  console.log(`Conv2DBackpropFilter x[64,28,28,1] dy[64,26,26,8]: wasm (hookflow) ${kw.toFixed(1)} ms, cpu ${kc.toFixed(1)} ms (${(kc / kw).toFixed(0)}x)`);

  for (const s of subjects) {
    await tf.setBackend(s.backend);
    tf.dispose([s.xs, s.ys]);
    s.net.dispose();
    s.optimizer.dispose();
  }
  await tf.setBackend('wasm');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
