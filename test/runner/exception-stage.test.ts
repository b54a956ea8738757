import path from 'node:path';
import { expect } from 'chai';
import { ExceptionStageError, HookError, HookUnsettledError } from '../../src/core/errors.js';
import { exceptionOf } from '../../src/core/exception-stage.js';
import { Hook } from '../../src/core/hook.js';
import { JOURNAL_FILE } from '../../src/core/journal/journal-format.js';
import { readJournal } from '../../src/core/journal/journal-reader.js';
import { attachJournal } from '../../src/core/journal/journal-writer.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import { driveHook } from '../../src/testing/drive-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { tempDir, tinyRunner } from '../helpers/tiny.js';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try { await promise; } catch (error) { return error as Error; }
  throw new Error('expected a rejection');
}

/** A hook that throws `message` at `stage` when `iter` is reached. */
function failAt(stage: 'afterTrainIter' | 'beforeRun', iter: number, message = 'disk full') {
  const fail = (at: string, runner: BaseRunner) => {
    if (at === stage && runner.iter === iter) throw new Error(message);
  };
  return class Broken extends Hook<BaseRunner> {
    override beforeRun(runner: BaseRunner): void { fail('beforeRun', runner); }
    override afterTrainIter(runner: BaseRunner): void { fail('afterTrainIter', runner); }
  };
}

describe('the exception stage (onException)', () => {
  it('runs its subscribers in priority order, with the error, before the run rejects', async () => {
    const { runner, dataLoaders, workflow } = tinyRunner({ maxEpochs: 2, numSamples: 8, batchSize: 4 });
    const log: string[] = [];
    let settled = false;
    class Flusher extends Hook<BaseRunner> {
      override async onException(_r: BaseRunner, event: StageEvent): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`Flusher ${(exceptionOf(event) as Error).message} settled=${settled}`);
      }
    }
    runner.registerHook(new (failAt('afterTrainIter', 1))());
    runner.registerHook(new Flusher(), 'LOW');
    runner.on('onException', (_r, event) => { log.push(`handler ${event.payload!.failedHook}`); }, { priority: 'HIGH' });
    const events: StageEvent[] = [];
    runner.events$.subscribe((e) => events.push(e));
    const run = runner.run(dataLoaders, workflow).finally(() => { settled = true; });
    const error = await rejection(run);
    expect(error).to.be.instanceOf(HookError);
    expect(error.message).to.equal('hook Broken failed in afterTrainIter: disk full');
    expect(log).to.deep.equal(['handler Broken', 'Flusher hook Broken failed in afterTrainIter: disk full settled=false']);
    expect(exceptionOf(events.at(-1)!)).to.equal(error);
    expect(runner.hookInfo()).to.include(['onException:', `(HIGH        ) ${'handler'.padEnd(35)}`, `(LOW         ) ${'Flusher'.padEnd(35)}`].join('\n'));
  });

  it('reports a failing exception handler after the original error, and still runs the others', async () => {
    const { runner, dataLoaders, workflow } = tinyRunner({ maxEpochs: 1 });
    const ran: string[] = [];
    runner.registerHook(new (failAt('beforeRun', 0, 'no data'))());
    runner.on('onException', function flushQueue() { ran.push('flushQueue'); throw new Error('upload server down'); });
    runner.on('onException', function notify() { ran.push('notify'); });
    const error = await rejection(runner.run(dataLoaders, workflow));
    expect(error).to.be.instanceOf(ExceptionStageError);
    const failure = error as ExceptionStageError;
    expect(failure.message).to.equal('hook Broken failed in beforeRun: no data (then an onException handler failed too: hook flushQueue failed in onException: upload server down)');
    expect(failure.original).to.be.instanceOf(HookError);
    expect(failure.cause).to.equal(failure.original);
    expect(failure.errors.map((e: Error) => e.message)).to.deep.equal(['hook Broken failed in beforeRun: no data', 'hook flushQueue failed in onException: upload server down']);
    expect(ran).to.deep.equal(['flushQueue', 'notify']);
  });

  it('fires for a model that throws, naming the last stage reached and no hook', async () => {
    const { runner, dataLoaders, workflow, model } = tinyRunner({ maxEpochs: 1 });
    model.trainStep = () => { throw new RangeError('shapes do not match'); };
    const payloads: unknown[] = [];
    runner.on('onException', (_r, event) => { payloads.push(event.payload); });
    const error = await rejection(runner.run(dataLoaders, workflow));
    expect(error).to.be.instanceOf(RangeError);
    expect(payloads).to.deep.equal([{ error: 'shapes do not match', errorType: 'RangeError', failedStage: 'beforeTrainIter', failedHook: null }]);
  });

  it('fires for a hook that outlives the stall timeout', async () => {
    const { runner, dataLoaders, workflow } = tinyRunner({ maxEpochs: 1, stallTimeout: 0.02 });
    class Stuck extends Hook { override afterTrainIter(): Promise<void> { return new Promise(() => {}); } }
    runner.registerHook(new Stuck());
    const seen: unknown[] = [];
    runner.on('onException', (_r, event) => { seen.push(exceptionOf(event) instanceof HookUnsettledError, event.payload!.failedHook); });
    const error = await rejection(runner.run(dataLoaders, workflow));
    expect(error.message).to.equal("hook Stuck did not settle in afterTrainIter within 0.02 s (the run's stallTimeout)");
    expect(seen).to.deep.equal([true, 'Stuck']);
  });

  it('drops the end-of-stage tasks of the stage that failed', async () => {
    const { runner, dataLoaders, workflow } = tinyRunner({ maxEpochs: 1 });
    const log: string[] = [];
    runner.on('afterTrainIter', (r) => { r.deferUntilStageEnd(() => { log.push(`deferred ${r.iter}`); }); }, { priority: 'HIGH' });
    runner.registerHook(new (failAt('afterTrainIter', 1))());
    runner.on('onException', (r) => { r.deferUntilStageEnd(() => { log.push('exception stage end'); }); });
    await rejection(runner.run(dataLoaders, workflow));
    expect(log).to.deep.equal(['deferred 1', 'exception stage end']);
  });

  it('does not fire for a clean stop (requestStop) or an interrupt', async () => {
    const { runner, dataLoaders, workflow } = tinyRunner({ maxEpochs: 3 });
    const fired: string[] = [];
    runner.on('onException', () => { fired.push('onException'); });
    runner.on('afterTrainIter', (r) => { if (r.iter === 1) r.interrupt('SIGTERM received', 'SIGTERM'); });
    await runner.run(dataLoaders, workflow);
    expect(fired).to.deep.equal([]);
  });

  it('is journaled and replayed: a replayed hook sees the recorded payload, without the live error', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { runner, dataLoaders, workflow } = tinyRunner({ maxEpochs: 2, workDir: dir });
      attachJournal(runner);
      runner.registerHook(new (failAt('afterTrainIter', 2))());
      await rejection(runner.run(dataLoaders, workflow));
      const records = readJournal(path.join(dir, JOURNAL_FILE)).records;
      const last = records.at(-1)!.event;
      expect(last).to.deep.include({ seq: records.length, stage: 'onException', mode: 'train', epoch: 0, iter: 2 });
      expect(last.payload).to.deep.equal({ error: 'hook Broken failed in afterTrainIter: disk full', errorType: 'HookError', failedStage: 'afterTrainIter', failedHook: 'Broken' });

      const replayed: unknown[] = [];
      class Reporter extends Hook {
        override onException(_r: unknown, event: StageEvent): void { replayed.push(event.payload!.error, exceptionOf(event)); }
      }
      const { calls } = await driveHook(new Reporter(), path.join(dir, JOURNAL_FILE));
      expect(calls.map((c) => `${c.label}@${c.seq}`)).to.deep.equal([`onException@${records.length}`]);
      expect(replayed).to.deep.equal(['hook Broken failed in afterTrainIter: disk full', undefined]);
    } finally {
      cleanup();
    }
  });
});
