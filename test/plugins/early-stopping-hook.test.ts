import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { TOKENS } from '../../src/core/di.js';
import { ConfigError } from '../../src/core/errors.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import '../../src/hooks/checkpoint-hook.js';
import { EarlyStoppingHook } from '../../plugins/early-stopping-hook.js';
import '../../plugins/eval/eval-hook.js';
import { tempDir, tinyRunner, type TinyOptions } from '../helpers/tiny.js';

/** A metric reporting the given values of `key`, one per evaluation. */
function scripted(key: string, values: number[]) {
  let call = 0;
  return () => ({ [key]: values[call++]! });
}

/**
 * A tiny run (3 iterations an epoch): optimizer, text logger, EvalHook (LOW) reporting
 * `scores`, EarlyStoppingHook (LOWEST by default), optionally a CheckpointHook every epoch.
 */
function setup(esCfg: Record<string, unknown>, scores: number[], options: TinyOptions & { evalCfg?: Record<string, unknown>; checkpoints?: boolean } = {}) {
  const { evalCfg = {}, checkpoints = false, ...tiny } = options;
  const t = tinyRunner({ maxEpochs: 10, ...tiny });
  t.runner.container.bind(TOKENS.ValDataLoader).toConstantValue(t.val);
  const events: StageEvent[] = [];
  t.runner.events$.subscribe((e) => events.push(e));
  t.runner.registerTrainingHooks({
    optimizerConfig: {},
    checkpointConfig: checkpoints ? { interval: 1 } : null,
    logConfig: { interval: 3, hooks: [{ type: 'TextLoggerHook' }] },
    customHooksConfig: [
      { type: 'EvalHook', priority: 'LOW', metrics: [scripted(String(esCfg.monitor ?? 'loss'), scores)], ...evalCfg },
      { type: 'EarlyStoppingHook', priority: 'LOWEST', ...esCfg },
    ],
  });
  const hook = t.runner.hooks.find((h) => h instanceof EarlyStoppingHook) as EarlyStoppingHook;
  const run = () => t.runner.run([t.train], [['train', 1]]);
  const trainedEpochs = () => events.filter((e) => e.stage === 'afterTrainEpoch').map((e) => e.epoch + 1);
  const end = () => events.find((e) => e.stage === 'afterRun')!.payload;
  return { ...t, hook, events, run, trainedEpochs, end };
}

async function failure(run: Promise<void>): Promise<Error> {
  try { await run; } catch (e) { return e as Error; }
  throw new Error('expected the run to fail');
}

describe('EarlyStoppingHook', () => {
  it('has defaults, infers the rule from monitor, and validates options', () => {
    const hook = new EarlyStoppingHook();
    expect([hook.monitor, hook.rule, hook.patience, hook.minDelta, hook.checkFinite]).to.deep.equal(['loss', 'less', 5, 0, true]);
    expect(new EarlyStoppingHook({ monitor: 'accuracy' }).rule).to.equal('greater');
    expect(new EarlyStoppingHook({ monitor: 'recall', rule: 'greater' }).rule).to.equal('greater');
    expect(HOOKS.get('EarlyStoppingHook')).to.equal(EarlyStoppingHook);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ monitor: 'recall' }, "EarlyStoppingHook.monitor: cannot infer whether a greater or a less 'recall' is better; set rule to 'greater' or 'less'"],
      [{ patience: 0 }, 'EarlyStoppingHook.patience: must be a positive integer; got 0'],
      [{ minDelta: -0.1 }, 'EarlyStoppingHook.minDelta: must be a number >= 0; got -0.1'],
      [{ rule: 'up' }, `EarlyStoppingHook.rule: must be 'greater', 'less' or null; got "up"`],
      [{ checkFinite: 'no' }, 'EarlyStoppingHook.checkFinite: must be a boolean; got "no"'],
      [{ monitor: '' }, 'EarlyStoppingHook.monitor: must be a metric key; got ""'],
    ];
    for (const [options, message] of bad) expect(() => new EarlyStoppingHook(options as never), message).to.throw(ConfigError, message);
  });

  it('runs after EvalHook and the loggers at LOWEST', () => {
    const { runner } = setup({}, []);
    const line = (p: string, name: string) => `(${p.padEnd(12)}) ${name.padEnd(35)}`;
    expect(runner.hookInfo()).to.include(['afterTrainEpoch:', line('LOW', 'EvalHook'), line('VERY_LOW', 'TextLoggerHook'), line('LOWEST', 'EarlyStoppingHook'), ' -------------------- '].join('\n'));
  });

  it('stops cleanly after patience evaluations without improvement: the epoch closes, afterRun runs, later epochs do not', async () => {
    const { run, trainedEpochs, end, runner, logger, hook } = setup({ patience: 2 }, [1.0, 0.8, 0.85, 0.8, 0.7]);
    await run();
    expect(trainedEpochs()).to.deep.equal([1, 2, 3, 4]);
    expect([runner.epoch, runner.iter]).to.deep.equal([4, 12]);
    const reason = 'loss did not improve by more than 0 for 2 evaluations (best: 0.8000)';
    expect(end()).to.deep.equal({ stopReason: reason, stopSource: 'EarlyStoppingHook' });
    expect(logger.text()).to.include(`Stopping: ${reason} (requested by EarlyStoppingHook)`);
    expect(hook.stateDict()).to.deep.equal({ bestScore: 0.8, waitCount: 2, stopReason: reason, lastProgress: 12 });
  });

  it('counts an improvement only beyond minDelta, for a greater-is-better metric too', async () => {
    const less = setup({ patience: 2, minDelta: 0.1 }, [1.0, 0.95, 0.9, 0.5]);
    await less.run();
    expect(less.trainedEpochs()).to.deep.equal([1, 2, 3]);
    const greater = setup({ monitor: 'accuracy', patience: 2, minDelta: 0.05 }, [0.5, 0.6, 0.62, 0.64, 0.7]);
    await greater.run();
    expect(greater.trainedEpochs()).to.deep.equal([1, 2, 3, 4]);
    expect(greater.end()!.stopReason).to.equal('accuracy did not improve by more than 0.05 for 2 evaluations (best: 0.6000)');
  });

  it('stops at once on a non-finite value with checkFinite, and counts it as no improvement without', async () => {
    const finite = setup({}, [0.5, Number.NaN, 0.4]);
    await finite.run();
    expect(finite.trainedEpochs()).to.deep.equal([1, 2]);
    expect(finite.end()!.stopReason).to.equal('loss is NaN, not finite (best so far: 0.5000)');
    const lax = setup({ checkFinite: false, patience: 2 }, [0.5, Number.NaN, Infinity, 0.1]);
    await lax.run();
    expect(lax.trainedEpochs()).to.deep.equal([1, 2, 3]);
  });

  it('follows evaluations by iteration', async () => {
    const { run, events, runner } = setup({ patience: 1 }, [0.9, 0.8, 0.85], { evalCfg: { byEpoch: false, interval: 2 } });
    await run();
    // Evaluations after iterations 2, 4, 6; the stop ends the epoch in progress.
    expect(runner.iter).to.equal(6);
    expect(events.filter((e) => e.stage === 'afterTrainEpoch').map((e) => e.epoch + 1)).to.deep.equal([1, 2]);
    expect(events.at(-1)!.payload!.stopReason).to.equal('loss did not improve by more than 0 for 1 evaluation (best: 0.8000)');
  });

  it('names the monitored key and the keys it saw when the key is missing', async () => {
    const { runner, train } = setup({ monitor: 'accuracy' }, [], { evalCfg: { metrics: ['loss'] } });
    const error = await failure(runner.run([train], [['train', 1]]));
    expect(error.message).to.equal("hook EarlyStoppingHook failed in afterTrainEpoch: EarlyStoppingHook: the monitored key 'accuracy' is not among the evaluation metrics (loss)");
  });

  it('refuses to run before EvalHook, and warns when no evaluation ever came', async () => {
    const early = tinyRunner();
    early.runner.registerHookFromConfig({ type: 'EarlyStoppingHook' });
    early.runner.registerHookFromConfig({ type: 'EvalHook', dataloader: early.val, priority: 'LOW' });
    const error = await failure(early.runner.run([early.train], [['train', 1]]));
    expect(error.message).to.equal("hook EarlyStoppingHook failed in beforeRun: EarlyStoppingHook runs before EvalHook, so it cannot see its metrics; give it a lower priority than EvalHook (e.g. 'LOWEST')");

    const alone = tinyRunner();
    alone.runner.registerHookFromConfig({ type: 'EarlyStoppingHook', monitor: 'accuracy' });
    await alone.runner.run([alone.train], [['train', 1]]);
    expect(alone.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([
      "EarlyStoppingHook: no evaluation metrics were seen during the run, so 'accuracy' was never checked (is an EvalHook registered?)",
    ]);
  });

  it('keeps its best value and wait count across resume, and a resumed run that had stopped stops at once', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const first = setup({ patience: 2 }, [1.0, 0.8, 0.9], { maxEpochs: 3, workDir: dir, checkpoints: true, evalCfg: { start: 1 } });
      await first.run();
      const saved = JSON.parse(fs.readFileSync(path.join(dir, 'epoch_3', 'meta.json'), 'utf8')).meta.hookStates.EarlyStoppingHook;
      expect(saved).to.deep.equal({ bestScore: 0.8, waitCount: 1, stopReason: null, lastProgress: 9 });

      // The resumed EvalHook evaluates before training (start: 1) on the weights already judged
      // at iteration 9: that 0.7 is not counted. Then 0.95 is the second evaluation without improvement.
      const second = setup({ patience: 2 }, [0.7, 0.95], { workDir: dir, checkpoints: true, evalCfg: { start: 1 } });
      await second.runner.resume(path.join(dir, 'epoch_3'));
      await second.run();
      expect(second.events.filter((e) => e.payload?.metrics).map((e) => e.stage)).to.deep.equal(['beforeTrainEpoch', 'afterTrainEpoch']);
      expect(second.trainedEpochs()).to.deep.equal([4]);
      const reason = 'loss did not improve by more than 0 for 2 evaluations (best: 0.8000)';
      expect(second.end()!.stopReason).to.equal(reason);

      const third = setup({ patience: 2 }, [], { workDir: dir, checkpoints: true });
      await third.runner.resume(path.join(dir, 'latest'));
      await third.run();
      expect(third.events.map((e) => e.stage)).to.deep.equal(['beforeRun', 'afterRun']);
      expect(third.end()).to.deep.equal({ stopReason: `stopped earlier: ${reason}`, stopSource: 'EarlyStoppingHook' });
      expect(third.runner.epoch).to.equal(4);
    } finally {
      cleanup();
    }
  });

  it('validates a loaded state', () => {
    const hook = new EarlyStoppingHook({ monitor: 'accuracy' });
    hook.loadStateDict({ bestScore: null, waitCount: 3, stopReason: null, lastProgress: null });
    expect([hook.bestScore, hook.waitCount]).to.deep.equal([-Infinity, 3]);
    expect(() => hook.loadStateDict({ bestScore: 1, waitCount: -1, stopReason: null, lastProgress: null })).to.throw(
      'EarlyStoppingHook: invalid state {"bestScore":1,"waitCount":-1,"stopReason":null,"lastProgress":null}; expected { bestScore, waitCount, stopReason, lastProgress }');
  });
});
