import path from 'node:path';
import { expect } from 'chai';
import { Dispatcher } from '../../src/core/dispatcher.js';
import { Hook } from '../../src/core/hook.js';
import { JOURNAL_FILE } from '../../src/core/journal/journal-format.js';
import { attachJournal } from '../../src/core/journal/journal-writer.js';
import { readJournal } from '../../src/core/journal/journal-reader.js';
import { On } from '../../src/core/on.js';
import { EVENT_STAGES, type EventStage } from '../../src/core/stages.js';
import { stageEvent } from '../../src/testing/stage-events.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { EPOCH_RUNNER_STAGES } from '../../src/runner/epoch-based-runner.js';
import { ITER_RUNNER_STAGES } from '../../src/runner/iter-based-runner.js';
import { hookPlan } from '../plugins/hook-plan.js';
import { tempDir, tinyRunner } from '../helpers/tiny.js';

/** Subscribes to every stage and aggregate, the MMCV way and with @On. */
class Everywhere extends Hook<BaseRunner> {
  override beforeRun(): void {}
  override beforeEpoch(): void {}
  override afterEpoch(): void {}
  override beforeIter(): void {}
  override afterIter(): void {}
  override afterRun(): void {}
  override onException(): void {}
  @On('afterTrainEpoch') epochEnd(): void {}
}

/** The distinct stages of a real run's journal, in first-seen order, with a hook at every stage. */
async function journaledStages(kind: 'epoch' | 'iter', fail: boolean): Promise<EventStage[]> {
  const { dir, cleanup } = tempDir();
  try {
    const toy = tinyRunner(kind === 'epoch' ? { kind, maxEpochs: 2, workDir: dir } : { kind, maxIters: 4, workDir: dir });
    toy.runner.registerHook(new Everywhere());
    if (fail) toy.runner.on('afterRun', () => { throw new Error('late failure'); });
    attachJournal(toy.runner);
    const workflow = kind === 'epoch' ? toy.workflow : [['train', 2], ['val', 1]] as typeof toy.workflow;
    await toy.runner.run(toy.dataLoaders, workflow).catch((error: Error) => { if (!fail) throw error; });
    return [...new Set(readJournal(path.join(dir, JOURNAL_FILE)).records.map((r) => r.event.stage))];
  } finally {
    cleanup();
  }
}

describe('the stages each runner fires', () => {
  for (const [kind, declared] of [['epoch', EPOCH_RUNNER_STAGES], ['iter', ITER_RUNNER_STAGES]] as const) {
    it(`${kind === 'epoch' ? 'EpochBasedRunner' : 'IterBasedRunner'} declares exactly the stages its real runs journal, in their order`, async () => {
      const ok = await journaledStages(kind, false);
      const failing = await journaledStages(kind, true);
      expect([...ok, 'onException']).to.deep.equal([...declared]);
      // The failing afterRun did not end, so it is not journaled; the exception stage is.
      expect(failing).to.deep.equal(declared.filter((stage) => stage !== 'afterRun'));
      expect(tinyRunner({ kind }).runner.firedStages).to.equal(declared);
    });
  }

  it('an IterBasedRunner plan lists the aggregate calls it makes and no epoch stage', () => {
    const { runner } = tinyRunner({ kind: 'iter', maxIters: 4 });
    runner.registerTrainingHooks({ optimizerConfig: {}, checkpointConfig: { interval: 2 } });
    runner.registerHook(new Everywhere());
    const plan = hookPlan(runner.hookInfo());
    expect(Object.keys(plan)).to.deep.equal(['beforeRun', 'beforeEpoch', 'beforeTrainIter', 'afterTrainIter', 'beforeValIter', 'afterValIter', 'afterEpoch', 'afterRun', 'onException']);
    expect(plan.afterEpoch).to.deep.equal(['(NORMAL) Everywhere']);
    expect(plan.afterTrainIter).to.deep.equal(['(ABOVE_NORMAL) OptimizerHook', '(NORMAL) CheckpointHook', '(NORMAL) Everywhere', '(LOW) IterTimerHook']);
    expect(runner.hookInfo()).to.not.include('afterTrainEpoch');
  });

  it('an EpochBasedRunner plan lists the ten stages and no aggregate call', () => {
    const { runner } = tinyRunner();
    runner.registerHook(new Everywhere());
    const plan = hookPlan(runner.hookInfo());
    expect(Object.keys(plan)).to.deep.equal([...EPOCH_RUNNER_STAGES]);
    // Overridden afterEpoch and @On epochEnd share one line.
    expect(plan.afterTrainEpoch).to.deep.equal(['(NORMAL) Everywhere']);
    expect(runner.hookInfo(true)).to.include(`afterTrainEpoch:\n(NORMAL      ) ${'Everywhere'.padEnd(35)}\n`);
  });

  it('a dispatcher refuses a stage its runner does not declare', () => {
    const dispatcher = new Dispatcher(ITER_RUNNER_STAGES);
    const runner = { epoch: 0, iter: 0, innerIter: 0, mode: 'train' as const };
    expect(dispatcher.dispatch(stageEvent('afterEpoch'), runner)).to.equal(undefined);
    expect(() => dispatcher.dispatch(stageEvent('afterTrainEpoch'), runner)).to.throw(
      `the runner fired afterTrainEpoch, a stage it does not declare (it fires ${ITER_RUNNER_STAGES.join(', ')})`,
    );
    expect(new Dispatcher().stages).to.equal(EVENT_STAGES);
  });
});
