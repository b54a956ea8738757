import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import { singleProcessGroup, type ProcessGroup } from '../../src/core/services.js';
import { runOnLocalRanks } from '../../src/dist/local-process-groups.js';
import { CheckpointHook } from '../../src/hooks/checkpoint-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { LATEST, verifyCheckpoint } from '../../src/training/checkpoint/checkpoint-io.js';
import { fileIOHandler } from '../../src/training/checkpoint/file-io-handler.js';
import { Classifier } from '../../src/training/model/classifier.js';
import { buildRun } from '../fixtures/checkpoint-run.js';
import { rejection, thrown } from '../helpers/errors.js';
import { tempDir } from '../helpers/tiny.js';

/** Checkpoint directories in `dir`, sorted by their number. */
function checkpoints(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => /^(epoch|iter)_\d+$/.test(n)).sort((a, b) => Number(a.split('_')[1]) - Number(b.split('_')[1]));
}

function lastCkpt(runner: BaseRunner): unknown {
  return (runner.meta?.hookMsgs as { lastCkpt?: unknown } | undefined)?.lastCkpt;
}

describe('CheckpointHook', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('EpochBasedRunner: epoch_N every interval, latest, lastCkpt, MMCV log lines', async () => {
    const { runner, run, logger } = buildRun({ workDir: dir, maxEpochs: 3, checkpoint: { interval: 1 } });
    await run();
    expect(checkpoints(dir)).to.deep.equal(['epoch_1', 'epoch_2', 'epoch_3']);
    expect(fs.readlinkSync(path.join(dir, LATEST))).to.equal('epoch_3');
    expect(lastCkpt(runner)).to.equal(path.join(dir, 'epoch_3'));
    expect(verifyCheckpoint(path.join(dir, 'epoch_2')).meta).to.deep.include({ epoch: 2, iter: 6, hookMsgs: { lastCkpt: path.join(dir, 'epoch_2') } });
    const lines = logger.lines.map((l) => l.message);
    expect(lines).to.include(`Checkpoints will be saved to ${dir}.`);
    expect(lines.filter((l) => l.startsWith('Saving checkpoint'))).to.deep.equal(['Saving checkpoint at 1 epochs', 'Saving checkpoint at 2 epochs', 'Saving checkpoint at 3 epochs']);
  });

  it('IterBasedRunner from config: byEpoch defaults to false; interval 4 over 15 iterations gives iter_4, 8, 12 and the last', async () => {
    const { runner, run, logger } = buildRun({ kind: 'iter', workDir: dir, maxIters: 15 });
    runner.registerTrainingHooks({ checkpointConfig: { interval: 4 }, timerConfig: null });
    await run();
    expect(checkpoints(dir)).to.deep.equal(['iter_4', 'iter_8', 'iter_12', 'iter_15']);
    expect(verifyCheckpoint(path.join(dir, 'iter_4')).meta.iter).to.equal(4);
    expect(lastCkpt(runner)).to.equal(path.join(dir, 'iter_15'));
    expect(logger.lines.map((l) => l.message).filter((l) => l.startsWith('Saving'))).to.deep.equal([
      'Saving checkpoint at 4 iterations', 'Saving checkpoint at 8 iterations', 'Saving checkpoint at 12 iterations', 'Saving checkpoint at 15 iterations',
    ]);
  });

  it('byEpoch false on an EpochBasedRunner names iter_N consistently, including pruning (MMCV gotcha 10)', async () => {
    const { runner, run } = buildRun({ workDir: dir, maxEpochs: 2, checkpoint: { byEpoch: false, interval: 2, maxKeepCkpts: 2 } });
    await run();
    expect(checkpoints(dir)).to.deep.equal(['iter_4', 'iter_6']);
    expect(lastCkpt(runner)).to.equal(path.join(dir, 'iter_6'));
  });

  it('maxKeepCkpts keeps the newest periodic checkpoints', async () => {
    await buildRun({ workDir: dir, maxEpochs: 4, checkpoint: { interval: 1, maxKeepCkpts: 2 } }).run();
    expect(checkpoints(dir)).to.deep.equal(['epoch_3', 'epoch_4']);
    expect(fs.readlinkSync(path.join(dir, LATEST))).to.equal('epoch_4');
  });

  it('maxKeepCkpts prunes what exists, past gaps (an orphan of a killed prune goes too), not later counts', async () => {
    await buildRun({ workDir: dir, maxEpochs: 4, checkpoint: { interval: 1 } }).run();
    // A gap at epoch_2 (MMCV's walk would stop there and keep epoch_1 forever), and a later
    // count of an earlier, longer run, which is left alone.
    fs.rmSync(path.join(dir, 'epoch_2'), { recursive: true });
    fs.cpSync(path.join(dir, 'epoch_4'), path.join(dir, 'epoch_9'), { recursive: true });
    const resumed = buildRun({ workDir: dir, maxEpochs: 5, checkpoint: { interval: 1, maxKeepCkpts: 2 } });
    await resumed.runner.resume(path.join(dir, LATEST));
    await resumed.run();
    expect(checkpoints(dir)).to.deep.equal(['epoch_4', 'epoch_5', 'epoch_9']);
  });

  it('maxKeepCkpts matches the template exactly (a prefix-sharing name or a non-number is no checkpoint of it)', async () => {
    fs.mkdirSync(path.join(dir, 'ep_1_old'));
    fs.mkdirSync(path.join(dir, 'ep_x'));
    fs.mkdirSync(path.join(dir, 'ep_01'));
    await buildRun({ workDir: dir, maxEpochs: 3, checkpoint: { interval: 1, maxKeepCkpts: 1, filenameTmpl: 'ep_{}' } }).run();
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('ep_')).sort()).to.deep.equal(['ep_01', 'ep_1_old', 'ep_3', 'ep_x']);
  });

  it('saveLast adds the final epoch; without it only the periodic ones; interval -1 saves only the last', async () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ interval: 2 }, ['epoch_2', 'epoch_3']],
      [{ interval: 2, saveLast: false }, ['epoch_2']],
      [{}, ['epoch_3']],
    ];
    for (const [i, [options, expected]] of cases.entries()) {
      const sub = path.join(dir, `case${i}`);
      await buildRun({ workDir: sub, maxEpochs: 3, checkpoint: options }).run();
      expect(checkpoints(sub), JSON.stringify(options)).to.deep.equal(expected);
    }
  });

  it('saveLast also saves where a stop request ended training (epoch mode)', async () => {
    const { runner, run } = buildRun({ workDir: dir, maxEpochs: 3, checkpoint: {} });
    class StopsAtSecondIter extends Hook<BaseRunner> {
      override afterTrainIter(r: BaseRunner): void { if (r.iter === 1) r.requestStop('enough'); }
    }
    runner.registerHook(new StopsAtSecondIter(), 'LOW');
    await run();
    expect(checkpoints(dir)).to.deep.equal(['epoch_1']);
    expect(verifyCheckpoint(path.join(dir, 'epoch_1')).meta).to.deep.include({ epoch: 1, iter: 2 });
  });

  it('saves to <outDir>/<basename(workDir)>', async () => {
    const workDir = path.join(dir, 'work', 'exp1');
    const { runner, run, logger } = buildRun({ workDir, maxEpochs: 1, checkpoint: { outDir: path.join(dir, 'out') } });
    await run();
    const target = path.join(dir, 'out', 'exp1');
    expect(checkpoints(target)).to.deep.equal(['epoch_1']);
    expect(checkpoints(workDir)).to.deep.equal([]);
    expect(lastCkpt(runner)).to.equal(path.join(target, 'epoch_1'));
    expect(logger.text()).to.include(`Checkpoints will be saved to ${target}.`);
  });

  it('snapshots after the whole stage: a lower-priority hook has already handled the event', async () => {
    const { runner, run } = buildRun({ workDir: dir, maxEpochs: 2, checkpoint: { interval: 1 } });
    class Later extends Hook<BaseRunner> {
      seen = 0;
      override afterTrainEpoch(): void { this.seen++; }
      override stateDict(): unknown { return this.seen; }
    }
    runner.registerHook(new Later(), 'LOWEST');
    await run();
    expect(verifyCheckpoint(path.join(dir, 'epoch_1')).meta.hookStates).to.deep.equal({ Later: 1 });
    expect(verifyCheckpoint(path.join(dir, 'epoch_2')).meta.hookStates).to.deep.equal({ Later: 2 });
  });

  it('writes nothing on ranks other than 0', async () => {
    // Two ranks in this process, each with a work dir of its own, so that anything rank 1 wrote would show.
    const rankOneDir = tempDir();
    try {
      const runners = await runOnLocalRanks(2, async (processGroup) => {
        const { runner, run } = buildRun({ workDir: processGroup.rank === 0 ? dir : rankOneDir.dir, maxEpochs: 2, checkpoint: { interval: 1 }, processGroup });
        await run();
        return runner;
      });
      expect(checkpoints(dir)).to.deep.equal(['epoch_1', 'epoch_2']);
      expect(checkpoints(rankOneDir.dir)).to.deep.equal([]);
      expect(lastCkpt(runners[1]!)).to.equal(undefined);
    } finally {
      rankOneDir.cleanup();
    }
  });

  it('syncBuffer averages non-trainable weights (batch-norm statistics) across ranks before saving', async () => {
    const net = tf.sequential({ layers: [
      tf.layers.dense({ inputShape: [4], units: 8, name: 'fc1' }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.dense({ units: 3, name: 'logits' }),
    ] });
    const model = new Classifier(net);
    const received: Float32Array[] = [];
    // Rank 0 of two; the other rank's statistics are all 1.
    const group: ProcessGroup = {
      ...singleProcessGroup,
      rank: 0, worldSize: 2,
      allReduceMean: async (values) => {
        received.push(...values);
        return values.map((v) => v.map((x) => (x + 1) / 2));
      },
      broadcast: async (v) => v,
    };
    const { run } = buildRun({ workDir: dir, maxEpochs: 1, model, processGroup: group, checkpoint: { syncBuffer: true } });
    const mean = model.namedWeights().get('bn/moving_mean')!;
    mean.assign(tf.fill([8], 3));
    await run();
    // moving_mean and moving_variance (not gamma and beta), once, before the only save.
    expect(received.map((v) => v.length)).to.deep.equal([8, 8]);
    const averaged = Array.from(received[0]!.map((x) => (x + 1) / 2));
    expect(Array.from(mean.dataSync())).to.deep.equal(averaged);
    const loaded = await tf.loadLayersModel(fileIOHandler(path.join(dir, 'epoch_1')));
    expect(Array.from(loaded.getLayer('bn').getWeights()[2]!.dataSync())).to.deep.equal(averaged);
    loaded.dispose();
  });

  it('rejects a filenameTmpl that escapes the save dir or names latest when built, before any training', () => {
    const rule = "a plain directory name, not 'latest', not starting with '.'";
    for (const [tmpl, name] of [['../escape_{}', '../escape_1'], ['..', '..'], ['latest', 'latest'], ['.hidden_{}', '.hidden_1'], ['a/{}', 'a/1']]) {
      const error = thrown(() => new CheckpointHook({ filenameTmpl: tmpl }));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.equal(`CheckpointHook.filenameTmpl: '${tmpl}' gives names like '${name}'; a checkpoint name must be ${rule}`);
    }
    expect(new CheckpointHook({ filenameTmpl: 'latest_{}' }).filenameTmpl).to.equal('latest_{}');
  });

  it('validates its options with messages that name the option', () => {
    expect(thrown(() => new CheckpointHook({ interval: 0 })).message).to.equal('CheckpointHook.interval: must be -1 (no periodic checkpoints) or a positive integer');
    expect(thrown(() => new CheckpointHook({ maxKeepCkpts: -2 })).message).to.equal('CheckpointHook.maxKeepCkpts: must be -1 (keep all) or a positive integer');
    const error = thrown(() => new CheckpointHook({ maxKeepCkpts: 2, filenameTmpl: 'last' }));
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal("CheckpointHook.filenameTmpl: must contain '{}' when maxKeepCkpts is set; got 'last'");
    expect(thrown(() => HOOKS.build({ type: 'CheckpointHook', max_keep_ckpts: 1 })).message).to.match(/^CheckpointHook: unknown option 'max_keep_ckpts' \(did you mean 'maxKeepCkpts'\?\); allowed options: interval, byEpoch, /);
  });

  it('needs a work dir or an outDir', async () => {
    const { run } = buildRun({ maxEpochs: 1, checkpoint: { interval: 1 } });
    expect((await rejection(run())).message).to.equal('hook CheckpointHook failed in beforeRun: CheckpointHook.outDir: is required when the runner has no workDir');
  });
});
