import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { JournalError, encodeLine, type JournalSession } from '../../src/core/journal/journal-format.js';
import { parseJournal, readJournal } from '../../src/core/journal/journal-reader.js';
import { attachJournal } from '../../src/core/journal/journal-writer.js';
import { replay } from '../../src/core/journal/replay.js';
import { INITIAL_RUN_STATE, foldRunState } from '../../src/core/run-state.js';
import { MemoryLogger } from '../../src/core/services.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import { CheckpointHook } from '../../src/hooks/checkpoint-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { buildToyRunner, diffJournals, expectJournalsMatch, recordStages, stageEvents } from '../../src/testing/index.js';
import { lastValueFrom, toArray } from 'rxjs';
import { tempDir } from '../helpers/tiny.js';

/** Asks the run to stop after training iteration `at` (0-based). */
class StopAt extends Hook<BaseRunner> {
  constructor(private readonly at: number) { super(); }
  override afterTrainIter(runner: BaseRunner): void {
    if (runner.iter === this.at) runner.requestStop(`stop at ${this.at}`, 'StopAt');
  }
}

/** Puts a NaN into the payload, as a diverged loss would. */
class Diverges extends Hook<BaseRunner> {
  override afterTrainIter(runner: BaseRunner): void {
    if (runner.iter === 1) runner.annotate({ gradNorm: Number.NaN, big: Number.POSITIVE_INFINITY });
  }
}

const session = (fields: Partial<JournalSession> = {}): JournalSession =>
  ({ type: 'start', fromSeq: 0, time: 0, runner: 'EpochBasedRunner', timestamp: '20250101_000000', meta: {}, ...fields });

/** What JSON.parse says about `text`. */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('journal writer and reader', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('round-trips a real EpochBasedRunner run: reading events.jsonl gives the events of events$', async () => {
    const toy = buildToyRunner({ workDir: dir, maxEpochs: 2 });
    toy.runner.registerHook(new Diverges());
    const recording = recordStages(toy.runner);
    const detach = attachJournal(toy.runner);
    await toy.run();
    detach();
    const journal = readJournal(path.join(dir, 'events.jsonl'));
    expect(journal.events).to.have.length(recording.events.length).and.to.have.length(1 + 2 * (1 + 3 * 2 + 1) + 2 * (1 + 2 * 2 + 1) + 1);
    expect(journal.events).to.deep.equal(recording.events);
    const diverged = journal.events.find((e) => e.stage === 'afterTrainIter' && e.iter === 1)!;
    expect(diverged.payload!.gradNorm).to.be.NaN;
    expect(diverged.payload!.big).to.equal(Number.POSITIVE_INFINITY);
    expect(journal.events.find((e) => e.stage === 'afterTrainIter')!.payload).to.have.keys('logVars', 'numSamples', 'lr', 'momentum', 'time');
    // One session, recording what the runner was.
    expect(journal.sessions).to.have.length(1);
    expect(journal.sessions[0]).to.deep.include({ type: 'start', fromSeq: 0, runner: 'EpochBasedRunner', timestamp: toy.runner.timestamp, meta: {} });
    // The run facts hooks read: run length, and the length of the loader in use.
    const contextAt = (stage: string) => journal.records.find((r) => r.event.stage === stage)!.context;
    expect(contextAt('beforeRun')).to.deep.equal({ maxEpochs: 2, maxIters: 6, dataLoaderLength: null });
    expect(contextAt('beforeTrainIter')).to.deep.equal({ maxEpochs: 2, maxIters: 6, dataLoaderLength: 3 });
    expect(contextAt('afterValIter')).to.deep.equal({ maxEpochs: 2, maxIters: 6, dataLoaderLength: 2 });
    // A context line is written only when the facts change: beforeRun, then each loader switch.
    const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('"type":"context"'))).to.have.length(1 + 4);
    expect(lines[0]).to.match(/^\{"type":"start","fromSeq":0,"time":\d+(\.\d+)?,"runner":"EpochBasedRunner","timestamp":"\d{8}_\d{6}","meta":\{\}\}$/);
    toy.cleanup();
  });

  it('round-trips an IterBasedRunner run, and replay() emits the history', async () => {
    const toy = buildToyRunner({ kind: 'iter', workDir: dir, maxIters: 5, workflow: [['train', 2], ['val', 1]] });
    const recording = recordStages(toy.runner);
    const detach = attachJournal(toy.runner, { path: path.join(dir, 'logs', 'journal.jsonl') });
    await toy.run();
    detach();
    const file = path.join(dir, 'logs', 'journal.jsonl');
    const replayed = await lastValueFrom(replay(file).pipe(toArray()));
    expect(replayed).to.deep.equal(recording.events);
    expect(replayed.map((e) => e.stage).slice(0, 3)).to.deep.equal(['beforeRun', 'beforeEpoch', 'beforeTrainIter']);
    expect(readJournal(file).records.at(-1)!.context).to.deep.equal({ maxEpochs: null, maxIters: 5, dataLoaderLength: 2 });
    expect(await lastValueFrom(replay(recording.events).pipe(toArray()))).to.deep.equal(recording.events);
  });

  /** A journal on a bare event source: `send` passes a stage event to the writer, `seqs` reads the seqs on disk. */
  function bareJournal(flushMs?: number) {
    const listeners: Array<(event: StageEvent) => void> = [];
    const detach = attachJournal({ workDir: dir, addEventListener: (l) => { listeners.push(l); return () => undefined; } }, { flushMs });
    const send = (seq: number, stage: StageEvent['stage']) => listeners[0]!({ seq, stage, mode: 'train', epoch: 0, iter: 0, innerIter: 0, time: seq });
    const seqs = () => fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as { seq?: number }).flatMap((l) => (l.seq === undefined ? [] : [l.seq]));
    return { send, seqs, detach };
  }

  it('writes iteration events together: at the next other event, after flushMs by a timer, and on detach', async () => {
    const { send, seqs, detach } = bareJournal(30);
    send(1, 'beforeRun');
    expect(seqs()).to.deep.equal([1]);
    send(2, 'beforeTrainIter');
    send(3, 'afterTrainIter');
    expect(seqs()).to.deep.equal([1]);
    send(4, 'afterTrainEpoch');
    expect(seqs()).to.deep.equal([1, 2, 3, 4]);
    send(5, 'beforeValIter');
    send(6, 'afterValIter');
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(seqs()).to.deep.equal([1, 2, 3, 4, 5, 6]);
    send(7, 'beforeTrainIter');
    detach();
    expect(seqs()).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
  });

  it('refuses a flushMs that is not a number of milliseconds >= 0, naming it', () => {
    for (const flushMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => bareJournal(flushMs)).to.throw(RangeError, `attachJournal: flushMs must be a number of milliseconds >= 0; got ${flushMs}`);
    }
  });

  it('writes every event at once with flushMs 0', () => {
    const { send, seqs } = bareJournal(0);
    send(1, 'beforeRun');
    send(2, 'beforeTrainIter');
    expect(seqs()).to.deep.equal([1, 2]);
  });

  it('a checkpoint is never ahead of the journal: before it is saved, the waiting events are written, and the event it covers when its stage ends', async () => {
    class SaveBeforeIter1 extends Hook<BaseRunner> {
      override async beforeTrainIter(runner: BaseRunner): Promise<void> {
        if (runner.iter === 1) await runner.saveCheckpoint(dir, { filenameTmpl: 'before_iter_{}' });
      }
    }
    const toy = buildToyRunner({ workDir: dir, maxEpochs: 1, workflow: [['train', 1]] });
    toy.runner.registerHook(new SaveBeforeIter1());
    // flushMs so long that only the rules above write iteration events.
    attachJournal(toy.runner, { flushMs: 60_000 });
    const onDisk: Array<[number, number]> = [];
    toy.runner.addEventListener((event) => {
      if (event.stage !== 'beforeTrainIter') return;
      const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq?: number });
      onDisk.push([event.seq, lines.at(-1)!.seq!]);
    });
    await toy.run();
    // Iterations 0, 1, 2 (seqs 3, 5, 7): only the checkpointed one (iter 1) is written at once;
    // iteration 0's events wait for it, iteration 2's for the end of the epoch.
    expect(onDisk).to.deep.equal([[3, 2], [5, 5], [7, 5]]);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('before_iter_'))).to.have.length(1);
  });

  it('needs a work dir or a path', () => {
    const toy = buildToyRunner({ workDir: false });
    expect(() => attachJournal(toy.runner)).to.throw('attachJournal: the runner has no workDir; pass { path } to say where the journal goes');
  });

  it('ignores a torn last line with a warning, and rejects a malformed line elsewhere naming it', () => {
    const events = stageEvents(['beforeRun', 'beforeTrainEpoch', 'beforeTrainIter']);
    const file = path.join(dir, 'events.jsonl');
    const whole = encodeLine(session()) + events.map((e) => encodeLine(e)).join('');
    fs.writeFileSync(file, `${whole}{"seq":4,"stage":"afterTr`);
    const logger = new MemoryLogger();
    const journal = readJournal(file, { logger });
    expect(journal.events).to.deep.equal(events);
    expect(logger.lines).to.deep.equal([{ level: 'warn', message: `${file}:5: ignoring a torn last line (the run was interrupted while writing it)` }]);

    // The same broken text with its newline was not torn by a crash: an error.
    fs.writeFileSync(file, `${whole}{"seq":4,"stage":"afterTr\n`);
    expect(() => readJournal(file, { logger })).to.throw(JournalError, `${file}:5: not valid JSON (`);
    // In the middle: an error naming the line.
    const lines = whole.split('\n');
    lines.splice(2, 0, 'oops');
    fs.writeFileSync(file, lines.join('\n'));
    expect(() => readJournal(file, { logger })).to.throw(JournalError, `${file}:3: not valid JSON (Unexpected token`);
    const bad = (text: string) => () => parseJournal(text, { source: 'j', logger });
    expect(bad('{"seq":1,"stage":"beforeRn","mode":null,"epoch":0,"iter":0,"innerIter":0,"time":0}\n')).to.throw('j:1: event stage "beforeRn" is not a stage');
    expect(bad('{"seq":1,"stage":"beforeRun","mode":null,"epoch":-1,"iter":0,"innerIter":0,"time":0}\n')).to.throw('j:1: event epoch must be an integer >= 0; got -1');
    expect(bad('{"type":"checkpoint"}\n')).to.throw(`j:1: unknown record type "checkpoint"; expected 'start', 'resume' or 'context'`);
    expect(bad('[1,2]\n')).to.throw('j:1: expected a JSON object; got [1,2]');
    expect(bad(encodeLine(events[0]!) + encodeLine(events[2]!))).to.throw('j:2: event seq 3 does not follow seq 1');
  });

  it('reads a resumed journal as one coherent history: events after a resume marker replace those after its seq', () => {
    const first = stageEvents([
      'beforeRun', 'beforeTrainEpoch', ['beforeTrainIter', { iter: 0 }], ['afterTrainIter', { iter: 0 }], 'afterTrainEpoch',
      ['beforeTrainEpoch', { epoch: 1, iter: 1 }], ['beforeTrainIter', { epoch: 1, iter: 1 }], ['afterTrainIter', { epoch: 1, iter: 1 }],
    ]);
    // Resumed from the checkpoint taken after seq 5 (afterTrainEpoch), as a new runner would.
    const resumed = stageEvents([
      ['beforeRun', { epoch: 1, iter: 1, mode: 'train' }], ['beforeTrainEpoch', { epoch: 1, iter: 1 }],
      ['beforeTrainIter', { epoch: 1, iter: 1 }], ['afterTrainIter', { epoch: 1, iter: 1, payload: { logVars: { loss: 0.5 }, numSamples: 4 } }],
      ['afterTrainEpoch', { epoch: 1, iter: 2 }], ['afterRun', { epoch: 2, iter: 2, mode: 'train' }],
    ]).map((e) => ({ ...e, seq: e.seq + 5 }));
    const context = { type: 'context' as const, maxEpochs: 2, maxIters: 2, dataLoaderLength: 1 };
    const text = encodeLine(session()) + encodeLine(context) + first.map((e) => encodeLine(e)).join('')
      + encodeLine(session({ type: 'resume', fromSeq: 5, timestamp: '20250101_000100' })) + encodeLine({ ...context, dataLoaderLength: null })
      + resumed.map((e) => encodeLine(e)).join('');
    const journal = parseJournal(text, { source: 'j' });
    expect(journal.events).to.deep.equal([...first.slice(0, 5), ...resumed]);
    expect(journal.events.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(journal.sessions.map((s) => [s.type, s.fromSeq, s.timestamp])).to.deep.equal([['start', 0, '20250101_000000'], ['resume', 5, '20250101_000100']]);
    expect(journal.records.map((r) => r.session.fromSeq)).to.deep.equal([0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 5]);
    expect(journal.records[5]!.context.dataLoaderLength).to.equal(null);
    expect(journal.records[4]!.line).to.equal(7);
    // The counters of the history are the fold of its events.
    const final = journal.events.reduce(foldRunState, INITIAL_RUN_STATE);
    expect(final).to.deep.equal({ seq: 11, mode: 'train', epoch: 2, iter: 2, innerIter: 0 });

    // A resume from beyond the recorded history would leave a gap.
    const gap = encodeLine(session()) + first.slice(0, 3).map((e) => encodeLine(e)).join('') + encodeLine(session({ type: 'resume', fromSeq: 4 }));
    expect(() => parseJournal(gap, { source: 'j' })).to.throw('j:5: resume from seq 4 leaves a gap: the history before it ends at seq 3');
    // A fresh run appended to an old journal replaces its history.
    const again = parseJournal(text + encodeLine(session()) + encodeLine(first[0]!), { source: 'j' });
    expect(again.events).to.deep.equal([first[0]]);
  });

  it('a real stop and resume: the journal continues from the checkpoint and matches an uninterrupted run', async () => {
    const journalOf = (d: string) => path.join(d, 'events.jsonl');
    // Uninterrupted: 3 epochs of 3 iterations.
    const { dir: fullDir, cleanup: cleanFull } = tempDir();
    const full = buildToyRunner({ workDir: fullDir, maxEpochs: 3, workflow: [['train', 1]] });
    attachJournal(full.runner);
    await full.run();

    // Stopped after epoch 1 (checkpoint epoch_1), then resumed by a new runner in the same work dir.
    const first = buildToyRunner({ workDir: dir, maxEpochs: 3, workflow: [['train', 1]] });
    first.runner.registerHook(new CheckpointHook({ interval: 1 }));
    first.runner.registerHook(new StopAt(2), 'LOW');
    attachJournal(first.runner);
    await first.run();
    const stopped = readJournal(journalOf(dir)).events;
    expect(stopped.at(-1)!.payload).to.deep.equal({ stopReason: 'stop at 2', stopSource: 'StopAt' });

    const second = buildToyRunner({ workDir: dir, maxEpochs: 3, workflow: [['train', 1]], seed: 0 });
    second.runner.registerHook(new CheckpointHook({ interval: 1 }));
    const logger = new MemoryLogger();
    const meta = await second.runner.resume(path.join(dir, 'epoch_1'));
    attachJournal(second.runner);
    await second.run();

    const journal = readJournal(journalOf(dir), { logger });
    expect(logger.lines).to.deep.equal([]);
    expect(journal.sessions.map((s) => [s.type, s.fromSeq])).to.deep.equal([['start', 0], ['resume', meta.seq]]);
    const history = journal.events;
    const k = meta.seq;
    expect(history[k - 1]).to.include({ stage: 'afterTrainEpoch', epoch: 0, iter: 3 });
    // The stopped run's afterRun (after seq k) is gone; the resumed run's beforeRun continues the fold.
    expect(history[k]).to.include({ stage: 'beforeRun', seq: k + 1 });
    const foldBefore = history.slice(0, k).reduce(foldRunState, INITIAL_RUN_STATE);
    expect([history[k]!.epoch, history[k]!.iter]).to.deep.equal([foldBefore.epoch, foldBefore.iter]);
    expect(history.map((e) => e.seq)).to.deep.equal(history.map((_, i) => i + 1));

    // Resume conformance: apart from the resumed beforeRun, the history is the uninterrupted one.
    const uninterrupted = readJournal(journalOf(fullDir)).events;
    expectJournalsMatch(history.slice(0, k), uninterrupted.slice(0, k));
    expect(diffJournals(history.slice(k + 1), uninterrupted.slice(k), { ignore: ['seq'], tolerance: 1e-6 })).to.deep.equal([]);
    // And the comparison does see differences.
    expect(diffJournals(history.slice(k), uninterrupted.slice(k), { ignore: ['seq'] }).slice(0, 2)).to.deep.equal([
      `the history has ${history.length - k} events (expected ${uninterrupted.length - k})`,
      'event 1 (beforeTrainEpoch): stage is "beforeRun" (expected "beforeTrainEpoch")',
    ]);
    cleanFull();
  });

  it('cuts off a torn tail before a resumed session appends, so it never extends the broken line', async () => {
    const file = path.join(dir, 'events.jsonl');
    const toy = buildToyRunner({ workDir: dir, maxEpochs: 1, workflow: [['train', 1]] });
    toy.runner.registerHook(new CheckpointHook({ interval: 1 }));
    attachJournal(toy.runner);
    await toy.run();
    const good = fs.readFileSync(file, 'utf8');
    fs.appendFileSync(file, '{"seq":99,"sta');
    const again = buildToyRunner({ workDir: dir, maxEpochs: 2, workflow: [['train', 1]] });
    const meta = await again.runner.resume(path.join(dir, 'epoch_1'));
    attachJournal(again.runner);
    await again.run();
    expect(again.logger.lines.filter((l) => l.level === 'warn')).to.deep.equal([{ level: 'warn', message: `journal: cut off a torn last line (14 bytes) of ${file}, left by an interrupted run` }]);
    const text = fs.readFileSync(file, 'utf8');
    expect(text.startsWith(good)).to.equal(true);
    const journal = readJournal(file);
    expect(journal.sessions.map((s) => [s.type, s.fromSeq])).to.deep.equal([['start', 0], ['resume', meta.seq]]);
    expect(journal.events.map((e) => e.seq)).to.deep.equal(journal.events.map((_, i) => i + 1));
  });

  it('a fresh run in a used work dir keeps the earlier journal beside the new one, readable, and says so', async () => {
    const file = path.join(dir, 'events.jsonl');
    const first = buildToyRunner({ workDir: dir, maxEpochs: 1, workflow: [['train', 1]] });
    attachJournal(first.runner);
    await first.run();
    const earlier = fs.readFileSync(file, 'utf8');
    const second = buildToyRunner({ workDir: dir, maxEpochs: 1, workflow: [['train', 1]] });
    attachJournal(second.runner);
    await second.run();
    const kept = `events.${first.runner.timestamp}.jsonl`;
    expect(fs.readFileSync(path.join(dir, kept), 'utf8')).to.equal(earlier);
    expect(second.logger.lines).to.deep.include({ level: 'info', message: `journal: events.jsonl held an earlier run; kept it as ${kept} and started a new journal` });
    expect(readJournal(file).sessions.map((s) => s.type)).to.deep.equal(['start']);
    expect(readJournal(path.join(dir, kept)).events).to.have.length(readJournal(file).events.length);
  });

  it('a damaged line inside the journal: a resumed run moves the file aside and continues in a new one; replay can skip the line', async () => {
    const file = path.join(dir, 'events.jsonl');
    const toy = buildToyRunner({ workDir: dir, maxEpochs: 2, workflow: [['train', 1]] });
    toy.runner.registerHook(new CheckpointHook({ interval: 1 }));
    attachJournal(toy.runner);
    await toy.run();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[5] = lines[5]!.slice(0, 20);
    fs.writeFileSync(file, lines.join('\n'));
    expect(() => readJournal(file)).to.throw(`${file}:6: not valid JSON`);
    const salvageLog = new MemoryLogger();
    const salvaged = readJournal(file, { logger: salvageLog, skipInvalid: true });
    expect(salvageLog.lines.map((l) => l.message)).to.deep.equal([
      `${file}:6: skipped: not valid JSON (${jsonError(lines[5]!)})`,
      `${file}:7: events 3..3 are missing (lost with skipped lines); continuing at seq 4`,
      `${file}: skipped 1 invalid line; kept ${salvaged.events.length} events`,
    ]);
    expect(salvaged.events.map((e) => e.seq)).to.not.include(3);

    const again = buildToyRunner({ workDir: dir, maxEpochs: 3, workflow: [['train', 1]] });
    const meta = await again.runner.resume(path.join(dir, 'epoch_2'));
    attachJournal(again.runner);
    await again.run();
    const warning = again.logger.lines.find((l) => l.level === 'warn')!.message;
    const aside = /moved the journal to (events\.damaged-[\w-]+\.jsonl)/.exec(warning)![1]!;
    expect(warning).to.match(new RegExp(`^journal: ${file}:6 is damaged \\(not valid JSON: `));
    expect(warning).to.contain('(salvage it with hookflow replay --skip-invalid) and continued in a new one');
    expect(fs.readFileSync(path.join(dir, aside), 'utf8')).to.equal(lines.join('\n'));
    const fresh = readJournal(file);
    expect(fresh.sessions.map((s) => [s.type, s.fromSeq])).to.deep.equal([['resume', meta.seq]]);
    expect(fresh.events[0]!.seq).to.equal(meta.seq + 1);
  });

  it('a runner whose run() is called again appends to the journal it closed, and still checks one changed since', async () => {
    const file = path.join(dir, 'events.jsonl');
    const toy = buildToyRunner({ workDir: dir, maxEpochs: 3, workflow: [['train', 1]] });
    toy.runner.registerHook(new StopAt(2));
    const recording = recordStages(toy.runner);
    attachJournal(toy.runner);
    await toy.run(); // stops after iteration 2, in epoch 0
    await toy.run(); // continues to epoch 1 (StopAt only fires at iteration 2)
    expect(toy.logger.lines.filter((l) => l.level === 'warn')).to.deep.equal([]);
    const journal = readJournal(file);
    expect(journal.sessions.map((s) => s.type)).to.deep.equal(['start']);
    expect(journal.events).to.deep.equal(recording.events);

    // A line damaged between two runs is found as at a resume: the file is moved aside.
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[3] = lines[3]!.slice(0, 10);
    fs.writeFileSync(file, lines.join('\n'));
    const written = recording.events.length;
    await toy.run();
    const warning = toy.logger.lines.find((l) => l.level === 'warn')?.message ?? '';
    expect(warning).to.match(new RegExp(`^journal: ${file}:4 is damaged`));
    expect(readJournal(file).sessions.map((s) => [s.type, s.fromSeq])).to.deep.equal([['resume', written]]);
    toy.cleanup();
  });

  it('accepts events appended without a session line (a bare listener): the history starts at the first one', () => {
    const events: StageEvent[] = stageEvents(['beforeRun', ['afterTrainIter', { payload: { logVars: { loss: 1 }, numSamples: 2, lr: { a: 0.1, b: 0.2 } } }]]);
    const text = events.map((e) => encodeLine(e)).join('');
    expect(parseJournal(text).events).to.deep.equal(events);
    expect(parseJournal(text).sessions).to.deep.equal([{ type: 'start', fromSeq: 0, time: 0, runner: null, timestamp: null, meta: null }]);
  });
});
