import { expect } from 'chai';
import { lastValueFrom, takeWhile, toArray } from 'rxjs';
import { HookError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { MLPClassifier } from '../../src/training/model/models.js';
import { Adam } from '../../src/training/optim/adam.js';
import { buildOptimizers } from '../../src/training/optim/build-optimizer.js';
import { tinyRunner } from '../helpers/tiny.js';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try { await promise; } catch (e) { return e as Error; }
  throw new Error('expected a rejection');
}

describe('runner behaviour', () => {
  it('awaits an async hook before the next hook and the next stage', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1, numSamples: 8, batchSize: 4 });
    const log: string[] = [];
    class Slow extends Hook {
      override async afterTrainIter(r: BaseRunner): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 15));
        log.push(`slow ${r.iter}`);
      }
    }
    class Fast extends Hook {
      override afterTrainIter(r: BaseRunner): void { log.push(`fast ${r.iter}`); }
      override beforeTrainIter(r: BaseRunner): void { log.push(`before ${r.iter}`); }
    }
    runner.registerHook(new Slow(), 'HIGH');
    runner.registerHook(new Fast(), 'LOW');
    await runner.run([train], [['train', 1]]);
    expect(log).to.deep.equal(['before 0', 'slow 0', 'fast 0', 'before 1', 'slow 1', 'fast 1']);
  });

  it('stops the run with an error naming the hook and the stage, and publishes nothing after it but the exception stage', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 2, numSamples: 8, batchSize: 4 });
    class Broken extends Hook {
      override afterTrainIter(r: BaseRunner): void { if (r.iter === 1) throw new Error('disk full'); }
    }
    runner.registerHook(new Broken());
    const seen: StageEvent[] = [];
    runner.events$.subscribe((e) => seen.push(e));
    const error = await rejection(runner.run([train], [['train', 1]]));
    expect(error).to.be.instanceOf(HookError);
    expect(error.message).to.equal('hook Broken failed in afterTrainIter: disk full');
    expect((error.cause as Error).message).to.equal('disk full');
    expect(seen.map((e) => e.stage)).to.deep.equal(['beforeRun', 'beforeTrainEpoch', 'beforeTrainIter', 'afterTrainIter', 'beforeTrainIter', 'onException']);
    expect(seen.at(-1)).to.deep.include({ seq: 6, mode: 'train', epoch: 0, iter: 1, innerIter: 1 });
    expect(seen.at(-1)!.payload).to.deep.equal({
      error: 'hook Broken failed in afterTrainIter: disk full', errorType: 'HookError', failedStage: 'afterTrainIter', failedHook: 'Broken',
    });
  });

  it('names the hook for async failures too', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1 });
    class Rejects extends Hook { override async beforeRun(): Promise<void> { throw new TypeError('no network'); } }
    runner.registerHookFromConfig({ type: Rejects, name: 'uploader' });
    expect((await rejection(runner.run([train], [['train', 1]]))).message).to.equal('hook uploader failed in beforeRun: no network');
  });

  it('ends cleanly on requestStop: the epoch closes, later epochs do not run, afterRun records why', async () => {
    const { runner, train, val } = tinyRunner({ maxEpochs: 5, numSamples: 12, batchSize: 4 });
    class StopAfterTwo extends Hook {
      override afterTrainIter(r: BaseRunner): void { if (r.iter === 4) r.requestStop('enough', 'StopAfterTwo'); }
    }
    runner.registerHook(new StopAfterTwo());
    const events = lastValueFrom(runner.events$.pipe(takeWhile((e) => e.stage !== 'afterRun', true), toArray()));
    await runner.run([train, val], [['train', 1], ['val', 1]]);
    const list = await events;
    const stages = list.map((e) => e.stage);
    expect(stages.filter((s) => s === 'afterTrainIter')).to.have.length(5);
    expect(stages.slice(-3)).to.deep.equal(['afterTrainIter', 'afterTrainEpoch', 'afterRun']);
    expect(list.at(-1)!.payload).to.deep.equal({ stopReason: 'enough', stopSource: 'StopAfterTwo' });
    expect([runner.epoch, runner.iter]).to.deep.equal([2, 5]);
  });

  it('carries log vars, sample count, lr and momentum in after-iteration payloads', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1, numSamples: 8, batchSize: 4 });
    const events = lastValueFrom(runner.events$.pipe(takeWhile((e) => e.stage !== 'afterRun', true), toArray()));
    await runner.run([train], [['train', 1]]);
    const after = (await events).filter((e) => e.stage === 'afterTrainIter');
    expect(after[0]!.payload).to.have.keys(['logVars', 'numSamples', 'lr', 'momentum']);
    expect(after[0]!.payload!.numSamples).to.equal(4);
    expect(after[0]!.payload!.lr).to.equal(0.1);
    expect(Object.keys(after[0]!.payload!.logVars as object)).to.deep.equal(['loss', 'accuracy']);
  });

  it('runs deferred tasks after the whole stage, in order, with counters advanced', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1, numSamples: 4, batchSize: 4 });
    const log: string[] = [];
    class Early extends Hook {
      override afterTrainEpoch(r: BaseRunner): void {
        r.deferUntilStageEnd(async () => { log.push(`deferred epoch=${r.epoch}`); });
        log.push('early');
      }
    }
    class Late extends Hook { override afterTrainEpoch(): void { log.push('late'); } }
    runner.registerHook(new Early(), 'HIGH');
    runner.registerHook(new Late(), 'LOWEST');
    runner.events$.subscribe((e) => { if (e.stage === 'afterTrainEpoch') log.push('published'); });
    await runner.run([train], [['train', 1]]);
    expect(log).to.deep.equal(['early', 'late', 'published', 'deferred epoch=1']);
    expect(() => runner.deferUntilStageEnd(() => undefined)).to.throw('deferUntilStageEnd() can only be called while a stage is being dispatched');
    expect(() => runner.annotate({ a: 1 })).to.throw('annotate() can only be called while a stage is being dispatched');
  });

  it('reports lr and momentum per group, and per named optimizer', () => {
    const { runner, model } = tinyRunner();
    expect(runner.currentLr()).to.deep.equal([0.1]);
    expect(runner.currentMomentum()).to.deep.equal([0.9]);
    runner.optimizer = new Adam(model.params(), { lr: 0.001, betas: [0.85, 0.99] });
    expect(runner.currentMomentum()).to.deep.equal([0.85]);
    const two = MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3 });
    runner.optimizer = buildOptimizers({ body: { type: 'SGD', lr: 0.1, params: 'fc1' }, head: { type: 'Adam', lr: 0.01, params: 'logits' } }, two.params());
    expect(runner.currentLr()).to.deep.equal({ body: [0.1], head: [0.01] });
    expect(runner.currentMomentum()).to.deep.equal({ body: [0], head: [0.9] });
    expect(runner.lrForLog()).to.deep.equal({ body: 0.1, head: 0.01 });
    runner.optimizer = null;
    expect(() => runner.currentLr()).to.throw('the runner has no optimizer, so it has no lr or momentum');
  });

  it('refuses to register a hook instance twice and validates the workflow before running', async () => {
    const { runner, train, val } = tinyRunner();
    const hook = new Hook();
    runner.registerHook(hook);
    expect(() => runner.registerHook(hook)).to.throw('Hook is already registered (its priority is set); create a new instance to register it again');
    expect((await rejection(runner.run([val], [['val', 1]]))).message).to.equal("workflow: has no 'train' entry, so the run would never end (add ['train', 1])");
    expect((await rejection(runner.run([train], [['test' as 'val', 1]]))).message).to.equal("workflow[0][0]: must be one of 'train', 'val'; got \"test\"");
    expect((await rejection(runner.run([train, val], [['train', 1]]))).message).to.equal('workflow: has 1 entries but 2 data loaders were given');
    expect((await rejection(runner.run([train], [['train', 0]]))).message).to.equal('workflow[0][1]: must be a positive integer; got 0');
  });
});
