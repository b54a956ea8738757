import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { TOKENS } from '../../src/core/di.js';
import { ConfigError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import '../../src/hooks/checkpoint-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import type { Classifier } from '../../src/training/model/classifier.js';
import { EMAHook, type EMAHookState } from '../../plugins/ema-hook.js';
import { EvalHook, collectResults } from '../../plugins/eval/eval-hook.js';
import { loss } from '../../plugins/eval/metrics.js';
import { resealCheckpoint } from '../helpers/reseal-checkpoint.js';
import { tempDir, tinyRunner } from '../helpers/tiny.js';

type Weights = Map<string, Float32Array>;

function weightsOf(model: Classifier): Weights {
  return new Map([...model.params()].map(([k, v]) => [k, new Float32Array(v.dataSync())]));
}

function setWeights(model: Classifier, fill: (key: string, size: number) => Float32Array): void {
  for (const [key, v] of model.params()) v.assign(tf.tensor(fill(key, v.size), v.shape));
}

function decode(state: EMAHookState): Weights {
  return new Map(Object.entries(state.weights).map(([k, b64]) => {
    const bytes = Buffer.from(b64, 'base64');
    const out = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(out.buffer).set(bytes);
    return [k, out];
  }));
}

function allEqual(weights: Weights, value: number): boolean {
  return [...weights.values()].every((w) => w.every((x) => x === value));
}

function maxDiff(a: Weights, b: Map<string, ArrayLike<number>>): number {
  let d = 0;
  for (const [k, w] of a) w.forEach((x, i) => { d = Math.max(d, Math.abs(x - b.get(k)![i]!)); });
  return d;
}

/** Records the model's weights at the stages hooks after EMAHook see. */
class WeightProbe extends Hook<BaseRunner> {
  readonly iterEnds: Weights[] = [];
  readonly epochEnds: Weights[] = [];
  readonly epochStarts: Weights[] = [];
  readonly tensors: number[] = [];
  override beforeTrainEpoch(r: BaseRunner): void { this.epochStarts.push(weightsOf(r.model as Classifier)); }
  override beforeTrainIter(): void { this.tensors.push(tf.memory().numTensors); }
  override afterTrainIter(r: BaseRunner): void { this.iterEnds.push(weightsOf(r.model as Classifier)); }
  override afterTrainEpoch(r: BaseRunner): void { this.epochEnds.push(weightsOf(r.model as Classifier)); }
}

describe('EMAHook', () => {
  it("has MMCV's defaults, raises momentum to the power interval, validates options", () => {
    const hook = new EMAHook();
    expect([hook.momentum, hook.interval, hook.warmUp, hook.resumeFrom]).to.deep.equal([0.0002, 1, 100, null]);
    expect(new EMAHook({ momentum: 0.1, interval: 2 }).momentum).to.be.closeTo(0.01, 1e-15);
    expect(new EMAHook({ warmUp: 0 }).warmUp).to.equal(0);
    expect(HOOKS.get('EMAHook')).to.equal(EMAHook);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ momentum: 0 }, 'EMAHook.momentum: must be a number between 0 and 1 (exclusive); got 0'],
      [{ momentum: 1 }, 'EMAHook.momentum: must be a number between 0 and 1 (exclusive); got 1'],
      [{ interval: 0 }, 'EMAHook.interval: must be a positive integer; got 0'],
      [{ interval: 1.5 }, 'EMAHook.interval: must be a positive integer; got 1.5'],
      [{ warmUp: -1 }, 'EMAHook.warmUp: must be a number >= 0; got -1'],
      [{ resumeFrom: 3 }, 'EMAHook.resumeFrom: must be a checkpoint path; got 3'],
      [{ warm_up: 10 }, "EMAHook: unknown option 'warm_up' (did you mean 'warmUp'?)"],
    ];
    for (const [options, message] of bad) expect(() => new EMAHook(options as never), message).to.throw(ConfigError, message);
  });

  it('runs first in the epoch stages at HIGHEST; at its default NORMAL, after CheckpointHook (whose save waits for the stage end)', () => {
    const plan = (priority?: string) => {
      const { runner } = tinyRunner();
      runner.registerTrainingHooks({ optimizerConfig: {}, checkpointConfig: { interval: 1 }, timerConfig: null, customHooksConfig: [{ type: 'EMAHook', ...(priority ? { priority } : {}) }] });
      return runner.hookInfo();
    };
    const line = (p: string, name: string) => `(${p.padEnd(12)}) ${name.padEnd(35)}`;
    expect(plan('HIGHEST')).to.equal([
      'beforeRun:', line('HIGHEST', 'EMAHook'), line('NORMAL', 'CheckpointHook'), ' -------------------- ',
      'beforeTrainEpoch:', line('HIGHEST', 'EMAHook'), ' -------------------- ',
      'afterTrainIter:', line('HIGHEST', 'EMAHook'), line('ABOVE_NORMAL', 'OptimizerHook'), line('NORMAL', 'CheckpointHook'), ' -------------------- ',
      'afterTrainEpoch:', line('HIGHEST', 'EMAHook'), line('NORMAL', 'CheckpointHook'), ' -------------------- ',
    ].join('\n'));
    expect(plan()).to.include(['afterTrainEpoch:', line('NORMAL', 'CheckpointHook'), line('NORMAL', 'EMAHook'), ' -------------------- '].join('\n'));
  });

  it("reproduces MMCV's test: zero weights stay zero; EMA state 1, resumed with momentum 0.5 and warmUp 0, gives 0.5 / 1", async () => {
    const { dir, cleanup } = tempDir();
    try {
      // Part 1: momentum 0.1, interval 2 (effective 0.01), a zero model and no optimizer hook.
      const first = tinyRunner({ maxEpochs: 1, numSamples: 4, batchSize: 4, workDir: dir });
      setWeights(first.model, (_k, n) => new Float32Array(n));
      first.runner.registerTrainingHooks({ checkpointConfig: { interval: 1 }, timerConfig: null, customHooksConfig: [{ type: 'EMAHook', momentum: 0.1, interval: 2, priority: 'HIGHEST' }] });
      await first.runner.run([first.train], [['train', 1]]);
      expect(allEqual(weightsOf(first.model), 0)).to.equal(true);
      const saved = (first.runner.hooks[0] as EMAHook).stateDict();
      expect(saved.holds).to.equal('raw');
      expect(allEqual(decode(saved), 0)).to.equal(true);

      // Part 2: the checkpoint's EMA state set to ones (MMCV edits the ema_* buffers).
      const metaFile = path.join(dir, 'epoch_1', 'meta.json');
      const envelope = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
      const ones = (n: number) => Buffer.from(new Float32Array(n).fill(1).buffer).toString('base64');
      const state = envelope.meta.hookStates.EMAHook as EMAHookState;
      for (const key of Object.keys(state.weights)) state.weights[key] = ones(Buffer.from(state.weights[key]!, 'base64').byteLength / 4);
      fs.writeFileSync(metaFile, JSON.stringify(envelope));
      // The manifest covers meta.json: record the edit there too, as a writer would have.
      resealCheckpoint(path.dirname(metaFile));

      const second = tinyRunner({ maxEpochs: 2, numSamples: 4, batchSize: 4, workDir: dir, seed: 5 });
      second.runner.registerTrainingHooks({
        checkpointConfig: { interval: 1 }, timerConfig: null,
        customHooksConfig: [{ type: 'EMAHook', momentum: 0.5, warmUp: 0, resumeFrom: path.join(dir, 'epoch_1'), priority: 'HIGHEST' }],
      });
      await second.runner.run([second.train], [['train', 1]]);
      // One iteration at t = 1: m = min(0.5, 2 / 1) = 0.5; raw 1 and EMA 0 give 0.5.
      expect(second.runner.iter).to.equal(2);
      expect(allEqual(weightsOf(second.model), 0.5)).to.equal(true);
      const after = (second.runner.hooks[0] as EMAHook).stateDict();
      expect(after.holds).to.equal('raw');
      expect(allEqual(decode(after), 1)).to.equal(true);
      // epoch_2 holds the EMA weights as the model's and the raw ones in the hook state.
      const check = tinyRunner({ seed: 9 });
      await check.runner.loadCheckpoint(path.join(dir, 'epoch_2'));
      expect(allEqual(weightsOf(check.model), 0.5)).to.equal(true);
      const ckptState = JSON.parse(fs.readFileSync(path.join(dir, 'epoch_2', 'meta.json'), 'utf8')).meta.hookStates.EMAHook;
      expect(ckptState).to.deep.equal(after);
    } finally {
      cleanup();
    }
  });

  it('averages the weights after each optimizer step (with warm-up); evaluation sees the EMA, training continues from the raw weights', async () => {
    const { runner, model, train, val } = tinyRunner({ maxEpochs: 2 });
    const initial = weightsOf(model);
    runner.container.bind(TOKENS.ValDataLoader).toConstantValue(val);
    runner.registerTrainingHooks({
      optimizerConfig: {}, timerConfig: null,
      customHooksConfig: [{ type: 'EMAHook', momentum: 0.3, warmUp: 10, priority: 'HIGHEST' }, { type: 'EvalHook', metrics: ['loss'], priority: 'LOW' }],
    });
    const probe = new WeightProbe();
    runner.registerHook(probe, 'LOWEST');
    const evaluated: number[] = [];
    runner.events$.subscribe((e) => { if (e.payload?.metrics) evaluated.push((e.payload.metrics as { loss: number }).loss); });
    await runner.run([train], [['train', 1]]);

    // m = min(0.3, (1 + t) / (10 + t)): 0.1, 2/11, 0.25, 4/13, 0.3, 0.3 over the 6 iterations.
    const ema = new Map([...initial].map(([k, w]) => [k, Float64Array.from(w)]));
    const expectedAfterEpoch: Array<Map<string, Float64Array>> = [];
    probe.iterEnds.forEach((raw, t) => {
      const m = Math.min(0.3, (1 + t) / (10 + t));
      for (const [k, e] of ema) e.forEach((x, i) => { e[i] = x * (1 - m) + m * raw.get(k)![i]!; });
      if (t % 3 === 2) expectedAfterEpoch.push(new Map([...ema].map(([k, e]) => [k, Float64Array.from(e)])));
    });
    expect(probe.epochEnds).to.have.length(2);
    probe.epochEnds.forEach((seen, epoch) => expect(maxDiff(seen, expectedAfterEpoch[epoch]!)).to.be.below(1e-6));
    // The second epoch starts from the raw weights of the first epoch's last step.
    expect(maxDiff(probe.epochStarts[1]!, probe.iterEnds[2]!)).to.equal(0);
    expect(maxDiff(probe.iterEnds[2]!, expectedAfterEpoch[0]!)).to.be.above(1e-4);
    // After the run the model keeps the EMA weights; the last evaluation saw exactly them.
    expect(maxDiff(weightsOf(model), expectedAfterEpoch[1]!)).to.be.below(1e-6);
    expect(loss()(await collectResults(runner, val)).loss).to.equal(evaluated[1]);
    setWeights(model, (key) => probe.iterEnds[5]!.get(key)!);
    expect(loss()(await collectResults(runner, val)).loss).to.not.equal(evaluated[1]);
    // No tensor leak: the count is the same at every iteration after the first.
    expect(new Set(probe.tensors.slice(1)).size).to.equal(1);
    expect(runner.hooks.some((h) => h instanceof EvalHook)).to.equal(true);
  });

  it('with interval 2 averages on iterations 0, 2, 4 only, with momentum ** 2, on a training model', async () => {
    const { runner, model, train } = tinyRunner({ maxEpochs: 2 });
    const initial = weightsOf(model);
    runner.registerTrainingHooks({ optimizerConfig: {}, timerConfig: null, customHooksConfig: [{ type: 'EMAHook', momentum: 0.5, interval: 2, warmUp: 0, priority: 'HIGHEST' }] });
    const probe = new WeightProbe();
    runner.registerHook(probe, 'LOWEST');
    await runner.run([train], [['train', 1]]);
    expect(probe.iterEnds).to.have.length(6);
    // m = 0.5 ** 2 = 0.25 (no warm-up), applied after the optimizer step of iterations 0, 2 and 4.
    const ema = new Map([...initial].map(([k, w]) => [k, Float64Array.from(w)]));
    probe.iterEnds.forEach((raw, t) => {
      if (t % 2 !== 0) return;
      for (const [k, e] of ema) e.forEach((x, i) => { e[i] = x * 0.75 + 0.25 * raw.get(k)![i]!; });
    });
    expect(maxDiff(weightsOf(model), ema)).to.be.below(1e-6);
    // Averaging on the odd iterations instead would give visibly different weights.
    const odd = new Map([...initial].map(([k, w]) => [k, Float64Array.from(w)]));
    probe.iterEnds.forEach((raw, t) => {
      if (t % 2 !== 1) return;
      for (const [k, e] of odd) e.forEach((x, i) => { e[i] = x * 0.75 + 0.25 * raw.get(k)![i]!; });
    });
    expect(maxDiff(new Map([...ema].map(([k, e]) => [k, Float32Array.from(e)])), odd)).to.be.above(1e-4);
  });

  it('resumes exactly: 1 epoch + resume + 1 epoch ends with the weights and state of 2 uninterrupted epochs', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const run = async (workDir: string, resumeFrom?: string) => {
        const t = tinyRunner({ maxEpochs: 2, workDir });
        t.runner.registerTrainingHooks({ optimizerConfig: {}, checkpointConfig: { interval: 1 }, timerConfig: null, customHooksConfig: [{ type: 'EMAHook', momentum: 0.3, warmUp: 0, priority: 'HIGHEST' }] });
        if (resumeFrom) await t.runner.resume(resumeFrom);
        await t.runner.run([t.train], [['train', 1]]);
        return { weights: weightsOf(t.model), state: (t.runner.hooks[0] as EMAHook).stateDict() };
      };
      const whole = await run(path.join(dir, 'a'));
      const resumed = await run(path.join(dir, 'b'), path.join(dir, 'a', 'epoch_1'));
      expect(maxDiff(resumed.weights, whole.weights)).to.be.below(1e-6);
      expect(resumed.state.holds).to.equal('raw');
      expect(maxDiff(decode(resumed.state), decode(whole.state))).to.be.below(1e-6);
    } finally {
      cleanup();
    }
  });

  it('round-trips its state through stateDict/loadStateDict and rejects a state of another model', () => {
    const a = tinyRunner();
    const hook = new EMAHook();
    a.runner.registerHook(hook, 'HIGHEST');
    const state = { holds: 'ema' as const, weights: Object.fromEntries([...a.model.params()].map(([k, v]) => [k, Buffer.from(new Float32Array(v.size).fill(2).buffer).toString('base64')])) };
    hook.loadStateDict(JSON.parse(JSON.stringify(state)));
    expect(hook.stateDict()).to.deep.equal(state); // pending until beforeRun
    expect(() => hook.loadStateDict({ holds: 'both', weights: {} })).to.throw('EMAHook: invalid state; expected { holds: "ema" | "raw", weights: { key: base64 float32 } }');
    const other = new EMAHook();
    const b = tinyRunner();
    return Promise.resolve(other.beforeRun(b.runner)).then(() => {
      expect(() => other.loadStateDict({ holds: 'ema', weights: { ...state.weights, 'extra/kernel': '' } })).to.throw('EMAHook: the state has weights for unknown parameters: extra/kernel');
      const [first] = Object.keys(state.weights);
      expect(() => other.loadStateDict({ holds: 'ema', weights: { ...state.weights, [first!]: '' } })).to.throw(`EMAHook: the state has 0 values for parameter ${first}, which has 32`);
      other.loadStateDict(state);
      expect(allEqual(decode(other.stateDict()), 2)).to.equal(true);
    });
  });

  it('only averages in IterBasedRunner (no epoch stages, so no swaps)', async () => {
    const { runner, model, train } = tinyRunner({ kind: 'iter', maxIters: 3 });
    runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'EMAHook', momentum: 0.5, warmUp: 0, priority: 'HIGHEST' }] });
    await runner.run([train], [['train', 1]]);
    const hook = runner.hooks[0] as EMAHook;
    expect(hook.stateDict().holds).to.equal('ema');
    expect(maxDiff(decode(hook.stateDict()), weightsOf(model))).to.be.above(1e-4);
  });
});
