import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import { MemoryLogger } from '../../src/core/services.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { LATEST, verifyCheckpoint } from '../../src/training/checkpoint/checkpoint-io.js';
import type { DataBatch } from '../../src/training/data/data-loader.js';
import { EpochBasedRunner } from '../../src/runner/epoch-based-runner.js';
import type { Classifier } from '../../src/training/model/classifier.js';
import type { TrainableModel } from '../../src/training/model/trainable-model.js';
import { MLPClassifier } from '../../src/training/model/models.js';
import { buildOptimizers } from '../../src/training/optim/build-optimizer.js';
import type { ParamGroupOptimizer } from '../../src/training/optim/param-group-optimizer.js';
import { buildRun } from '../fixtures/checkpoint-run.js';
import { tempDir } from '../helpers/tiny.js';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try { await promise; } catch (e) { return e as Error; }
  throw new Error('expected a rejection');
}

function weightsOf(model: Classifier): Record<string, number[]> {
  return Object.fromEntries([...model.namedWeights()].map(([k, v]) => [k, Array.from(v.dataSync())]));
}

function expectClose(actual: number[], expected: number[], tolerance = 1e-6): void {
  expect(actual).to.have.length(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `value ${i}: ${v} vs ${expected[i]}`).to.be.at.most(tolerance));
}

/** A hook with state: counts the train epochs it has seen. */
class EpochCounter extends Hook<BaseRunner> {
  count = 0;
  override afterTrainEpoch(): void { this.count++; }
  override stateDict(): unknown { return { count: this.count }; }
  override loadStateDict(state: unknown): void { this.count = (state as { count: number }).count; }
}

/** Asks the run to stop after training iteration `at` (0-based). */
class StopAt extends Hook<BaseRunner> {
  constructor(private readonly at: number) { super(); }
  override afterTrainIter(runner: BaseRunner): void {
    if (runner.iter === this.at) runner.requestStop(`stop at ${this.at}`, 'StopAt');
  }
}

describe('saveCheckpoint', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('names EpochBasedRunner checkpoints after completed epochs and records MMCV meta plus the snapshot', async () => {
    const { runner, run } = buildRun({ maxEpochs: 2, meta: { seed: 3, config: { runner: 'x' } } });
    const inStage: string[] = [];
    class SavesInStage extends Hook<BaseRunner> {
      // Inside after_train_epoch, as MMCV's hook does: the name and meta count the epoch being closed.
      override async afterTrainEpoch(r: BaseRunner): Promise<void> {
        if (r.epoch === 0) inStage.push(await r.saveCheckpoint(dir, { meta: { note: 'mid', seed: 0 }, createSymlink: false }));
      }
    }
    runner.registerHook(new SavesInStage());
    await run();
    expect(inStage).to.deep.equal([path.join(dir, 'epoch_1')]);
    const first = verifyCheckpoint(inStage[0]!).meta;
    expect([first.epoch, first.iter, first.stage]).to.deep.equal([1, 3, 'afterTrainEpoch']);
    expect(first.runState).to.deep.equal({ seq: 9, mode: 'train', epoch: 1, iter: 3, innerIter: 2 });
    expect(first.seed).to.equal(3); // runner.meta wins over the caller's meta
    expect(first.note).to.equal('mid');
    expect(first.config).to.deep.equal({ runner: 'x' });
    expect(first.hookflowVersion).to.equal(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
    expect(Number.isNaN(Date.parse(first.time))).to.equal(false);

    // Between stages (after the run) the snapshot is the state after the last event.
    expect(await runner.saveCheckpoint(dir)).to.equal(path.join(dir, 'epoch_2'));
    const after = verifyCheckpoint(path.join(dir, 'epoch_2')).meta;
    expect([after.epoch, after.iter, after.seq, after.stage]).to.deep.equal([2, 6, runner.seq, 'afterRun']);
    expect(fs.readlinkSync(path.join(dir, LATEST))).to.equal('epoch_2');
  });

  it('names IterBasedRunner checkpoints iter_N with meta.iter = N (MMCV records N-1)', async () => {
    const { runner, run } = buildRun({ kind: 'iter', maxIters: 5 });
    await run();
    expect(await runner.saveCheckpoint(dir)).to.equal(path.join(dir, 'iter_5'));
    expect(verifyCheckpoint(path.join(dir, 'iter_5')).meta.iter).to.equal(5);
    expect(await runner.saveCheckpoint(dir, { byEpoch: true, saveOptimizer: false })).to.equal(path.join(dir, 'epoch_1'));
    expect(fs.existsSync(path.join(dir, 'epoch_1', 'optimizer.json'))).to.equal(false);
  });

  it('rejects a meta that is not an object', async () => {
    const { runner } = buildRun();
    const error = await rejection(runner.saveCheckpoint(dir, { meta: [] as unknown as Record<string, unknown> }));
    expect(error.message).to.equal('saveCheckpoint: meta must be an object or null; got an array');
  });
});

describe('a diverged model (non-finite weights)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  /** Turns one weight into NaN during epoch `epoch` (0-based), as a diverging run would. */
  class Diverge extends Hook<BaseRunner> {
    constructor(private readonly epoch: number) { super(); }
    override afterTrainIter(runner: BaseRunner): void {
      if (runner.epoch !== this.epoch) return;
      const bias = runner.model.namedWeights().get('logits/bias')!;
      bias.assign(tf.fill(bias.shape, NaN));
    }
  }

  it('is never saved, so latest stays on the last good checkpoint; the error names it and CheckInvalidLossHook', async () => {
    const { runner, run } = buildRun({ workDir: dir, maxEpochs: 3, checkpoint: { interval: 1 } });
    runner.registerHook(new Diverge(1), 'LOW');
    const error = await rejection(run());
    expect(error.message).to.match(new RegExp(`^checkpoint ${path.join(dir, 'epoch_2')}: not saved: the model weights are not finite \\(NaN or Infinity in [^)]*logits/bias\\)`));
    expect(error.message).to.contain('after epoch 2, iter 6; the training diverged. '
      + `The last good checkpoint is ${path.join(dir, 'epoch_1')} (resume with --resume-from ${path.join(dir, 'epoch_1')}, with a lower lr). `
      + 'Add CheckInvalidLossHook (customHooks: [{ "type": "CheckInvalidLossHook" }]) to stop at the first non-finite loss.');
    expect(fs.readlinkSync(path.join(dir, LATEST))).to.equal('epoch_1');
    expect(fs.existsSync(path.join(dir, 'epoch_2'))).to.equal(false);
  });

  it('says when there is no earlier good checkpoint', async () => {
    const { runner, model } = buildRun({ maxEpochs: 1 });
    const bias = model.namedWeights().get('logits/bias')!;
    bias.assign(tf.fill(bias.shape, Infinity));
    expect((await rejection(runner.saveCheckpoint(dir))).message).to.contain('There is no earlier good checkpoint.');
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });
});

describe('loadCheckpoint', () => {
  let dir: string;
  let cleanup: () => void;
  let ckpt: string;
  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    const { runner, run } = buildRun({ maxEpochs: 1 });
    await run();
    ckpt = await runner.saveCheckpoint(dir);
  });
  afterEach(() => cleanup());

  it('loads the weights by key and returns the meta', async () => {
    const source = weightsOf(MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed: 0 }));
    const target = buildRun({ modelSeed: 42 });
    expect(weightsOf(target.model)).to.not.deep.equal(source);
    const meta = await target.runner.loadCheckpoint(ckpt, { strict: true });
    expect(meta.epoch).to.equal(1);
    const saved = tf.io.decodeWeights(new Uint8Array(fs.readFileSync(path.join(ckpt, 'weights.bin'))).buffer, JSON.parse(fs.readFileSync(path.join(ckpt, 'model.json'), 'utf8')).weightsManifest[0].weights);
    expect(weightsOf(target.model)).to.deep.equal(Object.fromEntries(Object.entries(saved).map(([k, t]) => [k, Array.from(t.dataSync())])));
    tf.dispose(saved);
    // Counters and optimizer are untouched by a weights-only load.
    expect([target.runner.epoch, target.runner.iter]).to.deep.equal([0, 0]);
    expect(target.logger.text()).to.equal(`load checkpoint from ${ckpt}`);
  });

  it('saves and loads models without a tfjs LayersModel by weight key (no topology)', async () => {
    const wrap = (inner: Classifier): TrainableModel<DataBatch> => ({
      trainStep: (b) => inner.trainStep(b), valStep: (b) => inner.valStep(b), train: () => inner.train(), eval: () => inner.eval(),
      params: () => inner.params(), namedWeights: () => inner.namedWeights(), lossScale: 1,
    });
    const models = [1, 2].map((seed) => MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed }));
    const [source, target] = models.map((m) => new EpochBasedRunner({ model: wrap(m), logger: new MemoryLogger(), maxEpochs: 1 }));
    const saved = await source!.saveCheckpoint(dir, { filenameTmpl: 'plain' });
    expect(JSON.parse(fs.readFileSync(path.join(saved, 'model.json'), 'utf8')).modelTopology).to.equal(null);
    await target!.loadCheckpoint(saved, { strict: true });
    expect(weightsOf(models[1]!)).to.deep.equal(weightsOf(models[0]!));
  });

  it('reports missing keys as an error when strict (model unchanged) and a warning otherwise', async () => {
    const model = MLPClassifier({ inputShape: [4], hiddenUnits: [8, 8], numClasses: 3, seed: 9 });
    const target = buildRun({ model });
    const before = weightsOf(model);
    const message = `The model and loaded state dict do not match exactly (checkpoint ${ckpt})\nmissing keys in source state_dict: fc2/kernel, fc2/bias`;
    expect((await rejection(target.runner.loadCheckpoint(ckpt, { strict: true }))).message).to.equal(message);
    expect(weightsOf(model)).to.deep.equal(before);
    await target.runner.loadCheckpoint(ckpt);
    expect(target.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([message]);
    expect(weightsOf(model)['fc2/kernel']).to.deep.equal(before['fc2/kernel']);
    expect(weightsOf(model)['fc1/kernel']).to.not.deep.equal(before['fc1/kernel']);
  });

  it('reports unexpected keys and shape mismatches, loading what fits', async () => {
    const model = MLPClassifier({ inputShape: [4], hiddenUnits: [], numClasses: 3, seed: 9 });
    const target = buildRun({ model });
    const message = [
      `The model and loaded state dict do not match exactly (checkpoint ${ckpt})`,
      'unexpected key in source state_dict: fc1/kernel, fc1/bias',
      'size mismatch for logits/kernel: copying a param with shape [8,3] from checkpoint, the shape in current model is [4,3].',
    ].join('\n');
    expect((await rejection(target.runner.loadCheckpoint(ckpt, { strict: true }))).message).to.equal(message);
    await target.runner.loadCheckpoint(ckpt);
    const saved = buildRun({ modelSeed: 1 });
    await saved.runner.loadCheckpoint(ckpt);
    expect(weightsOf(model)['logits/bias']).to.deep.equal(weightsOf(saved.model)['logits/bias']);
  });
});

describe('resume', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('EpochBasedRunner: k epochs + resume in a new runner and model = the uninterrupted run', async () => {
    const full = buildRun({ maxEpochs: 4 });
    await full.run();
    expect(full.losses).to.have.length(12);

    const first = buildRun({ workDir: dir, maxEpochs: 2, checkpoint: { interval: 1 } });
    await first.run();
    const second = buildRun({ workDir: dir, maxEpochs: 4, modelSeed: 99, checkpoint: { interval: 1 } });
    const seen: StageEvent[] = [];
    second.runner.events$.subscribe((e) => seen.push(e));
    const meta = await second.runner.resume(path.join(dir, LATEST));
    expect([meta.epoch, meta.iter]).to.deep.equal([2, 6]);
    expect([second.runner.epoch, second.runner.iter, second.runner.seq]).to.deep.equal([2, 6, meta.seq]);
    expect(second.logger.text()).to.equal(`load checkpoint from ${path.join(dir, 'epoch_2')}\nresumed epoch 2, iter 6`);
    await second.run();
    expectClose(second.losses, full.losses.slice(6));
    expect(weightsOf(second.model)).to.deep.equal(weightsOf(full.model));
    // The event history continues from the checkpoint's seq.
    expect(seen[0]).to.include({ stage: 'beforeRun', seq: meta.seq + 1, epoch: 2, iter: 6 });
  });

  it('EpochBasedRunner: a mid-epoch checkpoint (stopped run, by-iteration saving) continues inside that epoch', async () => {
    const full = buildRun({ maxEpochs: 3 });
    await full.run();

    const first = buildRun({ workDir: dir, maxEpochs: 3, checkpoint: { byEpoch: false } });
    first.runner.registerHook(new StopAt(4), 'LOW');
    await first.run();
    expect(first.losses).to.have.length(5);
    // saveLast also covers a run ended by a stop request from a later hook.
    expect(fs.readlinkSync(path.join(dir, LATEST))).to.equal('iter_5');
    expect(verifyCheckpoint(path.join(dir, 'iter_5')).meta).to.deep.include({ epoch: 1, iter: 5, stage: 'afterTrainIter' });

    const second = buildRun({ workDir: dir, maxEpochs: 3, modelSeed: 99 });
    await second.runner.resume(path.join(dir, 'iter_5'));
    const inner: number[] = [];
    second.runner.events$.subscribe((e) => { if (e.stage === 'afterTrainIter') inner.push(e.innerIter); });
    await second.run();
    expect(inner).to.deep.equal([2, 0, 1, 2]);
    expectClose(second.losses, full.losses.slice(5));
    expect([second.runner.epoch, second.runner.iter]).to.deep.equal([3, 9]);
  });

  it('IterBasedRunner: k iterations + resume (Adam, mid-pass) = the uninterrupted run, without repeating an iteration', async () => {
    const full = buildRun({ kind: 'iter', maxIters: 10, optimizer: 'adam' });
    await full.run();
    const first = buildRun({ kind: 'iter', workDir: dir, maxIters: 4, optimizer: 'adam', checkpoint: { byEpoch: false, interval: 2 } });
    await first.run();
    const second = buildRun({ kind: 'iter', workDir: dir, maxIters: 10, optimizer: 'adam', modelSeed: 99 });
    await second.runner.resume(path.join(dir, 'iter_4'));
    await second.run();
    expect(second.losses).to.have.length(6);
    expectClose(second.losses, full.losses.slice(4));
    expect(weightsOf(second.model)).to.deep.equal(weightsOf(full.model));
  });

  it('restores hook states by hook id, as they were after the whole stage, and warns about states nobody takes', async () => {
    const first = buildRun({ workDir: dir, maxEpochs: 2, checkpoint: { interval: 1 } });
    const counter = new EpochCounter();
    // Lower priority than the CheckpointHook: the checkpoint still sees its afterTrainEpoch.
    first.runner.registerHook(counter, 'LOW');
    const orphan = new EpochCounter();
    orphan.hookId = 'orphan';
    first.runner.registerHook(orphan, 'LOWEST');
    await first.run();
    expect(verifyCheckpoint(path.join(dir, 'epoch_1')).meta.hookStates).to.deep.equal({ EpochCounter: { count: 1 }, orphan: { count: 1 } });

    const second = buildRun({ workDir: dir, maxEpochs: 2 });
    const restored = new EpochCounter();
    second.runner.registerHook(restored, 'LOW');
    await second.runner.resume(path.join(dir, 'epoch_1'));
    expect(restored.count).to.equal(1);
    expect(second.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([
      `resume: checkpoint ${path.join(dir, 'epoch_1')} has state for hook 'orphan', but no registered hook with that id can load it`,
    ]);
  });

  it('merges runner.meta: the checkpoint wins for its keys, other user keys stay', async () => {
    const first = buildRun({ workDir: dir, maxEpochs: 1, checkpoint: { interval: 1 }, meta: { seed: 1, expName: 'a' } });
    await first.run();
    const second = buildRun({ meta: { seed: 2, user: 'kept' } });
    await second.runner.resume(path.join(dir, 'epoch_1'));
    const meta = second.runner.meta!;
    expect(meta).to.deep.include({ seed: 1, expName: 'a', user: 'kept', epoch: 1, iter: 3, hookMsgs: { lastCkpt: path.join(dir, 'epoch_1') } });
    expect(meta).to.not.have.any.keys('runState', 'hookStates', 'stage');
  });

  it('round-trips Adam slots, step counts and param groups: one more step gives identical weights', async () => {
    const a = buildRun({ kind: 'iter', maxIters: 3, optimizer: 'adam' });
    await a.run();
    a.optimizer.paramGroups[0]!.initialLr = 0.05;
    a.optimizer.paramGroups[0]!.lr = 0.02;
    const ckpt = await a.runner.saveCheckpoint(dir);
    const b = buildRun({ kind: 'iter', maxIters: 3, optimizer: 'adam', modelSeed: 99 });
    await b.runner.resume(ckpt);
    expect(b.optimizer.paramGroups).to.deep.equal(a.optimizer.paramGroups);
    const fresh = buildRun({ kind: 'iter', maxIters: 3, optimizer: 'adam', modelSeed: 99 });
    await fresh.runner.resume(ckpt, { resumeOptimizer: false });

    const step = (model: Classifier, optimizer: ParamGroupOptimizer, batch: DataBatch) => {
      const outputs = model.trainStep(batch);
      optimizer.step(outputs.grads!);
      for (const g of outputs.grads!.values()) g.dispose();
    };
    const batch = a.loader.makeBatch(Int32Array.from([0, 1, 2, 3]));
    step(a.model, a.optimizer, batch);
    step(b.model, b.optimizer, batch);
    step(fresh.model, fresh.optimizer, batch);
    batch.dispose();
    expect(weightsOf(b.model)).to.deep.equal(weightsOf(a.model));
    expect(weightsOf(fresh.model)).to.not.deep.equal(weightsOf(a.model));
  });

  it('round-trips a map of named optimizers and refuses a single/named mismatch', async () => {
    const named = () => {
      const model = MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3 });
      return { model, optimizer: buildOptimizers({ body: { type: 'SGD', lr: 0.1, momentum: 0.9, params: 'fc1' }, head: { type: 'Adam', lr: 0.01, params: 'logits' } }, model.params()) };
    };
    const setup = named();
    const withNamed = buildRun({ kind: 'iter', maxIters: 2, model: setup.model });
    withNamed.runner.optimizer = setup.optimizer;
    await withNamed.run();
    const ckpt = await withNamed.runner.saveCheckpoint(dir);
    const optimizerFile = JSON.parse(fs.readFileSync(path.join(ckpt, 'optimizer.json'), 'utf8'));
    expect(optimizerFile.kind).to.equal('named');
    expect(optimizerFile.optimizers.map((o: { name: string; type: string }) => [o.name, o.type])).to.deep.equal([['body', 'SGD'], ['head', 'Adam']]);

    const other = named();
    const b = buildRun({ kind: 'iter', maxIters: 2, model: other.model });
    b.runner.optimizer = other.optimizer;
    await b.runner.resume(ckpt);
    const states = (opts: Record<string, ParamGroupOptimizer>) => Object.fromEntries(Object.entries(opts).map(([name, o]) => {
      const s = o.stateDict();
      const slots = Object.fromEntries(Object.entries(s.slots).map(([k, t]) => [k, Array.from(t.dataSync())]));
      tf.dispose(s.slots);
      return [name, { ...s, slots }];
    }));
    expect(states(other.optimizer as Record<string, ParamGroupOptimizer>)).to.deep.equal(states(setup.optimizer as Record<string, ParamGroupOptimizer>));

    const single = buildRun({ kind: 'iter', maxIters: 2 });
    expect((await rejection(single.runner.resume(ckpt))).message)
      .to.equal(`resume: checkpoint ${ckpt} holds the state of named optimizers (body, head), but the runner has a single optimizer`);
  });

  it('resumes from a beforeRun hook (EMAHook resumeFrom), renumbering that first event', async () => {
    const first = buildRun({ workDir: dir, maxEpochs: 1, checkpoint: { interval: 1 } });
    await first.run();
    const ckpt = path.join(dir, 'epoch_1');
    const seq = verifyCheckpoint(ckpt).meta.seq;
    const second = buildRun({ maxEpochs: 2 });
    class ResumesBeforeRun extends Hook<BaseRunner> {
      override async beforeRun(r: BaseRunner): Promise<void> { await r.resume(ckpt); }
    }
    second.runner.registerHook(new ResumesBeforeRun());
    const seen: StageEvent[] = [];
    second.runner.events$.subscribe((e) => seen.push(e));
    await second.run();
    expect(seen[0]).to.include({ stage: 'beforeRun', seq: seq + 1, epoch: 1, iter: 3 });
    expect(seen.map((e) => e.seq)).to.deep.equal(seen.map((_, i) => seq + 1 + i));
    expect(second.losses).to.have.length(3);
  });

  it("is strict: another model's checkpoint is refused before anything changes, naming the first differences", async () => {
    const saved = buildRun({ workDir: dir, maxEpochs: 1, checkpoint: { interval: 1 } });
    saved.runner.registerHook(new EpochCounter(), 'LOW');
    await saved.run();
    const model = MLPClassifier({ inputShape: [4], hiddenUnits: [8, 8, 8, 8, 8, 8, 8], numClasses: 3, seed: 3 });
    const target = buildRun({ model, maxEpochs: 2 });
    const counter = new EpochCounter();
    target.runner.registerHook(counter, 'LOW');
    const before = weightsOf(model);
    const ckpt = path.join(dir, 'epoch_1');
    expect((await rejection(target.runner.resume(path.join(dir, LATEST)))).message).to.equal([
      `checkpoint ${ckpt}: was saved from a different model; resume needs every weight to match, so nothing was loaded. First differences:`,
      'missing keys in source state_dict: fc2/kernel, fc2/bias, fc3/kernel, fc3/bias, fc4/kernel, (and 7 more)',
      'To start from its matching weights only (fine-tuning), use loadFrom instead of resumeFrom.',
    ].join('\n'));
    expect(weightsOf(model)).to.deep.equal(before);
    expect([target.runner.epoch, target.runner.iter, counter.count]).to.deep.equal([0, 0, 0]);
  });

  it('refuses to resume in the middle of a run', async () => {
    const first = buildRun({ workDir: dir, maxEpochs: 1, checkpoint: { interval: 1 } });
    await first.run();
    const second = buildRun({ maxEpochs: 1 });
    class ResumesLate extends Hook<BaseRunner> {
      override async afterTrainIter(r: BaseRunner): Promise<void> { await r.resume(path.join(dir, 'epoch_1')); }
    }
    second.runner.registerHook(new ResumesLate());
    expect((await rejection(second.run())).message)
      .to.equal('hook ResumesLate failed in afterTrainIter: resume() must be called before run() or from a beforeRun hook; it was called during afterTrainIter');
  });

  it('keeps the tensor count flat across saves, loads and resumes', async () => {
    const { runner, run } = buildRun({ optimizer: 'adam', maxEpochs: 1 });
    await run();
    const cycle = async () => {
      const ckpt = await runner.saveCheckpoint(dir);
      await runner.loadCheckpoint(ckpt);
      await runner.resume(ckpt);
    };
    await cycle();
    const tensors = tf.memory().numTensors;
    await cycle();
    await cycle();
    expect(tf.memory().numTensors).to.equal(tensors);
  });
});
