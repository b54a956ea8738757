import { ConfigError } from '../core/errors.js';
import { EXCEPTION_STAGE, type EventStage } from '../core/stages.js';
import { BaseRunner, type RunnerLoader, type Workflow } from './base-runner.js';
import { IterLoader } from './iter-loader.js';

/**
 * What IterBasedRunner fires, in order: no epoch stages, but the aggregate `beforeEpoch` and
 * `afterEpoch` once around the iterations (as MMCV calls them), and the exception stage.
 */
export const ITER_RUNNER_STAGES: readonly EventStage[] = [
  'beforeRun', 'beforeEpoch', 'beforeTrainIter', 'afterTrainIter', 'beforeValIter', 'afterValIter', 'afterEpoch', 'afterRun', EXCEPTION_STAGE,
];

/**
 * Runs a fixed number of training iterations (MMCV `IterBasedRunner`): each workflow entry is
 * a number of iterations; loaders wrap around endlessly. The aggregate `beforeEpoch` and
 * `afterEpoch` run once, before the first and after the last iteration; the epoch stages never do.
 */
export class IterBasedRunner extends BaseRunner {
  private iterLoaders: IterLoader[] = [];

  get byEpoch(): boolean {
    return false;
  }

  override get firedStages(): readonly EventStage[] {
    return ITER_RUNNER_STAGES;
  }

  async run(dataLoaders: RunnerLoader[], workflow: Workflow): Promise<void> {
    this.validateWorkflow(dataLoaders, workflow);
    const maxIters = this.maxItersValue;
    if (maxIters === undefined) throw new ConfigError('runner.maxIters', 'IterBasedRunner needs maxIters');
    this.resetStopRequest();
    this.logStart(workflow, `${maxIters} iters`);
    await this.syncWeightsFromRankZero();
    await this.guardStarted(() => this.runStarted(dataLoaders, workflow, maxIters));
  }

  /** The run from `beforeRun` to `afterRun` (a failure there fires the exception stage). */
  private async runStarted(dataLoaders: RunnerLoader[], workflow: Workflow, maxIters: number): Promise<void> {
    await this.emit('beforeRun');
    // A resumed run continues the data where it stopped: same pass, same position.
    const trainAt = workflow.findIndex(([mode]) => mode === 'train');
    this.iterLoaders = dataLoaders.map((loader, i) => {
      if (i !== trainAt || this.iter === 0) return new IterLoader(loader);
      const it = new IterLoader(loader, Math.floor(this.iter / loader.length));
      it.skip(this.iter % loader.length);
      return it;
    });
    await this.emit('beforeEpoch');
    rounds: while (this.iter < maxIters && !this.stopRequested) {
      for (let i = 0; i < workflow.length; i++) {
        const [mode, count] = workflow[i]!;
        for (let k = 0; k < count; k++) {
          if (mode === 'train' && this.iter >= maxIters) break;
          if (mode === 'train') await this.train(this.iterLoaders[i]!, k);
          else await this.val(this.iterLoaders[i]!, k);
          if (this.stopRequested) break rounds;
        }
      }
    }
    // An interrupted run's aggregate epoch did not end: a resumed run opens and closes its own.
    if (this.interrupted) await this.saveInterrupted();
    else await this.emit('afterEpoch');
    await this.emit('afterRun', undefined, this.runEndPayload());
  }

  /** One training iteration; `innerIter` is its index within the workflow entry. */
  async train(loader: IterLoader, innerIter: number): Promise<void> {
    this.model.train();
    this.dataLoader = loader;
    const batch = loader.next();
    // The pass the batch belongs to (MMCV reads it before fetching, so it lags at wrap-arounds).
    const pending = this.runIteration('train', batch, { mode: 'train', epoch: loader.epoch, innerIter });
    if (pending) await pending;
  }

  /** One validation iteration (no gradients; `iter` unchanged). */
  async val(loader: IterLoader, innerIter: number): Promise<void> {
    this.model.eval();
    this.dataLoader = loader;
    const pending = this.runIteration('val', loader.next(), { mode: 'val', innerIter });
    if (pending) await pending;
  }
}
