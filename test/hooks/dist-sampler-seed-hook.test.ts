import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import { DistSamplerSeedHook } from '../../src/hooks/dist-sampler-seed-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import type { DataBatch } from '../../src/training/data/data-loader.js';
import { buildRun } from '../fixtures/checkpoint-run.js';

/** The inputs of every training batch, one list per epoch (identifies the sample order). */
async function epochOrders(seedSampler: boolean): Promise<number[][]> {
  const { runner, run } = buildRun({ maxEpochs: 3, seedSampler });
  const orders: number[][] = [];
  class Recorder extends Hook<BaseRunner> {
    override beforeTrainEpoch(): void { orders.push([]); }
    override beforeTrainIter(r: BaseRunner): void { orders.at(-1)!.push(...(r.dataBatch as DataBatch).x.dataSync()); }
  }
  runner.registerHook(new Recorder(), 'LOWEST');
  await run();
  return orders;
}

describe('DistSamplerSeedHook', () => {
  it('gives every epoch its own shuffle, the same in every run with the same seed', async () => {
    const orders = await epochOrders(true);
    expect(orders).to.have.length(3);
    expect(orders[1]).to.not.deep.equal(orders[0]);
    expect(orders[2]).to.not.deep.equal(orders[1]);
    expect(await epochOrders(true)).to.deep.equal(orders);
    // Without it the sampler never hears of the epoch: every epoch repeats the first order.
    const unseeded = await epochOrders(false);
    expect(unseeded[1]).to.deep.equal(unseeded[0]);
    expect(unseeded[0]).to.deep.equal(orders[0]);
  });

  it('sets the epoch on the sampler, else on batchSampler.sampler, and ignores loaders without one', () => {
    const hook = new DistSamplerSeedHook();
    const calls: string[] = [];
    const sampler = (name: string) => ({ setEpoch(epoch: number) { calls.push(`${name} ${epoch} ${this === undefined ? 'unbound' : 'bound'}`); } });
    const runnerWith = (dataLoader: unknown, epoch: number) => ({ dataLoader, epoch }) as unknown as BaseRunner;
    hook.beforeTrainEpoch(runnerWith({ sampler: sampler('sampler'), batchSampler: { sampler: sampler('batch') } }, 2));
    hook.beforeValEpoch(runnerWith({ sampler: {}, batchSampler: { sampler: sampler('batch') } }, 5));
    hook.beforeEpoch(runnerWith({ length: 3 }, 1));
    hook.beforeEpoch(runnerWith(null, 1));
    expect(calls).to.deep.equal(['sampler 2 bound', 'batch 5 bound']);
  });

  it('is registered and takes no options', () => {
    expect(HOOKS.build({ type: 'DistSamplerSeedHook' })).to.be.instanceOf(DistSamplerSeedHook);
    expect(() => HOOKS.build({ type: 'DistSamplerSeedHook', seed: 1 })).to.throw("DistSamplerSeedHook: unknown option 'seed'");
  });
});
