/**
 * One long run of an epoch-based runner, driven one training epoch at a time, so a bench can
 * interleave the runner's epochs with other variants' rounds without timing a whole `run()`
 * each round: a real run starts and ends once (the start-of-run log, opening and closing the
 * loggers' files, TensorBoard's fsync at `afterRun`), while the per-epoch work stays in every
 * round, as it does in training.
 */
import { Hook } from '../src/core/hook.js';
import { Priority } from '../src/core/priority.js';
import type { BaseRunner, RunnerLoader, Workflow } from '../src/runner/base-runner.js';

/** Holds the run at every `beforeTrainEpoch` until the bench asks for the next epoch. */
class EpochGate extends Hook<BaseRunner> {
  private open: ((stop: boolean) => void) | undefined;
  private opened = new Promise<boolean>((resolve) => { this.open = resolve; });
  private ended: (() => void) | undefined;

  constructor() {
    super();
    this.hookId = 'EpochGate';
  }

  override async beforeTrainEpoch(runner: BaseRunner): Promise<void> {
    const stop = await this.opened;
    this.opened = new Promise<boolean>((resolve) => { this.open = resolve; });
    if (stop) runner.requestStop('the bench is over', 'EpochGate');
  }

  override afterTrainEpoch(): void {
    this.ended?.();
  }

  /** Lets one epoch run; resolves at its `afterTrainEpoch` (after every other hook of it). */
  epoch(): Promise<void> {
    const done = new Promise<void>((resolve) => { this.ended = resolve; });
    this.open!(false);
    return done;
  }

  /** Lets the held run end (after one more iteration, where the stop request is checked). */
  stop(): void {
    this.open!(true);
  }
}

/** What {@link epochRounds} returns. */
export interface EpochRounds {
  /** Runs the next training epoch. */
  epoch(): Promise<void>;
  /** Ends the run and waits for it. */
  finish(): Promise<void>;
}

/**
 * Starts `runner.run(loaders, workflow)` (a `[['train', 1]]` workflow with a large `maxEpochs`)
 * held before its first epoch; each {@link EpochRounds.epoch} then runs one epoch.
 */
export function epochRounds(runner: BaseRunner, loaders: RunnerLoader[], workflow: Workflow): EpochRounds {
  const gate = new EpochGate();
  // Last of every stage: an epoch is over once every other hook of its afterTrainEpoch ran.
  runner.registerHook(gate, Priority.LOWEST);
  const running = runner.run(loaders, workflow);
  return {
    epoch: () => gate.epoch(),
    finish: async () => {
      gate.stop();
      await running;
    },
  };
}
