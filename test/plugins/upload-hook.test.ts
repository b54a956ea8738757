import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { UploadHook, copyAtomic, scanArtifacts } from '../../plugins/upload-hook.js';
import '../../plugins/tensorboard/tensorboard-logger-hook.js';
import { tempDir, tinyRunner } from '../helpers/tiny.js';
import { hookPlan } from './hook-plan.js';

function write(file: string, content = 'x'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** Every file and link under `dir` (links not followed), relative, sorted. */
function tree(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tree(path.join(dir, e.name), path.join(prefix, e.name)) : [path.join(prefix, e.name)]))
    .sort();
}

/**
 * Writes `epoch_<n>/` at the end of every train epoch, deferred to the stage's end and
 * recorded in `meta.hookMsgs.lastCkpt`, as CheckpointHook does.
 */
class FakeCheckpointHook extends Hook<BaseRunner> {
  override afterTrainEpoch(runner: BaseRunner): void {
    runner.deferUntilStageEnd(() => {
      const name = `epoch_${runner.epoch}`;
      write(path.join(runner.workDir!, name, 'weights.bin'), `weights of ${name}`);
      write(path.join(runner.workDir!, name, 'meta.json'), JSON.stringify({ epoch: runner.epoch }));
      runner.meta!.hookMsgs = { lastCkpt: path.join(runner.workDir!, name) };
    });
  }
}

/** A tiny run with a text logger, TensorBoard, a journal and fake checkpoints, uploading to `dest`. */
async function uploadRun(workDir: string, upload: Record<string, unknown>, extraHooks: Hook<any>[] = []) {
  const { runner, train, val, logger } = tinyRunner({ workDir, maxEpochs: 2 });
  runner.addEventListener((e) => fs.appendFileSync(path.join(workDir, 'events.jsonl'), `${JSON.stringify(e)}\n`));
  runner.registerTrainingHooks({
    optimizerConfig: {},
    logConfig: { interval: 2, hooks: [{ type: 'TextLoggerHook' }, { type: 'TensorboardLoggerHook' }] },
  });
  runner.registerHook(new FakeCheckpointHook());
  const hook = runner.registerHookFromConfig({ type: 'UploadHook', ...upload }) as UploadHook;
  for (const extra of extraHooks) runner.registerHook(extra);
  await runner.run([train, val], [['train', 1], ['val', 1]]);
  return { runner, hook, logger };
}

describe('UploadHook', () => {
  it('has defaults and validates options', () => {
    const hook = new UploadHook({ dest: 'remote' });
    expect([hook.dest, hook.interval, hook.verbose, hook.queueSize, hook.retries, hook.retryDelay, hook.include])
      .to.deep.equal([path.resolve('remote'), 1, false, 8, 3, 200, ['checkpoints', 'logs', 'journal']]);
    expect(new UploadHook({ dest: '/r', include: ['logs', 'logs', 'journal'] }).include).to.deep.equal(['logs', 'journal']);
    expect(() => new UploadHook({} as never)).to.throw('UploadHook.dest: Invalid input: expected string, received undefined');
    expect(() => new UploadHook({ dest: '/r', include: ['models'] as never })).to.throw('UploadHook.include.0: Invalid option: expected one of "checkpoints"|"logs"|"journal"');
    expect(() => new UploadHook({ dest: '/r', include: [] })).to.throw('UploadHook.include: Too small: expected array to have >=1 items');
    expect(() => new UploadHook({ dest: '/r', queueSize: 0 })).to.throw('UploadHook.queueSize: Too small: expected number to be >0');
    expect(() => new UploadHook({ dest: '/r', retries: 1.5 })).to.throw('UploadHook.retries: Invalid input: expected int, received number');
    expect(() => new UploadHook({ dest: '/r', queue_size: 2 } as never)).to.throw("UploadHook: unknown option 'queue_size' (did you mean 'queueSize'?)");
  });

  it('finds checkpoints, logs and the journal in the work dir, group by group, and notices changes', () => {
    const { dir, cleanup } = tempDir();
    try {
      for (const f of ['epoch_10/w.bin', 'epoch_2/w.bin', 'epoch_2/meta.json', 'iter_3/w.bin', 'best_acc_epoch_2/w.bin', '.epoch_11.tmp/w.bin',
        '20260101_000000.log', '20260101_000000.log.json', 'events.jsonl', 'tf_logs/events.out.tfevents.1', 'tf_logs/val/events.out.tfevents.2', 'notes.txt', 'epoch_x/w.bin']) {
        write(path.join(dir, f));
      }
      fs.symlinkSync('epoch_10', path.join(dir, 'latest'));
      const rels = (include: Parameters<typeof scanArtifacts>[1]) => scanArtifacts(dir, include).map((a) => a.rel);
      expect(rels(['checkpoints', 'logs', 'journal'])).to.deep.equal([
        'best_acc_epoch_2', 'epoch_2', 'epoch_10', 'iter_3', 'latest',
        '20260101_000000.log', '20260101_000000.log.json', path.join('tf_logs', 'events.out.tfevents.1'), path.join('tf_logs', 'val', 'events.out.tfevents.2'),
        'events.jsonl',
      ]);
      expect(rels(['journal', 'checkpoints'])).to.deep.equal(['events.jsonl', 'best_acc_epoch_2', 'epoch_2', 'epoch_10', 'iter_3', 'latest']);

      const signature = (rel: string) => scanArtifacts(dir, ['checkpoints', 'logs']).find((a) => a.rel === rel)!.signature;
      const before = [signature('epoch_2'), signature('20260101_000000.log'), signature('latest')];
      fs.appendFileSync(path.join(dir, 'epoch_2', 'meta.json'), 'more');
      fs.appendFileSync(path.join(dir, '20260101_000000.log'), 'more');
      fs.rmSync(path.join(dir, 'latest'));
      fs.symlinkSync('epoch_2', path.join(dir, 'latest'));
      const after = [signature('epoch_2'), signature('20260101_000000.log'), signature('latest')];
      after.forEach((s, i) => expect(s).to.not.equal(before[i]));
      expect(signature('epoch_10')).to.equal(scanArtifacts(dir, ['checkpoints'])[2]!.signature);
    } finally {
      cleanup();
    }
  });

  it('copies files, links and whole directories atomically, replacing older copies', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const src = path.join(dir, 'work');
      const dst = path.join(dir, 'remote');
      write(path.join(src, 'epoch_1', 'w.bin'), 'v1');
      write(path.join(src, 'epoch_1', 'sub', 'x'), 'x');
      write(path.join(src, 'a.log'), 'line 1\n');
      fs.symlinkSync('epoch_1', path.join(src, 'latest'));
      for (const rel of ['epoch_1', 'a.log', 'latest']) await copyAtomic(path.join(src, rel), path.join(dst, rel));
      expect(tree(dst)).to.deep.equal(['a.log', path.join('epoch_1', 'sub', 'x'), path.join('epoch_1', 'w.bin'), 'latest']);
      expect(fs.readlinkSync(path.join(dst, 'latest'))).to.equal('epoch_1');
      expect(fs.readFileSync(path.join(dst, 'latest', 'w.bin'), 'utf8')).to.equal('v1');

      fs.rmSync(path.join(src, 'epoch_1', 'sub'), { recursive: true });
      write(path.join(src, 'epoch_1', 'w.bin'), 'v2');
      fs.appendFileSync(path.join(src, 'a.log'), 'line 2\n');
      for (const rel of ['epoch_1', 'a.log']) await copyAtomic(path.join(src, rel), path.join(dst, rel));
      expect(tree(dst)).to.deep.equal(['a.log', path.join('epoch_1', 'w.bin'), 'latest']);
      expect(fs.readFileSync(path.join(dst, 'epoch_1', 'w.bin'), 'utf8')).to.equal('v2');
      expect(fs.readFileSync(path.join(dst, 'a.log'), 'utf8')).to.equal('line 1\nline 2\n');
      expect(fs.readdirSync(dst).filter((n) => n.startsWith('.'))).to.deep.equal([]);
    } finally {
      cleanup();
    }
  });

  it('mirrors checkpoints, logs, TensorBoard files and the journal to dest during and after a real run, in queue order', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const workDir = path.join(dir, 'work');
      const dest = path.join(dir, 'remote');
      const { runner, hook, logger } = await uploadRun(workDir, { dest });
      const ts = runner.timestamp;
      const tfFile = path.join('tf_logs', fs.readdirSync(path.join(workDir, 'tf_logs'))[0]!);
      // After the first checkpoint: everything there was, in scan order; then what changed.
      expect(hook.uploaded.slice(0, 5)).to.deep.equal(['epoch_1', `${ts}.log`, `${ts}.log.json`, tfFile, 'events.jsonl']);
      expect(hook.uploaded[5]).to.equal('epoch_2');
      expect(hook.failed).to.deep.equal([]);
      // The end of the run leaves complete copies (the text log has the upload summary after its copy).
      for (const rel of ['epoch_1/weights.bin', 'epoch_1/meta.json', 'epoch_2/weights.bin', `${ts}.log.json`, 'events.jsonl', tfFile]) {
        expect(fs.readFileSync(path.join(dest, rel), 'utf8'), rel).to.equal(fs.readFileSync(path.join(workDir, rel), 'utf8'));
      }
      expect(fs.readFileSync(path.join(workDir, `${ts}.log`), 'utf8').startsWith(fs.readFileSync(path.join(dest, `${ts}.log`), 'utf8'))).to.equal(true);
      expect(JSON.parse(fs.readFileSync(path.join(dest, 'events.jsonl'), 'utf8').trim().split('\n').at(-1)!).stage).to.equal('afterRun');
      expect(tree(dest).filter((f) => path.basename(f).startsWith('.'))).to.deep.equal([]);
      expect(logger.lines.at(-1)).to.deep.equal({ level: 'info', message: `UploadHook: uploaded ${hook.uploaded.length} artifacts to ${dest}` });
    } finally {
      cleanup();
    }
  });

  it('uploads after every interval-th checkpoint only', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { hook } = await uploadRun(path.join(dir, 'work'), { dest: path.join(dir, 'remote'), interval: 2, include: ['checkpoints'] });
      expect(hook.uploaded).to.deep.equal(['epoch_1', 'epoch_2']);
    } finally {
      cleanup();
    }
  });

  it('skips with a warning an artifact deleted locally before its turn (an old checkpoint past maxKeepCkpts)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const workDir = path.join(dir, 'work');
      // A scratch checkpoint that sorts after epoch_N, deleted right after the upload check queued it.
      class ScratchHook extends Hook<BaseRunner> {
        override afterTrainEpoch(runner: BaseRunner): void {
          write(path.join(workDir, 'iter_0', 'w.bin'));
          runner.deferUntilStageEnd(() => fs.rmSync(path.join(workDir, 'iter_0'), { recursive: true }));
        }
      }
      const { hook, logger } = await uploadRun(workDir, { dest: path.join(dir, 'remote'), include: ['checkpoints'] }, [new ScratchHook()]);
      expect(hook.uploaded).to.deep.equal(['epoch_1', 'epoch_2']);
      // Once or twice: a copy still waiting from epoch 1 covers epoch 2's rewrite of it.
      const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
      expect(warnings.length).to.be.within(1, 2);
      expect(new Set(warnings)).to.deep.equal(new Set(['UploadHook: iter_0 was removed from the work dir before it could be uploaded']));
      expect(fs.existsSync(path.join(dir, 'remote', 'iter_0'))).to.equal(false);
    } finally {
      cleanup();
    }
  });

  it('retries a failing destination, reports every failure and lets training finish', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const blocker = path.join(dir, 'a-file');
      write(blocker);
      const dest = path.join(blocker, 'remote');
      const { runner, hook, logger } = await uploadRun(path.join(dir, 'work'), { dest, retries: 2, retryDelay: 1, include: ['checkpoints', 'journal'] });
      expect(runner.epoch).to.equal(2);
      expect(hook.uploaded).to.deep.equal([]);
      const errors = logger.lines.filter((l) => l.level === 'error').map((l) => l.message);
      const failure = (rel: string) => `UploadHook: could not upload ${rel} to ${dest} after 3 attempts: ENOTDIR: not a directory, mkdir '${dest}'`;
      expect(errors[0]).to.equal(failure('epoch_1'));
      // Failed artifacts are tried again at the next check, so some fail more than once.
      expect([...new Set(errors)].sort()).to.deep.equal([failure('epoch_1'), failure('epoch_2'), failure('events.jsonl')]);
      expect(hook.failed).to.have.length(errors.length);
      expect(logger.lines.at(-1)!.message).to.equal(`UploadHook: uploaded 0 artifacts to ${dest}; ${errors.length} failed`);
    } finally {
      cleanup();
    }
  });

  it('prints every stage it sees in verbose mode, subscribing to all of them', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { runner, train, logger } = tinyRunner({ workDir: dir, maxEpochs: 1, numSamples: 8, batchSize: 4 });
      runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'UploadHook', dest: path.join(dir, 'remote'), verbose: true }] });
      const plan = hookPlan(runner.hookInfo());
      for (const stage of Object.keys(plan)) expect(plan[stage], stage).to.include('(NORMAL) UploadHook');
      // The ten stages and the exception stage.
      expect(Object.keys(plan)).to.have.length(11);
      await runner.run([train], [['train', 1]]);
      expect(logger.lines.map((l) => l.message).filter((m) => m.startsWith('upload '))).to.deep.equal([
        'upload beforeRun', 'upload beforeTrainEpoch',
        'upload beforeTrainIter', 'upload afterTrainIter', 'upload beforeTrainIter', 'upload afterTrainIter',
        'upload afterTrainEpoch', 'upload afterRun',
      ]);
    } finally {
      cleanup();
    }
  });

  it('subscribes to beforeRun, the train-iteration and train-epoch ends, afterRun and onException when quiet', () => {
    const { runner } = tinyRunner();
    runner.registerTrainingHooks({ optimizerConfig: {}, checkpointConfig: null, customHooksConfig: [{ type: 'UploadHook', dest: '/remote' }] });
    const plan = hookPlan(runner.hookInfo());
    const withUpload = Object.keys(plan).filter((stage) => plan[stage]!.includes('(NORMAL) UploadHook'));
    expect(withUpload).to.deep.equal(['beforeRun', 'afterTrainIter', 'afterTrainEpoch', 'afterRun', 'onException']);
    expect(plan.afterTrainIter).to.deep.equal(['(ABOVE_NORMAL) OptimizerHook', '(NORMAL) UploadHook', '(LOW) IterTimerHook']);
  });

  it('uploads what a failing run leaves, after its exception stage, then the run rejects', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const workDir = path.join(dir, 'work');
      const dest = path.join(dir, 'remote');
      class Crash extends Hook<BaseRunner> {
        override afterTrainIter(runner: BaseRunner): void { if (runner.epoch === 1 && runner.innerIter === 1) throw new Error('out of memory'); }
      }
      let error: Error | undefined;
      const run = uploadRun(workDir, { dest }, [new Crash()]).catch((e: Error) => { error = e; });
      await run;
      expect(error?.message).to.equal('hook Crash failed in afterTrainIter: out of memory');
      // The first epoch's checkpoint, the logs and the journal up to its exception line.
      expect(tree(dest).filter((f) => !f.startsWith('tf_logs'))).to.deep.equal(tree(workDir).filter((f) => !f.startsWith('tf_logs')));
      expect(tree(dest)).to.include('epoch_1/weights.bin');
      const journal = fs.readFileSync(path.join(dest, 'events.jsonl'), 'utf8').trimEnd().split('\n');
      expect(JSON.parse(journal.at(-1)!)).to.deep.include({ stage: 'onException', payload: { error: 'hook Crash failed in afterTrainIter: out of memory', errorType: 'HookError', failedStage: 'afterTrainIter', failedHook: 'Crash' } });
    } finally {
      cleanup();
    }
  });

  it('needs a work dir, and one that is not the destination', async () => {
    const noDir = tinyRunner({ maxEpochs: 1 });
    noDir.runner.registerHook(new UploadHook({ dest: '/remote' }));
    let error = undefined as Error | undefined;
    await noDir.runner.run([noDir.train], [['train', 1]]).catch((e: Error) => { error = e; });
    expect(error?.message).to.equal('hook UploadHook failed in beforeRun: UploadHook needs a runner workDir to upload from');

    const { dir, cleanup } = tempDir();
    try {
      const same = tinyRunner({ workDir: dir, maxEpochs: 1 });
      same.runner.registerHook(new UploadHook({ dest: dir }));
      error = undefined as Error | undefined;
      await same.runner.run([same.train], [['train', 1]]).catch((e: Error) => { error = e; });
      expect(error?.message).to.equal(`hook UploadHook failed in beforeRun: UploadHook.dest: must not be the work dir itself (${dir})`);
      expect(error?.cause).to.be.instanceOf(ConfigError);
    } finally {
      cleanup();
    }
  });
});
