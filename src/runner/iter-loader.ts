import type { RunnerLoader } from './base-runner.js';

/**
 * Endless batches from a loader (MMCV `IterLoader`): at each wrap-around `epoch` grows and the
 * sampler is told, so the next pass is shuffled differently.
 */
export class IterLoader<B = unknown> {
  private iterator: Iterator<B>;
  private epochValue: number;

  constructor(readonly loader: RunnerLoader<B>, startEpoch = 0) {
    this.epochValue = startEpoch;
    loader.sampler?.setEpoch(startEpoch);
    this.iterator = loader[Symbol.iterator]();
  }

  /** Passes completed over the loader. */
  get epoch(): number {
    return this.epochValue;
  }

  get length(): number {
    return this.loader.length;
  }

  /** The next batch, starting a new pass when the current one is exhausted. */
  next(): B {
    let step = this.iterator.next();
    if (step.done) {
      this.epochValue += 1;
      this.loader.sampler?.setEpoch(this.epochValue);
      this.iterator = this.loader[Symbol.iterator]();
      step = this.iterator.next();
      if (step.done) throw new Error('IterLoader: the data loader yields no batch');
    }
    return step.value;
  }

  /** Skips `count` batches (used to continue mid-pass after resume). */
  skip(count: number): void {
    for (let i = 0; i < count; i++) (this.next() as { dispose?: () => void })?.dispose?.();
  }
}
