import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { HookUnsettledError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import { CheckpointHook } from '../../src/hooks/checkpoint-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { buildToyRunner, type ToyRun } from '../../src/testing/index.js';
import { rejection } from '../helpers/errors.js';
import { tempDir } from '../helpers/tiny.js';

/** Interrupts the run (as a SIGTERM would) after training iteration `at` (0-based), from inside the stage. */
class InterruptAt extends Hook<BaseRunner> {
  constructor(private readonly at: number) { super(); }
  override afterTrainIter(runner: BaseRunner): void {
    if (runner.iter === this.at) runner.interrupt('SIGTERM received', 'SIGTERM');
  }
}

function record(toy: ToyRun): StageEvent[] {
  const events: StageEvent[] = [];
  toy.runner.events$.subscribe((e) => events.push(e));
  return events;
}

const history = (events: StageEvent[]) => events.filter((e) => e.stage === 'afterTrainIter')
  .map(({ epoch, iter, innerIter, payload }) => ({ epoch, iter, innerIter, logVars: payload?.logVars, lr: payload?.lr }));

const weights = (toy: ToyRun) => [...toy.model.namedWeights()].map(([k, v]) => [k, Array.from(v.dataSync())]);

describe('runner.interrupt (what SIGINT/SIGTERM do)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  for (const kind of ['epoch', 'iter'] as const) {
    it(`${kind}-based: ends after the iteration without closing the epoch, saves iter_N with the reason, and resumes exactly`, async () => {
      const limits = kind === 'epoch' ? { maxEpochs: 3 } : { maxIters: 9 };
      const toy = (workDir: string) => buildToyRunner({ kind, workDir, workflow: [['train', 1]], ...limits });
      const full = toy(path.join(dir, 'full'));
      full.runner.registerHook(new CheckpointHook({ interval: 1 }));
      const fullEvents = record(full);
      await full.run();

      const work = path.join(dir, 'work');
      const first = toy(work);
      first.runner.registerHook(new CheckpointHook({ interval: 1 }));
      first.runner.registerHook(new InterruptAt(4), 'LOW');
      const firstEvents = record(first);
      await first.run();
      // Iteration 4 (the second of epoch 2) finished; then straight to afterRun, with the reason.
      expect(firstEvents.slice(-3).map((e) => e.stage)).to.deep.equal(['beforeTrainIter', 'afterTrainIter', 'afterRun']);
      expect(firstEvents.at(-1)!.payload).to.deep.equal({ stopReason: 'SIGTERM received', stopSource: 'SIGTERM' });
      const meta = JSON.parse(fs.readFileSync(path.join(work, 'iter_5', 'meta.json'), 'utf8')).meta;
      expect(meta.stop).to.deep.equal({ reason: 'SIGTERM received', source: 'SIGTERM' });
      expect(fs.realpathSync(path.join(work, 'latest'))).to.equal(path.join(work, 'iter_5'));
      expect(first.logger.lines).to.deep.include({ level: 'info', message: 'Saving checkpoint at 5 iterations (SIGTERM received)' });

      const second = toy(work);
      second.runner.registerHook(new CheckpointHook({ interval: 1 }));
      await second.runner.resume(path.join(work, 'latest'));
      const secondEvents = record(second);
      await second.run();
      expect(second.runner.meta).to.not.have.property('stop');
      expect([...history(firstEvents), ...history(secondEvents)]).to.deep.equal(history(fullEvents));
      expect(weights(second)).to.deep.equal(weights(full));
    });
  }

  it('an interrupt on the last iteration of an epoch saves iter_N too, and the resumed run closes that epoch', async () => {
    const toy = () => buildToyRunner({ workDir: dir, workflow: [['train', 1]], maxEpochs: 2 });
    const first = toy();
    first.runner.registerHook(new CheckpointHook({ interval: 1 }));
    first.runner.registerHook(new InterruptAt(2), 'LOW');
    await first.run();
    expect(fs.readdirSync(dir).filter((f) => /^(epoch|iter)_/.test(f))).to.deep.equal(['iter_3']);
    const second = toy();
    second.runner.registerHook(new CheckpointHook({ interval: 1 }));
    await second.runner.resume(path.join(dir, 'latest'));
    const events = record(second);
    await second.run();
    expect(events.slice(0, 3).map((e) => [e.stage, e.epoch, e.iter])).to.deep.equal([['beforeRun', 0, 3], ['beforeTrainEpoch', 0, 3], ['afterTrainEpoch', 0, 3]]);
    expect(fs.readdirSync(dir).filter((f) => /^(epoch|iter)_/.test(f)).sort()).to.deep.equal(['epoch_1', 'epoch_2', 'iter_3']);
  });

  it('without a CheckpointHook it says that nothing was saved', async () => {
    const toy = buildToyRunner({ workDir: dir, workflow: [['train', 1]], maxEpochs: 2 });
    toy.runner.registerHook(new InterruptAt(1), 'LOW');
    await toy.run();
    expect(toy.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([
      'Stopping: SIGTERM received; the current iteration finishes, then a checkpoint is saved',
      'Stopping without a checkpoint: no CheckpointHook is registered (checkpointConfig is null)',
    ]);
  });

  it("stallTimeout fails a hook whose promise stays pending, naming it and the stage; a hook's timeout wins", async () => {
    class Hangs extends Hook<BaseRunner> {
      override afterTrainIter(): Promise<void> { return new Promise((resolve) => setTimeout(resolve, 60000).unref()); }
    }
    let toy = buildToyRunner({ workDir: false, workflow: [['train', 1]], maxEpochs: 1, stallTimeout: 0.05 });
    toy.runner.registerHook(new Hangs());
    let error = await rejection(toy.run());
    expect(error).to.be.instanceOf(HookUnsettledError);
    expect(error.message).to.equal("hook Hangs did not settle in afterTrainIter within 0.05 s (the run's stallTimeout)");

    toy = buildToyRunner({ workDir: false, workflow: [['train', 1]], maxEpochs: 1, stallTimeout: 100 });
    const timed = toy.runner.registerHookFromConfig({ type: 'IterTimerHook', timeout: 0.05 });
    const hangs = new Hangs();
    hangs.timeout = 0.05;
    toy.runner.registerHook(hangs);
    error = await rejection(toy.run());
    expect(error.message).to.equal('hook Hangs did not settle in afterTrainIter within 0.05 s (its timeout)');
    expect(timed.timeout).to.equal(0.05);
    expect(() => toy.runner.registerHookFromConfig({ type: 'IterTimerHook', timeout: 0 })).to.throw('IterTimerHook.timeout: must be a positive number of seconds; got 0');
  });
});
