import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { tinyRunner } from '../helpers/tiny.js';

/** Records its iteration stages synchronously (no promise anywhere in the iteration). */
class Recorder extends Hook {
  constructor(readonly name: string, readonly log: string[], readonly failAt?: number) {
    super();
    this.hookId = name;
  }

  override beforeTrainIter(runner: { iter: number }): void {
    this.log.push(`${this.name}:before:${runner.iter}`);
  }

  override afterTrainIter(runner: { iter: number }): void {
    if (runner.iter === this.failAt) throw new Error('boom');
    this.log.push(`${this.name}:after:${runner.iter}`);
  }
}

describe('synchronous iterations', () => {
  it('run every hook in priority order at each iteration stage', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1, numSamples: 8, batchSize: 4 });
    const log: string[] = [];
    runner.registerHook(new Recorder('low', log), 'LOW');
    runner.registerHook(new Recorder('high', log), 'HIGH');
    runner.registerHook(new Recorder('normal', log));
    await runner.run([train], [['train', 1]]);
    expect(log).to.deep.equal([
      'high:before:0', 'normal:before:0', 'low:before:0', 'high:after:0', 'normal:after:0', 'low:after:0',
      'high:before:1', 'normal:before:1', 'low:before:1', 'high:after:1', 'normal:after:1', 'low:after:1',
    ]);
  });

  it('name the failing hook and stage', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1, numSamples: 8, batchSize: 4 });
    runner.registerHook(new Recorder('failing', [], 1));
    let error: Error | undefined;
    try {
      await runner.run([train], [['train', 1]]);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.match(/failing/).and.to.match(/afterTrainIter/).and.to.match(/boom/);
    expect(runner.iter).to.equal(1);
  });
});
