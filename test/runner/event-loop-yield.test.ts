import { expect } from 'chai';
import { validateConfig } from '../../src/config/build-from-config.js';
import { Hook } from '../../src/core/hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { AUTO_YIELD_MS, EventLoopYield, type YieldEvery } from '../../src/runner/event-loop-yield.js';
import { buildToyRunner } from '../../src/testing/toy-runner.js';
import { tinyConfig } from '../helpers/tiny-config.js';
import { thrown } from '../helpers/errors.js';

/** Busy-waits (no await) so that more than `ms` passes during the first iteration. */
class SlowFirstIterHook extends Hook<BaseRunner> {
  constructor(private readonly ms: number) { super(); }
  override afterTrainIter(runner: BaseRunner): void {
    if (runner.iter > 0) return;
    const until = performance.now() + this.ms;
    while (performance.now() < until) { /* spin: a synchronous hook, as tfjs kernels are */ }
  }
}

/** Records, at each train iteration, how many immediates scheduled by earlier iterations have run. */
class ImmediateProbeHook extends Hook<BaseRunner> {
  ran = 0;
  readonly seen: number[] = [];
  override beforeTrainIter(): void { this.seen.push(this.ran); }
  override afterTrainIter(): void { setImmediate(() => this.ran++); }
}

async function ticksDuringRun(yieldEvery: YieldEvery): Promise<number> {
  const toy = buildToyRunner({ yieldEvery, workDir: false, numSamples: 16 });
  toy.runner.registerHook(new SlowFirstIterHook(AUTO_YIELD_MS + 5), 'LOW');
  let ticks = 0;
  const interval = setInterval(() => ticks++, 1);
  try {
    await toy.run();
  } finally {
    clearInterval(interval);
    toy.cleanup();
  }
  return ticks;
}

describe('runner yieldEvery', function () {
  this.timeout(60000);

  it("lets a 1 ms interval tick during a run with 'auto' (the default) and never with 'never'", async () => {
    expect(await ticksDuringRun('auto')).to.be.greaterThan(0);
    expect(await ticksDuringRun('never')).to.equal(0);
  });

  it('yields after every iteration with 0, and not at all with never', async () => {
    for (const [setting, expected] of [[0, [0, 1, 2, 3, 4, 5, 6, 7]], ['never', [0, 0, 0, 0, 0, 0, 0, 0]]] as const) {
      const toy = buildToyRunner({ yieldEvery: setting, workDir: false, numSamples: 16 });
      const probe = new ImmediateProbeHook();
      toy.runner.registerHook(probe);
      await toy.run();
      toy.cleanup();
      expect(probe.seen, String(setting)).to.deep.equal(expected);
    }
  });

  it('costs no clock read and no promise with never', () => {
    expect(new EventLoopYield('never').maybeYield()).to.equal(undefined);
    expect(new EventLoopYield(60_000).maybeYield()).to.equal(undefined);
    expect(new EventLoopYield(0).maybeYield()).to.be.instanceOf(Promise);
  });

  it('rejects a bad setting naming the field and the allowed values, from options and from a config', () => {
    expect(thrown(() => buildToyRunner({ yieldEvery: 'sometimes' as YieldEvery, workDir: false })).message)
      .to.equal("runner.yieldEvery: must be 'auto', 'never' or a number of milliseconds >= 0; got \"sometimes\"");
    expect(thrown(() => buildToyRunner({ yieldEvery: -1, workDir: false })).message).to.contain('runner.yieldEvery');
    expect(() => validateConfig(tinyConfig({ runner: { type: 'EpochBasedRunner', maxEpochs: 1, yieldEvery: 'often' } })))
      .to.throw(/config\.runner\.yieldEvery/);
    expect(() => validateConfig(tinyConfig({ runner: { type: 'EpochBasedRunner', maxEpochs: 1, yieldEvery: 50 } }))).not.to.throw();
  });
});
