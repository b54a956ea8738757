import { expect } from 'chai';
import { ConfigError, HookError } from '../../src/core/errors.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import { DataLoader } from '../../src/training/data/data-loader.js';
import { Synthetic } from '../../src/training/data/synthetic.js';
import { CheckInvalidLossHook } from '../../plugins/check-invalid-loss-hook.js';
import { tinyRunner } from '../helpers/tiny.js';

/** 16 samples in 4 unshuffled batches of 4; sample `nanAt` (if any) has a NaN feature. */
function loaderWithNaN(nanAt?: number): DataLoader {
  const dataset = new Synthetic({ numSamples: 16, inputShape: [4], numClasses: 3 });
  if (nanAt !== undefined) dataset.features[nanAt * 4] = Number.NaN;
  return new DataLoader(dataset, { batchSize: 4 });
}

async function runError(run: Promise<void>): Promise<Error> {
  try { await run; } catch (e) { return e as Error; }
  throw new Error('expected the run to fail');
}

describe('CheckInvalidLossHook', () => {
  it('is registered, defaults to interval 50 and validates its options', () => {
    expect(HOOKS.get('CheckInvalidLossHook')).to.equal(CheckInvalidLossHook);
    expect(new CheckInvalidLossHook().interval).to.equal(50);
    expect(new CheckInvalidLossHook({ interval: 3 }).interval).to.equal(3);
    expect(() => new CheckInvalidLossHook({ interval: 0 })).to.throw(ConfigError, 'CheckInvalidLossHook.interval: must be a positive integer; got 0');
    expect(() => new CheckInvalidLossHook({ interval: 1.5 })).to.throw(ConfigError, 'CheckInvalidLossHook.interval: must be a positive integer; got 1.5');
    expect(() => new CheckInvalidLossHook({ intervall: 2 } as never)).to.throw(ConfigError, "CheckInvalidLossHook: unknown option 'intervall' (did you mean 'interval'?); allowed options: interval");
  });

  it('stops the run at the first checked iteration with a NaN loss, naming the iteration', async () => {
    const { runner } = tinyRunner({ maxEpochs: 1 });
    runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'CheckInvalidLossHook', interval: 1 }] });
    const error = await runError(runner.run([loaderWithNaN(9)], [['train', 1]]));
    expect(error).to.be.instanceOf(HookError);
    expect(error.message).to.equal('hook CheckInvalidLossHook failed in afterTrainIter: loss became infinite or NaN at iteration 3: NaN');
    expect(runner.iter).to.equal(2);
  });

  it('checks only every interval iterations', async () => {
    // The NaN of iteration 3 is not checked; the step it poisons makes iteration 4's loss NaN.
    const { runner } = tinyRunner({ maxEpochs: 1 });
    runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'CheckInvalidLossHook', interval: 2 }] });
    const error = await runError(runner.run([loaderWithNaN(9)], [['train', 1]]));
    expect(error.message).to.equal('hook CheckInvalidLossHook failed in afterTrainIter: loss became infinite or NaN at iteration 4: NaN');
  });

  it('lets a finite run finish', async () => {
    const { runner } = tinyRunner({ maxEpochs: 2 });
    runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'CheckInvalidLossHook', interval: 1 }] });
    await runner.run([loaderWithNaN()], [['train', 1]]);
    expect(runner.iter).to.equal(8);
  });

  it('runs in afterTrainIter after the OptimizerHook at its default priority', () => {
    const { runner } = tinyRunner();
    runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'CheckInvalidLossHook' }] });
    expect(runner.hookInfo()).to.equal([
      'beforeTrainEpoch:',
      `(LOW         ) ${'IterTimerHook'.padEnd(35)}`,
      ' -------------------- ',
      'beforeTrainIter:',
      `(LOW         ) ${'IterTimerHook'.padEnd(35)}`,
      ' -------------------- ',
      'afterTrainIter:',
      `(ABOVE_NORMAL) ${'OptimizerHook'.padEnd(35)}`,
      `(NORMAL      ) ${'CheckInvalidLossHook'.padEnd(35)}`,
      `(LOW         ) ${'IterTimerHook'.padEnd(35)}`,
      ' -------------------- ',
      'beforeValEpoch:',
      `(LOW         ) ${'IterTimerHook'.padEnd(35)}`,
      ' -------------------- ',
      'beforeValIter:',
      `(LOW         ) ${'IterTimerHook'.padEnd(35)}`,
      ' -------------------- ',
      'afterValIter:',
      `(LOW         ) ${'IterTimerHook'.padEnd(35)}`,
      ' -------------------- ',
    ].join('\n'));
  });
});
