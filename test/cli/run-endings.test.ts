import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { readJournal } from '../../src/core/journal/journal-reader.js';
import { LOCK_FILE } from '../../src/runner/work-dir-lock.js';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '../../src/cli/main.js');
const INDEX = path.resolve(here, '../../src/index.js');
const ENV = { ...process.env, HOOKFLOW_BACKEND: 'wasm', HOOKFLOW_DEBUG: '' };

/** Hooks that misbehave the ways real plugins do, loaded through customImports. */
const PLUGIN = `
import { Hook, RegisterHook } from ${JSON.stringify(INDEX)};
class TimerBombHook extends Hook {
  afterTrainIter(runner) { if (runner.iter === 1) setTimeout(() => { throw new Error('timer boom'); }, 0); }
}
class LostRejectionHook extends Hook {
  afterTrainIter(runner) { if (runner.iter === 1) Promise.reject(new Error('nobody awaited this')); }
}
class LostCallbackHook extends Hook {
  afterTrainIter(runner) { if (runner.iter === 1) return new Promise(() => {}); }
}
class SleepHook extends Hook {
  constructor(options = {}) { super(); this.ms = options.ms; }
  afterTrainIter() { return new Promise((resolve) => setTimeout(resolve, this.ms)); }
}
for (const hook of [TimerBombHook, LostRejectionHook, LostCallbackHook, SleepHook]) RegisterHook()(hook);
`;

interface Finished { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function hookflowSync(args: string[], cwd: string, env: NodeJS.ProcessEnv = ENV): Finished {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A `hookflow` child; `when(text)` resolves once its stdout or its stderr contains `text`. */
function hookflowChild(args: string[], cwd: string) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: ENV });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const seen = (text: string) => stdout.includes(text) || stderr.includes(text);
  const wake = () => { for (const w of waiters.filter((x) => seen(x.text))) w.resolve(); };
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); wake(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); wake(); });
  const finished = new Promise<Finished>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  const when = (text: string) => new Promise<void>((resolve) => (seen(text) ? resolve() : waiters.push({ text, resolve })));
  return { child, finished, when };
}

/** What a run's journal says about every training iteration (times left out: they differ). */
function iterationHistory(workDir: string) {
  return readJournal(path.join(workDir, 'events.jsonl')).events
    .filter((e) => e.stage === 'afterTrainIter')
    .map(({ epoch, iter, innerIter, payload }) => ({ epoch, iter, innerIter, logVars: payload?.logVars, lr: payload?.lr, momentum: payload?.momentum }));
}

describe('hookflow CLI: runs that end badly', function () {
  this.timeout(180000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    fs.writeFileSync(path.join(dir, 'plugin.mjs'), PLUGIN);
  });
  afterEach(() => cleanup());

  const writeConfig = (overrides: Record<string, unknown> = {}) => {
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify(tinyConfig({
      customImports: ['./plugin.mjs'],
      data: { train: { dataset: { type: 'Synthetic', numSamples: 16, inputShape: [4], numClasses: 3 }, batchSize: 4, shuffle: true } },
      workflow: [['train', 1]],
      ...overrides,
    })));
  };

  it('SIGTERM: finishes the iteration, saves a checkpoint naming the signal, exits 143; --auto-resume continues exactly', async () => {
    // The sleep keeps the run going long after the parent sees epoch 3 (and makes the signal land during an await).
    writeConfig({ checkpointConfig: { interval: 1 }, customHooks: [{ type: 'SleepHook', ms: 10 }], runner: { type: 'EpochBasedRunner', maxEpochs: 30 } });
    const full = hookflowSync(['train', 'c.json', '--work-dir', 'full'], dir);
    expect(full.code, full.stderr).to.equal(0);

    const work = path.join(dir, 'work');
    const run = hookflowChild(['train', 'c.json', '--work-dir', work], dir);
    await run.when('Epoch [3][2/4]');
    run.child.kill('SIGTERM');
    const stopped = await run.finished;
    expect(stopped.code, stopped.stderr).to.equal(143);
    expect(stopped.stderr).to.contain('hookflow: SIGTERM received: finishing the current iteration and saving a checkpoint (send it again to exit at once)');
    const afterRun = readJournal(path.join(work, 'events.jsonl')).events.at(-1)!;
    expect(afterRun).to.include({ stage: 'afterRun' });
    expect(afterRun.payload).to.deep.equal({ stopReason: 'SIGTERM received', stopSource: 'SIGTERM' });
    expect(afterRun.iter).to.be.below(120);
    const checkpoint = fs.realpathSync(path.join(work, 'latest'));
    expect(JSON.parse(fs.readFileSync(path.join(checkpoint, 'meta.json'), 'utf8')).meta.stop).to.deep.equal({ reason: 'SIGTERM received', source: 'SIGTERM' });
    expect(fs.existsSync(path.join(work, LOCK_FILE))).to.equal(false);

    const resumed = hookflowSync(['train', 'c.json', '--work-dir', work, '--auto-resume'], dir);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.stdout).to.contain(`resumed epoch ${afterRun.epoch}, iter ${afterRun.iter}`);
    expect(iterationHistory(work)).to.deep.equal(iterationHistory(path.join(dir, 'full')));
    expect(iterationHistory(work)).to.have.length(120);
    const weights = (d: string) => fs.readFileSync(path.join(d, 'epoch_30', 'weights.bin'));
    expect(weights(work).equals(weights(path.join(dir, 'full')))).to.equal(true);
  });

  it('refuses a second trainer on a work dir in use, naming the holder; a second signal exits at once', async () => {
    writeConfig({ customHooks: [{ type: 'SleepHook', ms: 1000 }], runner: { type: 'EpochBasedRunner', maxEpochs: 50 } });
    const first = hookflowChild(['train', 'c.json', '--work-dir', 'work'], dir);
    await first.when('Epoch [1][1/4]');
    const second = hookflowSync(['train', 'c.json', '--work-dir', 'work'], dir);
    expect(second.code).to.equal(1);
    expect(second.stderr).to.match(new RegExp(`^hookflow: error: work dir ${path.join(dir, 'work')} is in use by process ${first.child.pid} on ${os.hostname()} \\(since [^)]*: .*train c\\.json --work-dir work\\); wait for it to end or use another --work-dir\\n$`));
    // Read-only commands take no lock.
    expect(hookflowSync(['print-config', 'c.json', '--cfg-options', 'workDir=work'], dir).code).to.equal(0);

    first.child.kill('SIGTERM');
    // The second signal right after the first is taken, well inside the 1 s iteration it lets
    // finish (a fixed 50 ms pause lost the race when that iteration was about to end anyway).
    await first.when('SIGTERM received');
    first.child.kill('SIGINT');
    const ended = await first.finished;
    expect(ended.code, ended.stderr).to.equal(130);
    expect(ended.stderr).to.contain('hookflow: SIGINT received again, exiting now');
    expect(fs.existsSync(path.join(dir, 'work', LOCK_FILE))).to.equal(false);
  });

  it('takes over the lock of a dead trainer with a warning', () => {
    writeConfig();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    fs.mkdirSync(path.join(dir, 'work'));
    fs.writeFileSync(path.join(dir, 'work', LOCK_FILE), JSON.stringify({ pid, host: os.hostname(), since: '2026-01-01T00:00:00.000Z', command: 'gone' }));
    const run = hookflowSync(['train', 'c.json', '--work-dir', 'work'], dir);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout + run.stderr).to.contain(`took over the lock of ${path.join(dir, 'work')} from process ${pid} on ${os.hostname()}, which is no longer running`);
    expect(fs.existsSync(path.join(dir, 'work', LOCK_FILE))).to.equal(false);
  });

  it("an exception from a hook's timer ends the run with one line naming hook and stage (stack only with HOOKFLOW_DEBUG), exit 1", () => {
    writeConfig({ customHooks: [{ type: 'TimerBombHook' }] });
    const run = hookflowSync(['train', 'c.json', '--work-dir', 'work'], dir);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal('hookflow: error: timer boom (while in afterTrainIter of TimerBombHook)\n');
    expect(fs.existsSync(path.join(dir, 'work', LOCK_FILE))).to.equal(false);
    const debug = hookflowSync(['train', 'c.json', '--work-dir', 'work'], dir, { ...ENV, HOOKFLOW_DEBUG: '1' });
    expect(debug.code).to.equal(1);
    expect(debug.stderr).to.match(/^hookflow: error: timer boom \(while in afterTrainIter of TimerBombHook\)\nError: timer boom\n {4}at Timeout\./);
  });

  it('an unhandled rejection ends the run the same way', () => {
    writeConfig({ customHooks: [{ type: 'LostRejectionHook' }] });
    const run = hookflowSync(['train', 'c.json', '--work-dir', 'work'], dir);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal('hookflow: error: nobody awaited this (while in afterTrainIter of LostRejectionHook)\n');
  });

  it('a hook whose promise never settles fails the run naming it, instead of exiting 0 mid-run', () => {
    writeConfig({ customHooks: [{ type: 'LostCallbackHook' }] });
    const run = hookflowSync(['train', 'c.json', '--work-dir', 'work'], dir);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal('hookflow: error: hook LostCallbackHook did not settle in afterTrainIter (its promise never settled and nothing else was left to run)\n');
  });

  it("a hook's timeout and the run's stallTimeout fail a hook that takes too long, naming it; bad values are config errors", () => {
    writeConfig({ customHooks: [{ type: 'SleepHook', ms: 600000, timeout: 0.2 }] });
    let run = hookflowSync(['train', 'c.json', '--work-dir', 'work'], dir);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal('hookflow: error: hook SleepHook did not settle in afterTrainIter within 0.2 s (its timeout)\n');

    writeConfig({ customHooks: [{ type: 'SleepHook', ms: 600000 }], runner: { type: 'EpochBasedRunner', maxEpochs: 2, stallTimeout: 0.2 } });
    run = hookflowSync(['train', 'c.json', '--work-dir', 'work'], dir);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal("hookflow: error: hook SleepHook did not settle in afterTrainIter within 0.2 s (the run's stallTimeout)\n");

    writeConfig({ customHooks: [{ type: 'SleepHook', ms: 1, timeout: -1 }] });
    run = hookflowSync(['train', 'c.json', '--work-dir', 'work'], dir);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/^hookflow: config error: config\.customHooks\.0\.timeout: .*\n$/);
  });

  it('a fresh run keeps the earlier journal beside the new one; replay --skip-invalid salvages a damaged journal', () => {
    writeConfig();
    const work = path.join(dir, 'work');
    expect(hookflowSync(['train', 'c.json', '--work-dir', work], dir).code).to.equal(0);
    const journal = path.join(work, 'events.jsonl');
    const lines = fs.readFileSync(journal, 'utf8').split('\n');
    lines[4] = lines[4]!.slice(0, 10);
    fs.writeFileSync(journal, lines.join('\n'));

    const again = hookflowSync(['train', 'c.json', '--work-dir', work], dir);
    expect(again.code, again.stderr).to.equal(0);
    const kept = /kept it as (events\.\d{8}_\d{6}\.jsonl) and started a new journal/.exec(again.stdout)?.[1];
    expect(kept, again.stdout).to.be.a('string');
    expect(fs.readFileSync(path.join(work, kept!), 'utf8')).to.equal(lines.join('\n'));
    expect(readJournal(journal).sessions.map((s) => s.type)).to.deep.equal(['start']);

    const hook = ['--hook', '{"type":"TextLoggerHook"}', '--work-dir', path.join(dir, 'replayed')];
    const strict = hookflowSync(['replay', path.join(work, kept!), ...hook], dir);
    expect(strict.code).to.equal(1);
    expect(strict.stderr).to.match(new RegExp(`^hookflow: error: ${path.join(work, kept!)}:5: not valid JSON`));
    const salvage = hookflowSync(['replay', path.join(work, kept!), '--skip-invalid', ...hook], dir);
    expect(salvage.code, salvage.stderr).to.equal(0);
    expect(salvage.stdout + salvage.stderr).to.contain(`${path.join(work, kept!)}: skipped 1 invalid line; kept `);
  });
});
