import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { momentumUpdaterHookFor } from '../../src/hooks/momentum-updater/momentum-updater-hook.js';
import { CosineRestart } from '../../src/hooks/schedules/cosine-restart.js';
import { Exp } from '../../src/hooks/schedules/exp.js';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';
import { OPTIMIZERS, expectClose, at, recordRun } from './schedule-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.resolve(here, '../fixtures/custom-schedule-child.js');
/** The README's example: a user-defined policy in its own module. */
const USER_MODULE = path.resolve(here, '../../examples/inverse-sqrt-schedule.js');

/** Writes `config` next to nothing else and runs it through buildFromConfig in a child process. */
function train(dir: string, config: Record<string, unknown>) {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return spawnSync(process.execPath, [CHILD, file], { encoding: 'utf8', env: { ...process.env, HOOKFLOW_BACKEND: 'wasm' } });
}

describe('a user-defined schedule (the README example), used from config', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('drives the lr per iteration and the momentum per epoch, from policy names in any case', () => {
    // SGD lr 0.1 momentum 0.9; 2 epochs of 3 iterations.
    const { status, stdout, stderr } = train(dir, tinyConfig({
      customImports: [USER_MODULE],
      workflow: [['train', 1]],
      lrConfig: { policy: 'inversesqrt', byEpoch: false, timescale: 2, minLr: 0.055 },
      momentumConfig: { policy: 'InverseSqrt', timescale: 4, minMomentum: 0.85 },
    }));
    expect(status, stderr).to.equal(0);
    const { hooks, values } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { hooks: string[]; values: Array<{ iter: number; lr: number[]; momentum: number[] }> };
    expect(hooks).to.deep.equal(['InverseSqrtLrUpdaterHook', 'InverseSqrtMomentumUpdaterHook']);
    expect(values.map((v) => v.iter)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    // 0.1 / sqrt(1 + iter / 2): 0.1, 0.1 / sqrt(1.5), 0.1 / sqrt(2), 0.1 / sqrt(2.5), 0.1 / sqrt(3), then 0.1 / sqrt(3.5) = 0.05345 floored at minLr.
    const lr = [0.1, 0.0816496580927726, 0.0707106781186548, 0.0632455532033676, 0.0577350269189626, 0.055];
    values.forEach((v, i) => expect(v.lr[0], `lr at iter ${i}`).to.be.closeTo(lr[i]!, 1e-15));
    // 0.9 in epoch 0; 0.9 / sqrt(1.25) = 0.805 in epoch 1, floored at minMomentum.
    expect(values.map((v) => v.momentum[0])).to.deep.equal([0.9, 0.9, 0.9, 0.85, 0.85, 0.85]);
  });

  it("reports a missing option with the hook's name and what is allowed, before training", () => {
    const { status, stdout, stderr } = train(dir, tinyConfig({ customImports: [USER_MODULE], lrConfig: { policy: 'InverseSqrt', minLr: 0 } }));
    expect(status).to.not.equal(0);
    expect(stdout).to.equal('');
    expect(stderr).to.contain('lrConfig: InverseSqrtLrUpdaterHook.timescale: is required; must be a positive integer');
  });
});

describe('momentum hooks of the LR-only MMCV policies (made, not registered)', () => {
  const momenta = async (momentumConfig: object) =>
    (await recordRun({ kind: 'iter', optimizer: OPTIMIZERS.single, maxIters: 4, hooks: { momentumConfig: momentumConfig as never } })).records;

  it('Exp: 0.9, 0.45, 0.225, 0.1125', async () => {
    const records = await momenta(new (momentumUpdaterHookFor(Exp))({ gamma: 0.5, byEpoch: false }));
    [0.9, 0.45, 0.225, 0.1125].forEach((m, iter) => expectClose(at(records, iter, 'momentum'), m, `iter ${iter}`));
  });

  it('CosineRestart, with its target spelled minMomentumRatio: 0.9, 0.675, 0.675, 0.5625', async () => {
    const Hook = momentumUpdaterHookFor(CosineRestart);
    expect(Hook.name).to.equal('CosineRestartMomentumUpdaterHook');
    const records = await momenta(new Hook({ periods: [2, 2], restartWeights: [1, 0.5], minMomentumRatio: 0.5, byEpoch: false }));
    // Target 0.45; the second cycle restarts at 0.45 + 0.5 * (0.9 - 0.45).
    [0.9, 0.675, 0.675, 0.5625].forEach((m, iter) => expectClose(at(records, iter, 'momentum'), m, `iter ${iter}`));
  });
});
