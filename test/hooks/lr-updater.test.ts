import { expect } from 'chai';
import { ConfigError, HookError } from '../../src/core/errors.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import { Priority } from '../../src/core/priority.js';
import {
  CosineAnnealingLrUpdaterHook, CosineRestartLrUpdaterHook, CyclicLrUpdaterHook, FlatCosineAnnealingLrUpdaterHook,
  LrUpdaterHook, OneCycleLrUpdaterHook, StepLrUpdaterHook, annealingCos, annealingLinear,
} from '../../src/hooks/lr-updater/index.js';
import { tinyRunner } from '../helpers/tiny.js';
import {
  ITERS_PER_EPOCH, MMCV_OPTIMIZERS, OPTIMIZERS, at, describePolicyMatrix, knownPoliciesFor, refCyclic, expectClose, expectValues, recordRun,
  rejection, thrown,
  type PolicyCase, type RefCtx as Ctx,
} from './schedule-helpers.js';

// ---- Reference formulas, written from the specification (not from the implementation) ----


const cosAnneal = (start: number, end: number, f: number, weight = 1) => end + 0.5 * weight * (start - end) * (Math.cos(Math.PI * f) + 1);
const linAnneal = (start: number, end: number, f: number) => start + (end - start) * f;

function refStep(step: number | number[], gamma: number, minLr: number | null) {
  return ({ progress, base }: Ctx) => {
    let e: number;
    if (typeof step === 'number') e = Math.floor(progress / step);
    else {
      e = step.length;
      for (let i = 0; i < step.length; i++) if (progress < step[i]!) { e = i; break; }
    }
    const lr = base * gamma ** e;
    return minLr === null ? lr : Math.max(lr, minLr);
  };
}

/** Python's round() on a float: ties go to the even integer. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function refOneCycle(maxLr: (name: string | null) => number, o: { total?: number; pct: number; div: number; finalDiv: number; three: boolean; anneal: typeof linAnneal }) {
  return ({ iter, maxIters, name }: Ctx) => {
    const total = o.total ?? maxIters;
    const base = maxLr(name) / o.div;
    const phases: Array<[number, number, number]> = o.three
      ? [[o.pct * total - 1, 1, o.div], [2 * o.pct * total - 2, o.div, 1], [total - 1, 1, 1 / o.finalDiv]]
      : [[o.pct * total - 1, 1, o.div], [total - 1, o.div, 1 / o.finalDiv]];
    let start = 0;
    for (const [end, from, to] of phases) {
      if (iter <= end) return o.anneal(base * from, base * to, (iter - start) / (end - start));
      start = end;
    }
    throw new Error('iteration past the cycle');
  };
}

/** One LR policy of the matrix: its config (per mode and optimizer shape) and its reference. */
const CASES: PolicyCase[] = [
  { title: 'fixed', policy: 'fixed', options: () => ({}), ref: ({ base }) => base },
  { title: 'step (int, gamma, minLr)', policy: 'step', options: () => ({ step: 2, gamma: 0.5, minLr: 0.02 }), ref: refStep(2, 0.5, 0.02) },
  { title: 'step (milestones, default gamma)', policy: 'step', options: () => ({ step: [2, 7] }), ref: refStep([2, 7], 0.1, null) },
  { title: 'exp', policy: 'exp', options: () => ({ gamma: 0.8 }), ref: ({ progress, base }) => base * 0.8 ** progress },
  {
    title: 'poly', policy: 'poly', options: () => ({ power: 2, minLr: 0.001 }),
    ref: ({ progress, max, base }) => (base - 0.001) * (1 - progress / max) ** 2 + 0.001,
  },
  { title: 'inv', policy: 'inv', options: () => ({ gamma: 0.1, power: 0.75 }), ref: ({ progress, base }) => base * (1 + 0.1 * progress) ** -0.75 },
  {
    title: 'CosineAnnealing (minLrRatio)', policy: 'CosineAnnealing', options: () => ({ minLrRatio: 0.1 }),
    ref: ({ progress, max, base }) => cosAnneal(base, base * 0.1, progress / max),
  },
  {
    title: 'CosineAnnealing (minLr)', policy: 'CosineAnnealing', options: () => ({ minLr: 0.002 }),
    ref: ({ progress, max, base }) => cosAnneal(base, 0.002, progress / max),
  },
  {
    // 4 epochs * 0.625 = 2.5 rounds to 2 (half to even); 12 iterations * 0.625 = 7.5 rounds to 8.
    title: 'FlatCosineAnnealing', policy: 'FlatCosineAnnealing', options: () => ({ startPercent: 0.625, minLr: 0.001 }),
    ref: ({ progress, max, base }) => {
      const start = roundHalfEven(max * 0.625);
      return progress - start < 0 ? base : cosAnneal(base, 0.001, (progress - start) / (max - start));
    },
  },
  {
    title: 'CosineRestart', policy: 'CosineRestart',
    options: (byEpoch) => ({ periods: byEpoch ? [1, 3] : [5, 7], restartWeights: [1, 0.5], minLrRatio: 0.1 }),
    ref: ({ byEpoch, progress, base }) => {
      const periods = byEpoch ? [1, 3] : [5, 7];
      const cumulative = periods.map((_, i) => periods.slice(0, i + 1).reduce((a, b) => a + b, 0));
      const idx = cumulative.findIndex((c) => progress < c);
      const restart = idx === 0 ? 0 : cumulative[idx - 1]!;
      const alpha = Math.min((progress - restart) / periods[idx]!, 1);
      return cosAnneal(base, base * 0.1, alpha, [1, 0.5][idx]);
    },
  },
  {
    title: 'cyclic (cos, 2 cycles, gamma)', policy: 'cyclic', iterOnly: true,
    options: () => ({ targetRatio: [10, 1e-4], cyclicTimes: 2, stepRatioUp: 0.4, gamma: 0.5 }),
    ref: refCyclic([10, 1e-4], 2, 0.4, 0.5, cosAnneal),
  },
  {
    title: 'cyclic (linear, one ratio)', policy: 'cyclic', iterOnly: true,
    options: () => ({ targetRatio: 5, stepRatioUp: 0.5, annealStrategy: 'linear' }),
    ref: refCyclic([5, 5 / 1e5], 1, 0.5, 1, linAnneal),
  },
  {
    title: 'OneCycle (two phases, per-optimizer maxLr)', policy: 'OneCycle', iterOnly: true,
    options: (_byEpoch, named) => ({ maxLr: named ? { a: 0.5, b: [0.05] } : 0.5, pctStart: 0.25 }),
    ref: refOneCycle((name) => (name === 'b' ? 0.05 : 0.5), { pct: 0.25, div: 25, finalDiv: 1e4, three: false, anneal: cosAnneal }),
  },
  {
    title: 'OneCycle (three phases, linear, totalSteps)', policy: 'OneCycle', iterOnly: true,
    options: () => ({ maxLr: 0.3, pctStart: 0.3, threePhase: true, annealStrategy: 'linear', divFactor: 10, finalDivFactor: 100, totalSteps: 15 }),
    ref: refOneCycle(() => 0.3, { total: 15, pct: 0.3, div: 10, finalDiv: 100, three: true, anneal: linAnneal }),
  },
  {
    title: 'LinearAnnealing', policy: 'LinearAnnealing', options: () => ({ minLrRatio: 0.05 }),
    ref: ({ progress, max, base }) => linAnneal(base, base * 0.05, progress / max),
  },
];

const BASE_LR: Record<string, number> = { single: 0.1, a: 0.1, b: 0.01 };

describe('LR updater hooks', () => {
  describe('every policy against the reference formulas, iteration by iteration', () => {
    describePolicyMatrix({ key: 'lr', cases: CASES, base: BASE_LR, warmupRatio: 0.25, shapeTitles: { single: 'one optimizer', named: 'two named optimizers' } });
  });

  describe('MMCV test figures (10 iterations, lr 0.02 / model2 0.01)', () => {
    const figures = async (lrConfig: Record<string, unknown>, named: boolean, extra: { maxEpochs?: number; itersPerEpoch?: number } = {}) =>
      (await recordRun({
        kind: 'epoch', optimizer: named ? MMCV_OPTIMIZERS.named : MMCV_OPTIMIZERS.single, hooks: { lrConfig },
        maxEpochs: extra.maxEpochs ?? 1, itersPerEpoch: extra.itersPerEpoch ?? 10,
      })).records;

    it('cyclic: 0.01999999999999999, 0.2, 0.155 (model2 half of that)', async () => {
      const cfg = { policy: 'cyclic', byEpoch: false, targetRatio: [10, 1], cyclicTimes: 1, stepRatioUp: 0.4 };
      const single = await figures(cfg, false);
      expectClose(at(single, 0, 'lr'), 0.01999999999999999, 'iter 0');
      expectClose(at(single, 4, 'lr'), 0.2, 'iter 4');
      expectClose(at(single, 6, 'lr'), 0.155, 'iter 6');
      const named = await figures(cfg, true);
      expectClose(at(named, 0, 'lr'), { model1: 0.01999999999999999, model2: 0.009999999999999995 }, 'iter 0');
      expectClose(at(named, 4, 'lr'), { model1: 0.2, model2: 0.1 }, 'iter 4');
      expectClose(at(named, 6, 'lr'), { model1: 0.155, model2: 0.0775 }, 'iter 6');
    });

    it('cyclic with gamma 0.5 over 2 cycles (IterBasedRunner, 8 iterations, linear): 0.02, 0.11, 0.065, 0.11', async () => {
      const { records } = await recordRun({
        kind: 'iter', optimizer: MMCV_OPTIMIZERS.single, maxIters: 8, itersPerEpoch: 10,
        hooks: { lrConfig: { policy: 'cyclic', targetRatio: [10, 1], cyclicTimes: 2, stepRatioUp: 0.5, annealStrategy: 'linear', gamma: 0.5 } },
      });
      for (const [iter, lr] of [[0, 0.02], [3, 0.11], [5, 0.065], [6, 0.11]]) expectClose(at(records, iter!, 'lr'), lr!, `iter ${iter}`);
    });

    it('cyclic without an up phase and gamma 0.5 (MMCV 1.7.2): 1.0, 0.55, 1.0, 0.55 (the peak does not decay)', async () => {
      const { records } = await recordRun({
        kind: 'iter', optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 }, maxIters: 4, itersPerEpoch: 10,
        hooks: { lrConfig: { policy: 'cyclic', targetRatio: [10, 1], cyclicTimes: 2, stepRatioUp: 0, gamma: 0.5 } },
      });
      [1.0, 0.55, 1.0, 0.55].forEach((lr, iter) => expectClose(at(records, iter, 'lr'), lr, `iter ${iter}`));
    });

    it('OneCycle with pctStart * maxIters == 1 (MMCV divides by zero): the max lr at iteration 0, then annealing, never NaN', async () => {
      const { records } = await recordRun({
        kind: 'iter', optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 }, maxIters: 10, itersPerEpoch: 10,
        hooks: { lrConfig: { policy: 'OneCycle', maxLr: 0.01, pctStart: 0.1 } },
      });
      expectClose(at(records, 0, 'lr'), 0.01, 'iter 0');
      // cos annealing from 0.01 to 0.01 / 25 / 1e4 over iterations 0..9
      expectClose(at(records, 1, 'lr'), 4e-8 + 0.5 * (0.01 - 4e-8) * (Math.cos(Math.PI / 9) + 1), 'iter 1');
      expectClose(at(records, 9, 'lr'), 4e-8, 'iter 9');
    });

    it('cyclic with gamma 1, one cycle (IterBasedRunner, 8 iterations, linear): 0.02, 0.155, 0.155 (model2 half)', async () => {
      const { records } = await recordRun({
        kind: 'iter', optimizer: MMCV_OPTIMIZERS.named, maxIters: 8, itersPerEpoch: 10,
        hooks: { lrConfig: { policy: 'cyclic', targetRatio: [10, 1], cyclicTimes: 1, stepRatioUp: 0.5, annealStrategy: 'linear' } },
      });
      expectClose(at(records, 0, 'lr'), { model1: 0.02, model2: 0.01 }, 'iter 0');
      expectClose(at(records, 3, 'lr'), { model1: 0.155, model2: 0.0775 }, 'iter 3');
      expectClose(at(records, 5, 'lr'), { model1: 0.155, model2: 0.0775 }, 'iter 5');
    });

    it('CosineAnnealing with warmupIters/warmupRatio but no warmup type: 0.02, 0.01, 0.0004894348370484647, and a warning', async () => {
      const cfg = { policy: 'CosineAnnealing', byEpoch: false, minLrRatio: 0, warmupIters: 2, warmupRatio: 0.9 };
      const { records, logger } = await recordRun({ kind: 'epoch', optimizer: MMCV_OPTIMIZERS.named, hooks: { lrConfig: cfg }, maxEpochs: 1, itersPerEpoch: 10 });
      expectClose(at(records, 0, 'lr'), { model1: 0.02, model2: 0.01 }, 'iter 0');
      expectClose(at(records, 5, 'lr'), { model1: 0.01, model2: 0.005 }, 'iter 5');
      expectClose(at(records, 9, 'lr'), { model1: 0.0004894348370484647, model2: 0.00024471741852423234 }, 'iter 9');
      expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([
        'CosineAnnealingLrUpdaterHook: warmupIters, warmupRatio have no effect because warmup is not set',
      ]);
    });

    it('FlatCosineAnnealing by iteration: 0.018000000000000002, 0.02, 0.018090169943749474, 0.0019098300562505265', async () => {
      const cfg = { policy: 'FlatCosineAnnealing', byEpoch: false, minLrRatio: 0, warmup: 'linear', warmupIters: 2, warmupRatio: 0.9, startPercent: 0.5 };
      const records = await figures(cfg, true);
      expectClose(at(records, 0, 'lr'), { model1: 0.018000000000000002, model2: 0.009000000000000001 }, 'iter 0');
      expectClose(at(records, 5, 'lr'), { model1: 0.02, model2: 0.01 }, 'iter 5');
      expectClose(at(records, 6, 'lr'), { model1: 0.018090169943749474, model2: 0.009045084971874737 }, 'iter 6');
      expectClose(at(records, 9, 'lr'), { model1: 0.0019098300562505265, model2: 0.0009549150281252633 }, 'iter 9');
    });

    it('FlatCosineAnnealing by epoch (10 epochs of 10): the same figures at iterations 0, 10, 60, 99', async () => {
      const cfg = { policy: 'FlatCosineAnnealing', byEpoch: true, minLrRatio: 0, warmup: 'linear', warmupIters: 10, warmupRatio: 0.9, startPercent: 0.5 };
      const records = await figures(cfg, false, { maxEpochs: 10 });
      expectClose(at(records, 0, 'lr'), 0.018000000000000002, 'iter 0');
      expectClose(at(records, 10, 'lr'), 0.02, 'iter 10');
      expectClose(at(records, 60, 'lr'), 0.018090169943749474, 'iter 60');
      expectClose(at(records, 99, 'lr'), 0.0019098300562505265, 'iter 99');
    });

    it('FlatCosineAnnealing starts at round(5 * 0.5) = 2 (half to even), not 3', async () => {
      const { records } = await recordRun({
        kind: 'iter', optimizer: MMCV_OPTIMIZERS.single, maxIters: 5, hooks: { lrConfig: { policy: 'FlatCosineAnnealing', startPercent: 0.5, minLr: 0 } },
      });
      const lrs = records.map((r) => (r.lr as number[])[0]!);
      expect(lrs.slice(0, 3)).to.deep.equal([0.02, 0.02, 0.02]);
      // Annealing starts at 2: iteration 3 is a third of the way (a start of 3 would keep 0.02).
      expectClose(lrs[3]!, 0.5 * 0.02 * (Math.cos(Math.PI / 3) + 1), 'iter 3');
    });

    it('OneCycle: 0.0003999999999999993, 0.00904508879153485, 4e-08 for both optimizers', async () => {
      const cfg = { policy: 'OneCycle', maxLr: 0.01, pctStart: 0.5, annealStrategy: 'cos', divFactor: 25, finalDivFactor: 1e4, threePhase: false };
      const records = await figures(cfg, true);
      expectClose(at(records, 0, 'lr'), { model1: 0.0003999999999999993, model2: 0.0003999999999999993 }, 'iter 0');
      expectClose(at(records, 5, 'lr'), { model1: 0.00904508879153485, model2: 0.00904508879153485 }, 'iter 5');
      expectClose(at(records, 9, 'lr'), { model1: 4e-8, model2: 4e-8 }, 'iter 9');
    });

    it('CosineRestart: 0.01, 0.01, 0.0009549150281252633 (model2 half)', async () => {
      const cfg = { policy: 'CosineRestart', byEpoch: false, periods: [5, 5], restartWeights: [0.5, 0.5], minLrRatio: 0 };
      const records = await figures(cfg, true);
      expectClose(at(records, 0, 'lr'), { model1: 0.01, model2: 0.005 }, 'iter 0');
      expectClose(at(records, 5, 'lr'), { model1: 0.01, model2: 0.005 }, 'iter 5');
      expectClose(at(records, 9, 'lr'), { model1: 0.0009549150281252633, model2: 0.00047745751406263163 }, 'iter 9');
    });

    it('step (int): 0.02, 0.01, 0.0025, 0.00125, 0.001 (minLr) over 30 iterations', async () => {
      const records = await figures({ policy: 'step', byEpoch: false, step: 5, gamma: 0.5, minLr: 1e-3 }, true, { itersPerEpoch: 30 });
      const expected = [[0, 0.02, 0.01], [5, 0.01, 0.005], [15, 0.0025, 0.00125], [20, 0.00125, 0.001], [25, 0.001, 0.001], [29, 0.001, 0.001]];
      for (const [iter, m1, m2] of expected) expectClose(at(records, iter!, 'lr'), { model1: m1!, model2: m2! }, `iter ${iter}`);
    });

    it('step (milestones [4, 6, 8], gamma 0.1): 0.002, 2.0000000000000004e-4, 2.0000000000000005e-05', async () => {
      const records = await figures({ policy: 'step', byEpoch: false, step: [4, 6, 8], gamma: 0.1 }, true);
      expectClose(at(records, 4, 'lr'), { model1: 0.002, model2: 0.001 }, 'iter 4');
      expectClose(at(records, 6, 'lr'), { model1: 2.0000000000000004e-4, model2: 1.0000000000000002e-4 }, 'iter 6');
      expectClose(at(records, 8, 'lr'), { model1: 2.0000000000000005e-05, model2: 1.0000000000000003e-05 }, 'iter 8');
    });
  });

  describe('base behaviour', () => {
    it('sets initialLr on every group and keeps it across runs (it travels with the optimizer state)', async () => {
      const { runner, optimizer, train } = tinyRunner({ maxEpochs: 2, numSamples: 8, batchSize: 4 });
      const hook = new StepLrUpdaterHook({ step: 1, gamma: 0.5 });
      runner.registerHook(hook, 'VERY_HIGH');
      runner.registerTrainingHooks({ optimizerConfig: {}, timerConfig: null });
      await runner.run([train], [['train', 1]]);
      expect(optimizer.paramGroups[0]!.initialLr).to.equal(0.1);
      expect(optimizer.paramGroups[0]!.lr).to.equal(0.05);
      expect(hook.baseLr).to.deep.equal([0.1]);
      expect(hook.regularLr).to.deep.equal([0.05]);
      // A state dict carries initialLr; a new hook on the restored optimizer schedules from it.
      const state = optimizer.stateDict();
      const other = tinyRunner({ maxEpochs: 2, numSamples: 8, batchSize: 4 });
      other.optimizer.loadStateDict(state);
      Object.values(state.slots).forEach((t) => t.dispose());
      const resumed = new StepLrUpdaterHook({ step: 1, gamma: 0.5 });
      other.runner.registerHook(resumed, 'VERY_HIGH');
      other.runner.restoreState({ epoch: 1, iter: 2 });
      other.runner.registerTrainingHooks({ optimizerConfig: {}, timerConfig: null });
      await other.runner.run([other.train], [['train', 1]]);
      expect(resumed.baseLr).to.deep.equal([0.1]);
      expect(other.optimizer.paramGroups[0]!.lr).to.equal(0.05);
      optimizer.dispose();
      other.optimizer.dispose();
    });

    it('warmupByEpoch counts warmup in epochs, in EpochBasedRunner and in IterBasedRunner', async () => {
      for (const kind of ['epoch', 'iter'] as const) {
        const lrConfig = { policy: 'fixed', byEpoch: kind === 'epoch', warmup: 'linear', warmupIters: 2, warmupRatio: 0.5, warmupByEpoch: true };
        const { records, runner } = await recordRun({ kind, optimizer: OPTIMIZERS.single, hooks: { lrConfig } });
        const W = 2 * ITERS_PER_EPOCH;
        expectValues(records, 'lr', (r) => (r.iter < W ? 0.1 * (1 - (1 - r.iter / W) * 0.5) : 0.1));
        expect((runner.hooks[0] as LrUpdaterHook).warmupIters, kind).to.equal(W);
      }
    });

    it('schedules every named optimizer from its own base lr', async () => {
      const { records } = await recordRun({ kind: 'iter', optimizer: OPTIMIZERS.named, hooks: { lrConfig: { policy: 'exp', gamma: 0.5 } }, maxIters: 3 });
      expect(records.map((r) => r.lr)).to.deep.equal([{ a: [0.1], b: [0.01] }, { a: [0.05], b: [0.005] }, { a: [0.025], b: [0.0025] }]);
    });

    it('annealing helpers keep MMCV operation order', () => {
      expect(annealingCos(0.02, 0.2, 0)).to.equal(0.01999999999999999);
      expect(annealingCos(1, 0, 1)).to.equal(0);
      expect(annealingCos(1, 0, 0, 0.5)).to.equal(0.5);
      // start + (end - start) * f, not start * (1 - f) + end * f (which gives 0.074).
      expect(annealingLinear(0.02, 0.2, 0.3)).to.equal(0.07400000000000001);
    });
  });

  describe('registerTrainingHooks', () => {
    it("builds StepLrUpdaterHook at VERY_HIGH from { policy: 'step', step: [2] }", () => {
      const { runner, optimizer } = tinyRunner();
      runner.registerTrainingHooks({ lrConfig: { policy: 'step', step: [2] } });
      const hook = runner.hooks[0]!;
      expect(hook).to.be.instanceOf(StepLrUpdaterHook);
      expect(hook.priority).to.equal(Priority.VERY_HIGH);
      expect((hook as StepLrUpdaterHook).step).to.deep.equal([2]);
      expect((hook as StepLrUpdaterHook).byEpoch).to.equal(true);
      expect(runner.hookInfo()).to.contain(`(VERY_HIGH   ) ${'StepLrUpdaterHook'.padEnd(35)}`);
      optimizer.dispose();
    });

    it('matches policies case-insensitively and defaults byEpoch to false in IterBasedRunner', () => {
      const { runner, optimizer } = tinyRunner({ kind: 'iter' });
      runner.registerTrainingHooks({ lrConfig: { policy: 'cosineannealing', minLr: 0 } });
      expect(runner.hooks[0]).to.be.instanceOf(CosineAnnealingLrUpdaterHook);
      expect((runner.hooks[0] as CosineAnnealingLrUpdaterHook).byEpoch).to.equal(false);
      optimizer.dispose();
    });

    it('lists the known policies for an unknown one', () => {
      expect(knownPoliciesFor('lrConfig', 'stepp')).to.deep.equal([
        'CosineAnnealing', 'CosineRestart', 'Cyclic', 'Exp', 'Fixed', 'FlatCosineAnnealing', 'Inv', 'LinearAnnealing', 'OneCycle', 'Poly', 'Step',
      ]);
    });

    it('reports option errors under lrConfig', () => {
      const { runner, optimizer } = tinyRunner();
      expect(() => runner.registerTrainingHooks({ lrConfig: { policy: 'step' } })).to.throw(
        ConfigError, 'lrConfig: StepLrUpdaterHook.step: is required; must be a positive integer or a non-empty increasing list of positive integers',
      );
      optimizer.dispose();
    });

    it('registers every policy in HOOKS, and not the abstract base', () => {
      for (const name of ['Fixed', 'Step', 'Exp', 'Poly', 'Inv', 'CosineAnnealing', 'FlatCosineAnnealing', 'CosineRestart', 'Cyclic', 'OneCycle', 'LinearAnnealing']) {
        expect(HOOKS.has(`${name}LrUpdaterHook`), name).to.equal(true);
      }
      expect(HOOKS.has('LrUpdaterHook')).to.equal(false);
    });
  });

  describe('validation', () => {
    const cases: Array<[string, () => unknown, string]> = [
      ['missing step', () => new StepLrUpdaterHook({} as never), 'StepLrUpdaterHook.step: is required; must be a positive integer or a non-empty increasing list of positive integers'],
      ['negative step', () => new StepLrUpdaterHook({ step: -10 }), 'StepLrUpdaterHook.step: must be a positive integer or a non-empty increasing list of positive integers; got -10'],
      ['negative milestone', () => new StepLrUpdaterHook({ step: [10, 16, -20] }), 'StepLrUpdaterHook.step: must be a positive integer or a non-empty increasing list of positive integers; got [10,16,-20]'],
      ['unsorted milestones', () => new StepLrUpdaterHook({ step: [16, 10] }), 'StepLrUpdaterHook.step: must be a positive integer or a non-empty increasing list of positive integers; got [16,10]'],
      ['unknown warmup', () => new StepLrUpdaterHook({ step: 2, warmup: 'cosine' as never }), "StepLrUpdaterHook.warmup: must be one of 'constant', 'linear', 'exp'; got 'cosine'"],
      ['warmup without iterations', () => new StepLrUpdaterHook({ step: 2, warmup: 'linear' }), 'StepLrUpdaterHook.warmupIters: must be a positive integer when warmup is set; got 0'],
      ['warmup ratio above 1', () => new StepLrUpdaterHook({ step: 2, warmup: 'exp', warmupIters: 3, warmupRatio: 1.5 }), 'StepLrUpdaterHook.warmupRatio: must be in (0, 1] when warmup is set; got 1.5'],
      ['warmup ratio 0', () => new StepLrUpdaterHook({ step: 2, warmup: 'exp', warmupIters: 3, warmupRatio: 0 }), 'StepLrUpdaterHook.warmupRatio: must be in (0, 1] when warmup is set; got 0'],
      ['fractional warmupIters', () => new StepLrUpdaterHook({ step: 2, warmupIters: 2.5 }), 'StepLrUpdaterHook.warmupIters: must be an integer >= 0; got 2.5'],
      ['unknown option', () => new StepLrUpdaterHook({ step: 2, gama: 0.5 } as never), "StepLrUpdaterHook: unknown option 'gama' (did you mean 'gamma'?); allowed options: byEpoch, warmup, warmupIters, warmupRatio, warmupByEpoch, step, gamma, minLr"],
      ['byEpoch not a boolean', () => new StepLrUpdaterHook({ step: 2, byEpoch: 'yes' as never }), "StepLrUpdaterHook.byEpoch: must be true or false; got 'yes'"],
      ['exp without gamma', () => HOOKS.build({ type: 'ExpLrUpdaterHook' }), 'ExpLrUpdaterHook.gamma: is required; must be a finite number'],
      ['inv with negative gamma', () => HOOKS.build({ type: 'InvLrUpdaterHook', gamma: -1 }), 'InvLrUpdaterHook.gamma: must be a number >= 0; got -1'],
      ['cosine with both targets', () => new CosineAnnealingLrUpdaterHook({ minLr: 0.1, minLrRatio: 0 }), 'CosineAnnealingLrUpdaterHook.minLr: exactly one of minLr and minLrRatio must be set; got both'],
      ['cosine with no target', () => new CosineAnnealingLrUpdaterHook({}), 'CosineAnnealingLrUpdaterHook.minLr: exactly one of minLr and minLrRatio must be set; got neither'],
      ['linear annealing with no target', () => HOOKS.build({ type: 'LinearAnnealingLrUpdaterHook', minLr: null }), 'LinearAnnealingLrUpdaterHook.minLr: exactly one of minLr and minLrRatio must be set; got neither'],
      ['negative startPercent', () => new FlatCosineAnnealingLrUpdaterHook({ startPercent: -0.1, minLrRatio: 0 }), 'FlatCosineAnnealingLrUpdaterHook.startPercent: must be a number in [0, 1]; got -0.1'],
      ['restart weights per period', () => new CosineRestartLrUpdaterHook({ periods: [2, 10], restartWeights: [0.5], minLrRatio: 0 }), 'CosineRestartLrUpdaterHook.restartWeights: must have one weight per period (2); got 1'],
      ['restart with both targets', () => new CosineRestartLrUpdaterHook({ periods: [2, 10], restartWeights: [0.5, 0.5], minLr: 0.1, minLrRatio: 0 }), 'CosineRestartLrUpdaterHook.minLr: exactly one of minLr and minLrRatio must be set; got both'],
      ['cyclic by epoch', () => new CyclicLrUpdaterHook({ byEpoch: true as never }), 'CyclicLrUpdaterHook.byEpoch: must be false (this schedule changes every iteration); got true'],
      ['cyclic with three ratios', () => new CyclicLrUpdaterHook({ targetRatio: [10, 0.1, 0.2] }), 'CyclicLrUpdaterHook.targetRatio: must be a number or a list of one or two numbers; got [10,0.1,0.2]'],
      ['cyclic stepRatioUp 1.4', () => new CyclicLrUpdaterHook({ stepRatioUp: 1.4 }), 'CyclicLrUpdaterHook.stepRatioUp: must be a number in [0, 1); got 1.4'],
      ['cyclic anneal sin', () => new CyclicLrUpdaterHook({ annealStrategy: 'sin' as never }), "CyclicLrUpdaterHook.annealStrategy: must be one of 'cos', 'linear'; got 'sin'"],
      ['cyclic gamma 0', () => new CyclicLrUpdaterHook({ gamma: 0 }), 'CyclicLrUpdaterHook.gamma: must be a number in (0, 1]; got 0'],
      ['one cycle by epoch', () => new OneCycleLrUpdaterHook({ maxLr: 0.1, byEpoch: true as never }), 'OneCycleLrUpdaterHook.byEpoch: must be false (this schedule changes every iteration); got true'],
      ['one cycle pctStart', () => new OneCycleLrUpdaterHook({ maxLr: 0.1, pctStart: -0.1 }), 'OneCycleLrUpdaterHook.pctStart: must be a number in [0, 1]; got -0.1'],
      ['one cycle anneal sin', () => new OneCycleLrUpdaterHook({ maxLr: 0.1, annealStrategy: 'sin' as never }), "OneCycleLrUpdaterHook.annealStrategy: must be one of 'cos', 'linear'; got 'sin'"],
      ['one cycle maxLr', () => new OneCycleLrUpdaterHook({ maxLr: 'high' as never }), "OneCycleLrUpdaterHook.maxLr: must be a number > 0, a list of them (one per param group) or a map of optimizer name to either; got 'high'"],
    ];
    for (const [title, build, message] of cases) {
      it(title, () => {
        const error = thrown(build);
        expect(error).to.be.instanceOf(ConfigError);
        expect(error.message).to.equal(message);
      });
    }

    const runError = async (lrConfig: Record<string, unknown>, kind: 'epoch' | 'iter' = 'iter', optimizer: unknown = MMCV_OPTIMIZERS.single, maxIters = 10) =>
      rejection(recordRun({ kind, optimizer, hooks: { lrConfig }, maxIters, maxEpochs: 1, itersPerEpoch: 10 }));

    it('OneCycle: totalSteps below maxIters fails before training', async () => {
      const error = await runError({ policy: 'OneCycle', maxLr: 0.01, totalSteps: 5, pctStart: 0.5, annealStrategy: 'linear' });
      expect(error).to.be.instanceOf(HookError);
      expect(error.message).to.equal("hook OneCycleLrUpdaterHook failed in beforeRun: OneCycleLrUpdaterHook.totalSteps: must be at least the run's maxIters (10); got 5");
    });

    it('OneCycle: totalSteps above maxIters follows the longer cycle', async () => {
      const { records } = await recordRun({
        kind: 'iter', optimizer: MMCV_OPTIMIZERS.single, maxIters: 2,
        hooks: { lrConfig: { policy: 'OneCycle', maxLr: 0.01, totalSteps: 5, pctStart: 0.5, annealStrategy: 'linear' } },
      });
      // Phase 1 ends at 0.5 * 5 - 1 = 1.5: iteration 1 is 1 / 1.5 of the way from 0.0004 to 0.01.
      expectClose(at(records, 1, 'lr'), 0.0004 + (0.01 - 0.0004) * (1 / 1.5), 'iter 1');
    });

    it('OneCycle: maxLr per group and per optimizer are checked against the optimizer', async () => {
      expect((await runError({ policy: 'OneCycle', maxLr: [0.1, 0.2] })).message).to.equal(
        'hook OneCycleLrUpdaterHook failed in beforeRun: OneCycleLrUpdaterHook.maxLr: expected 1 value (one per param group of SGD); got 2',
      );
      expect((await runError({ policy: 'OneCycle', maxLr: { model1: 0.1 } }, 'iter', MMCV_OPTIMIZERS.named)).message).to.equal(
        "hook OneCycleLrUpdaterHook failed in beforeRun: OneCycleLrUpdaterHook.maxLr: has no entry for optimizer 'model2'; it has 'model1'",
      );
      // A single optimizer is looked up by its class name, as MMCV does.
      const { records } = await recordRun({ kind: 'iter', optimizer: MMCV_OPTIMIZERS.single, maxIters: 10, hooks: { lrConfig: { policy: 'OneCycle', maxLr: { SGD: 0.01 }, pctStart: 0.5 } } });
      expectClose(at(records, 0, 'lr'), 0.0003999999999999993, 'iter 0');
    });

    it('CosineRestart: periods that do not cover the run fail before training', async () => {
      const error = await runError({ policy: 'CosineRestart', periods: [5, 2], restartWeights: [0.5, 0.5], minLr: 0.0001 });
      expect(error.message).to.equal("hook CosineRestartLrUpdaterHook failed in beforeRun: CosineRestartLrUpdaterHook.periods: must cover the run's 10 iterations; they add up to 7");
    });

    it('cyclic: more cycles than iterations fail before training', async () => {
      const error = await runError({ policy: 'cyclic', cyclicTimes: 4 }, 'iter', MMCV_OPTIMIZERS.single, 3);
      expect(error.message).to.equal("hook CyclicLrUpdaterHook failed in beforeRun: CyclicLrUpdaterHook.cyclicTimes: must not exceed the run's maxIters (3); got 4");
    });

    it('byEpoch: true in IterBasedRunner fails before training (it would never change the lr)', async () => {
      const error = await runError({ policy: 'step', step: 2, byEpoch: true });
      expect(error.message).to.equal(
        'hook StepLrUpdaterHook failed in beforeRun: StepLrUpdaterHook.byEpoch: is true, but IterBasedRunner never starts an epoch, so the schedule would never change; use byEpoch: false',
      );
    });

    it('a runner without an optimizer is an error', async () => {
      const { runner, train, optimizer } = tinyRunner();
      optimizer.dispose();
      runner.optimizer = null;
      runner.registerHook(new StepLrUpdaterHook({ step: 1 }));
      const error = await rejection(runner.run([train], [['train', 1]]));
      expect(error.message).to.equal('hook StepLrUpdaterHook failed in beforeRun: StepLrUpdaterHook: the runner has no optimizer to schedule');
    });
  });
});
