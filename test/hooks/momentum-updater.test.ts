import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import { Priority } from '../../src/core/priority.js';
import {
  CosineAnnealingMomentumUpdaterHook, CyclicMomentumUpdaterHook, OneCycleMomentumUpdaterHook, StepMomentumUpdaterHook,
} from '../../src/hooks/momentum-updater/index.js';
import { tinyRunner } from '../helpers/tiny.js';
import {
  MMCV_OPTIMIZERS, OPTIMIZERS, at, describePolicyMatrix, knownPoliciesFor, refCyclic, expectClose, recordRun, rejection, thrown,
  type PolicyCase,
  type RefCtx as Ctx,
} from './schedule-helpers.js';

// ---- Reference formulas, written from the specification (not from the implementation) ----


const cosAnneal = (start: number, end: number, f: number) => end + 0.5 * (start - end) * (Math.cos(Math.PI * f) + 1);
const linAnneal = (start: number, end: number, f: number) => start + (end - start) * f;

function refStep(step: number | number[], gamma: number, min: number | null) {
  return ({ progress, base }: Ctx) => {
    const e = typeof step === 'number' ? Math.floor(progress / step) : step.filter((s) => progress >= s).length;
    const m = base * gamma ** e;
    return min === null ? m : Math.max(m, min);
  };
}

/** One cycle: phases over [max → base → max] (three phases: max → base → max → max), the last one open-ended. */
function refOneCycle(low: (name: string | null) => number, high: number, pct: number, three: boolean, anneal: typeof linAnneal) {
  return ({ iter, maxIters: M, name }: Ctx) => {
    const lo = low(name);
    const phases: Array<[number, number, number]> = three
      ? [[pct * M - 1, high, lo], [2 * pct * M - 2, lo, high], [M - 1, high, high]]
      : [[pct * M - 1, high, lo], [M - 1, lo, high]];
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const [end, from, to] = phases[i]!;
      if (iter <= end || i === phases.length - 1) return anneal(from, to, (iter - start) / (end - start));
      start = end;
    }
    throw new Error('no phases');
  };
}

const CASES: PolicyCase[] = [
  { title: 'step (milestones, minMomentum)', policy: 'step', options: () => ({ step: [2, 7], gamma: 0.5, minMomentum: 0.3 }), ref: refStep([2, 7], 0.5, 0.3) },
  { title: 'step (int, default gamma 0.5)', policy: 'step', options: () => ({ step: 3 }), ref: refStep(3, 0.5, null) },
  {
    title: 'CosineAnnealing (minMomentumRatio)', policy: 'CosineAnnealing', options: () => ({ minMomentumRatio: 0.5 }),
    ref: ({ progress, max, base }) => cosAnneal(base, base * 0.5, progress / max),
  },
  {
    title: 'CosineAnnealing (minMomentum)', policy: 'CosineAnnealing', options: () => ({ minMomentum: 0.6 }),
    ref: ({ progress, max, base }) => cosAnneal(base, 0.6, progress / max),
  },
  { title: 'cyclic (defaults)', policy: 'cyclic', iterOnly: true, options: () => ({}), ref: refCyclic([0.85 / 0.95, 1], 1, 0.4, 1, cosAnneal) },
  {
    title: 'cyclic (3 cycles, gamma, linear)', policy: 'cyclic', iterOnly: true,
    options: () => ({ targetRatio: [0.8, 0.9], cyclicTimes: 3, stepRatioUp: 0.3, gamma: 0.5, annealStrategy: 'linear' }),
    ref: refCyclic([0.8, 0.9], 3, 0.3, 0.5, linAnneal),
  },
  { title: 'OneCycle (defaults)', policy: 'OneCycle', iterOnly: true, options: () => ({}), ref: refOneCycle(() => 0.85, 0.95, 0.3, false, cosAnneal) },
  {
    title: 'OneCycle (three phases, per-optimizer baseMomentum, linear)', policy: 'OneCycle', iterOnly: true,
    options: (_byEpoch, named) => ({ baseMomentum: named ? { a: 0.8, b: [0.7] } : 0.8, maxMomentum: 0.9, threePhase: true, pctStart: 0.25, annealStrategy: 'linear' }),
    ref: refOneCycle((name) => (name === 'b' ? 0.7 : 0.8), 0.9, 0.25, true, linAnneal),
  },
  {
    title: 'LinearAnnealing', policy: 'LinearAnnealing', options: () => ({ minMomentumRatio: 0.5 }),
    ref: ({ progress, max, base }) => linAnneal(base, base * 0.5, progress / max),
  },
];

/** SGD's momentum for the single optimizer and `a`; Adam's betas[0] for `b`. */
const BASE_MOMENTUM: Record<string, number> = { single: 0.9, a: 0.9, b: 0.8 };

describe('momentum updater hooks', () => {
  describe('every policy against the reference formulas, iteration by iteration', () => {
    describePolicyMatrix({
      key: 'momentum', cases: CASES, base: BASE_MOMENTUM, warmupRatio: 0.5, shapeTitles: { single: 'one SGD', named: 'SGD and Adam (betas[0])' },
    });
  });

  describe('MMCV test figures (10 iterations, momentum 0.95 / model2 0.9)', () => {
    const figures = async (momentumConfig: Record<string, unknown>, itersPerEpoch = 10) =>
      (await recordRun({ kind: 'epoch', optimizer: MMCV_OPTIMIZERS.named, hooks: { momentumConfig }, maxEpochs: 1, itersPerEpoch })).records;

    it('constant warmup divides: 1.9 for base 0.95 and ratio 0.5 (1.8 for 0.9)', async () => {
      const records = await figures({ policy: 'step', byEpoch: false, warmup: 'constant', warmupIters: 5, warmupRatio: 0.5, step: [10] });
      for (let i = 0; i < 5; i++) expectClose(at(records, i, 'momentum'), { model1: 1.9, model2: 1.8 }, `iter ${i}`);
      for (let i = 5; i < 10; i++) expectClose(at(records, i, 'momentum'), { model1: 0.95, model2: 0.9 }, `iter ${i}`);
    });

    it('cyclic: 0.95, 0.85, 0.875 (model2 0.9, 0.8052631578947369, 0.8289473684210527)', async () => {
      const records = await figures({ policy: 'cyclic', byEpoch: false, targetRatio: [0.85 / 0.95, 1], cyclicTimes: 1, stepRatioUp: 0.4 });
      expectClose(at(records, 0, 'momentum'), { model1: 0.95, model2: 0.9 }, 'iter 0');
      expectClose(at(records, 4, 'momentum'), { model1: 0.85, model2: 0.8052631578947369 }, 'iter 4');
      expectClose(at(records, 6, 'momentum'), { model1: 0.875, model2: 0.8289473684210527 }, 'iter 6');
    });

    it('CosineAnnealing (warmupIters/warmupRatio without warmup are ignored): 0.95, 0.97, 0.9890211303259032', async () => {
      const records = await figures({ policy: 'CosineAnnealing', minMomentumRatio: 0.99 / 0.95, byEpoch: false, warmupIters: 2, warmupRatio: 0.9 / 0.95 });
      expectClose(at(records, 0, 'momentum'), { model1: 0.95, model2: 0.9 }, 'iter 0');
      expectClose(at(records, 5, 'momentum'), { model1: 0.97, model2: 0.9189473684210527 }, 'iter 5');
      expectClose(at(records, 9, 'momentum'), { model1: 0.9890211303259032, model2: 0.9369673866245399 }, 'iter 9');
    });

    it('OneCycle: 0.95, 0.8595491502812526, 0.95, overwriting model2 momentum 0.9 with maxMomentum', async () => {
      const records = await figures({ policy: 'OneCycle', baseMomentum: 0.85, maxMomentum: 0.95, pctStart: 0.5, annealStrategy: 'cos', threePhase: false });
      expectClose(at(records, 0, 'momentum'), { model1: 0.95, model2: 0.95 }, 'iter 0');
      expectClose(at(records, 5, 'momentum'), { model1: 0.8595491502812526, model2: 0.8595491502812526 }, 'iter 5');
      expectClose(at(records, 9, 'momentum'), { model1: 0.95, model2: 0.95 }, 'iter 9');
    });

    it('cyclic without an up phase and gamma 0.5 (MMCV 1.7.2): 0.45, 0.675, 0.45, 0.675 (the first ratio does not decay)', async () => {
      const { records } = await recordRun({
        kind: 'iter', optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 }, maxIters: 4, itersPerEpoch: 10,
        hooks: { momentumConfig: { policy: 'cyclic', targetRatio: [0.5, 1], cyclicTimes: 2, stepRatioUp: 0, gamma: 0.5 } },
      });
      [0.45, 0.675, 0.45, 0.675].forEach((m, iter) => expectClose(at(records, iter, 'momentum'), m, `iter ${iter}`));
    });

    it('OneCycle with pctStart * maxIters == 1: baseMomentum at iteration 0, never NaN', async () => {
      const { records } = await recordRun({
        kind: 'iter', optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 }, maxIters: 10, itersPerEpoch: 10,
        hooks: { momentumConfig: { policy: 'OneCycle', baseMomentum: 0.85, maxMomentum: 0.95, pctStart: 0.1 } },
      });
      expectClose(at(records, 0, 'momentum'), 0.85, 'iter 0');
      expectClose(at(records, 9, 'momentum'), 0.95, 'iter 9');
    });

    it('step (int): 0.95, 0.475, 0.11875, 0.059375, 0.05 (minMomentum) over 30 iterations', async () => {
      const records = await figures({ policy: 'step', byEpoch: false, step: 5, gamma: 0.5, minMomentum: 0.05 }, 30);
      const expected = [[0, 0.95, 0.9], [5, 0.475, 0.45], [15, 0.11875, 0.1125], [20, 0.059375, 0.05625], [25, 0.05, 0.05], [29, 0.05, 0.05]];
      for (const [iter, m1, m2] of expected) expectClose(at(records, iter!, 'momentum'), { model1: m1!, model2: m2! }, `iter ${iter}`);
    });

    it('step (milestones [4, 6, 8], gamma 0.1): 0.095, 9.500000000000001e-3, 9.500000000000002e-4', async () => {
      const records = await figures({ policy: 'step', byEpoch: false, step: [4, 6, 8], gamma: 0.1 });
      expectClose(at(records, 4, 'momentum'), { model1: 9.5e-2, model2: 9.000000000000001e-2 }, 'iter 4');
      expectClose(at(records, 6, 'momentum'), { model1: 9.500000000000001e-3, model2: 9.000000000000003e-3 }, 'iter 6');
      expectClose(at(records, 8, 'momentum'), { model1: 9.500000000000002e-4, model2: 9.000000000000002e-4 }, 'iter 8');
    });
  });

  describe('base behaviour', () => {
    it("sets initialMomentum from momentum or betas[0], and rewrites only Adam's betas[0]", async () => {
      const { optimizer } = await recordRun({ kind: 'iter', optimizer: OPTIMIZERS.named, hooks: { momentumConfig: { policy: 'step', step: 2 } }, maxIters: 4 });
      const { a, b } = optimizer as Record<string, { paramGroups: Array<Record<string, unknown>> }>;
      expect(a!.paramGroups[0]).to.include({ initialMomentum: 0.9, momentum: 0.45 });
      expect(b!.paramGroups[0]!.initialMomentum).to.equal(0.8);
      expect(b!.paramGroups[0]!.betas).to.deep.equal([0.4, 0.999]);
      expect(b!.paramGroups[0]).to.not.have.property('momentum');
    });

    it("OneCycle keeps each group's cycle in the group (baseMomentum/maxMomentum) and sets no initialMomentum", async () => {
      const { optimizer } = await recordRun({
        kind: 'iter', optimizer: OPTIMIZERS.named, maxIters: 4,
        hooks: { momentumConfig: { policy: 'OneCycle', baseMomentum: { a: 0.8, b: 0.7 }, maxMomentum: [0.9] } },
      });
      const { a, b } = optimizer as Record<string, { paramGroups: Array<Record<string, unknown>> }>;
      expect(a!.paramGroups[0]).to.include({ baseMomentum: 0.8, maxMomentum: 0.9 });
      expect(b!.paramGroups[0]).to.include({ baseMomentum: 0.7, maxMomentum: 0.9 });
      expect(a!.paramGroups[0]).to.not.have.property('initialMomentum');
    });

    it('defaults warmupRatio to 0.9 (LR updaters: 0.1)', () => {
      expect(new StepMomentumUpdaterHook({ step: 2, warmup: 'constant', warmupIters: 2 }).warmupRatio).to.equal(0.9);
    });

    it('needs an optimizer with momentum or betas', async () => {
      for (const [policy, hook, options] of [['step', 'StepMomentumUpdaterHook', { step: 2 }], ['OneCycle', 'OneCycleMomentumUpdaterHook', {}]] as const) {
        const error = await rejection(recordRun({ kind: 'iter', optimizer: { type: 'Adagrad', lr: 0.1 }, hooks: { momentumConfig: { policy, ...options } } }));
        expect(error.message).to.equal(`hook ${hook} failed in beforeRun: ${hook}: optimizer Adagrad has no momentum or betas to schedule`);
      }
    });
  });

  describe('registerTrainingHooks', () => {
    it("builds OneCycleMomentumUpdaterHook at HIGH from { policy: 'OneCycle' }, after the LR updater", () => {
      const { runner, optimizer } = tinyRunner();
      runner.registerTrainingHooks({ lrConfig: { policy: 'OneCycle', maxLr: 0.1 }, momentumConfig: { policy: 'OneCycle' } });
      expect(runner.hooks.map((h) => h.constructor.name)).to.deep.equal(['OneCycleLrUpdaterHook', 'OneCycleMomentumUpdaterHook', 'IterTimerHook']);
      expect(runner.hooks[1]!.priority).to.equal(Priority.HIGH);
      optimizer.dispose();
    });

    it('defaults byEpoch to false in IterBasedRunner', () => {
      const { runner, optimizer } = tinyRunner({ kind: 'iter' });
      runner.registerTrainingHooks({ momentumConfig: { policy: 'CosineAnnealing', minMomentum: 0.5 } });
      expect((runner.hooks[0] as CosineAnnealingMomentumUpdaterHook).byEpoch).to.equal(false);
      optimizer.dispose();
    });

    it('lists the known momentum policies for an unknown one', () => {
      expect(knownPoliciesFor('momentumConfig', 'exp')).to.deep.equal(['CosineAnnealing', 'Cyclic', 'LinearAnnealing', 'OneCycle', 'Step']);
      expect(HOOKS.has('MomentumUpdaterHook')).to.equal(false);
    });
  });

  describe('validation', () => {
    const cases: Array<[string, () => unknown, string]> = [
      ['missing step', () => new StepMomentumUpdaterHook({} as never), 'StepMomentumUpdaterHook.step: is required; must be a positive integer or a non-empty increasing list of positive integers'],
      ['unknown warmup', () => new StepMomentumUpdaterHook({ step: 2, warmup: 'cos' as never }), "StepMomentumUpdaterHook.warmup: must be one of 'constant', 'linear', 'exp'; got 'cos'"],
      ['warmup without iterations', () => new StepMomentumUpdaterHook({ step: 2, warmup: 'exp' }), 'StepMomentumUpdaterHook.warmupIters: must be a positive integer when warmup is set; got 0'],
      ['warmupByEpoch is LR only', () => new StepMomentumUpdaterHook({ step: 2, warmupByEpoch: true } as never), "StepMomentumUpdaterHook: unknown option 'warmupByEpoch' (did you mean 'byEpoch'?); allowed options: byEpoch, warmup, warmupIters, warmupRatio, step, gamma, minMomentum"],
      ['cosine with both targets', () => new CosineAnnealingMomentumUpdaterHook({ minMomentum: 0.5, minMomentumRatio: 0.5 }), 'CosineAnnealingMomentumUpdaterHook.minMomentum: exactly one of minMomentum and minMomentumRatio must be set; got both'],
      ['linear annealing with no target', () => HOOKS.build({ type: 'LinearAnnealingMomentumUpdaterHook' }), 'LinearAnnealingMomentumUpdaterHook.minMomentum: exactly one of minMomentum and minMomentumRatio must be set; got neither'],
      ['cyclic by epoch', () => new CyclicMomentumUpdaterHook({ byEpoch: true as never }), 'CyclicMomentumUpdaterHook.byEpoch: must be false (this schedule changes every iteration); got true'],
      ['cyclic gamma above 1', () => new CyclicMomentumUpdaterHook({ gamma: 1.5 }), 'CyclicMomentumUpdaterHook.gamma: must be a number in (0, 1]; got 1.5'],
      ['one cycle base momentum type', () => new OneCycleMomentumUpdaterHook({ baseMomentum: 'low' as never }), "OneCycleMomentumUpdaterHook.baseMomentum: must be a number >= 0, a list of them (one per param group) or a map of optimizer name to either; got 'low'"],
      ['one cycle by epoch', () => new OneCycleMomentumUpdaterHook({ byEpoch: true as never }), 'OneCycleMomentumUpdaterHook.byEpoch: must be false (this schedule changes every iteration); got true'],
      ['one cycle pctStart', () => new OneCycleMomentumUpdaterHook({ pctStart: 1.5 }), 'OneCycleMomentumUpdaterHook.pctStart: must be a number in [0, 1]; got 1.5'],
    ];
    for (const [title, build, message] of cases) {
      it(title, () => {
        const error = thrown(build);
        expect(error).to.be.instanceOf(ConfigError);
        expect(error.message).to.equal(message);
      });
    }

    it('OneCycle: maxMomentum per group must match the groups', async () => {
      const error = await rejection(recordRun({ kind: 'iter', optimizer: OPTIMIZERS.single, hooks: { momentumConfig: { policy: 'OneCycle', maxMomentum: [0.9, 0.95] } } }));
      expect(error.message).to.equal('hook OneCycleMomentumUpdaterHook failed in beforeRun: OneCycleMomentumUpdaterHook.maxMomentum: expected 1 value (one per param group of SGD); got 2');
    });

    it('byEpoch: true in IterBasedRunner fails before training', async () => {
      const error = await rejection(recordRun({ kind: 'iter', optimizer: OPTIMIZERS.single, hooks: { momentumConfig: { policy: 'step', step: 2, byEpoch: true } } }));
      expect(error.message).to.equal(
        'hook StepMomentumUpdaterHook failed in beforeRun: StepMomentumUpdaterHook.byEpoch: is true, but IterBasedRunner never starts an epoch, so the schedule would never change; use byEpoch: false',
      );
    });
  });
});
