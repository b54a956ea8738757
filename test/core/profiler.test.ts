import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { attachProfiler } from '../../src/core/profiler.js';
import { systemClock, type Clock } from '../../src/core/services.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { buildToyRunner } from '../../src/testing/index.js';

/** Busy-waits `ms` milliseconds in every training iteration: it dominates the iteration time. */
class SlowHook extends Hook<BaseRunner> {
  constructor(private readonly ms: number) { super(); }
  override afterTrainIter(): void {
    const end = systemClock.now() + this.ms;
    while (systemClock.now() < end) { /* busy */ }
  }
}

/** A clock only hooks move: time passes exactly as much as they say. */
class ManualClock implements Clock {
  t = 1000;
  now(): number { return this.t; }
}

describe('hook profiler', () => {
  it('names a hook that takes most of the iteration time, and prints the table at the end', async () => {
    const toy = buildToyRunner({ workDir: false, maxEpochs: 1, workflow: [['train', 1]] });
    toy.runner.registerHook(new SlowHook(40), 'LOW');
    const profiler = attachProfiler(toy.runner, { printTable: true, warnShare: 0.5 });
    await toy.run();
    const warnings = toy.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/^HookProfiler: hook SlowHook takes \d+\.\d% of the training iteration time \(\d+\.\d{3} ms of \d+\.\d{3} ms per iteration\)$/);
    const slow = profiler.stats().find((r) => r.hook === 'SlowHook')!;
    expect(slow).to.include({ stage: 'afterTrainIter', calls: 3 });
    expect(slow.totalMs).to.be.at.least(120);
    expect(profiler.stats()[0]).to.equal(slow);
    expect(profiler.iterationShares().get('SlowHook')).to.be.at.least(0.5);
    // The table, logged at afterRun: header, then the rows slowest first.
    const table = toy.logger.lines.find((l) => l.message.startsWith('Hook profile: run '))!.message.split('\n');
    expect(table[0]).to.match(/^Hook profile: run \d+\.\d{3} ms, 3 train iterations of \d+\.\d{3} ms on average$/);
    expect(table[1]).to.match(/^hook +stage +calls +total ms +mean ms +max ms +% run$/);
    expect(table[2]).to.match(/^SlowHook +afterTrainIter +3 +\d+\.\d{3} +\d+\.\d{3} +\d+\.\d{3} +\d+\.\d%$/);
    expect(table.some((row) => /^OptimizerHook +afterTrainIter +3 /.test(row))).to.equal(true);
    expect(table.some((row) => /^IterTimerHook +beforeTrainEpoch +1 /.test(row))).to.equal(true);
    profiler.detach();
  });

  it('computes shares from its clock: a hook that takes all of the time is 100%, others 0%', async () => {
    const clock = new ManualClock();
    class Ticks extends Hook<BaseRunner> {
      override afterTrainIter(): void { clock.t += 10; }
    }
    const toy = buildToyRunner({ workDir: false, maxEpochs: 2, workflow: [['train', 1]], trainingHooks: null });
    toy.runner.registerHook(new Ticks());
    const profiler = attachProfiler(toy.runner, { clock, checkEvery: 2 });
    const warnedBy: number[] = [];
    toy.runner.addEventListener((e) => {
      if (e.stage === 'afterTrainIter') warnedBy.push(toy.logger.lines.filter((l) => l.level === 'warn').length);
    });
    await toy.run();
    expect(toy.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).to.deep.equal([
      'HookProfiler: hook Ticks takes 100.0% of the training iteration time (10.000 ms of 10.000 ms per iteration)',
    ]);
    // Warned at the second iteration already (checkEvery), once.
    expect(warnedBy).to.deep.equal([0, 1, 1, 1, 1, 1]);
    expect(profiler.stats()).to.deep.equal([{ hook: 'Ticks', stage: 'afterTrainIter', calls: 6, totalMs: 60, maxMs: 10 }]);
    expect([...profiler.iterationShares()]).to.deep.equal([['Ticks', 1]]);
    expect(profiler.table().split('\n')[0]).to.equal('Hook profile: run 60.000 ms, 6 train iterations of 10.000 ms on average');
  });

  it('starts over for a new run, and stops when detached', async () => {
    const clock = new ManualClock();
    class Ticks extends Hook<BaseRunner> {
      override beforeTrainEpoch(): void { clock.t += 1; }
    }
    const toy = buildToyRunner({ workDir: false, maxEpochs: 1, workflow: [['train', 1]], trainingHooks: null });
    toy.runner.registerHook(new Ticks());
    const profiler = attachProfiler(toy.runner, { clock, warnShare: null });
    await toy.run();
    expect(profiler.stats().map((r) => [r.hook, r.stage, r.calls])).to.deep.equal([['Ticks', 'beforeTrainEpoch', 1]]);
    const again = buildToyRunner({ workDir: false, maxEpochs: 1, workflow: [['train', 1]], trainingHooks: null });
    again.runner.registerHook(new Ticks());
    const second = attachProfiler(again.runner, { clock });
    second.detach();
    await again.run();
    expect(second.stats()).to.deep.equal([]);
    expect(again.logger.lines.filter((l) => l.level === 'warn')).to.deep.equal([]);
  });

  it('checks its options', () => {
    const toy = buildToyRunner({ workDir: false });
    expect(() => attachProfiler(toy.runner, { warnShare: 0 })).to.throw(RangeError, 'profiler: warnShare must be a number in (0, 1] or null; got 0');
    expect(() => attachProfiler(toy.runner, { checkEvery: 0 })).to.throw(RangeError, 'profiler: checkEvery must be a positive integer; got 0');
  });
});
