import { expect } from 'chai';
import { lastValueFrom, takeWhile, toArray } from 'rxjs';
import type { StageEvent } from '../../src/core/stage-event.js';
import type { BaseRunner, Workflow } from '../../src/runner/base-runner.js';
import { tinyRunner } from '../helpers/tiny.js';

// One letter per stage, so a whole run reads like a marble diagram.
const LETTER: Record<string, string> = {
  beforeRun: 'R', beforeTrainEpoch: 'E', beforeTrainIter: 'i', afterTrainIter: 'j', afterTrainEpoch: 'e',
  beforeValEpoch: 'V', beforeValIter: 'v', afterValIter: 'w', afterValEpoch: 'X', afterRun: 'Z',
  beforeEpoch: 'B', afterEpoch: 'A',
};

async function record(runner: BaseRunner, loaders: Parameters<BaseRunner['run']>[0], workflow: Workflow): Promise<StageEvent[]> {
  const events = lastValueFrom(runner.events$.pipe(takeWhile((e) => e.stage !== 'afterRun', true), toArray()));
  await runner.run(loaders, workflow);
  return events;
}

const letters = (events: StageEvent[]) => events.map((e) => LETTER[e.stage]).join('');
const counters = (events: StageEvent[], stage: string) =>
  events.filter((e) => e.stage === stage).map((e) => [e.mode, e.epoch, e.iter, e.innerIter]);

describe('stage sequences', () => {
  it("EpochBasedRunner [['train', 1], ['val', 1]] for 2 epochs of 3 iterations", async () => {
    const { runner, train, val } = tinyRunner({ maxEpochs: 2, numSamples: 12, batchSize: 4 });
    const events = await record(runner, [train, val], [['train', 1], ['val', 1]]);
    expect(letters(events)).to.equal('R' + 'Eijijije' + 'VvwvwvwX' + 'Eijijije' + 'VvwvwvwX' + 'Z');
    expect(events.map((e) => e.seq)).to.deep.equal(events.map((_, i) => i + 1));
    // Hooks see counters before they advance: iter counts completed iterations.
    expect(counters(events, 'beforeTrainIter')).to.deep.equal([
      ['train', 0, 0, 0], ['train', 0, 1, 1], ['train', 0, 2, 2],
      ['train', 1, 3, 0], ['train', 1, 4, 1], ['train', 1, 5, 2],
    ]);
    // Validation after epoch k sees epoch k (already incremented) and does not move iter.
    expect(counters(events, 'beforeValIter')).to.deep.equal([
      ['val', 1, 3, 0], ['val', 1, 3, 1], ['val', 1, 3, 2], ['val', 2, 6, 0], ['val', 2, 6, 1], ['val', 2, 6, 2],
    ]);
    expect(counters(events, 'afterRun')).to.deep.equal([['val', 2, 6, 2]]);
    expect([runner.epoch, runner.iter]).to.deep.equal([2, 6]);
  });

  it("EpochBasedRunner [['train', 2], ['val', 1]] and [['val', 1], ['train', 1]]", async () => {
    let { runner, train, val } = tinyRunner({ maxEpochs: 3, numSamples: 4, batchSize: 4 });
    let events = await record(runner, [train, val], [['train', 2], ['val', 1]]);
    // Round 1: two train epochs then val; round 2: one train epoch (max reached), then val.
    expect(letters(events)).to.equal('R' + 'Eije' + 'Eije' + 'VvwX' + 'Eije' + 'VvwX' + 'Z');

    ({ runner, train, val } = tinyRunner({ maxEpochs: 2, numSamples: 4, batchSize: 4 }));
    events = await record(runner, [val, train], [['val', 1], ['train', 1]]);
    expect(letters(events)).to.equal('R' + 'VvwX' + 'Eije' + 'VvwX' + 'Eije' + 'Z');
    expect(counters(events, 'beforeValIter').map((c) => c[1])).to.deep.equal([0, 1]);
  });

  it('IterBasedRunner calls the aggregate beforeEpoch/afterEpoch once and never the epoch stages', async () => {
    const { runner, train, val } = tinyRunner({ kind: 'iter', maxIters: 5, numSamples: 8, batchSize: 4 });
    const events = await record(runner, [train, val], [['train', 2], ['val', 1]]);
    expect(letters(events)).to.equal('R' + 'B' + 'ijij' + 'vw' + 'ijij' + 'vw' + 'ij' + 'vw' + 'A' + 'Z');
    // The epoch is the pass the batch comes from (2 batches per pass).
    expect(counters(events, 'beforeTrainIter')).to.deep.equal([
      ['train', 0, 0, 0], ['train', 0, 1, 1], ['train', 1, 2, 0], ['train', 1, 3, 1], ['train', 2, 4, 0],
    ]);
    expect(counters(events, 'beforeValIter').map((c) => [c[0], c[2], c[3]])).to.deep.equal([['val', 2, 0], ['val', 4, 0], ['val', 5, 0]]);
    expect(runner.iter).to.equal(5);
  });
});
