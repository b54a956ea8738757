import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { MemoryLogger } from '../../src/core/services.js';
import { runOnLocalRanks } from '../../src/dist/local-process-groups.js';
import { EpochBasedRunner } from '../../src/runner/epoch-based-runner.js';
import { buildOptimizers } from '../../src/training/optim/build-optimizer.js';
import { MLPClassifier } from '../../src/training/model/models.js';
import { DataLoader } from '../../src/training/data/data-loader.js';
import { Synthetic } from '../../src/training/data/synthetic.js';
import { readEventFile, type DecodedEvent } from '../../plugins/tensorboard/event-file-reader.js';
import { TensorboardLoggerHook } from '../../plugins/tensorboard/tensorboard-logger-hook.js';
import { tempDir, tinyRunner } from '../helpers/tiny.js';
import { hookPlan } from './hook-plan.js';

/** Puts evaluation results into the log buffer after every train epoch, as EvalHook does. */
class FakeEvalHook extends Hook<EpochBasedRunner> {
  override afterTrainEpoch(runner: EpochBasedRunner): void {
    const output = runner.logBuffer.output;
    output.set('evalIterNum', 3);
    output.set('top1', 0.5 + runner.epoch / 10);
    output.set('bestCkpt', `epoch_${runner.epoch + 1}`);
    runner.logBuffer.ready = true;
  }
}

/** One `[tag, step, value]` per summary value after the file-version record. */
function summaries(events: DecodedEvent[]): Array<[string, number, number | string]> {
  return events.slice(1).flatMap((e) => e.values.map((v) => [v.tag, e.step, v.text ?? v.scalar!] as [string, number, number | string]));
}

describe('TensorboardLoggerHook', () => {
  it("has MMCV's defaults and rejects bad options naming the option", () => {
    const hook = new TensorboardLoggerHook();
    expect([hook.interval, hook.ignoreLast, hook.resetFlag, hook.byEpoch, hook.logDir]).to.deep.equal([10, true, false, true, null]);
    expect(new TensorboardLoggerHook({ logDir: '/tmp/x', interval: 5 }).logDir).to.equal('/tmp/x');
    expect(() => new TensorboardLoggerHook({ logDir: '' })).to.throw('TensorboardLoggerHook.logDir: Too small: expected string to have >=1 characters');
    expect(() => new TensorboardLoggerHook({ interval: 0 })).to.throw('TensorboardLoggerHook.interval: Too small: expected number to be >0');
    expect(() => new TensorboardLoggerHook({ log_dir: 'x' } as never)).to.throw(
      "TensorboardLoggerHook: unknown option 'log_dir' (did you mean 'logDir'?); allowed options: interval, ignoreLast, resetFlag, byEpoch, logDir",
    );
  });

  it("writes MMCV's tags and steps for a real run: train logs, eval metrics and texts, val epochs, two optimizers", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed: 0 });
      const optimizer = buildOptimizers({
        body: { type: 'SGD', lr: 0.1, momentum: 0.8, params: 'fc1' },
        head: { type: 'Adam', lr: 0.01, betas: [0.7, 0.999], params: 'logits' },
      }, model.params());
      const issued = new Set<number>();
      let now = 1_700_000_000_000;
      const clock = { now: () => { now += 250; issued.add(now); return now; } };
      const runner = new EpochBasedRunner({ model, optimizer, logger: new MemoryLogger(), workDir: dir, maxEpochs: 2, clock });
      runner.registerTrainingHooks({
        optimizerConfig: {},
        logConfig: { interval: 2, hooks: [{ type: 'TextLoggerHook' }, { type: 'TensorboardLoggerHook' }] },
      });
      runner.registerHook(new FakeEvalHook(), 'LOW');
      const data = new Synthetic({ numSamples: 12, inputShape: [4], numClasses: 3, seed: 0 });
      await runner.run([new DataLoader(data, { batchSize: 4, shuffle: true, seed: 0 }), new DataLoader(data, { batchSize: 4 })], [['train', 1], ['val', 1]]);

      const files = fs.readdirSync(path.join(dir, 'tf_logs'));
      expect(files).to.have.length(1);
      expect(files[0]).to.match(/^events\.out\.tfevents\.\d{10}\./);
      const { events, truncated } = readEventFile(path.join(dir, 'tf_logs', files[0]!));
      expect(truncated).to.equal(false);
      expect(events[0]!.fileVersion).to.equal('brain.Event:2');

      const optimizerTags = (step: number): Array<[string, number]> => [
        ['learning_rate/body', step], ['learning_rate/head', step], ['momentum/body', step], ['momentum/head', step],
      ];
      const tagsAndSteps = summaries(events).map(([tag, step]) => [tag, step]);
      expect(tagsAndSteps).to.deep.equal([
        // epoch 1: train log at its 2nd iteration (global step iter + 1 = 2)
        ['train/loss', 2], ['train/accuracy', 2], ...optimizerTags(2),
        // evaluation after epoch 1 (iter = 3): metrics as val/*, strings as text
        ['val/top1', 4], ['val/bestCkpt', 4], ...optimizerTags(4),
        // the val epoch: the global step, not the epoch
        ['val/loss', 4], ['val/accuracy', 4], ...optimizerTags(4),
        ['train/loss', 5], ['train/accuracy', 5], ...optimizerTags(5),
        ['val/top1', 7], ['val/bestCkpt', 7], ...optimizerTags(7),
        ['val/loss', 7], ['val/accuracy', 7], ...optimizerTags(7),
      ]);

      const at = (tag: string, step: number) => summaries(events).find(([t, s]) => t === tag && s === step)![2];
      // afterTrainEpoch sees the epoch before it is counted (0 after the first).
      expect(at('val/top1', 4)).to.be.closeTo(0.5, 1e-7);
      expect(at('val/top1', 7)).to.be.closeTo(0.6, 1e-7);
      expect(at('val/bestCkpt', 7)).to.equal('epoch_2');
      expect(at('learning_rate/body', 2)).to.be.closeTo(0.1, 1e-8);
      expect(at('learning_rate/head', 2)).to.be.closeTo(0.01, 1e-9);
      expect(at('momentum/body', 2)).to.be.closeTo(0.8, 1e-7);
      expect(at('momentum/head', 2)).to.be.closeTo(0.7, 1e-7);
      // The same numbers the text logger wrote to its JSON log (rounded to 5 decimals there).
      const json = fs.readFileSync(path.join(dir, `${runner.timestamp}.log.json`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const trainRecords = json.filter((r) => r.mode === 'train');
      expect(trainRecords.map((r) => [r.epoch, r.iter])).to.deep.equal([[1, 2], [2, 2]]);
      expect(at('train/loss', 2)).to.be.closeTo(trainRecords[0].loss, 1e-5);
      expect(at('train/loss', 5)).to.be.closeTo(trainRecords[1].loss, 1e-5);
      const valRecord = json.find((r) => r.mode === 'val' && r.loss !== undefined);
      expect(at('val/loss', 4)).to.be.closeTo(valRecord.loss, 1e-5);

      // Wall times come from the injected clock.
      for (const e of events.slice(1)) expect(issued.has(Math.round(e.wallTime * 1000)), `wall time ${e.wallTime}`).to.equal(true);
    } finally {
      cleanup();
    }
  });

  it('sits with the loggers at VERY_LOW when configured in logConfig, at NORMAL when registered bare', () => {
    const { runner } = tinyRunner();
    runner.registerTrainingHooks({ optimizerConfig: {}, logConfig: { hooks: [{ type: 'TextLoggerHook' }, { type: 'TensorboardLoggerHook', logDir: '/unused' }] } });
    const plan = hookPlan(runner.hookInfo());
    expect(plan.afterTrainIter).to.deep.equal(['(ABOVE_NORMAL) OptimizerHook', '(LOW) IterTimerHook', '(VERY_LOW) TextLoggerHook', '(VERY_LOW) TensorboardLoggerHook']);
    expect(plan.beforeRun).to.deep.equal(['(VERY_LOW) TextLoggerHook', '(VERY_LOW) TensorboardLoggerHook']);
    expect(plan.afterRun).to.deep.equal(['(VERY_LOW) TextLoggerHook', '(VERY_LOW) TensorboardLoggerHook']);

    const bare = tinyRunner().runner;
    bare.registerHook(new TensorboardLoggerHook({ logDir: '/unused' }));
    expect(hookPlan(bare.hookInfo()).afterValEpoch).to.deep.equal(['(NORMAL) TensorboardLoggerHook']);
  });

  it('writes nothing on ranks other than 0, and needs logDir or a work dir on rank 0', async () => {
    const { dir, cleanup } = tempDir();
    try {
      // Two in-process ranks; rank 1 alone gets the work dir, so that anything it wrote would show.
      await runOnLocalRanks(2, async (processGroup) => {
        const { runner, train } = tinyRunner({ workDir: processGroup.rank === 1 ? dir : undefined, processGroup, maxEpochs: 1 });
        runner.registerTrainingHooks({ optimizerConfig: {}, logConfig: { interval: 1, hooks: [{ type: 'TensorboardLoggerHook', ...(processGroup.rank === 0 ? { logDir: path.join(dir, 'rank0') } : {}) }] } });
        await runner.run([train], [['train', 1]]);
      });
      expect(fs.existsSync(path.join(dir, 'tf_logs'))).to.equal(false);
      expect(fs.readdirSync(path.join(dir, 'rank0'))).to.have.length(1);

      const noDir = tinyRunner({ maxEpochs: 1 });
      noDir.runner.registerTrainingHooks({ optimizerConfig: {}, logConfig: { hooks: [{ type: 'TensorboardLoggerHook' }] } });
      let error: Error | undefined;
      await noDir.runner.run([noDir.train], [['train', 1]]).catch((e: Error) => { error = e; });
      expect(error?.message).to.equal('hook TensorboardLoggerHook failed in beforeRun: TensorboardLoggerHook needs logDir or a runner workDir to write to');
    } finally {
      cleanup();
    }
  });
});
