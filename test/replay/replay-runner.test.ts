import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { TOKENS } from '../../src/core/di.js';
import { ConfigError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import { RegisterHook } from '../../src/core/hooks-registry.js';
import { Registry } from '../../src/core/registry.js';
import type { HookConfig } from '../../src/core/hook-registration.js';
import { attachJournal } from '../../src/core/journal/journal-writer.js';
import { readJournal } from '../../src/core/journal/journal-reader.js';
import { MemoryLogger } from '../../src/core/services.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import { TextLoggerHook } from '../../src/hooks/logger/text-logger-hook.js';
import { ReplayRunner } from '../../src/replay/replay-runner.js';
import { payloadReplaysOf, type PayloadReplay } from '../../src/replay/payload-replay.js';
import type { HookRunner, RecordedRunner } from '../../src/runner/hook-runner.js';
import { replayJournal } from '../../src/replay/replay-journal.js';
import type { TrainingHooksConfig } from '../../src/runner/register-training-hooks.js';
import { buildToyRunner, driveHook, stageEvents, type ToyRunnerOptions } from '../../src/testing/index.js';
import '../../plugins/early-stopping-hook.js';
import '../../plugins/eval/eval-hook.js';
import { readEventFile } from '../../plugins/tensorboard/event-file-reader.js';
import '../../plugins/tensorboard/tensorboard-logger-hook.js';
import { tempDir } from '../helpers/tiny.js';

/** The lines of a `.log` file without their wall-clock prefix (`2025-01-01 00:00:00 - hookflow - INFO - `). */
function logLines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - hookflow - [A-Z]+ - /, ''));
}

/** What a logger hook writes to the text log. */
const isLoggerLine = (line: string) => /^(Epoch|Iter|Exp name)/.test(line);

/** The scalars and texts of a TensorBoard event file, without wall times. */
function tensorboardContent(dir: string): unknown[] {
  const [file] = fs.readdirSync(dir);
  return readEventFile(path.join(dir, file!)).events.map((e) => ({
    step: e.step,
    fileVersion: e.fileVersion,
    values: e.values.map((v) => ({ tag: v.tag, scalar: v.scalar, text: v.text, pluginName: v.pluginName })),
  }));
}

describe('ReplayRunner', () => {
  let live: string;
  let replayed: string;
  const cleanups: Array<() => void> = [];
  beforeEach(() => {
    const a = tempDir();
    const b = tempDir();
    live = a.dir;
    replayed = b.dir;
    cleanups.push(a.cleanup, b.cleanup);
  });
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  /** A live toy run with `hooks` and a journal, then a replay of its journal into `replayHooks`. */
  async function liveThenReplay(options: ToyRunnerOptions, hooks: TrainingHooksConfig, replayHooks: HookConfig[]) {
    const toy = buildToyRunner({ ...options, workDir: live, trainingHooks: null });
    toy.runner.container.bind(TOKENS.ValDataLoader).toConstantValue(toy.val);
    toy.runner.registerTrainingHooks(hooks);
    attachJournal(toy.runner);
    await toy.run();
    const logger = new MemoryLogger();
    const runner = await replayJournal(path.join(live, 'events.jsonl'), replayHooks, { workDir: replayed, logger });
    return { toy, runner, logger, timestamp: toy.runner.timestamp };
  }

  it('regenerates the TextLoggerHook logs of an EpochBasedRunner run (JSON log identical, text lines identical)', async () => {
    const { toy, runner, logger, timestamp } = await liveThenReplay(
      { maxEpochs: 2, numSamples: 20, meta: { expName: 'toy' } },
      { optimizerConfig: {}, logConfig: { interval: 2, hooks: [{ type: 'TextLoggerHook' }] } },
      [{ type: 'TextLoggerHook', interval: 2 }],
    );
    expect(runner.timestamp).to.equal(timestamp);
    const json = `${timestamp}.log.json`;
    const liveJson = fs.readFileSync(path.join(live, json), 'utf8');
    expect(liveJson.split('\n')[0]).to.equal('{"expName":"toy"}');
    expect(liveJson.split('\n').filter((l) => l.includes('"mode":"train"'))).to.have.length(2 * 2);
    expect(liveJson.split('\n').filter((l) => l.includes('"mode":"val"'))).to.have.length(2);
    expect(fs.readFileSync(path.join(replayed, json), 'utf8')).to.equal(liveJson);
    const liveLines = logLines(path.join(live, `${timestamp}.log`)).filter(isLoggerLine);
    expect(liveLines).to.have.length(8);
    expect(liveLines[0]).to.match(/^Epoch \[1\]\[2\/5\]\tlr: 1\.000e-01, eta: /);
    expect(logLines(path.join(replayed, `${timestamp}.log`))).to.deep.equal(liveLines);
    expect(logger.lines.map((l) => l.message)).to.deep.equal(liveLines);
    expect([runner.epoch, runner.iter, runner.seq]).to.deep.equal([toy.runner.epoch, toy.runner.iter, toy.runner.seq]);
  });

  it('regenerates the logs of an IterBasedRunner run, and the TensorBoard event file apart from wall times', async () => {
    const { timestamp } = await liveThenReplay(
      { kind: 'iter', maxIters: 7, workflow: [['train', 3], ['val', 1]] },
      { optimizerConfig: {}, logConfig: { interval: 2, hooks: [{ type: 'TextLoggerHook' }, { type: 'TensorboardLoggerHook' }] } },
      [{ type: 'TextLoggerHook', interval: 2, byEpoch: false }, { type: 'TensorboardLoggerHook', interval: 2, byEpoch: false }],
    );
    const json = `${timestamp}.log.json`;
    const liveJson = fs.readFileSync(path.join(live, json), 'utf8');
    expect(liveJson.split('\n').filter((l) => l.includes('"mode":"train"'))).to.have.length(3);
    expect(fs.readFileSync(path.join(replayed, json), 'utf8')).to.equal(liveJson);
    expect(logLines(path.join(replayed, `${timestamp}.log`))).to.deep.equal(logLines(path.join(live, `${timestamp}.log`)).filter(isLoggerLine));
    const tb = tensorboardContent(path.join(live, 'tf_logs'));
    expect(tb.length).to.be.greaterThan(3);
    expect(tensorboardContent(path.join(replayed, 'tf_logs'))).to.deep.equal(tb);
  });

  it('replays evaluation results where EvalHook produced them (by epoch, and by iteration with the training flush)', async () => {
    const byEpoch = await liveThenReplay(
      { maxEpochs: 2 },
      { optimizerConfig: {}, logConfig: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] }, customHooksConfig: [{ type: 'EvalHook', priority: 'LOW' }] },
      [{ type: 'TextLoggerHook', interval: 1 }],
    );
    const json = `${byEpoch.timestamp}.log.json`;
    const liveJson = fs.readFileSync(path.join(live, json), 'utf8');
    // Val records: the two val epochs and EvalHook's two evaluations.
    expect(liveJson.split('\n').filter((l) => l.includes('"mode":"val"'))).to.have.length(4);
    expect(fs.readFileSync(path.join(replayed, json), 'utf8')).to.equal(liveJson);

    cleanups.splice(0).forEach((c) => c());
    ({ dir: live } = tempDir());
    ({ dir: replayed } = tempDir());
    const dirs = [live, replayed];
    cleanups.push(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    const byIter = await liveThenReplay(
      { kind: 'iter', maxIters: 6, workflow: [['train', 1]] },
      { optimizerConfig: {}, logConfig: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] }, customHooksConfig: [{ type: 'EvalHook', priority: 'LOW', byEpoch: false, interval: 3 }] },
      [{ type: 'TextLoggerHook', interval: 1, byEpoch: false }],
    );
    const iterJson = fs.readFileSync(path.join(live, `${byIter.timestamp}.log.json`), 'utf8');
    const modes = iterJson.trim().split('\n').slice(1).map((l) => JSON.parse(l).mode);
    expect(modes).to.deep.equal(['train', 'train', 'train', 'val', 'train', 'train', 'train', 'val']);
    expect(fs.readFileSync(path.join(replayed, `${byIter.timestamp}.log.json`), 'utf8')).to.equal(iterJson);
  });

  it('keeps the counters as the fold of the events, takes run facts from the context, and leaves the source untouched', async () => {
    const events = stageEvents([
      'beforeRun', 'beforeTrainEpoch',
      ['beforeTrainIter', { iter: 0, innerIter: 0 }], ['afterTrainIter', { iter: 0, payload: { logVars: { loss: 2 }, numSamples: 4, lr: 0.1, momentum: 0.9 } }],
      ['beforeTrainIter', { iter: 1, innerIter: 1 }], ['afterTrainIter', { iter: 1, innerIter: 1, payload: { logVars: { loss: 1 }, numSamples: 2, lr: 0.05, momentum: 0.9 } }],
      ['afterTrainEpoch', { iter: 2, innerIter: 1 }], ['afterRun', { epoch: 1, iter: 2, innerIter: 1, mode: 'train' }],
    ]);
    const seen: string[] = [];
    class Probe extends Hook<ReplayRunner> {
      override afterTrainIter(r: ReplayRunner): void {
        seen.push(`${r.iter}/${r.maxIters} end=${this.endOfEpoch(r)} last=${this.isLastIter(r)} lr=${r.lrForLog()} loss=${r.logBuffer.valHistory.get('loss')}`);
        r.annotate({ probed: true });
      }
      override afterTrainEpoch(r: ReplayRunner): void {
        r.logBuffer.average();
        seen.push(`epoch ${r.epoch} mean loss ${r.logBuffer.output.get('loss')}`);
      }
    }
    const before = JSON.stringify(events);
    const { runner, calls, events: after } = await driveHook(new Probe(), events, { context: { maxIters: 2, maxEpochs: 1, dataLoaderLength: 2 } });
    expect(seen).to.deep.equal([
      '0/2 end=false last=false lr=0.1 loss=2',
      '1/2 end=true last=true lr=0.05 loss=2,1',
      `epoch 0 mean loss ${(2 * 4 + 1 * 2) / 6}`,
    ]);
    expect(calls.map((c) => `${c.label}@${c.seq}`)).to.deep.equal(['afterTrainIter@4', 'afterTrainIter@6', 'afterTrainEpoch@7']);
    expect(after[3]!.payload).to.deep.include({ probed: true });
    expect(JSON.stringify(events)).to.equal(before);
    expect(runner.runState).to.deep.equal({ seq: 8, mode: 'train', epoch: 1, iter: 2, innerIter: 1 });
    expect(() => new ReplayRunner().lrForLog()).to.throw('the replayed events carry no lr (the run had no optimizer)');
  });

  it('gives a resumed run its own log file, named by the resumed session', async () => {
    const toy = buildToyRunner({ workDir: live, maxEpochs: 1, workflow: [['train', 1]] });
    attachJournal(toy.runner);
    await toy.run();
    const journal = readJournal(path.join(live, 'events.jsonl'));
    const [first] = journal.sessions;
    const second = { ...first!, type: 'resume' as const, fromSeq: 4, timestamp: '20990101_000000' };
    const records = journal.records.map((r, i) => (i < 4 ? r : { ...r, session: second }));
    const timestamps: string[] = [];
    class Stamp extends TextLoggerHook {
      override beforeRun(r: ReplayRunner): void { timestamps.push(r.timestamp); super.beforeRun(r); }
      override afterTrainEpoch(r: ReplayRunner): void { r.logger.info(`epoch done in ${r.timestamp}`); }
    }
    const runner = new ReplayRunner({ workDir: replayed, logger: new MemoryLogger() });
    runner.registerHook(new Stamp());
    await runner.run({ ...journal, records, sessions: [first!, second] });
    expect(timestamps).to.deep.equal([toy.runner.timestamp]);
    expect(logLines(path.join(replayed, '20990101_000000.log'))).to.deep.equal(['epoch done in 20990101_000000']);
    // Nothing was logged in the first session, and log files are created with their first line.
    expect(fs.existsSync(path.join(replayed, `${toy.runner.timestamp}.log`))).to.equal(false);
  });

  it('replayJournal names the bad hook config', async () => {
    const toy = buildToyRunner({ workDir: live, maxEpochs: 1, workflow: [['train', 1]] });
    attachJournal(toy.runner);
    await toy.run();
    const error = await replayJournal(path.join(live, 'events.jsonl'), [{ type: 'TextLoggerHook' }, { type: 'TextLoggerHook', interval: 0 }], { logger: new MemoryLogger() })
      .then(() => undefined, (e: unknown) => e as Error);
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.match(/^hooks\[1\]\.TextLoggerHook\.interval: /);
    const unknown = await replayJournal(path.join(live, 'events.jsonl'), [{ type: 'TextLogerHook' }], { logger: new MemoryLogger() })
      .then(() => undefined, (e: unknown) => e as Error);
    expect((unknown as Error).message).to.include('TextLoggerHook');
  });

  it('a hook that needs the live run fails naming itself, its stage and the member it used', async () => {
    const toy = buildToyRunner({ workDir: live, maxEpochs: 1, workflow: [['train', 1]] });
    attachJournal(toy.runner);
    await toy.run();
    const error = await replayJournal(path.join(live, 'events.jsonl'), [{ type: 'CheckpointHook', interval: 1 }], { workDir: replayed, logger: new MemoryLogger() })
      .then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).to.match(/^hook CheckpointHook failed in beforeRun: runner\.checkpointIO belongs to a live run; a journal replay has no model/);
    expect(fs.readdirSync(replayed).filter((f) => f.startsWith('epoch_'))).to.deep.equal([]);
    const runner = new ReplayRunner() as unknown as HookRunner;
    expect(() => runner.model).to.throw('runner.model belongs to a live run');
    expect(() => runner.saveCheckpoint('x')).to.throw('runner.saveCheckpoint belongs to a live run');
    expect(runner.dataLoader).to.equal(null); // a RecordedRunner member stays
  });

  it('a replayed hook that asks to stop (EarlyStoppingHook) is logged with where it asked, and the events replay to their end', async () => {
    const { runner, logger } = await liveThenReplay(
      { maxEpochs: 3 },
      { optimizerConfig: {}, customHooksConfig: [{ type: 'EvalHook', priority: 'LOW' }] },
      [{ type: 'EarlyStoppingHook', monitor: 'loss', minDelta: 1e9, patience: 1, priority: 'LOWEST' }],
    );
    expect(runner.stopRequested?.source).to.equal('EarlyStoppingHook');
    const stops = logger.lines.filter((r) => r.message.startsWith('Stopping: '));
    expect(stops).to.have.length(1);
    expect(stops[0]!.message).to.match(/\(requested by EarlyStoppingHook\); in this replay at epoch 1, iter 6, the recorded events replay to their end$/);
    expect(runner.epoch).to.equal(3);
  });

  it('re-journals a replay into an identical journal (the replay runner is a journal source)', async () => {
    const toy = buildToyRunner({ workDir: live, maxEpochs: 1 });
    attachJournal(toy.runner);
    await toy.run();
    const runner = new ReplayRunner({ workDir: replayed, logger: new MemoryLogger() });
    const events: StageEvent[] = [];
    runner.events$.subscribe((e) => events.push(e));
    attachJournal(runner);
    await runner.run(path.join(live, 'events.jsonl'));
    const original = readJournal(path.join(live, 'events.jsonl'));
    const copy = readJournal(path.join(replayed, 'events.jsonl'));
    expect(copy.events).to.deep.equal(original.events);
    expect(copy.records.map((r) => r.context)).to.deep.equal(original.records.map((r) => r.context));
    expect(events).to.deep.equal(original.events);
  });

  describe('hooks own their replay (static payloadReplay)', () => {
    /** A user's hook: logs a queue depth per iteration, as IterTimerHook logs its timings. */
    class QueueDepthHook extends Hook<HookRunner> {
      static readonly payloadReplay: PayloadReplay = {
        keys: ['queueDepth'],
        apply: (runner: RecordedRunner, event) => runner.logBuffer.update({ queueDepth: event.payload!.queueDepth as number }),
      };
      override afterTrainIter(runner: HookRunner): void {
        const queueDepth = 10 * (runner.iter + 1);
        runner.logBuffer.update({ queueDepth });
        runner.annotate({ queueDepth });
      }
    }
    RegisterHook('ReplayTestQueueDepthHook')(QueueDepthHook);
    /** The same, without a replay declaration: its values are in the journal but not in a replay's logs. */
    class UndeclaredHook extends Hook<HookRunner> {
      override afterTrainIter(runner: HookRunner): void {
        runner.logBuffer.update({ undeclared: 1 });
        runner.annotate({ undeclared: 1 });
      }
    }
    RegisterHook('ReplayTestUndeclaredHook')(UndeclaredHook);

    it('a user-defined hook puts its recorded values back into the log buffer of a replay it is not part of', async () => {
      const { timestamp } = await liveThenReplay(
        { kind: 'iter', maxIters: 4, workflow: [['train', 1]] },
        {
          optimizerConfig: {}, logConfig: { interval: 2, hooks: [{ type: 'TextLoggerHook' }] },
          customHooksConfig: [{ type: 'ReplayTestQueueDepthHook' }, { type: 'ReplayTestUndeclaredHook' }],
        },
        [{ type: 'TextLoggerHook', interval: 2, byEpoch: false }],
      );
      const records = (dir: string) => fs.readFileSync(path.join(dir, `${timestamp}.log.json`), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l));
      // Live: the means of iterations 1-2 and 3-4; both hooks' values are logged.
      expect(records(live).map((r) => [r.queueDepth, r.undeclared])).to.deep.equal([[15, 1], [35, 1]]);
      // Replayed: the declared values come back, the undeclared ones do not.
      const replayedRecords = records(replayed);
      expect(replayedRecords.map((r) => [r.queueDepth, 'undeclared' in r])).to.deep.equal([[15, false], [35, false]]);
      const withoutUndeclared = records(live).map(({ undeclared: _, ...rest }) => rest);
      expect(replayedRecords).to.deep.equal(withoutUndeclared);
    });

    it('applies the declarations once per event, after the runner\'s part, in the order the live hooks recorded', () => {
      const order: string[] = [];
      class First extends Hook {
        static readonly payloadReplay: PayloadReplay = {
          keys: ['a1', 'a2'],
          apply: (runner, event) => { order.push(`First ${Object.keys(event.payload!).join(',')} outputs=${runner.outputs?.numSamples}`); runner.logBuffer.update({ a: 1 }); },
        };
      }
      RegisterHook('ReplayTestFirstHook')(First);
      class Second extends Hook {
        static readonly payloadReplay: PayloadReplay = { keys: ['b'], apply: (runner) => { order.push('Second'); runner.logBuffer.update({ b: 2 }); } };
      }
      RegisterHook('ReplayTestSecondHook')(Second);
      const runner = new ReplayRunner({ logger: new MemoryLogger() });
      const events = stageEvents([
        ['afterTrainIter', { payload: { logVars: { loss: 1 }, numSamples: 3, b: 0, a2: 0, a1: 0 } }],
        ['afterTrainIter', { payload: { a1: 0, numSamples: 5 } }],
      ]);
      for (const event of events) runner.feed(event);
      expect(order).to.deep.equal(['Second', 'First logVars,numSamples,b,a2,a1 outputs=3', 'First a1,numSamples outputs=5']);
      expect([...runner.logBuffer.valHistory.keys()]).to.deep.equal(['loss', 'b', 'a']);
    });

    it('names the hook class whose replay fails, and refuses two classes claiming one key', () => {
      @RegisterHook('ReplayTestFailingHook')
      class Failing extends Hook {
        static readonly payloadReplay: PayloadReplay = { keys: ['failing'], apply: () => { throw new Error('no such buffer'); } };
      }
      const runner = new ReplayRunner({ logger: new MemoryLogger() });
      expect(() => runner.feed(stageEvents([['afterValIter', { payload: { failing: 1 } }]])[0]!))
        .to.throw('hook ReplayTestFailingHook failed in afterValIter (payloadReplay): no such buffer');
      HOOKS_UNDER_TEST.register(Failing, 'Failing');

      class Inherits extends Failing {}
      HOOKS_UNDER_TEST.register(Inherits, 'Inherits');
      expect([...payloadReplaysOf(HOOKS_UNDER_TEST)].map(([key, owned]) => `${key}:${owned.owner}`)).to.deep.equal(['failing:Failing']);
      class Clashing extends Hook {
        static readonly payloadReplay: PayloadReplay = { keys: ['other', 'failing'], apply: () => undefined };
      }
      new Registry<Hook<any>>('hook', { parent: HOOKS_UNDER_TEST, scope: 'mine' }).register(Clashing);
      expect(() => payloadReplaysOf(HOOKS_UNDER_TEST)).to.throw("payload key 'failing' is replayed by both Failing and mine.Clashing: give one of them another key");
    });
  });
});

/** A registry of its own, for the declaration lookup. */
const HOOKS_UNDER_TEST = new Registry<Hook<any>>('hook');
