import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { RegisterHook } from '../../src/core/hooks-registry.js';
import { tempDir, tinyRunner } from '../helpers/tiny.js';

@RegisterHook()
class RegisterOrderCustomHook extends Hook {
  constructor(readonly options: { label?: string } = {}) { super(); }
  override afterTrainIter(): void {}
}

describe('registerTrainingHooks', () => {
  it("runs custom hooks at priorities 1, 'NORMAL' and 89 where MMCV asserts", () => {
    const { dir, cleanup } = tempDir();
    try {
      const { runner } = tinyRunner({ workDir: dir });
      const lrConfig = { policy: 'step', step: [1] };
      runner.registerTrainingHooks({
        lrConfig,
        momentumConfig: { policy: 'step', step: [1] },
        optimizerConfig: {},
        checkpointConfig: { interval: 1 },
        logConfig: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] },
        customHooksConfig: [
          { type: 'RegisterOrderCustomHook', priority: 1, label: 'custom 1' },
          { type: 'RegisterOrderCustomHook', priority: 'NORMAL', label: 'custom normal' },
          { type: 'RegisterOrderCustomHook', priority: 89, label: 'custom 89' },
        ],
      });
      const names = runner.hooks.map((h) => (h instanceof RegisterOrderCustomHook ? h.options.label : h.constructor.name));
      expect(names).to.deep.equal([
        'custom 1', 'StepLrUpdaterHook', 'StepMomentumUpdaterHook', 'OptimizerHook', 'CheckpointHook',
        'custom normal', 'IterTimerHook', 'custom 89', 'TextLoggerHook',
      ]);
      // The config given is not mutated (MMCV pops 'policy').
      expect(lrConfig).to.deep.equal({ policy: 'step', step: [1] });
      expect(runner.hooks.map((h) => h.hookId)).to.deep.equal([
        'RegisterOrderCustomHook', 'StepLrUpdaterHook', 'StepMomentumUpdaterHook', 'OptimizerHook', 'CheckpointHook',
        'RegisterOrderCustomHook#2', 'IterTimerHook', 'RegisterOrderCustomHook#3', 'TextLoggerHook',
      ]);
    } finally {
      cleanup();
    }
  });

  it("prints the plan in MMCV's get_hook_info layout", () => {
    const { dir, cleanup } = tempDir();
    try {
      const { runner } = tinyRunner({ workDir: dir });
      runner.registerTrainingHooks({
        lrConfig: { policy: 'step', step: [1] }, optimizerConfig: {}, checkpointConfig: { interval: 1 },
        logConfig: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] },
      });
      const line = (p: string, name: string) => `(${p.padEnd(12)}) ${name.padEnd(35)}`;
      const block = (stage: string, ...lines: string[]) => [`${stage}:`, ...lines, ' -------------------- '].join('\n');
      expect(runner.hookInfo()).to.equal([
        block('beforeRun', line('VERY_HIGH', 'StepLrUpdaterHook'), line('NORMAL', 'CheckpointHook'), line('VERY_LOW', 'TextLoggerHook')),
        block('beforeTrainEpoch', line('VERY_HIGH', 'StepLrUpdaterHook'), line('LOW', 'IterTimerHook'), line('VERY_LOW', 'TextLoggerHook')),
        block('beforeTrainIter', line('VERY_HIGH', 'StepLrUpdaterHook'), line('LOW', 'IterTimerHook')),
        block('afterTrainIter', line('ABOVE_NORMAL', 'OptimizerHook'), line('NORMAL', 'CheckpointHook'), line('LOW', 'IterTimerHook'), line('VERY_LOW', 'TextLoggerHook')),
        block('afterTrainEpoch', line('NORMAL', 'CheckpointHook'), line('VERY_LOW', 'TextLoggerHook')),
        block('beforeValEpoch', line('LOW', 'IterTimerHook'), line('VERY_LOW', 'TextLoggerHook')),
        block('beforeValIter', line('LOW', 'IterTimerHook')),
        block('afterValIter', line('LOW', 'IterTimerHook')),
        block('afterValEpoch', line('VERY_LOW', 'TextLoggerHook')),
        block('afterRun', line('VERY_LOW', 'TextLoggerHook')),
        block('onException', line('VERY_LOW', 'TextLoggerHook')),
      ].join('\n'));
    } finally {
      cleanup();
    }
  });

  it('defaults byEpoch to false on an IterBasedRunner and rejects unknown policies with the known ones', () => {
    const { runner } = tinyRunner({ kind: 'iter' });
    runner.registerTrainingHooks({ lrConfig: { policy: 'CosineAnnealing', minLr: 0 }, logConfig: { hooks: [{ type: 'TextLoggerHook' }] } });
    const byEpoch = runner.hooks.map((h) => [h.constructor.name, (h as unknown as { byEpoch?: boolean }).byEpoch]);
    expect(byEpoch).to.deep.equal([['CosineAnnealingLrUpdaterHook', false], ['IterTimerHook', undefined], ['TextLoggerHook', false]]);
    const { runner: other } = tinyRunner();
    expect(() => other.registerTrainingHooks({ lrConfig: { policy: 'sawtooth' } })).to.throw(
      "lrConfig.policy: 'sawtooth' is not a known policy; known policies: Fixed, Step, Exp, Poly, Inv, CosineAnnealing, FlatCosineAnnealing, CosineRestart, Cyclic, OneCycle, LinearAnnealing");
  });
});
