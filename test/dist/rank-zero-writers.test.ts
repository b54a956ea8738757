import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import '../../plugins/index.js';
import { buildFromConfig } from '../../src/config/build-from-config.js';
import { Hook } from '../../src/core/hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { MemoryLogger } from '../../src/core/services.js';
import { DistSamplerSeedHook } from '../../src/hooks/dist-sampler-seed-hook.js';
import { runOnLocalRanks } from '../../src/dist/local-process-groups.js';

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

const config = (workDir: string, extra: Record<string, unknown> = {}) => ({
  model: { type: 'MLPClassifier', inputShape: [4], hiddenUnits: [8], numClasses: 3 },
  data: {
    train: { dataset: { type: 'Synthetic', numSamples: 24, inputShape: [4], numClasses: 3 }, batchSize: 4, shuffle: true },
    val: { dataset: { type: 'Synthetic', numSamples: 7, inputShape: [4], numClasses: 3, seed: 3 }, batchSize: 4 },
  },
  optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 },
  runner: { type: 'EpochBasedRunner', maxEpochs: 2 },
  checkpointConfig: { interval: 1 },
  logConfig: { interval: 1, hooks: [{ type: 'TextLoggerHook' }, { type: 'TensorboardLoggerHook' }] },
  customHooks: [{ type: 'DistEvalHook', saveBest: 'accuracy', priority: 'LOW' }, { type: 'SyncBuffersHook' }],
  workDir,
  ...extra,
});

describe('rank 0 alone writes', function () {
  this.timeout(120000);
  let dirs: string[] = [];
  afterEach(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('logs, JSON log, TensorBoard, checkpoints, latest, best checkpoint and journal; other ranks only warn, prefixed', async () => {
    dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-rank-')));
    const loggers = [new MemoryLogger(), new MemoryLogger()];
    const weights = await runOnLocalRanks(2, async (processGroup) => {
      // A work dir per rank here, so that anything rank 1 wrote would show.
      const built = await buildFromConfig(config(dirs[processGroup.rank]!), { logger: loggers[processGroup.rank], processGroup });
      expect(built.runner.hooks.filter((h) => h instanceof DistSamplerSeedHook)).to.have.length(1);
      await built.runner.run(built.dataLoaders, built.workflow);
      return [...built.runner.model.namedWeights()].map(([, v]) => Array.from(v.dataSync()));
    });
    expect(weights[1]).to.deep.equal(weights[0]);
    const written = filesUnder(dirs[0]!);
    expect(written.filter((f) => f.endsWith('.log'))).to.have.length(1);
    expect(written.filter((f) => f.endsWith('.log.json'))).to.have.length(1);
    expect(written).to.include('events.jsonl');
    expect(written.some((f) => f.startsWith('tf_logs/'))).to.equal(true);
    expect(written.some((f) => f.startsWith('epoch_2/'))).to.equal(true);
    expect(written.some((f) => f.startsWith('best_accuracy_epoch_'))).to.equal(true);
    expect(fs.existsSync(path.join(dirs[0]!, 'latest'))).to.equal(true);
    expect(filesUnder(dirs[1]!)).to.deep.equal([]);
    expect(loggers[0]!.lines.some((l) => l.level === 'info' && l.message.startsWith('Epoch [1][1/3]'))).to.equal(true);
    expect(loggers[1]!.lines.filter((l) => l.level === 'info')).to.deep.equal([]);
    expect(loggers[1]!.lines.every((l) => l.message.startsWith('rank 1: '))).to.equal(true);
  });

  it('resume loads the same checkpoint on every rank and continues as an uninterrupted run', async () => {
    const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-resume-'));
    const straight = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-straight-'));
    dirs = [shared, straight];
    const train = (workDir: string, extra: Record<string, unknown>) => runOnLocalRanks(2, async (processGroup) => {
      const built = await buildFromConfig(config(workDir, extra), { logger: new MemoryLogger(), processGroup });
      await built.runner.run(built.dataLoaders, built.workflow);
      return [...built.runner.model.namedWeights()].map(([, v]) => Array.from(v.dataSync()));
    });
    await train(shared, { runner: { type: 'EpochBasedRunner', maxEpochs: 1 } });
    const resumed = await train(shared, { runner: { type: 'EpochBasedRunner', maxEpochs: 2 }, autoResume: true });
    const uninterrupted = await train(straight, {});
    expect(resumed[1]).to.deep.equal(resumed[0]);
    resumed[0]!.forEach((w, i) => w.forEach((x, j) => expect(x).to.be.closeTo(uninterrupted[0]![i]![j]!, 1e-6)));
  });

  it("autoResume takes rank 0's choice of checkpoint on every rank, whatever the others see", async () => {
    const [zero, other] = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-auto-')));
    dirs = [zero!, other!];
    await runOnLocalRanks(2, async (processGroup) => {
      const built = await buildFromConfig(config(zero!, { runner: { type: 'EpochBasedRunner', maxEpochs: 1 } }), { logger: new MemoryLogger(), processGroup });
      await built.runner.run(built.dataLoaders, built.workflow);
    });
    // Rank 1's work dir has no checkpoint: it still resumes rank 0's epoch_1.
    const epochs = await runOnLocalRanks(2, async (processGroup) => {
      const workDir = processGroup.rank === 0 ? zero! : other!;
      const built = await buildFromConfig(config(workDir, { runner: { type: 'EpochBasedRunner', maxEpochs: 2 }, autoResume: true }), { logger: new MemoryLogger(), processGroup });
      return built.runner.epoch;
    });
    expect(epochs).to.deep.equal([1, 1]);
  });

  it('EarlyStoppingHook on DistEvalHook metrics stops every rank after the same epoch, and rank 0 saves the last checkpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-early-'));
    dirs = [dir];
    const extra = {
      runner: { type: 'EpochBasedRunner', maxEpochs: 6 },
      checkpointConfig: { interval: 10 },
      // No improvement of 10 in accuracy can happen: the run stops after epoch 1 + patience 2.
      customHooks: [{ type: 'DistEvalHook', priority: 'LOW' }, { type: 'EarlyStoppingHook', monitor: 'accuracy', patience: 2, minDelta: 10, priority: 'LOWEST' }],
    };
    const ends = await runOnLocalRanks(2, async (processGroup) => {
      const built = await buildFromConfig(config(dir, extra), { logger: new MemoryLogger(), processGroup });
      const stops: unknown[] = [];
      built.runner.events$.subscribe((e) => { if (e.stage === 'afterRun') stops.push(e.payload?.stopReason); });
      await built.runner.run(built.dataLoaders, built.workflow);
      return { epoch: built.runner.epoch, stops };
    });
    expect(ends[0]!.epoch).to.equal(3);
    expect(ends[1]).to.deep.equal(ends[0]);
    expect(String(ends[0]!.stops[0])).to.match(/accuracy/);
    expect(fs.existsSync(path.join(dir, 'epoch_3'))).to.equal(true);
  });

  it('a stop requested on rank 1 alone reaches rank 0 before its end-of-iteration tasks, so saveLast writes the checkpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-stop-'));
    dirs = [dir];
    class StopOnRankOne extends Hook<BaseRunner> {
      override afterTrainIter(runner: BaseRunner): void {
        if (runner.rank === 1 && runner.iter === 4) runner.requestStop('rank 1 had enough', 'StopOnRankOne');
      }
    }
    const extra = { runner: { type: 'IterBasedRunner', maxIters: 12 }, checkpointConfig: { interval: 100 }, customHooks: [] };
    const logs = await runOnLocalRanks(2, async (processGroup) => {
      const logger = new MemoryLogger();
      const built = await buildFromConfig(config(dir, extra), { logger, processGroup });
      built.runner.registerHook(new StopOnRankOne());
      await built.runner.run(built.dataLoaders, built.workflow);
      expect(built.runner.iter).to.equal(5);
      return logger.lines.map((l) => l.message);
    });
    expect(fs.existsSync(path.join(dir, 'iter_5'))).to.equal(true);
    expect(logs[0]).to.include('Stopping: rank 1 asked to stop (requested by rank 1)');
  });
});

