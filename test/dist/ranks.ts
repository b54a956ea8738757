import * as tf from '../../src/backend/tfjs.js';
import { Hook } from '../../src/core/hook.js';
import { singleProcessGroup, type ProcessGroup } from '../../src/core/services.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
export { runOnLocalRanks } from '../../src/dist/local-process-groups.js';

/** `fn` on the single-process group, as a one-element list like {@link runOnLocalRanks} returns. */
export async function singleProcess<T>(fn: (group: ProcessGroup) => Promise<T>): Promise<T[]> {
  return [await fn(singleProcessGroup)];
}

/**
 * Turns the first gradient of the step into Infinity on one rank at the given iterations (an
 * fp16 overflow there only); register it at HIGHEST, before the optimizer hook.
 */
export class InjectOverflow extends Hook<BaseRunner> {
  constructor(private readonly rank: number, private readonly iters: ReadonlySet<number>) {
    super();
  }

  override afterTrainIter(runner: BaseRunner): void {
    const grads = runner.outputs?.grads;
    if (runner.rank !== this.rank || !this.iters.has(runner.iter) || !grads) return;
    const [key, grad] = [...grads][0]!;
    grads.set(key, tf.fill(grad.shape, Infinity));
    grad.dispose();
  }
}
