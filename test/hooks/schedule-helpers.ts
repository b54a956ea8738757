/** Shared driver of the LR and momentum updater tests: real runners, real optimizers, recorded values. */
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import '../../src/hooks/index.js';
import '../../src/hooks/lr-updater/index.js';
import '../../src/hooks/momentum-updater/index.js';
import { ConfigError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import { MemoryLogger } from '../../src/core/services.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { DataLoader } from '../../src/training/data/data-loader.js';
import { Synthetic } from '../../src/training/data/synthetic.js';
import { EpochBasedRunner } from '../../src/runner/epoch-based-runner.js';
import { IterBasedRunner } from '../../src/runner/iter-based-runner.js';
import type { Classifier } from '../../src/training/model/classifier.js';
import { MLPClassifier } from '../../src/training/model/models.js';
import { buildOptimizers, isSingleOptimizer, type Optimizers } from '../../src/training/optim/build-optimizer.js';
import type { TrainingHooksConfig } from '../../src/runner/register-training-hooks.js';
import { thrown } from '../helpers/errors.js';
import { tinyRunner } from '../helpers/tiny.js';

export { rejection, thrown } from '../helpers/errors.js';

/** One value per param group, for one optimizer or per named optimizer. */
export type Values = number[] | Record<string, number[]>;

/** What the recorder saw at one `beforeTrainIter`, after the updaters ran. */
export interface IterRecord {
  epoch: number;
  iter: number;
  lr: Values;
  momentum: Values;
  numTensors: number;
}

/** Records lr and momentum at every training iteration (register it after the updaters). */
export class Recorder extends Hook<BaseRunner> {
  readonly records: IterRecord[] = [];

  override beforeTrainIter(runner: BaseRunner): void {
    this.records.push({
      epoch: runner.epoch,
      iter: runner.iter,
      lr: structuredClone(runner.currentLr()),
      momentum: structuredClone(runner.currentMomentum()),
      numTensors: tf.memory().numTensors,
    });
  }
}

/** The matrix runs: 4 epochs of 3 iterations (12 iterations). */
export const ITERS_PER_EPOCH = 3;
export const MAX_EPOCHS = 4;
export const MAX_ITERS = MAX_EPOCHS * ITERS_PER_EPOCH;

/** One SGD optimizer, or SGD on `fc1` and Adam on `logits` (so momentum is `momentum` for one, `betas[0]` for the other). */
export const OPTIMIZERS = {
  single: { type: 'SGD', lr: 0.1, momentum: 0.9 },
  named: {
    a: { type: 'SGD', lr: 0.1, momentum: 0.9, params: 'fc1' },
    b: { type: 'Adam', lr: 0.01, betas: [0.8, 0.999], params: 'logits' },
  },
} as const;

/** MMCV's test runner optimizers: SGD lr 0.02 momentum 0.95, and `model1`/`model2` with 0.02/0.95 and 0.01/0.9. */
export const MMCV_OPTIMIZERS = {
  single: { type: 'SGD', lr: 0.02, momentum: 0.95 },
  named: {
    model1: { type: 'SGD', lr: 0.02, momentum: 0.95, params: 'fc1' },
    model2: { type: 'SGD', lr: 0.01, momentum: 0.9, params: 'logits' },
  },
} as const;

let sharedModel: Classifier | undefined;

/** One tiny MLP for every run: its weights do not matter to the schedules. */
function model(): Classifier {
  sharedModel ??= MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed: 0 });
  return sharedModel;
}

/** Options of {@link recordRun}. */
export interface RunSpec {
  kind: 'epoch' | 'iter';
  /** An optimizer config (one, or a map of named ones). */
  optimizer: unknown;
  hooks: Pick<TrainingHooksConfig, 'lrConfig' | 'momentumConfig'>;
  /** Default {@link MAX_EPOCHS} (epoch runner) or {@link MAX_ITERS} (iter runner). */
  maxEpochs?: number;
  maxIters?: number;
  itersPerEpoch?: number;
}

/**
 * Trains the tiny MLP on Synthetic data with the given updaters (through
 * `registerTrainingHooks`, with OptimizerHook) and records lr and momentum at every iteration.
 */
export async function recordRun(spec: RunSpec): Promise<{ records: IterRecord[]; runner: BaseRunner; logger: MemoryLogger; optimizer: Optimizers }> {
  const { kind, itersPerEpoch = ITERS_PER_EPOCH } = spec;
  const m = model();
  const optimizer = buildOptimizers(structuredClone(spec.optimizer), m.params());
  const logger = new MemoryLogger();
  const runner = kind === 'epoch'
    ? new EpochBasedRunner({ model: m, optimizer, logger, maxEpochs: spec.maxEpochs ?? MAX_EPOCHS })
    : new IterBasedRunner({ model: m, optimizer, logger, maxIters: spec.maxIters ?? MAX_ITERS });
  runner.registerTrainingHooks({ ...spec.hooks, optimizerConfig: {}, timerConfig: null });
  const recorder = new Recorder();
  runner.registerHook(recorder, 'NORMAL');
  const data = new Synthetic({ numSamples: 2 * itersPerEpoch, inputShape: [4], numClasses: 3, seed: 0 });
  try {
    await runner.run([new DataLoader(data, { batchSize: 2 })], [['train', 1]]);
  } finally {
    disposeOptimizers(optimizer);
  }
  const counts = recorder.records.slice(1).map((r) => r.numTensors);
  expect(new Set(counts).size, `tensor counts ${counts.join(', ')}`).to.be.at.most(1);
  return { records: recorder.records, runner, logger, optimizer };
}

/** Releases the optimizers' slot variables. */
export function disposeOptimizers(optimizer: Optimizers): void {
  if (isSingleOptimizer(optimizer)) optimizer.dispose();
  else Object.values(optimizer).forEach((o) => o.dispose());
}

/** `a` and `b` agree to a relative 1e-12 (JS and C libm may differ by an ulp). */
export function relClose(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

/** Asserts that every recorded value agrees with `expected(record, optimizerName, groupIndex)`. */
export function expectValues(records: IterRecord[], key: 'lr' | 'momentum', expected: (r: IterRecord, name: string | null) => number): void {
  for (const r of records) {
    const values = r[key];
    const entries: Array<[string | null, number[]]> = Array.isArray(values) ? [[null, values]] : Object.entries(values);
    for (const [name, list] of entries) {
      const want = expected(r, name);
      expect(relClose(list[0]!, want), `${key}${name ? `.${name}` : ''} at iter ${r.iter} (epoch ${r.epoch}): got ${list[0]}, expected ${want}`).to.equal(true);
    }
  }
}

/** The recorded values at iteration `iter`, first group of each optimizer (`{name: v}` for a map). */
export function at(records: IterRecord[], iter: number, key: 'lr' | 'momentum'): number | Record<string, number> {
  const values = records.find((r) => r.iter === iter)![key];
  return Array.isArray(values) ? values[0]! : Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v[0]!]));
}

/** Asserts `actual` (a number or `{name: number}`) agrees with `expected` to a relative 1e-12. */
export function expectClose(actual: number | Record<string, number>, expected: number | Record<string, number>, what: string): void {
  const a = typeof actual === 'number' ? { '': actual } : actual;
  const e = typeof expected === 'number' ? { '': expected } : expected;
  expect(Object.keys(a), what).to.deep.equal(Object.keys(e));
  for (const k of Object.keys(e)) expect(relClose(a[k]!, e[k]!), `${what}${k ? `.${k}` : ''}: got ${a[k]}, expected ${e[k]}`).to.equal(true);
}

/** The run modes every policy is checked in. */
export const MODES = [
  { title: 'by epoch (EpochBasedRunner)', kind: 'epoch', byEpoch: true },
  { title: 'by iteration (EpochBasedRunner)', kind: 'epoch', byEpoch: false },
  { title: 'by iteration (IterBasedRunner, byEpoch defaulted)', kind: 'iter', byEpoch: false },
] as const;

/** No warmup and the three warmup kinds. */
export const WARMUPS = [null, 'constant', 'linear', 'exp'] as const;
export const WARMUP_ITERS = 5;

/** What a reference policy gets: the progress and the run length in the schedule's unit, the iteration, the base value, the optimizer name. */
export interface RefCtx { byEpoch: boolean; progress: number; max: number; iter: number; maxIters: number; base: number; name: string | null }

/** One policy configuration and its reference formula (written from the specification). */
export interface PolicyCase {
  title: string;
  policy: string;
  /** Per-iteration schedules are not run by epoch. */
  iterOnly?: boolean;
  options: (byEpoch: boolean, named: boolean) => Record<string, unknown>;
  ref: (ctx: RefCtx) => number;
}

/** The cyclic schedule from the specification: `cyclicTimes` cycles up to `targetRatio[0]` (pulled to 1 by `gamma ** cycle`) and down to `targetRatio[1]`. */
export function refCyclic(targetRatio: [number, number], cyclicTimes: number, stepRatioUp: number, gamma: number,
  anneal: (start: number, end: number, f: number) => number) {
  return ({ iter, maxIters, base }: RefCtx) => {
    const L = Math.floor(maxIters / cyclicTimes);
    const up = Math.trunc(stepRatioUp * L);
    const ci = iter % L;
    const scale = gamma ** Math.floor(iter / L);
    const peak = 1 - scale + targetRatio[0] * scale;
    if (ci < up) return anneal(base, base * peak, ci / up);
    // Without an up phase the down phase opens the cycle: MMCV then scales its end, not the peak.
    if (up === 0) return anneal(base * targetRatio[0], base * (1 - scale + targetRatio[1] * scale), ci / L);
    return anneal(base * peak, base * targetRatio[1], (ci - up) / (L - up));
  };
}

/** Warmup from the specification at iteration `cur`: the lr is multiplied by this factor, the momentum divided (1 from `W` on). */
export function refWarmupFactor(warmup: string | null, cur: number, W: number, ratio: number): number {
  if (warmup === null || cur >= W) return 1;
  if (warmup === 'constant') return ratio;
  if (warmup === 'linear') return 1 - (1 - cur / W) * (1 - ratio);
  return ratio ** (1 - cur / W);
}

/** Settings of {@link describePolicyMatrix}. */
export interface PolicyMatrix {
  key: 'lr' | 'momentum';
  cases: PolicyCase[];
  /** Base value per optimizer (`single`, `a`, `b`). */
  base: Record<string, number>;
  warmupRatio: number;
  /** Test-title words for {@link OPTIMIZERS}' two shapes. */
  shapeTitles: { single: string; named: string };
}

/**
 * Defines one test per case, run mode ({@link MODES}), warmup ({@link WARMUPS}) and optimizer
 * shape, checking every iteration's value against the case's reference formula with warmup.
 */
export function describePolicyMatrix(m: PolicyMatrix): void {
  const configKey = m.key === 'lr' ? 'lrConfig' : 'momentumConfig';
  for (const c of m.cases) {
    describe(c.title, () => {
      for (const mode of MODES) {
        if (c.iterOnly && mode.byEpoch) continue;
        for (const warmup of WARMUPS) {
          for (const shape of ['single', 'named'] as const) {
            it(`${mode.title}, warmup ${warmup ?? 'none'}, ${m.shapeTitles[shape]}`, async () => {
              const config: Record<string, unknown> = { policy: c.policy, ...c.options(mode.byEpoch, shape === 'named') };
              if (mode.kind === 'epoch') config.byEpoch = mode.byEpoch;
              if (warmup) Object.assign(config, { warmup, warmupIters: WARMUP_ITERS, warmupRatio: m.warmupRatio });
              const { records } = await recordRun({ kind: mode.kind, optimizer: OPTIMIZERS[shape], hooks: { [configKey]: config } });
              expect(records.map((r) => r.iter)).to.deep.equal([...Array(MAX_ITERS).keys()]);
              expectValues(records, m.key, (r, name) => {
                const ctx: RefCtx = {
                  byEpoch: mode.byEpoch, progress: mode.byEpoch ? r.epoch : r.iter, max: mode.byEpoch ? MAX_EPOCHS : MAX_ITERS, iter: r.iter, maxIters: MAX_ITERS,
                  base: m.base[name ?? 'single']!, name,
                };
                const factor = refWarmupFactor(warmup, r.iter, WARMUP_ITERS, m.warmupRatio);
                return m.key === 'lr' ? c.ref(ctx) * factor : c.ref(ctx) / factor;
              });
            });
          }
        }
      }
    });
  }
}

/**
 * Registers `{ policy }` under `configKey` on a tiny runner, checks that it throws a ConfigError
 * naming the policy, and returns the listed known policies, sorted.
 */
export function knownPoliciesFor(configKey: 'lrConfig' | 'momentumConfig', policy: string): string[] {
  const { runner, optimizer } = tinyRunner();
  const error = thrown(() => runner.registerTrainingHooks({ [configKey]: { policy } }));
  optimizer.dispose();
  expect(error).to.be.instanceOf(ConfigError);
  const prefix = `${configKey}.policy: '${policy}' is not a known policy; known policies: `;
  expect(error.message.startsWith(prefix), error.message).to.equal(true);
  return error.message.slice(prefix.length).split(', ').sort();
}
