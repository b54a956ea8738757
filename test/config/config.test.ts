import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { buildFromConfig, validateConfig } from '../../src/config/build-from-config.js';
import { applyOverrides, loadConfig } from '../../src/config/load-config.js';
import { mergeConfig } from '../../src/config/merge.js';
import { redactEnvRefs, resolveEnvRefs } from '../../src/config/env-refs.js';
import { estimateParameters } from '../../src/config/estimate-model-size.js';
import { ConfigError } from '../../src/core/errors.js';
import { MODELS } from '../../src/training/model/models.js';
import { MemoryLogger } from '../../src/core/services.js';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try { await promise; } catch (e) { return e as Error; }
  throw new Error('expected a rejection');
}

describe('config files', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const write = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  it('merges _base_ files MMCV-style: objects merge, lists replace, later bases and the file win', async () => {
    write('base/model.yaml', 'model:\n  type: MLPClassifier\n  hiddenUnits: [64]\n  numClasses: 10\nworkflow: [[train, 1]]\n');
    write('base/optim.json', { optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 }, model: { numClasses: 3 } });
    const file = write('exp.json', { _base_: ['./base/model.yaml', './base/optim.json'], optimizer: { lr: 0.01 }, workflow: [['train', 2], ['val', 1]] });
    const cfg = await loadConfig(file);
    expect(cfg).to.deep.equal({
      model: { type: 'MLPClassifier', hiddenUnits: [64], numClasses: 3 },
      workflow: [['train', 2], ['val', 1]],
      optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9 },
    });
  });

  it('replaces instead of merging where _delete_ is set', () => {
    expect(mergeConfig({ optimizer: { type: 'SGD', momentum: 0.9 } }, { optimizer: { _delete_: true, type: 'Adam', lr: 1 } }))
      .to.deep.equal({ optimizer: { type: 'Adam', lr: 1 } });
  });

  it('loads JS configs (default export or a function) and resolves customImports next to the file', async () => {
    const file = write('conf/exp.mjs', 'export default () => ({ customImports: ["./plugin.js", "some-package"], seed: 3 });');
    const cfg = await loadConfig(file);
    expect(cfg).to.deep.equal({ customImports: [path.join(dir, 'conf', 'plugin.js'), 'some-package'], seed: 3 });
  });

  it('reports missing files, bad extensions and circular bases with the path', async () => {
    expect((await rejection(loadConfig(path.join(dir, 'nope.json')))).message).to.equal(`config file ${path.join(dir, 'nope.json')} does not exist`);
    expect((await rejection(loadConfig(write('x.toml', 'a = 1')))).message).to.contain('has an unknown extension; allowed: .json, .yaml, .yml, .js, .mjs, .cjs');
    write('a.json', { _base_: './b.json' });
    write('b.json', { _base_: './a.json' });
    expect((await rejection(loadConfig(path.join(dir, 'a.json')))).message).to.match(/^_base_: circular _base_ chain: .*a\.json -> .*b\.json -> .*a\.json$/);
  });

  it('applies --cfg-options overrides with typed values', () => {
    const cfg = applyOverrides(tinyConfig(), ['runner.maxEpochs=7', 'optimizer.lr=0.5', 'data.train.shuffle=false', 'workflow=[[train, 3]]', 'expName=run a']);
    expect(cfg.runner).to.deep.equal({ type: 'EpochBasedRunner', maxEpochs: 7 });
    expect((cfg.optimizer as { lr: number }).lr).to.equal(0.5);
    expect((cfg.data as { train: { shuffle: boolean } }).train.shuffle).to.equal(false);
    expect(cfg.workflow).to.deep.equal([['train', 3]]);
    expect(cfg.expName).to.equal('run a');
    expect(() => applyOverrides({}, ['novalue'])).to.throw("--cfg-options: 'novalue' must look like key.path=value");
  });
});

describe('config validation', () => {
  it('names unknown keys with the nearest allowed one', () => {
    expect(() => validateConfig(tinyConfig({ lr_config: {} }))).to.throw("config: unknown option 'lr_config' (did you mean 'lrConfig'?); allowed options: model, data");
  });

  it('names the key and the allowed values', () => {
    expect(() => validateConfig(tinyConfig({ runner: { type: 'EpochRunner', maxEpochs: 1 } })))
      .to.throw(`config.runner.type: must be one of 'EpochBasedRunner', 'IterBasedRunner'; got the string "EpochRunner"; did you mean 'EpochBasedRunner'?`);
    expect(() => validateConfig(tinyConfig({ backend: 'gpu' }))).to.throw('config.backend: Invalid option: expected one of "auto"|"tensorflow"|"wasm"|"cpu"');
    expect(() => validateConfig(tinyConfig({ runner: { type: 'IterBasedRunner' } }))).to.throw('config.runner.maxIters: is required for IterBasedRunner');
    expect(() => validateConfig(tinyConfig({ customHooks: [{ type: 'X', priority: 'SOMETIMES' }] })))
      .to.throw('config.customHooks.0.priority: must be an integer 0-100 or one of HIGHEST, VERY_HIGH, HIGH, ABOVE_NORMAL, NORMAL, BELOW_NORMAL, LOW, VERY_LOW, LOWEST');
    const noVal = tinyConfig();
    delete (noVal.data as Record<string, unknown>).val;
    expect(() => validateConfig(noVal)).to.throw("config.data.val: is required because the workflow has a 'val' entry");
  });

  it('fails before training on an unknown hook type, naming the config key and the nearest types', async () => {
    const error = await rejection(buildFromConfig(tinyConfig({ customHooks: [{ type: 'IterTimerHok' }] }), { logger: new MemoryLogger() }));
    expect(error.message).to.match(/^customHooks\[0\]: 'IterTimerHok' is not in the hook registry: is it registered by a module you forgot to list in customImports\? Did you mean 'IterTimerHook'\?/);
  });

  it('explains an optimizer that is neither an optimizer object nor a map of them', () => {
    const what = `must be an optimizer object with a 'type' (e.g. { "type": "SGD", "lr": 0.01 }), or a map of named optimizers, each with a 'type'`;
    expect(() => validateConfig(tinyConfig({ optimizer: 5 }))).to.throw(`config.optimizer: ${what}; got 5`);
    expect(() => validateConfig(tinyConfig({ optimizer: {} }))).to.throw(`config.optimizer: ${what}; got {}`);
  });

  it('calls a string lr a string', async () => {
    const error = await rejection(buildFromConfig(tinyConfig({ optimizer: { type: 'SGD', lr: '0.1' } }), { logger: new MemoryLogger() }));
    expect(error.message).to.equal('optimizer.lr: must be a finite number >= 0; got the string "0.1"');
  });

  it('checks model against data before training, naming both keys and both values', async () => {
    const build = (model: Record<string, unknown>) => rejection(buildFromConfig(tinyConfig({ model: { type: 'MLPClassifier', ...model } }), { logger: new MemoryLogger() }));
    expect((await build({ inputShape: [784], hiddenUnits: [8], numClasses: 3 })).message)
      .to.equal('config.model.inputShape: is [784], but config.data.train.dataset gives samples of shape [4] (its inputShape); make them equal');
    const cfg = tinyConfig();
    (cfg.data as { val: { dataset: Record<string, unknown> } }).val.dataset.numClasses = 5;
    const error = await rejection(buildFromConfig(cfg, { logger: new MemoryLogger() }));
    expect(error.message).to.match(/^config\.model\.numClasses: is 3, but config\.data\.val\.dataset has labels up to 4 \(numClasses 5\); set model\.numClasses to at least 5$/);
  });

  it('refuses a model too big to train, with the estimate, before building it', async () => {
    const error = await rejection(buildFromConfig(tinyConfig({ model: { type: 'MLPClassifier', inputShape: [4], hiddenUnits: [1e9], numClasses: 3 } }), { logger: new MemoryLogger() }));
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.match(/^config\.model: MLPClassifier with these sizes has about 8\.00e\+9 parameters \(29\.8 GiB of float32 weights\); training needs about 4x that \(119 GiB: weights, gradients, optimizer state\), more than this machine's [\d.]+ GiB of memory/);
  });

  it('estimates the parameters of the built-in models exactly', () => {
    const configs = [
      { type: 'MLPClassifier', inputShape: [4], hiddenUnits: [8, 5], numClasses: 3 },
      { type: 'MLPClassifier' },
      { type: 'CNNClassifier', inputShape: [28, 28, 1], filters: [4, 6], kernelSize: 3, poolSize: 2, hiddenUnits: [10], numClasses: 10 },
      { type: 'CNNClassifier', inputShape: [9, 11, 3], filters: [2], kernelSize: 2, poolSize: 3, hiddenUnits: [], numClasses: 4 },
    ];
    for (const cfg of configs) {
      const model = MODELS.build(cfg);
      const actual = [...model.params().values()].reduce((n, v) => n + v.size, 0);
      expect(estimateParameters(cfg), JSON.stringify(cfg)).to.equal(actual);
      model.net?.dispose();
    }
    expect(estimateParameters({ type: 'MyNet' })).to.equal(undefined);
  });

  it('resolves {"$env": NAME} references and redacts them; a missing variable names the key and the variable', () => {
    const cfg = { upload: { token: { $env: 'TOKEN_A' }, list: [1, { $env: 'TOKEN_B' }] }, plain: 'x' };
    expect(resolveEnvRefs(cfg, { TOKEN_A: 'a', TOKEN_B: 'b' })).to.deep.equal({ upload: { token: 'a', list: [1, 'b'] }, plain: 'x' });
    expect(redactEnvRefs(cfg)).to.deep.equal({ upload: { token: '<redacted:TOKEN_A>', list: [1, '<redacted:TOKEN_B>'] }, plain: 'x' });
    expect(() => resolveEnvRefs(cfg, { TOKEN_A: 'a' })).to.throw(ConfigError, 'config.upload.list.1: refers to the environment variable TOKEN_B, which is not set');
    expect(() => resolveEnvRefs({ k: { $env: 'A', other: 1 } }, {})).to.throw(ConfigError, 'config.k: an environment reference must be exactly { "$env": "VARIABLE_NAME" }');
  });

  it('fails on a bad dataset option with the full path', async () => {
    const cfg = tinyConfig();
    (cfg.data as { train: { dataset: Record<string, unknown> } }).train.dataset.numClasses = 1;
    const error = await rejection(buildFromConfig(cfg, { logger: new MemoryLogger() }));
    expect(error.message).to.equal('config.data.train.dataset.numClasses: must be an integer >= 2; got 1');
  });
});

describe('buildFromConfig', () => {
  it('builds runner, loaders and workflow, with the default hooks in MMCV order', async () => {
    const { runner, dataLoaders, workflow, backend } = await buildFromConfig(tinyConfig(), { logger: new MemoryLogger() });
    expect(backend.active).to.be.oneOf(['wasm', 'cpu', 'tensorflow']);
    expect(workflow).to.deep.equal([['train', 1], ['val', 1]]);
    expect(dataLoaders.map((l) => l.length)).to.deep.equal([3, 2]);
    expect(runner.hooks.map((h) => [h.constructor.name, h.priority])).to.deep.equal([['OptimizerHook', 40], ['IterTimerHook', 70], ['TextLoggerHook', 90]]);
    await runner.run(dataLoaders, workflow);
    expect([runner.epoch, runner.iter]).to.deep.equal([2, 6]);
  });
});
