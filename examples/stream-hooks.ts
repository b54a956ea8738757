/**
 * Stream-native hooks: an `@On` method with an Ignite-style filter, and a hook pipeline built
 * from RxJS operators, on a tiny real run.
 * Run: npm run build && node dist/examples/stream-hooks.js
 */
import 'reflect-metadata';
import { bufferCount, map } from 'rxjs';
import { Hook, On, pipelineHook, selectBackend, type BaseRunner, type StageEvent } from '../src/index.js';
import { buildToyRunner } from '../src/testing/index.js';

await selectBackend(process.env.HOOKFLOW_BACKEND ?? 'auto');

/** Reports the loss every third iteration, and once after the first training epoch. */
class LossReporter extends Hook<BaseRunner> {
  @On('afterTrainIter', { every: 3 })
  report(runner: BaseRunner, event: StageEvent): void {
    const logVars = event.payload?.logVars as { loss: number };
    console.log(`iter ${runner.iter + 1}: loss ${logVars.loss.toFixed(4)}`);
  }

  @On('afterTrainEpoch', { once: 1 })
  firstEpoch(runner: BaseRunner): void {
    console.log(`first epoch done: ${runner.iter} iterations so far`);
  }
}

const toy = buildToyRunner({ maxEpochs: 3, numSamples: 24, workDir: false });
toy.runner.registerHook(new LossReporter(), 'LOW');

// Mean loss over windows of 4 iterations, written by blocking (awaited, ordered) work.
const windows: number[] = [];
toy.runner.registerHook(pipelineHook<BaseRunner>({ stages: 'afterTrainIter', name: 'windowedLoss' }, (events$, { blocking }) =>
  events$.pipe(
    map((e) => (e.payload!.logVars as { loss: number }).loss),
    bufferCount(4),
    map((losses) => losses.reduce((a, b) => a + b, 0) / losses.length),
    blocking(async (mean) => {
      await new Promise((resolve) => setTimeout(resolve, 1)); // e.g. a write to a remote store
      windows.push(mean);
    }),
  )), 'LOW');

console.log(toy.runner.hookInfo(true));
await toy.run();
console.log(`windowed mean losses: ${windows.map((w) => w.toFixed(4)).join(', ')}`);
toy.cleanup();
