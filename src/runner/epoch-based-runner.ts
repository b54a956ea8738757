import { ConfigError } from '../core/errors.js';
import { EXCEPTION_STAGE, STAGES, type EventStage } from '../core/stages.js';
import { BaseRunner, disposeBatch, type RunnerLoader, type Workflow } from './base-runner.js';

/** What EpochBasedRunner fires: the ten stages (never the aggregate calls), and the exception stage. */
export const EPOCH_RUNNER_STAGES: readonly EventStage[] = [...STAGES, EXCEPTION_STAGE];

/**
 * Runs whole epochs (MMCV `EpochBasedRunner`): `iter` advances after each train iteration,
 * `epoch` after each train epoch; val epochs advance neither.
 */
export class EpochBasedRunner extends BaseRunner {
  /** Batches the next train epoch skips: those a mid-epoch checkpoint had already trained. */
  private resumeSkip = 0;

  get byEpoch(): boolean {
    return true;
  }

  override get firedStages(): readonly EventStage[] {
    return EPOCH_RUNNER_STAGES;
  }

  /** A checkpoint taken inside an epoch (by-iteration checkpoints) continues that epoch where it was. */
  protected override continueFrom(stage: EventStage | null): void {
    const { innerIter } = this.runState;
    this.resumeSkip = stage === 'afterTrainIter' ? innerIter + 1 : stage === 'beforeTrainIter' ? innerIter : 0;
  }

  async run(dataLoaders: RunnerLoader[], workflow: Workflow): Promise<void> {
    this.validateWorkflow(dataLoaders, workflow);
    const maxEpochs = this.maxEpochsValue;
    if (maxEpochs === undefined) throw new ConfigError('runner.maxEpochs', 'EpochBasedRunner needs maxEpochs');
    const trainAt = workflow.findIndex(([mode]) => mode === 'train');
    this.maxItersValue = maxEpochs * dataLoaders[trainAt]!.length;
    this.resetStopRequest();
    this.logStart(workflow, `${maxEpochs} epochs`);
    await this.syncWeightsFromRankZero();
    await this.guardStarted(() => this.runStarted(dataLoaders, workflow, maxEpochs));
  }

  /** The run from `beforeRun` to `afterRun` (a failure there fires the exception stage). */
  private async runStarted(dataLoaders: RunnerLoader[], workflow: Workflow, maxEpochs: number): Promise<void> {
    await this.emit('beforeRun');
    rounds: while (this.epoch < maxEpochs && !this.stopRequested) {
      for (let i = 0; i < workflow.length; i++) {
        const [mode, count] = workflow[i]!;
        for (let k = 0; k < count; k++) {
          if (mode === 'train' && this.epoch >= maxEpochs) break;
          if (mode === 'train') await this.train(dataLoaders[i]!);
          else await this.val(dataLoaders[i]!);
          if (this.stopRequested) break rounds;
        }
      }
    }
    await this.saveInterrupted();
    await this.emit('afterRun', undefined, this.runEndPayload());
  }

  /** One training epoch. */
  async train(loader: RunnerLoader): Promise<void> {
    this.model.train();
    this.dataLoader = loader;
    this.maxItersValue = this.maxEpochsValue! * loader.length;
    await this.emit('beforeTrainEpoch', { mode: 'train' });
    const skip = this.resumeSkip;
    this.resumeSkip = 0;
    let i = 0;
    for (const batch of loader) {
      if (i < skip) {
        disposeBatch(batch);
        i++;
        continue;
      }
      const pending = this.runIteration('train', batch, { innerIter: i });
      if (pending) await pending;
      i++;
      if (this.stopRequested) break;
    }
    // An interrupted epoch did not end: its closing stage comes when a resumed run finishes it.
    if (this.interrupted) return;
    await this.emit('afterTrainEpoch');
  }

  /** One validation epoch (no gradients; counters unchanged). */
  async val(loader: RunnerLoader): Promise<void> {
    this.model.eval();
    this.dataLoader = loader;
    await this.emit('beforeValEpoch', { mode: 'val' });
    let i = 0;
    for (const batch of loader) {
      const pending = this.runIteration('val', batch, { innerIter: i });
      if (pending) await pending;
      i++;
    }
    await this.emit('afterValEpoch');
  }
}
