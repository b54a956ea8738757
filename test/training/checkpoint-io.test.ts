import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { TOKENS } from '../../src/core/di.js';
import {
  CheckpointError, FileCheckpointIO, LATEST, META_FILE, resolveCheckpointPath, verifyCheckpoint,
} from '../../src/training/checkpoint/checkpoint-io.js';
import { MANIFEST_FILE, digestOf } from '../../src/training/checkpoint/checkpoint-manifest.js';
import { fileIOHandler } from '../../src/training/checkpoint/file-io-handler.js';
import { findLatestCheckpoint, scanCheckpoints } from '../../src/training/checkpoint/find-latest-checkpoint.js';
import { buildRun } from '../fixtures/checkpoint-run.js';
import { rejection, thrown } from '../helpers/errors.js';
import { resealCheckpoint } from '../helpers/reseal-checkpoint.js';
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
    expect(fs.readdirSync(path.join(dir, 'epoch_2')).sort()).to.deep.equal(['manifest.json', 'meta.json', 'model.json', 'optimizer.bin', 'optimizer.json', 'weights.bin']);
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

  const reseal = () => resealCheckpoint(ckpt);

  it('names a directory without manifest.json (an interrupted write)', () => {
    fs.rmSync(path.join(ckpt, MANIFEST_FILE));
    expect(thrown(() => verifyCheckpoint(ckpt)).message)
      .to.equal(`checkpoint ${ckpt}: manifest.json is missing (the checkpoint was not completely written, or this is not a checkpoint directory)`);
  });

  it('refuses a one-digit edit of meta.json (iter), naming meta.json', async () => {
    const metaPath = path.join(ckpt, META_FILE);
    const text = fs.readFileSync(metaPath, 'utf8');
    expect(text).to.contain('"iter": 6,');
    fs.writeFileSync(metaPath, text.replace('"iter": 6,', '"iter": 5,'));
    const message = `checkpoint ${ckpt}: meta.json is corrupt (its CRC32 does not match manifest.json)`;
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(message);
    expect((await rejection(buildRun().runner.resume(ckpt))).message).to.equal(message);
  });

  it('refuses an edited manifest.json (its own size and CRC32 cover it)', () => {
    const manifestPath = path.join(ckpt, MANIFEST_FILE);
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    manifest.files['weights.bin'].bytes += 1;
    fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: manifest.json is corrupt (it does not match its own size and CRC32)`);
    fs.writeFileSync(manifestPath, '{"format": "hookflow-checkpoint-manifest", "files": {"../x": {"bytes": 1, "crc32": 1}}, "self": {"bytes": 1, "crc32": 1}}');
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: manifest.json is malformed: files.../x: Invalid key in record`);
  });

  it('names a meta.json that is not JSON, or not a hookflow checkpoint, even with a matching manifest', () => {
    fs.writeFileSync(path.join(ckpt, META_FILE), '{"format": "hookflow-checkpoint", ');
    reseal();
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.match(new RegExp(`^checkpoint ${ckpt}: meta\\.json is not valid JSON \\(.+\\)$`));
    fs.writeFileSync(path.join(ckpt, META_FILE), '{"epoch": 2}');
    reseal();
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: is not a hookflow checkpoint (meta.json has format undefined)`);
  });

  it('names a meta.json without the snapshot fields', () => {
    const envelope = JSON.parse(fs.readFileSync(path.join(ckpt, META_FILE), 'utf8'));
    delete envelope.meta.runState;
    fs.writeFileSync(path.join(ckpt, META_FILE), JSON.stringify(envelope));
    reseal();
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.match(new RegExp(`^checkpoint ${ckpt}: meta\\.json is malformed: meta\\.runState: `));
  });

  it('names truncated, corrupt and missing weight files', () => {
    const weights = path.join(ckpt, 'weights.bin');
    const good = fs.readFileSync(weights);
    fs.writeFileSync(weights, good.subarray(0, 100));
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: weights.bin has 100 bytes; manifest.json records ${good.byteLength}`);
    const flipped = Buffer.from(good);
    flipped[10]! ^= 0xff;
    fs.writeFileSync(weights, flipped);
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: weights.bin is corrupt (its CRC32 does not match manifest.json)`);
    fs.rmSync(weights);
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: weights.bin is missing`);
  });

  it('reads a format-1 checkpoint (before manifests) with a warning that meta.json is not checksummed', async () => {
    // Format 1 as hookflow 0.1 wrote it: the other files' digests inside meta.json, no manifest.
    const envelope = JSON.parse(fs.readFileSync(path.join(ckpt, META_FILE), 'utf8'));
    const files = Object.fromEntries(['model.json', 'optimizer.bin', 'optimizer.json', 'weights.bin'].map((f) => [f, digestOf(fs.readFileSync(path.join(ckpt, f)))]));
    fs.writeFileSync(path.join(ckpt, META_FILE), JSON.stringify({ format: envelope.format, formatVersion: 1, files, meta: envelope.meta }, null, 2));
    fs.rmSync(path.join(ckpt, MANIFEST_FILE));
    const warning = `checkpoint ${ckpt} has format version 1 (no manifest.json): its files are checked, but meta.json itself is not; save a new checkpoint to get full coverage`;
    expect(verifyCheckpoint(ckpt).warnings).to.deep.equal([warning]);
    const resumed = buildRun({ maxEpochs: 3 });
    await resumed.runner.resume(ckpt);
    expect(resumed.runner.epoch).to.equal(2);
    expect(resumed.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([warning]);
    // Its weight files are still checked.
    fs.writeFileSync(path.join(ckpt, 'weights.bin'), 'garbage');
    expect(thrown(() => verifyCheckpoint(ckpt)).message).to.equal(`checkpoint ${ckpt}: weights.bin has 7 bytes; meta.json records ${files['weights.bin']!.bytes}`);
  });

  it('says that a regular file is not a checkpoint (it is not read as a path)', async () => {
    const file = path.join(dir, 'notes.txt');
    fs.writeFileSync(file, 'epoch_2\n');
    const message = `${file} is a file, not a checkpoint directory or a latest pointer`;
    expect(thrown(() => verifyCheckpoint(file)).message).to.equal(message);
    expect((await rejection(buildRun().runner.resume(file))).message).to.equal(message);
  });

  it("names a 'latest' that points at a removed checkpoint", () => {
    fs.rmSync(ckpt, { recursive: true });
    const latest = path.join(dir, LATEST);
    expect(thrown(() => verifyCheckpoint(latest)).message).to.equal(`checkpoint ${latest}: points at ${ckpt}, which does not exist`);
  });
});

describe('checkpoint corruption matrix: every file x truncate, flip a byte, delete', () => {
  let dir: string;
  let cleanup: () => void;
  let pristine: string;
  before(async () => {
    ({ dir, cleanup } = tempDir());
    await trainedRun(path.join(dir, 'run'));
    pristine = path.join(dir, 'run', 'epoch_2');
  });
  after(() => cleanup());

  const damages: Record<string, (file: string) => void> = {
    // A torn write keeps a prefix (half the file here).
    truncate: (file) => fs.writeFileSync(file, fs.readFileSync(file).subarray(0, Math.floor(fs.statSync(file).size / 2))),
    'flip a byte': (file) => {
      const bytes = fs.readFileSync(file);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      fs.writeFileSync(file, bytes);
    },
    delete: (file) => fs.rmSync(file),
  };

  it('covers every file of a checkpoint: each damage is refused, naming the damaged file', () => {
    const files = fs.readdirSync(pristine).sort();
    expect(files).to.include.members([MANIFEST_FILE, META_FILE, 'weights.bin', 'model.json']);
    const missed: string[] = [];
    let cases = 0;
    for (const file of files) {
      for (const [kind, damage] of Object.entries(damages)) {
        const ckpt = path.join(dir, `case-${cases++}`);
        fs.cpSync(pristine, ckpt, { recursive: true });
        damage(path.join(ckpt, file));
        let error: unknown;
        try {
          verifyCheckpoint(ckpt);
        } catch (caught) {
          error = caught;
        }
        if (!(error instanceof CheckpointError) || !error.message.includes(file)) missed.push(`${kind} ${file}: ${error instanceof Error ? error.message : 'accepted'}`);
      }
    }
    expect(cases).to.equal(files.length * 3);
    expect(missed).to.deep.equal([]);
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

describe('scanCheckpoints', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('reports every checkpoint it passes over, with the reason, and ignores directories that are no checkpoints', async () => {
    await buildRun({ workDir: dir, maxEpochs: 3, checkpoint: { interval: 1 } }).run();
    fs.mkdirSync(path.join(dir, 'tf_logs'));
    fs.writeFileSync(path.join(dir, 'epoch_3', 'weights.bin'), 'garbage');
    fs.rmSync(path.join(dir, 'epoch_2', 'manifest.json'));
    const scan = scanCheckpoints(dir);
    expect(scan.latest).to.equal(path.join(dir, 'epoch_1'));
    expect(scan.skipped.map((s) => [path.basename(s.path), s.reason]).sort()).to.deep.equal([
      ['epoch_2', 'manifest.json is missing (the checkpoint was not completely written, or this is not a checkpoint directory)'],
      ['epoch_3', `weights.bin has 7 bytes; manifest.json records ${fs.statSync(path.join(dir, 'epoch_1', 'weights.bin')).size}`],
    ]);
    expect(scan.warnings).to.deep.equal([]);
  });

  it("follows a 'latest' that points outside the directory, with a warning", async () => {
    const other = path.join(dir, 'other');
    await buildRun({ workDir: other, maxEpochs: 1, checkpoint: { interval: 1 } }).run();
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    fs.symlinkSync(path.join('..', 'other', 'epoch_1'), path.join(work, LATEST));
    const scan = scanCheckpoints(work);
    expect(scan.latest).to.equal(path.join(other, 'epoch_1'));
    expect(scan.warnings).to.deep.equal([`${path.join(work, LATEST)} points outside ${work}, at ${path.join(other, 'epoch_1')}; following it`]);
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
