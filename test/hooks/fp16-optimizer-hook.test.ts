import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import { MemoryLogger } from '../../src/core/services.js';
import { runOnLocalRanks } from '../../src/dist/local-process-groups.js';
import { Fp16OptimizerHook, type Fp16OptimizerHookOptions } from '../../src/hooks/fp16/fp16-optimizer-hook.js';
import { roundFloat16Array } from '../../src/hooks/fp16/float16.js';
import { GradientCumulativeFp16OptimizerHook } from '../../src/hooks/fp16/gradient-cumulative-fp16-optimizer-hook.js';
import { OptimizerHook } from '../../src/hooks/optimizer-hook.js';
import type { BaseRunner, RunnerLoader } from '../../src/runner/base-runner.js';
import { DataLoader, type DataBatch } from '../../src/training/data/data-loader.js';
import { Synthetic } from '../../src/training/data/synthetic.js';
import { EpochBasedRunner } from '../../src/runner/epoch-based-runner.js';
import { Classifier } from '../../src/training/model/classifier.js';
import { MLPClassifier } from '../../src/training/model/models.js';
import type { TrainableModel } from '../../src/training/model/trainable-model.js';
import { SGD } from '../../src/training/optim/sgd.js';
import { InjectOverflow } from '../dist/ranks.js';
import { tinyRunner, type TinyOptions } from '../helpers/tiny.js';

type Weights = Map<string, Float32Array>;

function weightsOf(model: TrainableModel): Weights {
  return new Map([...model.namedWeights()].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
}

function sameWeights(a: Weights, b: Weights): boolean {
  return [...a].every(([k, v]) => v.every((x, i) => Object.is(x, b.get(k)![i])));
}

function isBinary16(values: Float32Array): boolean {
  const rounded = roundFloat16Array(values);
  return values.every((x, i) => Object.is(x, rounded[i]));
}

function maxAbsDiff(a: Weights, b: Weights): number {
  let max = 0;
  for (const [k, va] of a) va.forEach((x, i) => { max = Math.max(max, Math.abs(x - b.get(k)![i]!)); });
  return max;
}

/** Runs first in afterTrainIter: the loss scale the step used and the largest scaled gradient. */
class BeforeStepProbe extends Hook<BaseRunner> {
  readonly records: Array<{ scale: number; maxAbsGrad: number; weights: Weights }> = [];
  override afterTrainIter(runner: BaseRunner): void {
    const maxAbsGrad = Math.max(...[...runner.outputs!.grads!.values()].map((g) => tf.tidy(() => g.abs().max().dataSync()[0]!)));
    this.records.push({ scale: runner.model.lossScale, maxAbsGrad, weights: weightsOf(runner.model) });
  }
}

/** Runs last in afterTrainIter: the weights after the step and the tensor count. */
class AfterStepProbe extends Hook<BaseRunner> {
  readonly records: Array<{ weights: Weights; tensors: number }> = [];
  override afterTrainIter(runner: BaseRunner): void {
    this.records.push({ weights: weightsOf(runner.model), tensors: tf.memory().numTensors });
  }
}

/** A tiny run with `hook` between two probes. */
async function probedRun(hook: OptimizerHook, options: TinyOptions = {}) {
  const tiny = tinyRunner(options);
  const before = new BeforeStepProbe();
  const after = new AfterStepProbe();
  tiny.runner.registerHook(before, 'HIGHEST');
  tiny.runner.registerHook(hook, 'ABOVE_NORMAL');
  tiny.runner.registerHook(after, 'LOWEST');
  const tensorsBefore = tf.memory().numTensors;
  const initial = weightsOf(tiny.model);
  await tiny.runner.run([tiny.train], [['train', 1]]);
  return { ...tiny, before: before.records, after: after.records, initial, leaked: tf.memory().numTensors - tensorsBefore };
}

function meanLoss(model: TrainableModel<DataBatch>, loader: RunnerLoader<DataBatch>): number {
  let sum = 0;
  let n = 0;
  for (const batch of loader) {
    const out = model.valStep(batch);
    sum += out.loss * out.numSamples;
    n += out.numSamples;
    batch.dispose();
  }
  return sum / n;
}

const warnings = (runner: BaseRunner) => (runner.logger as MemoryLogger).lines.filter((l) => l.level === 'warn').map((l) => l.message);

function roundedCopy(w: Weights): Weights {
  return new Map([...w].map(([k, v]) => [k, roundFloat16Array(v)]));
}

function bnClassifier(): Classifier {
  return new Classifier(tf.sequential({ layers: [
    tf.layers.dense({ units: 5, inputShape: [4], name: 'fc1' }),
    tf.layers.batchNormalization({ name: 'bn1' }),
    tf.layers.dense({ units: 3, name: 'logits' }),
  ] }));
}

/** A linear classifier trained by plain SGD with `hook`, one epoch over `numSamples` Synthetic samples. */
async function linearRun(hook: OptimizerHook, { batchSize = 1, numSamples = 9, lr = 0.5, maxEpochs = 1 } = {}) {
  const model = MLPClassifier({ inputShape: [4], hiddenUnits: [], numClasses: 3, seed: 3 });
  const runner = new EpochBasedRunner({ model, optimizer: new SGD(model.params(), { lr }), logger: new MemoryLogger(), maxEpochs });
  const after = new AfterStepProbe();
  runner.registerHook(hook, 'ABOVE_NORMAL');
  runner.registerHook(after, 'LOWEST');
  const initial = weightsOf(model);
  const tensorsBefore = tf.memory().numTensors;
  await runner.run([new DataLoader(new Synthetic({ numSamples, inputShape: [4], numClasses: 3, seed: 5 }), { batchSize })], [['train', 1]]);
  const result = { runner, initial, weights: weightsOf(model), after: after.records, leaked: tf.memory().numTensors - tensorsBefore };
  model.net.dispose();
  return result;
}

describe('Fp16OptimizerHook', () => {
  it('skips every step when a static scale makes the gradients overflow', async () => {
    const { runner, model, initial } = await probedRun(new Fp16OptimizerHook({ lossScale: 1e9 }));
    expect(sameWeights(weightsOf(model), roundedCopy(initial))).to.equal(true);
    expect(warnings(runner)).to.deep.equal(Array(6).fill('Check overflow, skip this step (static loss scale 1000000000)'));
    expect(runner.meta!.fp16).to.deep.equal({
      lossScaler: { curScale: 1e9, curIter: 0, mode: 'static', lastOverflowIter: -1, scaleFactor: 2, scaleWindow: 2000 },
    });
    expect(model.lossScale).to.equal(1); // reset after the run
  });

  it('shrinks a dynamic scale until steps happen, then grows it after scaleWindow clean steps', async () => {
    const hook = new Fp16OptimizerHook({ lossScale: { initScale: 2 ** 20, scaleWindow: 3 } });
    const { runner, before, after } = await probedRun(hook, { maxEpochs: 6 });
    let expected = 2 ** 20;
    let lastOverflow = -1;
    const overflows = before.map((rec, i) => {
      expect(rec.scale, `scale at iteration ${i}`).to.equal(expected);
      const overflow = rec.maxAbsGrad >= 65520; // what rounds to Infinity in binary16
      expect(sameWeights(rec.weights, after[i]!.weights), `weights unchanged at iteration ${i}`).to.equal(overflow);
      if (overflow) [expected, lastOverflow] = [Math.max(expected / 2, 1), i];
      else if ((i - lastOverflow) % 3 === 0) expected *= 2;
      return overflow;
    });
    expect(overflows.slice(0, 3)).to.deep.equal([true, true, true]);
    expect(overflows).to.include(false);
    const grewAt = before.findIndex((rec, i) => i > 0 && rec.scale > before[i - 1]!.scale);
    expect(grewAt).to.be.greaterThan(3);
    expect(overflows.slice(grewAt - 3, grewAt)).to.deep.equal([false, false, false]);
    for (const [i, rec] of after.entries()) {
      for (const [key, w] of rec.weights) expect(isBinary16(w), `${key} after iteration ${i}`).to.equal(true);
    }
    expect(warnings(runner)[0]).to.equal(`Check overflow, downscale loss scale to ${2 ** 19}`);
    expect(warnings(runner)).to.have.length(overflows.filter(Boolean).length);
    expect(runner.meta!.fp16).to.deep.equal({ lossScaler: { ...hook.stateDict().lossScaler, curIter: 18 } });
  });

  it('trains like fp32 through its masters, logs the unscaled gradNorm and keeps the tensor count flat', async () => {
    const fp16 = await probedRun(new Fp16OptimizerHook({ gradClip: { maxNorm: 100 } }), { maxEpochs: 6 });
    const fp32 = await probedRun(new OptimizerHook({ gradClip: { maxNorm: 100 } }), { maxEpochs: 6 });
    const untrained = MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3 });
    expect(meanLoss(fp16.model, fp16.val)).to.be.lessThan(0.8 * meanLoss(untrained, fp16.val));
    untrained.net.dispose();
    expect(maxAbsDiff(fp32.initial, weightsOf(fp32.model))).to.be.greaterThan(0.1);
    expect(maxAbsDiff(weightsOf(fp16.model), weightsOf(fp32.model))).to.be.lessThan(3e-3);
    const norms16 = fp16.runner.logBuffer.valHistory.get('gradNorm')!;
    const norms32 = fp32.runner.logBuffer.valHistory.get('gradNorm')!;
    expect(norms16).to.have.length(18);
    norms16.forEach((n, i) => expect(n).to.be.closeTo(norms32[i]!, 2e-3 * norms32[i]! + 1e-3));
    expect(new Set(fp16.after.map((r) => r.tensors)).size).to.equal(1);
    expect(fp16.leaked).to.equal(fp32.leaked); // masters freed: only the optimizer's momentum slots remain
  });

  it('keeps batch normalization in fp32', async () => {
    const model = bnClassifier();
    const runner = new EpochBasedRunner({ model, optimizer: new SGD(model.params(), { lr: 0.1 }), logger: new MemoryLogger(), maxEpochs: 2 });
    runner.registerHook(new Fp16OptimizerHook(), 'ABOVE_NORMAL');
    await runner.run([new DataLoader(new Synthetic({ numSamples: 8, inputShape: [4], numClasses: 3 }), { batchSize: 4 })], [['train', 1]]);
    const w = weightsOf(model);
    expect([...w].filter(([, v]) => !isBinary16(v)).map(([k]) => k)).to.deep.equal(['bn1/gamma', 'bn1/beta', 'bn1/moving_mean', 'bn1/moving_variance']);
    model.net.dispose();
  });

  it('restores the scaler from runner.meta.fp16.lossScaler and round-trips stateDict', async () => {
    const saved = { curScale: 1024, curIter: 10, mode: 'dynamic', lastOverflowIter: 8, scaleFactor: 2, scaleWindow: 3 };
    const hook = new Fp16OptimizerHook({ lossScale: 'dynamic' });
    const { runner, before } = await probedRun(hook, { maxEpochs: 1, meta: { fp16: { lossScaler: saved } } });
    expect(before.map((r) => r.scale)).to.deep.equal([1024, 1024, 2048]);
    expect(runner.meta!.fp16).to.deep.equal({ lossScaler: { ...saved, curScale: 2048, curIter: 13 } });

    const state = JSON.parse(JSON.stringify(hook.stateDict()));
    expect(state).to.deep.equal({ lossScaler: { ...saved, curScale: 2048, curIter: 13 } });
    const fresh = new Fp16OptimizerHook();
    fresh.loadStateDict(state);
    expect(fresh.stateDict()).to.deep.equal(state);
    expect(() => fresh.loadStateDict({ lossScaler: { ...state.lossScaler, mode: 'auto' } })).to.throw(
      `Fp16OptimizerHook.lossScaler.mode: must be 'static' or 'dynamic'; got "auto"`,
    );
  });

  it('averages the binary16 gradients over the process group when distributed, else keeps each rank its own', async () => {
    // Rank 1 overflows at iteration 1: averaged, the overflow reaches rank 0, which skips the step too.
    const run = (options: Fp16OptimizerHookOptions) => runOnLocalRanks(2, async (processGroup) => {
      const tiny = tinyRunner({ maxEpochs: 1, processGroup });
      tiny.runner.registerHook(new InjectOverflow(1, new Set([1])), 'HIGHEST');
      tiny.runner.registerHook(new Fp16OptimizerHook(options), 'ABOVE_NORMAL');
      await tiny.runner.run([tiny.train], [['train', 1]]);
      return { warnings: tiny.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message), weights: weightsOf(tiny.model) };
    });
    const distributed = await run({ lossScale: 'dynamic', coalesce: true, bucketSizeMb: -1 });
    expect(distributed[0]!.warnings).to.deep.equal([`Check overflow, downscale loss scale to ${2 ** 15}`]);
    expect(distributed[1]!.warnings).to.deep.equal([`rank 1: Check overflow, downscale loss scale to ${2 ** 15}`]);
    expect(sameWeights(distributed[0]!.weights, distributed[1]!.weights)).to.equal(true);
    const local = await run({ lossScale: 4, distributed: false });
    expect(local[0]!.warnings).to.deep.equal([]);
    expect(local[1]!.warnings).to.deep.equal(['rank 1: Check overflow, skip this step (static loss scale 4)']);
    expect(sameWeights(local[0]!.weights, local[1]!.weights)).to.equal(false);
  });

  it('accumulates updates smaller than half a binary16 ulp in its fp32 masters', async () => {
    // lr 2e-4: no update reaches half an ulp (2^-12) of a weight in [0.5, 1), so binary16
    // weights stepped directly would never move; through the masters they follow fp32.
    const run = { batchSize: 3, numSamples: 30, lr: 2e-4, maxEpochs: 3 };
    const fp16 = await linearRun(new Fp16OptimizerHook(), run);
    const fp32 = await linearRun(new OptimizerHook(), run);
    const kernel16 = fp16.weights.get('logits/kernel')!;
    const kernel32 = fp32.weights.get('logits/kernel')!;
    const start = fp32.initial.get('logits/kernel')!;
    const movedFar = [...kernel32.keys()].filter((i) => Math.abs(start[i]!) >= 0.5 && Math.abs(kernel32[i]! - start[i]!) > 3 * 2 ** -11);
    expect(movedFar).to.not.be.empty;
    kernel32.forEach((w, i) => expect(Math.abs(kernel16[i]! - w), `weight ${i}`).to.be.at.most(2 ** -11));
  });

  it('validates its options and builds from optimizerConfig', () => {
    expect(new Fp16OptimizerHook().lossScaler.stateDict()).to.include({ curScale: 512, mode: 'static' });
    expect(new Fp16OptimizerHook().distributed).to.equal(true);
    expect(new Fp16OptimizerHook({ lossScale: 'dynamic' }).lossScaler.stateDict()).to.include({ curScale: 65536, mode: 'dynamic', scaleWindow: 2000 });
    const allowed = "must be a positive number (a static scale), 'dynamic' or { initScale, scaleFactor, scaleWindow, mode }";
    expect(() => new Fp16OptimizerHook({ lossScale: 'dyn' as 'dynamic' })).to.throw(`Fp16OptimizerHook.lossScale: ${allowed}; got "dyn"`);
    expect(() => new Fp16OptimizerHook({ lossScale: -1 })).to.throw('Fp16OptimizerHook.lossScale: must be a positive finite number; got -1');
    expect(() => new Fp16OptimizerHook({ lossScale: { scaleWindow: 0 } })).to.throw('Fp16OptimizerHook.lossScale.scaleWindow: must be a positive integer; got 0');
    expect(() => new Fp16OptimizerHook({ distributed: 'yes' as unknown as boolean })).to.throw('Fp16OptimizerHook.distributed: Invalid input: expected boolean, received string');
    expect(() => new GradientCumulativeFp16OptimizerHook({ cumulativeIters: 0 })).to.throw('GradientCumulativeFp16OptimizerHook.cumulativeIters: must be a positive integer; got 0');
    expect(() => new GradientCumulativeFp16OptimizerHook({ lossScale: 0 })).to.throw('GradientCumulativeFp16OptimizerHook.lossScale: must be a positive finite number; got 0');

    expect(HOOKS.get('Fp16OptimizerHook')).to.equal(Fp16OptimizerHook);
    expect(HOOKS.get('GradientCumulativeFp16OptimizerHook')).to.equal(GradientCumulativeFp16OptimizerHook);
    const { runner } = tinyRunner();
    runner.registerTrainingHooks({ optimizerConfig: { type: 'GradientCumulativeFp16OptimizerHook', lossScale: 'dynamic', cumulativeIters: 2 }, timerConfig: null });
    const hook = runner.hooks[0] as GradientCumulativeFp16OptimizerHook;
    expect(hook).to.be.instanceOf(GradientCumulativeFp16OptimizerHook);
    expect([hook.priority, hook.cumulativeIters, hook.lossScaler.lossScale]).to.deep.equal([40, 2, 65536]);
  });
});

describe('GradientCumulativeFp16OptimizerHook', () => {
  it('accumulates scaled binary16 gradients and updates the scale only when it steps', async () => {
    const lossScale = { initScale: 512, scaleWindow: 2 };
    const acc = await linearRun(new GradientCumulativeFp16OptimizerHook({ cumulativeIters: 3, lossScale }));
    const batch3 = await linearRun(new Fp16OptimizerHook({ lossScale }), { batchSize: 3 });
    expect(maxAbsDiff(batch3.weights, batch3.initial)).to.be.greaterThan(0.05);
    expect(maxAbsDiff(acc.weights, batch3.weights)).to.be.lessThan(2e-3);
    expect(acc.runner.meta!.fp16).to.deep.equal(batch3.runner.meta!.fp16);
    expect(acc.runner.meta!.fp16).to.deep.equal({
      lossScaler: { curScale: 1024, curIter: 3, mode: 'dynamic', lastOverflowIter: -1, scaleFactor: 2, scaleWindow: 2 },
    });
    const changedAt = acc.after.map((r, i) => !sameWeights(r.weights, i === 0 ? roundedCopy(acc.initial) : acc.after[i - 1]!.weights));
    expect(changedAt).to.deep.equal([false, false, true, false, false, true, false, false, true]);
    expect(new Set(acc.after.map((r) => r.tensors)).size).to.equal(1);
    expect(acc.leaked).to.equal(0);
  });

  it('skips a window whose sum overflows', async () => {
    const { runner, initial, weights } = await linearRun(new GradientCumulativeFp16OptimizerHook({ cumulativeIters: 3, lossScale: 1e7 }));
    expect(sameWeights(weights, roundedCopy(initial))).to.equal(true);
    expect(warnings(runner)).to.deep.equal(Array(3).fill('Check overflow, skip this step (static loss scale 10000000)'));
  });
});
