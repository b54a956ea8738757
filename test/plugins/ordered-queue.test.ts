import { expect } from 'chai';
import { OrderedQueue } from '../../plugins/ordered-queue.js';

/** Lets every pending callback and I/O turn run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Jobs that finish only when released, in the order they started. */
function gatedJobs() {
  const started: string[] = [];
  const finished: string[] = [];
  const release: Array<() => void> = [];
  const job = (name: string) => () => new Promise<void>((resolve) => {
    started.push(name);
    release.push(() => { finished.push(name); resolve(); });
  });
  return { started, finished, job, releaseNext: () => release.shift()!() };
}

describe('OrderedQueue', () => {
  it('runs jobs one at a time in push order, and makes a producer wait while the queue is full', async () => {
    const failures: string[] = [];
    const q = new OrderedQueue({ capacity: 2, retries: 0, retryDelay: 0, onFailure: (label) => failures.push(label) });
    const { started, finished, job, releaseNext } = gatedJobs();
    await q.push('a', job('a'));
    await q.push('b', job('b'));
    let cQueued = false;
    let dQueued = false;
    const c = q.push('c', job('c')).then(() => { cQueued = true; });
    const d = q.push('d', job('d')).then(() => { dQueued = true; });
    await settle();
    expect(started).to.deep.equal(['a']);
    expect([q.size, cQueued, dQueued]).to.deep.equal([2, false, false]);

    releaseNext(); // a done: c takes its slot, d still waits
    await c;
    await settle();
    expect([started, q.size, dQueued]).to.deep.equal([['a', 'b'], 2, false]);

    let drained = false;
    const drain = q.drain().then(() => { drained = true; });
    releaseNext(); // b
    await d;
    await settle();
    releaseNext(); // c
    await settle();
    expect(drained).to.equal(false);
    releaseNext(); // d
    await drain;
    expect(finished).to.deep.equal(['a', 'b', 'c', 'd']);
    expect([q.size, drained, failures]).to.deep.equal([0, true, []]);
    await q.drain(); // idle: resolves at once
  });

  it('retries a failing job with backoff, reports it after the last attempt, and goes on with the next', async () => {
    const failures: Array<[string, string, number]> = [];
    const q = new OrderedQueue({ capacity: 4, retries: 2, retryDelay: 1, onFailure: (label, error, attempts) => failures.push([label, (error as Error).message, attempts]) });
    const attempts: string[] = [];
    let flaky = 0;
    await q.push('flaky', async () => {
      attempts.push('flaky');
      if (++flaky < 3) throw new Error(`flaky failure ${flaky}`);
    });
    await q.push('broken', async () => {
      attempts.push('broken');
      throw new Error('always fails');
    });
    await q.push('fine', async () => { attempts.push('fine'); });
    await q.drain();
    expect(attempts).to.deep.equal(['flaky', 'flaky', 'flaky', 'broken', 'broken', 'broken', 'fine']);
    expect(failures).to.deep.equal([['broken', 'always fails', 3]]);
  });

  it('rejects impossible settings', () => {
    const onFailure = () => {};
    expect(() => new OrderedQueue({ capacity: 0, retries: 0, retryDelay: 0, onFailure })).to.throw('OrderedQueue: capacity must be a positive integer; got 0');
    expect(() => new OrderedQueue({ capacity: 1, retries: -1, retryDelay: 0, onFailure })).to.throw('OrderedQueue: retries must be an integer >= 0; got -1');
    expect(() => new OrderedQueue({ capacity: 1, retries: 0, retryDelay: Infinity, onFailure })).to.throw('OrderedQueue: retryDelay must be a finite number >= 0; got Infinity');
  });
});
