import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { TOKENS } from '../../src/core/di.js';
import {
  CheckpointError, FileCheckpointIO, LATEST, META_FILE, resolveCheckpointPath, verifyCheckpoint,
} from '../../src/runner/checkpoint/checkpoint-io.js';
import { fileIOHandler } from '../../src/runner/checkpoint/file-io-handler.js';
import { findLatestCheckpoint } from '../../src/runner/checkpoint/find-latest-checkpoint.js';
import { buildRun } from '../fixtures/checkpoint-run.js';
import { rejection, thrown } from '../helpers/errors.js';
import { tempDir } from '../helpers/tiny.js';

/** Trains a 2-epoch run with a checkpoint per epoch in `workDir`. */
async function trainedRun(workDir: string) {
  const r = buildRun({ workDir, maxEpochs: 2, checkpoint: { interval: 1 } });
  await r.run();
  return r;
}

describe('checkpoint files', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('stores a tfjs layers model: tf.loadLayersModel(fileIOHandler(dir)) predicts exactly like the model', async () => {
    const { model } = await trainedRun(dir);
    expect(fs.readdirSync(path.join(dir, 'epoch_2')).sort()).to.deep.equal(['meta.json', 'model.json', 'optimizer.bin', 'optimizer.json', 'weights.bin']);
    const loaded = await tf.loadLayersModel(fileIOHandler(path.join(dir, 'epoch_2')));
    const x = tf.tensor2d([[0.5, -1, 2, 0.25], [3, 0, -0.5, 1]]);
    const expected = model.forward(x);
    const actual = loaded.predict(x) as tf.Tensor;
    expect(Array.from(actual.dataSync())).to.deep.equal(Array.from(expected.dataSync()));
    expect(loaded.layers.map((l) => l.name)).to.deep.equal(['fc1', 'logits']);
    tf.dispose([x, expected, actual]);
    loaded.dispose();
  });

  it("points 'latest' at the newest checkpoint with a relative symlink", async () => {
    await trainedRun(dir);
    expect(fs.lstatSync(path.join(dir, LATEST)).isSymbolicLink()).to.equal(true);
    expect(fs.readlinkSync(path.join(dir, LATEST))).to.equal('epoch_2');
    expect(resolveCheckpointPath(path.join(dir, LATEST))).to.equal(path.join(dir, 'epoch_2'));
    expect(findLatestCheckpoint(dir)).to.equal(path.join(dir, 'epoch_2'));
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.'))).to.deep.equal([]);
  });

  it("writes 'latest' as a pointer file where symlinks are not used, and readers follow it", async () => {
    const { runner, run } = buildRun({ workDir: dir, maxEpochs: 2, checkpoint: { interval: 1 } });
    runner.container.rebind(TOKENS.CheckpointIO).toConstantValue(new FileCheckpointIO({ symlinks: false }));
    await run();
    const latest = path.join(dir, LATEST);
    expect(fs.lstatSync(latest).isFile()).to.equal(true);
    expect(fs.readFileSync(latest, 'utf8')).to.equal('epoch_2\n');
    expect(verifyCheckpoint(latest).path).to.equal(path.join(dir, 'epoch_2'));
    expect(findLatestCheckpoint(dir)).to.equal(path.join(dir, 'epoch_2'));
    const resumed = buildRun({ workDir: dir, maxEpochs: 2 });
    expect((await resumed.runner.resume(latest)).epoch).to.equal(2);
  });

  it('replaces a checkpoint of the same name atomically (no scratch entries left)', async () => {
    const { runner } = await trainedRun(dir);
    const before = verifyCheckpoint(path.join(dir, 'epoch_2')).meta.time;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await runner.saveCheckpoint(dir)).to.equal(path.join(dir, 'epoch_2'));
    expect(verifyCheckpoint(path.join(dir, 'epoch_2')).meta.time > before).to.equal(true);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.'))).to.deep.equal([]);
  });

  it('rejects checkpoint names that are not plain directory names', async () => {
    const { runner } = buildRun({ workDir: dir });
    for (const tmpl of ['a/b_{}', LATEST, '.hidden_{}']) {
      const error = await rejection(runner.saveCheckpoint(dir, { filenameTmpl: tmpl }));
      expect(error).to.be.instanceOf(CheckpointError);
      expect(error.message).to.match(/is not a usable checkpoint name \(it must be a plain directory name, not 'latest', not starting with '\.'\)$/);
    }
  });
});

describe('checkpoint verification errors', () => {
  let dir: string;
  let cleanup: () => void;
  let ckpt: string;
  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    await trainedRun(dir);
    ckpt = path.join(dir, 'epoch_2');
  });
  afterEach(() => cleanup());

  it('names a missing checkpoint', async () => {
    const { runner } = buildRun();
    const missing = path.join(dir, 'epoch_9');
    expect((await rejection(runner.resume(missing))).message).to.equal(`checkpoint ${missing}: does not exist`);
    expect((await rejection(runner.loadCheckpoint(missing))).message).to.equal(`checkpoint ${missing}: does not exist`);
  });

  it('names a directory without meta.json (an interrupted write)', () => {
    fs.rmSync(path.join(ckpt, META_FILE));
    expect(thrown(() => verifyCheckpoint(ckpt)).message)
      .to.equal(`checkpoint ${ckpt}: meta.json is missing (the checkpoint was not completely written, or this is not a checkpoint directory)`);
  });

  it('names a meta.json that is not JSON, or not a hookflow checkpoint', () => {
    fs.writeFileSync(path.join(ckpt, META_FILE), '{"format": "hookflow-checkpoint", ');
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.match(new RegExp(`^checkpoint ${ckpt}: meta\\.json is not valid JSON \\(.+\\)$`));
    fs.writeFileSync(path.join(ckpt, META_FILE), '{"epoch": 2}');
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: is not a hookflow checkpoint (meta.json has format undefined)`);
  });

  it('names a meta.json without the snapshot fields', () => {
    const envelope = JSON.parse(fs.readFileSync(path.join(ckpt, META_FILE), 'utf8'));
    delete envelope.meta.runState;
    fs.writeFileSync(path.join(ckpt, META_FILE), JSON.stringify(envelope));
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.match(new RegExp(`^checkpoint ${ckpt}: meta\\.json is malformed: meta\\.runState: `));
  });

  it('names truncated, corrupt and missing weight files', () => {
    const weights = path.join(ckpt, 'weights.bin');
    const good = fs.readFileSync(weights);
    fs.writeFileSync(weights, good.subarray(0, 100));
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: weights.bin has 100 bytes; meta.json records ${good.byteLength}`);
    const flipped = Buffer.from(good);
    flipped[10]! ^= 0xff;
    fs.writeFileSync(weights, flipped);
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: weights.bin is corrupt (its CRC32 does not match meta.json)`);
    fs.rmSync(weights);
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: weights.bin is missing`);
  });

  it("names a 'latest' that points at a removed checkpoint", () => {
    fs.rmSync(ckpt, { recursive: true });
    const latest = path.join(dir, LATEST);
    expect(thrown(() => verifyCheckpoint(latest)).message).to.equal(`checkpoint ${latest}: points at ${ckpt}, which does not exist`);
  });
});

describe('findLatestCheckpoint', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('finds nothing in a missing or checkpoint-free dir', () => {
    expect(findLatestCheckpoint(path.join(dir, 'nope'))).to.equal(null);
    fs.mkdirSync(path.join(dir, 'epoch_1'));
    fs.writeFileSync(path.join(dir, 'x.log'), 'log');
    expect(findLatestCheckpoint(dir)).to.equal(null);
  });

  it("falls back to the newest intact checkpoint when 'latest' names a broken one, skipping scratch dirs", async () => {
    await trainedRun(dir);
    fs.writeFileSync(path.join(dir, 'epoch_2', 'weights.bin'), 'garbage');
    // A complete checkpoint under a scratch name is still not a candidate.
    fs.cpSync(path.join(dir, 'epoch_1'), path.join(dir, '.tmp-1-abc'), { recursive: true });
    expect(findLatestCheckpoint(dir)).to.equal(path.join(dir, 'epoch_1'));
  });

  it('orders checkpoints by save time when there is no latest', async () => {
    const { runner, run } = buildRun({ workDir: dir, maxEpochs: 2, checkpoint: { interval: 1, createSymlink: false } });
    await run();
    expect(fs.existsSync(path.join(dir, LATEST))).to.equal(false);
    expect(findLatestCheckpoint(dir)).to.equal(path.join(dir, 'epoch_2'));
    await runner.saveCheckpoint(dir, { filenameTmpl: 'manual', createSymlink: false });
    expect(findLatestCheckpoint(dir)).to.equal(path.join(dir, 'manual'));
  });

  it('breaks a tie in save time towards the later event (higher seq), whatever the names or listing order', async () => {
    const { run } = buildRun({ workDir: dir, maxEpochs: 2, clock: { now: () => 0 }, checkpoint: { interval: 1, createSymlink: false } });
    await run();
    expect(findLatestCheckpoint(dir)).to.equal(path.join(dir, 'epoch_2'));
    // Swap the alphabetical order of the two names: the later checkpoint still wins.
    fs.renameSync(path.join(dir, 'epoch_2'), path.join(dir, 'a_later'));
    fs.renameSync(path.join(dir, 'epoch_1'), path.join(dir, 'z_earlier'));
    expect(findLatestCheckpoint(dir)).to.equal(path.join(dir, 'a_later'));
  });
});

describe('a checkpoint write killed midway (SIGKILL)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it("leaves 'latest' on the last complete checkpoint, which loads and resumes", async () => {
    const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'checkpoint-crash-child.js');
    const result = spawnSync(process.execPath, [child, dir], { encoding: 'utf8', timeout: 60_000 });
    expect(result.signal, result.stderr).to.equal('SIGKILL');
    expect(result.stdout).to.equal('');
    // The second checkpoint died between its weights and its meta.json, in a scratch dir.
    const scratch = fs.readdirSync(dir).filter((n) => n.startsWith('.tmp-'));
    expect(scratch).to.have.length(1);
    expect(fs.readdirSync(path.join(dir, scratch[0]!)).sort()).to.deep.equal(['model.json', 'optimizer.bin', 'optimizer.json', 'weights.bin']);
    expect(fs.existsSync(path.join(dir, 'iter_4'))).to.equal(false);
    expect(fs.readlinkSync(path.join(dir, LATEST))).to.equal('iter_2');
    expect(findLatestCheckpoint(dir)).to.equal(path.join(dir, 'iter_2'));

    const resumed = buildRun({ kind: 'iter', workDir: dir, maxIters: 4, modelSeed: 5, checkpoint: { byEpoch: false, interval: 2 } });
    const meta = await resumed.runner.resume(path.join(dir, LATEST));
    expect([meta.iter, resumed.runner.iter]).to.deep.equal([2, 2]);
    await resumed.run();
    expect(resumed.losses).to.have.length(2);
    expect(fs.readlinkSync(path.join(dir, LATEST))).to.equal('iter_4');
    // The dead writer's scratch dir is swept by the next write.
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.'))).to.deep.equal([]);
  });
});
