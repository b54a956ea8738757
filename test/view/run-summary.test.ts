import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { readJournal } from '../../src/core/journal/journal-reader.js';
import { MemoryLogger } from '../../src/core/services.js';
import { RUN_INFO_FILE, readRunInfo } from '../../src/view/run-info.js';
import { summarizeRun } from '../../src/view/run-summary.js';
import { tempDir } from '../helpers/tiny.js';
import { trainTinyRun } from './tiny-run.js';

describe('run summary (what GET /api/runs says of a run)', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  let finished: string;
  before(async () => {
    ({ dir, cleanup } = tempDir());
    finished = path.join(dir, 'finished');
    await trainTinyRun(finished);
  });
  after(() => cleanup());

  /** A copy of the finished run's journal and run info, cut before its last `cut` lines. */
  function copyRun(name: string, cut: number, info: Record<string, unknown> = {}): string {
    const work = path.join(dir, name);
    fs.mkdirSync(work);
    const lines = fs.readFileSync(path.join(finished, 'events.jsonl'), 'utf8').trimEnd().split('\n');
    fs.writeFileSync(path.join(work, 'events.jsonl'), `${lines.slice(0, lines.length - cut).join('\n')}\n`);
    fs.writeFileSync(path.join(work, RUN_INFO_FILE), JSON.stringify({ ...readRunInfo(finished), ...info }));
    return work;
  }
  const journalOf = (work: string) => readJournal(path.join(work, 'events.jsonl'), { logger: new MemoryLogger() });

  it('records the trainer, the hook plan and the profile in run_info.json', () => {
    const info = readRunInfo(finished)!;
    expect(info.pid).to.equal(process.pid);
    expect(info.host).to.equal(os.hostname());
    expect(info.hookPlan.split('\n')[0]).to.equal('beforeRun:');
    expect(info.hookProfile!.find((p) => p.hook === 'EvalHook' && p.stage === 'afterTrainEpoch')!.calls).to.equal(2);
  });

  it('is finished at afterRun, with the stop reason a hook gave', () => {
    const work = copyRun('stopped', 1);
    const last = JSON.parse(fs.readFileSync(path.join(finished, 'events.jsonl'), 'utf8').trimEnd().split('\n').at(-1)!);
    fs.appendFileSync(path.join(work, 'events.jsonl'), `${JSON.stringify({ ...last, payload: { stopReason: 'loss is NaN', stopSource: 'CheckInvalidLossHook' } })}\n`);
    const summary = summarizeRun('stopped', work, journalOf(work));
    expect(summary).to.include({ status: 'finished', stopReason: 'loss is NaN', epoch: 2, iter: 6, maxEpochs: 2, maxIters: 6, problem: null });
  });

  it('is live while its trainer runs, and failed once the trainer is gone without afterRun', () => {
    const live = copyRun('live', 1);
    expect(summarizeRun('live', live, journalOf(live))).to.include({ status: 'live', problem: null, iter: 6 });
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const failed = copyRun('failed', 4, { pid: Number(deadPid) });
    const summary = summarizeRun('failed', failed, journalOf(failed));
    expect(summary.status).to.equal('failed');
    expect(summary.problem).to.equal('the training process ended without reaching afterRun (last stage: afterTrainIter)');
  });

  it('is failed with the recorded error as soon as the journal ends in the exception stage', () => {
    const work = copyRun('crashed', 4);
    const last = JSON.parse(fs.readFileSync(path.join(work, 'events.jsonl'), 'utf8').trimEnd().split('\n').at(-1)!);
    const payload = { error: 'hook UploadHook failed in afterTrainIter: EACCES', errorType: 'HookError', failedStage: 'afterTrainIter', failedHook: 'UploadHook' };
    fs.appendFileSync(path.join(work, 'events.jsonl'), `${JSON.stringify({ ...last, seq: last.seq + 1, stage: 'onException', payload })}\n`);
    // The trainer (this process, per run_info.json) is still alive: the journal says it failed.
    const summary = summarizeRun('crashed', work, journalOf(work));
    expect(summary).to.include({ status: 'failed', problem: 'the run failed in afterTrainIter: hook UploadHook failed in afterTrainIter: EACCES', stopReason: null });
  });
});
