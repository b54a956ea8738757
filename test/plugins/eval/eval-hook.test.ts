import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../../src/backend/tfjs.js';
import { expect } from 'chai';
import { TOKENS } from '../../../src/core/di.js';
import { ConfigError } from '../../../src/core/errors.js';
import { Hook } from '../../../src/core/hook.js';
import { HOOKS } from '../../../src/core/hooks-registry.js';
import type { StageEvent } from '../../../src/core/stage-event.js';
import type { BaseRunner, RunnerLoader } from '../../../src/runner/base-runner.js';
import type { DataBatch } from '../../../src/training/data/data-loader.js';
import { EvalHook, collectResults } from '../../../plugins/eval/eval-hook.js';
import { DistEvalHook } from '../../../plugins/eval/dist-eval-hook.js';
import { accuracy, loss, type EvalResults } from '../../../plugins/eval/metrics.js';
import { tempDir, tinyRunner, type TinyOptions } from '../../helpers/tiny.js';

/** A metric that reports the given values of `key`, one per evaluation. */
function scripted(key: string, values: number[]) {
  let call = 0;
  return (_r: EvalResults) => ({ [key]: values[call++]! });
}

/** Records what hooks running after EvalHook see in a stage. */
class Probe extends Hook<BaseRunner> {
  readonly seen: Array<{ stage: string; epoch: number; iter: number; training: boolean; tensors: number }> = [];
  private note(stage: string, r: BaseRunner): void {
    this.seen.push({ stage, epoch: r.epoch, iter: r.iter, training: (r.model as unknown as { training: boolean }).training, tensors: tf.memory().numTensors });
  }
  override afterTrainEpoch(r: BaseRunner): void { this.note('afterTrainEpoch', r); }
  override afterTrainIter(r: BaseRunner): void { this.note('afterTrainIter', r); }
}

/**
 * A tiny run with the default hooks (optimizer, timer, text logger at interval 1) and EvalHook
 * built from `evalCfg` through the runner's container, which provides the val loader.
 */
function setup(evalCfg: Record<string, unknown>, options: TinyOptions & { logInterval?: number } = {}) {
  const { logInterval = 1, ...tiny } = options;
  const t = tinyRunner(tiny);
  t.runner.container.bind(TOKENS.ValDataLoader).toConstantValue(t.val);
  const events: StageEvent[] = [];
  t.runner.events$.subscribe((e) => events.push(e));
  t.runner.registerTrainingHooks({
    optimizerConfig: {},
    logConfig: { interval: logInterval, hooks: [{ type: 'TextLoggerHook' }] },
    customHooksConfig: [{ type: 'EvalHook', priority: 'LOW', ...evalCfg }],
  });
  const hook = t.runner.hooks.find((h) => h instanceof EvalHook) as EvalHook;
  const evaluations = () => events.filter((e) => e.payload?.metrics !== undefined);
  return { ...t, hook, events, evaluations };
}

function jsonLog(runner: BaseRunner): Array<Record<string, unknown>> {
  return fs.readFileSync(path.join(runner.workDir!, `${runner.timestamp}.log.json`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('EvalHook', () => {
  describe('options', () => {
    const { val } = tinyRunner();

    it('has MMCV defaults and is registered in HOOKS, with DistEvalHook', () => {
      const hook = new EvalHook({ dataloader: val });
      expect([hook.dataloader, hook.start, hook.interval, hook.byEpoch, hook.saveBest, hook.rule, hook.keyIndicator]).to.deep.equal([val, null, 1, true, null, null, null]);
      expect(hook.greaterKeys).to.deep.equal(['acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU', 'mAcc', 'aAcc']);
      expect(hook.lessKeys).to.deep.equal(['loss']);
      expect(HOOKS.get('EvalHook')).to.equal(EvalHook);
      expect(HOOKS.get('DistEvalHook')).to.equal(DistEvalHook);
    });

    it('infers the rule of saveBest at construction, and keeps an explicit one', () => {
      expect(new EvalHook({ dataloader: val, saveBest: 'accuracy' }).rule).to.equal('greater');
      expect(new EvalHook({ dataloader: val, saveBest: 'loss' }).rule).to.equal('less');
      expect(new EvalHook({ dataloader: val, saveBest: 'recall', rule: 'greater' }).rule).to.equal('greater');
      expect(new EvalHook({ dataloader: val, saveBest: 'loss_top', lessKeys: 'loss_top' }).rule).to.equal('less');
      const auto = new EvalHook({ dataloader: val, saveBest: 'auto' });
      expect([auto.keyIndicator, auto.rule]).to.deep.equal([null, null]);
    });

    it('rejects bad options with messages that name them', () => {
      const bad: Array<[Record<string, unknown>, string]> = [
        [{ interval: 0 }, 'EvalHook.interval: must be a positive integer; got 0'],
        [{ start: -1 }, 'EvalHook.start: must be an integer >= 0; got -1'],
        [{ byEpoch: 'yes' }, 'EvalHook.byEpoch: must be a boolean; got "yes"'],
        [{ rule: 'bigger' }, `EvalHook.rule: must be 'greater', 'less' or null; got "bigger"`],
        [{ saveBest: 'recall' }, "EvalHook.saveBest: cannot infer whether a greater or a less 'recall' is better; set rule to 'greater' or 'less'"],
        [{ metrics: [] }, 'EvalHook.metrics: must be a non-empty list of metrics; got []'],
        [{ metrics: ['accuracy', 'f1'] }, "EvalHook.metrics[1]: 'f1' is not in the metric registry."],
        [{ metrics: [{ type: 'topKAccuracy', k: 0 }] }, 'EvalHook.metrics[0].topKAccuracy.k: must be a positive integer; got 0'],
        [{ dataloader: 5 }, 'EvalHook.dataloader: must be a data loader (an iterable of batches with a length)'],
        [{ saveBets: 'acc' }, "EvalHook: unknown option 'saveBets' (did you mean 'saveBest'?)"],
      ];
      for (const [options, message] of bad) {
        expect(() => new EvalHook({ dataloader: val, ...options } as never), JSON.stringify(options)).to.throw(ConfigError, message);
      }
    });

    it('takes the val loader from the runner container, and needs one', () => {
      const { runner, val: loader } = tinyRunner();
      expect(() => runner.registerHookFromConfig({ type: 'EvalHook' })).to.throw(ConfigError,
        'EvalHook.dataloader: is required: pass a data loader in code, or give the config a data.val split (the runner provides it)');
      runner.container.bind(TOKENS.ValDataLoader).toConstantValue(loader);
      expect((runner.registerHookFromConfig({ type: 'EvalHook', name: 'eval' }) as EvalHook).dataloader).to.equal(loader);
      const own = tinyRunner().val;
      expect((runner.registerHookFromConfig({ type: 'EvalHook', dataloader: own }) as EvalHook).dataloader).to.equal(own);
    });
  });

  it('sits before the loggers in the hook plan at LOW', () => {
    const { runner } = setup({});
    const info = runner.hookInfo();
    expect(info).to.include(['afterTrainEpoch:', `(LOW         ) ${'EvalHook'.padEnd(35)}`, `(VERY_LOW    ) ${'TextLoggerHook'.padEnd(35)}`, ' -------------------- '].join('\n'));
    expect(info).to.include(['beforeRun:', `(LOW         ) ${'EvalHook'.padEnd(35)}`, `(VERY_LOW    ) ${'TextLoggerHook'.padEnd(35)}`, ' -------------------- '].join('\n'));
    expect(info).to.include(['afterTrainIter:', `(ABOVE_NORMAL) ${'OptimizerHook'.padEnd(35)}`, `(LOW         ) ${'IterTimerHook'.padEnd(35)}`,
      `(LOW         ) ${'EvalHook'.padEnd(35)}`, `(VERY_LOW    ) ${'TextLoggerHook'.padEnd(35)}`, ' -------------------- '].join('\n'));
  });

  describe('schedule', () => {
    const cases: Array<[string, Record<string, unknown>, number[], boolean]> = [
      ['every epoch by default', {}, [1, 2, 3, 4, 5, 6, 7], false],
      ['interval 2', { interval: 2 }, [2, 4, 6], false],
      ['start 3, interval 2', { start: 3, interval: 2 }, [3, 5, 7], false],
      ['start 0: also before training', { start: 0 }, [0, 1, 2, 3, 4, 5, 6, 7], true],
      ['start 0, interval 2: no evaluation before training (MMCV)', { start: 0, interval: 2 }, [2, 4, 6], false],
    ];
    for (const [name, cfg, epochs, before] of cases) {
      it(`${name}: after epochs ${epochs.join(', ')}`, async () => {
        const { runner, evaluations, logger, train } = setup({ metrics: ['accuracy'], ...cfg }, { maxEpochs: 7, numSamples: 4, batchSize: 4 });
        await runner.run([train], [['train', 1]]);
        // Training epochs behind each evaluation: counted before a train epoch, finished after one.
        const done = evaluations().map((e) => (e.stage === 'beforeTrainEpoch' ? e.epoch : e.epoch + 1));
        expect(done).to.deep.equal(epochs);
        expect(evaluations().filter((e) => e.stage === 'beforeTrainEpoch')).to.have.length(before ? 1 : 0);
        expect(logger.text().includes('Evaluation before training (epoch 0): accuracy: ')).to.equal(before);
      });
    }
  });

  it('logs the results as a val record, annotates the event and evaluates in eval mode, then back in train mode', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { runner, evaluations, logger, model, train, val } = setup({}, { maxEpochs: 2, workDir: dir });
      const modes: boolean[] = [];
      const forward = model.forward.bind(model);
      model.forward = (x, training) => { if (!training) modes.push(model.training); return forward(x, training); };
      const probe = new Probe();
      runner.registerHook(probe, 'LOWEST');
      await runner.run([train], [['train', 1]]);

      expect(modes).to.deep.equal([false, false, false, false, false, false]); // 2 evaluations x 3 val batches
      expect(probe.seen.filter((s) => s.stage === 'afterTrainEpoch').map((s) => s.training)).to.deep.equal([true, true]);
      const [first, second] = evaluations().map((e) => e.payload!.metrics as Record<string, number>);
      expect(Object.keys(first!)).to.deep.equal(['accuracy', 'loss']);

      const records = jsonLog(runner);
      const valRecords = records.filter((r) => r.mode === 'val');
      expect(valRecords.map((r) => Object.keys(r))).to.deep.equal([0, 1].map(() => ['mode', 'epoch', 'iter', 'lr', 'momentum', 'accuracy', 'loss']));
      expect(valRecords.map((r) => [r.epoch, r.iter])).to.deep.equal([[1, 3], [2, 3]]); // iter = evalIterNum = len(val loader)
      expect(valRecords[1]!.loss).to.equal(Math.round(second!.loss! * 1e5) / 1e5);
      // The val record follows the epoch's train records.
      expect(records.slice(1).map((r) => r.mode)).to.deep.equal(['train', 'train', 'train', 'val', 'train', 'train', 'train', 'val']);
      const text = (v: number) => v.toFixed(4); // log vars print with 4 decimals, integer-valued ones too (MMCV: 1.0000)
      expect(logger.text()).to.include(`Epoch(val) [2][3]\taccuracy: ${text(second!.accuracy!)}, loss: ${text(second!.loss!)}`);

      // The last evaluation saw the final weights: same numbers as the model's own val step.
      const results = await collectResults(runner, val);
      expect({ ...accuracy()(results), ...loss()(results) }).to.deep.equal(second);
      let weighted = 0;
      for (const batch of val as Iterable<DataBatch>) {
        weighted += model.valStep(batch).loss * batch.size;
        batch.dispose();
      }
      expect(second!.loss).to.be.closeTo(weighted / 12, 1e-5);
    } finally {
      cleanup();
    }
  });

  it('keeps the tensor count flat across evaluations', async () => {
    const { runner, train } = setup({}, { maxEpochs: 4 });
    const probe = new Probe();
    runner.registerHook(probe, 'LOWEST');
    await runner.run([train], [['train', 1]]);
    const counts = probe.seen.filter((s) => s.stage === 'afterTrainEpoch').map((s) => s.tensors);
    expect(counts).to.have.length(4);
    expect(new Set(counts).size).to.equal(1);
  });

  it('by iteration: flushes the training log first, evaluates, and restores train mode', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { runner, evaluations, train } = setup({ byEpoch: false, interval: 2 }, { maxEpochs: 2, workDir: dir, logInterval: 2 });
      const probe = new Probe();
      runner.registerHook(probe, 'LOWEST');
      await runner.run([train], [['train', 1]]);
      expect(evaluations().map((e) => [e.stage, e.iter])).to.deep.equal([['afterTrainIter', 1], ['afterTrainIter', 3], ['afterTrainIter', 5]]);
      expect(probe.seen.filter((s) => s.stage === 'afterTrainIter').every((s) => s.training)).to.equal(true);
      // Iterations 1, 3, 5 evaluate (3 iterations an epoch); the logger logs every 2 inner
      // iterations (1 and 4) over what EvalHook's buffer clearing left: the training record
      // comes before the val record of the same iteration.
      const records = jsonLog(runner).slice(1).map((r) => `${r.mode}${r.mode === 'train' ? r.iter : ''}`);
      expect(records).to.deep.equal(['train2', 'val', 'val', 'train2', 'val']);
    } finally {
      cleanup();
    }
  });

  describe('saveBest', () => {
    async function bestRun(evalCfg: Record<string, unknown>, options: TinyOptions, dir: string) {
      const s = setup(evalCfg, { ...options, workDir: dir });
      await s.runner.run([s.train], [['train', 1]]);
      const entries = fs.readdirSync(dir).filter((f) => f.startsWith('best_')).sort();
      return { ...s, entries };
    }

    it('names a best checkpoint from the evaluation before training best_<key>_epoch_0 (the epochs it has trained; MMCV says epoch_1)', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const { entries } = await bestRun({ start: 0, saveBest: 'acc', metrics: [scripted('acc', [0.9, 0.5, 0.6])] }, { maxEpochs: 2 }, dir);
        expect(entries).to.deep.equal(['best_acc_epoch_0']);
        const meta = JSON.parse(fs.readFileSync(path.join(dir, 'best_acc_epoch_0', 'meta.json'), 'utf8')).meta;
        expect([meta.epoch, meta.iter]).to.deep.equal([0, 0]);
      } finally {
        cleanup();
      }
    });

    it('keeps one best_<key>_epoch_N checkpoint, deletes the previous one, records bestScore and logs it', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const { runner, entries, logger, hook } = await bestRun({ saveBest: 'acc', metrics: [scripted('acc', [0.5, 0.7, 0.6, 0.9])] }, { maxEpochs: 4 }, dir);
        expect(entries).to.deep.equal(['best_acc_epoch_4']);
        const msgs = runner.meta!.hookMsgs as Record<string, unknown>;
        expect(msgs.bestScore).to.equal(0.9);
        expect(msgs.bestCkpt).to.equal(path.join(dir, 'best_acc_epoch_4'));
        const lines = logger.text().split('\n');
        expect(lines.filter((l) => l.startsWith('Now best checkpoint') || l.startsWith('Best acc') || l.startsWith('The previous best'))).to.deep.equal([
          'Now best checkpoint is saved as best_acc_epoch_1.', 'Best acc is 0.5000 at 1 epoch.',
          `The previous best checkpoint ${path.join(dir, 'best_acc_epoch_1')} was removed`,
          'Now best checkpoint is saved as best_acc_epoch_2.', 'Best acc is 0.7000 at 2 epoch.',
          `The previous best checkpoint ${path.join(dir, 'best_acc_epoch_2')} was removed`,
          'Now best checkpoint is saved as best_acc_epoch_4.', 'Best acc is 0.9000 at 4 epoch.',
        ]);
        // The checkpoint is a snapshot after the whole stage: meta and every hook state included.
        const meta = JSON.parse(fs.readFileSync(path.join(dir, 'best_acc_epoch_4', 'meta.json'), 'utf8')).meta;
        expect(meta.epoch).to.equal(4);
        expect(meta.hookMsgs).to.deep.include({ bestScore: 0.9, bestCkpt: path.join(dir, 'best_acc_epoch_4') });
        expect(meta.hookStates.EvalHook).to.deep.equal(hook.stateDict());
        expect(hook.stateDict()).to.deep.equal({ keyIndicator: 'acc', rule: 'greater', bestScore: 0.9, bestCkpt: path.join(dir, 'best_acc_epoch_4') });
      } finally {
        cleanup();
      }
    });

    it('lets a score of 0 become best (MMCV skips falsy scores)', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const { entries, runner } = await bestRun({ saveBest: 'loss', metrics: [scripted('loss', [0.3, 0, 0.1])] }, { maxEpochs: 3 }, dir);
        expect(entries).to.deep.equal(['best_loss_epoch_2']);
        expect((runner.meta!.hookMsgs as Record<string, unknown>).bestScore).to.equal(0);
      } finally {
        cleanup();
      }
    });

    it("'auto' takes the first metric and infers its rule; by iteration names best_<key>_iter_N", async () => {
      const { dir, cleanup } = tempDir();
      try {
        const { entries, hook } = await bestRun({
          saveBest: 'auto', byEpoch: false, interval: 2, metrics: [scripted('loss', [0.5, 0.4, 0.45]), scripted('acc', [0.1, 0.2, 0.3])],
        }, { kind: 'iter', maxIters: 6 }, dir);
        expect([hook.keyIndicator, hook.rule]).to.deep.equal(['loss', 'less']);
        expect(entries).to.deep.equal(['best_loss_iter_4']);
      } finally {
        cleanup();
      }
    });

    it('fails clearly when the key is not among the results', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const s = setup({ saveBest: 'top2Accuracy' }, { workDir: dir });
        let error: Error | undefined;
        await s.runner.run([s.train], [['train', 1]]).catch((e: Error) => { error = e; });
        expect(error!.message).to.equal("hook EvalHook failed in afterTrainEpoch: EvalHook: saveBest key 'top2Accuracy' is not among the evaluation results (accuracy, loss)");
      } finally {
        cleanup();
      }
    });

    it('keeps the best score and checkpoint across resume', async () => {
      const { dir, cleanup } = tempDir();
      try {
        const first = await bestRun({ saveBest: 'acc', metrics: [scripted('acc', [0.5, 0.7])] }, { maxEpochs: 2 }, dir);
        expect(first.entries).to.deep.equal(['best_acc_epoch_2']);
        // 0.6 would be a new best for a hook that forgot the 0.7.
        const s = setup({ saveBest: 'acc', metrics: [scripted('acc', [0.6, 0.8])] }, { maxEpochs: 4, workDir: dir });
        await s.runner.resume(path.join(dir, 'best_acc_epoch_2'));
        expect(s.hook.stateDict()).to.deep.equal({ keyIndicator: 'acc', rule: 'greater', bestScore: 0.7, bestCkpt: path.join(dir, 'best_acc_epoch_2') });
        await s.runner.run([s.train], [['train', 1]]);
        expect(s.evaluations().map((e) => e.epoch + 1)).to.deep.equal([3, 4]);
        expect(fs.readdirSync(dir).filter((f) => f.startsWith('best_'))).to.deep.equal(['best_acc_epoch_4']);
        expect((s.runner.meta!.hookMsgs as Record<string, unknown>).bestScore).to.equal(0.8);
      } finally {
        cleanup();
      }
    });

    it('needs a place to save', () => {
      const { runner, val } = tinyRunner();
      runner.registerHook(new EvalHook({ dataloader: val, saveBest: 'accuracy' }));
      return runner.run([val], [['train', 1]]).then(
        () => { throw new Error('expected a failure'); },
        (e: Error) => expect(e.message).to.equal('hook EvalHook failed in beforeRun: EvalHook.outDir: is required to save the best checkpoint when the runner has no workDir'),
      );
    });
  });

  it('evaluates a loader given in code, whatever its batches, as long as they carry x and labels', async () => {
    const { runner } = tinyRunner();
    const batches = [{ x: tf.zeros([2, 4]), labels: Int32Array.from([0, 1]), size: 2 }];
    const loader: RunnerLoader = { length: 1, [Symbol.iterator]: () => batches[Symbol.iterator]() };
    const results = await collectResults(runner, loader);
    expect([results.numSamples, results.numOutputs, [...results.labels]]).to.deep.equal([2, 3, [0, 1]]);
    tf.dispose(batches.map((b) => b.x));
    const bad: RunnerLoader = { length: 1, [Symbol.iterator]: () => [{ x: 1 }][Symbol.iterator]() };
    let error: Error | undefined;
    await collectResults(runner, bad).catch((e: Error) => { error = e; });
    expect(error!.message).to.equal('EvalHook: every batch must carry x (a tensor) and labels (an Int32Array of class ids), as DataLoader batches do');
  });
});
