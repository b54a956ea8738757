import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';
import { CLI, hookflowCli, mpiMissing, mpirunNode, readRankFiles, runToEnd } from '../helpers/mpirun.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.resolve(here, '../fixtures/mpi-train-child.js');
const INDEX = path.resolve(path.dirname(CLI), '../index.js');

interface ChildRun {
  losses: number[];
  weights: Record<string, string>;
}

const floats = (base64: string) => new Float32Array(new Uint8Array(Buffer.from(base64, 'base64')).buffer);

/** A training config on 48 synthetic samples: 6 iterations per epoch at a global batch of 8. */
function equivalenceConfig(batchSize: number, shuffle: boolean): Record<string, unknown> {
  return tinyConfig({
    data: { train: { dataset: { type: 'Synthetic', numSamples: 48, inputShape: [4], numClasses: 3, seed: 5 }, batchSize, shuffle, seed: 9 } },
    optimizer: { type: 'SGD', lr: 0.2, momentum: 0.9, weightDecay: 0.001 },
    optimizerConfig: { gradClip: { maxNorm: 0.5 } },
    logConfig: null,
    customHooks: [{ type: 'DistSamplerSeedHook' }],
    runner: { type: 'EpochBasedRunner', maxEpochs: 4 },
    workflow: [['train', 1]],
    seed: 3,
  });
}

/** The text logger's train entries (mode, epoch, iter, loss) from a work dir's .log.json. */
function loggedTrainLosses(workDir: string): Array<[number, number, number]> {
  const file = fs.readdirSync(workDir).filter((f) => f.endsWith('.log.json')).sort().at(-1)!;
  return fs.readFileSync(path.join(workDir, file), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l))
    .filter((e) => e.mode === 'train').map((e) => [e.epoch, e.iter, e.loss]);
}

describe('data-parallel training on Open MPI, end to end', function () {
  this.timeout(240000);
  const missing = mpiMissing();
  let dir: string;
  let cleanup: () => void = () => undefined;
  before(function () {
    if (missing) {
      console.log(`      skipped (real MPI tests): ${missing}`);
      this.skip();
    }
  });
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  for (const shuffle of [false, true]) {
    it(`2 processes at batch 4 train as 1 process at batch 8: same logged loss and weights over 24 iterations (${shuffle ? 'shuffled' : 'in order'}), the same bits on both ranks`, async () => {
      const distDir = fs.mkdtempSync(path.join(dir, 'np2-'));
      const singleDir = fs.mkdtempSync(path.join(dir, 'np1-'));
      fs.writeFileSync(path.join(dir, 'np2.json'), JSON.stringify(equivalenceConfig(4, shuffle)));
      fs.writeFileSync(path.join(dir, 'np1.json'), JSON.stringify(equivalenceConfig(8, shuffle)));
      const [dist, single] = await Promise.all([
        mpirunNode(2, CHILD, [path.join(dir, 'np2.json'), distDir, 'mpi'], { timeoutMs: 180000 }),
        runToEnd(process.execPath, [CHILD, path.join(dir, 'np1.json'), singleDir, 'none'], { timeoutMs: 180000 }),
      ]);
      expect(dist.code, dist.stdout + dist.stderr).to.equal(0);
      expect(single.code, single.stderr).to.equal(0);
      const [rank0, rank1] = readRankFiles<ChildRun>(distDir, 2);
      const [one] = readRankFiles<ChildRun>(singleDir, 1);
      expect(one.losses).to.have.length(24);
      expect(rank0!.losses).to.have.length(24);
      rank0!.losses.forEach((loss, i) => expect(loss, `iteration ${i + 1}`).to.be.closeTo(one.losses[i]!, 1e-5));
      expect(rank1!.losses).to.deep.equal(rank0!.losses);
      expect(Object.keys(rank0!.weights)).to.deep.equal(Object.keys(one.weights));
      for (const [name, bytes] of Object.entries(rank0!.weights)) {
        expect(rank1!.weights[name], `${name} differs between the ranks`).to.equal(bytes);
        const single1 = floats(one.weights[name]!);
        floats(bytes).forEach((w, i) => expect(w, `${name}[${i}]`).to.be.closeTo(single1[i]!, 1e-5));
      }
    });
  }

  it('hookflow train --nproc 2 with DistEvalHook, SyncBuffersHook and DistSamplerSeedHook writes one set of outputs; its metric equals a single-process evaluation of the checkpoint', async () => {
    fs.writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify(tinyConfig({
      data: {
        train: { dataset: { type: 'Synthetic', numSamples: 40, inputShape: [4], numClasses: 3 }, batchSize: 4, shuffle: true },
        // 13 samples over 2 ranks at batch 3: uneven shards and a padded last batch.
        val: { dataset: { type: 'Synthetic', numSamples: 13, inputShape: [4], numClasses: 3, seed: 1 }, batchSize: 3 },
      },
      checkpointConfig: { interval: 1 },
      customHooks: [{ type: 'DistEvalHook', saveBest: 'accuracy' }, { type: 'SyncBuffersHook' }, { type: 'DistSamplerSeedHook' }],
      workflow: [['train', 1]],
    })));
    const run = await hookflowCli(['train', 'cfg.json', '--work-dir', 'work', '--nproc', '2', '--no-progress'], dir, 180000);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const work = path.join(dir, 'work');
    const files = fs.readdirSync(work).sort();
    expect(files.filter((f) => f.endsWith('.log'))).to.have.length(1);
    expect(files.filter((f) => f.endsWith('.log.json'))).to.have.length(1);
    expect(files.filter((f) => /^epoch_\d+$/.test(f))).to.deep.equal(['epoch_1', 'epoch_2']);
    expect(files.filter((f) => f.startsWith('best_'))).to.have.length(1);
    expect(files.filter((f) => f.startsWith('events'))).to.deep.equal(['events.jsonl']);
    const journal = fs.readFileSync(path.join(work, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(journal.filter((e) => e.type === 'start')).to.have.length(1);
    expect(journal.filter((e) => e.stage === 'afterTrainIter')).to.have.length(10);
    const metrics = journal.filter((e) => JSON.stringify(e).includes('"metrics"')).map((e) => JSON.stringify(e).match(/"metrics":(\{[^}]*\})/)![1]!).map((m) => JSON.parse(m));
    expect(metrics).to.have.length(2);

    // The same checkpoint, evaluated by one process over the whole val set (before it trains on).
    const check = await hookflowCli(['train', 'cfg.json', '--work-dir', 'check', '--resume-from', path.join(work, 'epoch_2'),
      '--cfg-options', 'customHooks=[{"type":"EvalHook","start":0}]', 'runner.maxEpochs=3', '--no-progress'], dir, 120000);
    expect(check.code, check.stderr).to.equal(0);
    const single = fs.readFileSync(path.join(dir, 'check', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      .map((e) => JSON.stringify(e).match(/"metrics":(\{[^}]*\})/)?.[1]).filter(Boolean).map((m) => JSON.parse(m!));
    expect(single).to.have.length(2);
    expect(single[0]).to.deep.equal(metrics[1]);
    expect(single[1]).to.not.deep.equal(metrics[1]);
  });

  it('a job killed mid-run continues exactly with --auto-resume under --nproc 2', async () => {
    fs.writeFileSync(path.join(dir, 'killer.mjs'), `
import { Hook, RegisterHook } from ${JSON.stringify(INDEX)};
class KillRankHook extends Hook {
  constructor(options = {}) { super(); this.at = options.at; }
  afterTrainIter(runner) { if (runner.rank === 1 && runner.iter + 1 === this.at) process.kill(process.pid, 'SIGKILL'); }
}
RegisterHook()(KillRankHook);
`);
    const config = (extra: Record<string, unknown>) => tinyConfig({
      data: { train: { dataset: { type: 'Synthetic', numSamples: 24, inputShape: [4], numClasses: 3 }, batchSize: 4, shuffle: true } },
      checkpointConfig: { interval: 1 },
      customImports: ['./killer.mjs'],
      runner: { type: 'EpochBasedRunner', maxEpochs: 4 },
      workflow: [['train', 1]],
      ...extra,
    });
    fs.writeFileSync(path.join(dir, 'whole.json'), JSON.stringify(config({ customHooks: [{ type: 'DistSamplerSeedHook' }] })));
    // 3 iterations per epoch: killed in epoch 3, after the epoch 2 checkpoint.
    fs.writeFileSync(path.join(dir, 'killed.json'), JSON.stringify(config({ customHooks: [{ type: 'DistSamplerSeedHook' }, { type: 'KillRankHook', at: 8 }] })));
    const whole = await hookflowCli(['train', 'whole.json', '--work-dir', 'whole', '--nproc', '2', '--no-progress'], dir, 180000);
    expect(whole.code, whole.stdout + whole.stderr).to.equal(0);
    const killed = await hookflowCli(['train', 'killed.json', '--work-dir', 'resumed', '--nproc', '2', '--no-progress'], dir, 180000);
    expect(killed.code).to.not.equal(0);
    expect(fs.readdirSync(path.join(dir, 'resumed')).filter((f) => /^epoch_\d+$/.test(f)).sort()).to.deep.equal(['epoch_1', 'epoch_2']);
    const resumed = await hookflowCli(['train', 'whole.json', '--work-dir', 'resumed', '--nproc', '2', '--auto-resume', '--no-progress'], dir, 180000);
    expect(resumed.code, resumed.stdout + resumed.stderr).to.equal(0);
    expect(resumed.stdout).to.contain('resumed epoch 2, iter 6');
    const expected = loggedTrainLosses(path.join(dir, 'whole')).filter(([epoch]) => epoch > 2);
    expect(expected).to.have.length(6);
    expect(loggedTrainLosses(path.join(dir, 'resumed'))).to.deep.equal(expected);
    for (const file of ['weights.bin', 'optimizer.bin']) {
      expect(fs.readFileSync(path.join(dir, 'resumed', 'epoch_4', file)).equals(fs.readFileSync(path.join(dir, 'whole', 'epoch_4', file))), file).to.equal(true);
    }
  });
});
