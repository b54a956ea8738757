/**
 * The runner as hooks see it. Hooks type against {@link HookRunner} (what a live run offers) or
 * against {@link RecordedRunner} (the part a journal replay can offer too), never against the
 * concrete runner classes, so that every runner that keeps these promises can drive them.
 */
import type { Container } from 'inversify';
import type { Observable } from 'rxjs';
import type { Hook } from '../core/hook.js';
import type { HookConfig } from '../core/hook-registration.js';
import type { PriorityLike } from '../core/priority.js';
import type { RunState } from '../core/run-state.js';
import type { RunnerView } from '../core/runner-view.js';
import type { Clock, Logger, ProcessGroup } from '../core/services.js';
import type { Scalar, StageEvent } from '../core/stage-event.js';
import type { EventStage, Mode } from '../core/stages.js';
import type { CheckpointIO, CheckpointMeta } from '../training/checkpoint/checkpoint-io.js';
import type { LoadCheckpointOptions, ResumeOptions, SaveCheckpointOptions } from '../training/checkpoint/runner-checkpoint.js';
import type { StepOutputs, TrainableModel } from '../training/model/trainable-model.js';
import type { Optimizers } from '../training/optim/build-optimizer.js';
import type { LogBuffer } from './log-buffer.js';

/** What hooks may read of the current loader. */
export interface LoaderLike {
  readonly length: number;
  readonly sampler?: { setEpoch(epoch: number): void };
}

/** Why a run ended early. */
export interface StopRequest {
  reason: string;
  source?: string;
  /** Stopped from outside (a signal): the epoch's closing stages are skipped and a checkpoint is saved. */
  interrupt?: boolean;
}

/**
 * The part of {@link HookRunner} that a recorded run offers as well as a live one: counters,
 * run facts, the log buffer, the services and the event in progress; no model, optimizer, data
 * or checkpoints. `ReplayRunner` (a journal replay) implements exactly this. Hooks that only
 * observe a run (the logger hooks) type against it, so `hookflow replay` can drive them.
 */
export interface RecordedRunner extends RunnerView {
  // --- counters (the fold of the stage events so far; the current event's while its hooks run)
  /** Completed training epochs. */
  readonly epoch: number;
  /** Completed training iterations, over the whole run. */
  readonly iter: number;
  /** The iteration within the current epoch (0-based). */
  readonly innerIter: number;
  /** The loop in progress; null before the first epoch. */
  readonly mode: Mode | null;
  /** Sequence number of the last event (the current one's while its hooks run). */
  readonly seq: number;
  /** The counters as a whole. */
  readonly runState: Readonly<RunState>;

  // --- run facts
  /** The run's length in epochs (epoch-based runs). */
  readonly maxEpochs: number | undefined;
  /** The run's length in iterations (known for both kinds of run). */
  readonly maxIters: number | undefined;
  /** The loader of the loop in progress (a replay knows only its length); null between loops. */
  readonly dataLoader: { readonly length: number } | null;
  /**
   * The log buffer: values logged this interval (`update`), their averages in `output` once
   * `ready`. Hooks add their values (timings, metrics); the logger hooks report and clear it.
   */
  readonly logBuffer: LogBuffer;
  /**
   * Outputs of the last model step: `loss`, `logVars`, `numSamples`, and in a live training
   * iteration `grads` (an optimizer hook consumes them). A replay has no tensors: no `grads`.
   */
  readonly outputs: StepOutputs | undefined;
  /** Free-form run metadata, saved in checkpoints (MMCV `meta`); hooks may set keys (`hookMsgs`). */
  meta: Record<string, unknown> | null;
  /** The work dir (absolute), where logs and checkpoints go; null when the run has none. */
  readonly workDir: string | null;
  /** `YYYYMMDD_HHMMSS` of the run's start; names its log files. */
  readonly timestamp: string;
  /** This process's rank (0 in a single-process run). */
  readonly rank: number;
  /** Number of processes in the run. */
  readonly worldSize: number;

  // --- services (also injectable: TOKENS.Logger, Clock, ProcessGroup, WorkDir)
  /** Where messages go (the text log in a work dir, and the console). */
  readonly logger: Logger;
  /** The run's clock (a replay's reads the time of the event being replayed). */
  readonly clock: Clock;
  /** The collectives of a distributed run (a single-process group otherwise). */
  readonly processGroup: ProcessGroup;
  /** The runner's inversify container: hooks built from config resolve their services here. */
  readonly container: Container;

  // --- hooks and events
  /** The registered hooks, in execution order. */
  readonly hooks: readonly Hook<any>[];
  /**
   * The event being dispatched, while hooks run: in a live run its payload is what the runner
   * and earlier hooks recorded so far; in a replay it is the recorded event (a copy).
   */
  readonly event: StageEvent | undefined;
  /** Every stage event, in order, after the stage's hooks have run. */
  readonly events$: Observable<StageEvent>;
  /** First-group lr (one optimizer) or `{ name: lr }` (several), as loggers report it; throws without an optimizer. */
  lrForLog(): number | Record<string, number>;
  /** First-group momentum, like {@link lrForLog}. */
  momentumForLog(): number | Record<string, number>;
  /** Adds scalars to the payload of the event being dispatched (journaled with it). */
  annotate(values: Record<string, Scalar | Record<string, Scalar>>): void;
  /** Runs `task` once the current stage is over (after all its hooks and the event's publication). */
  deferUntilStageEnd(task: () => void | Promise<void>): void;
  /** A synchronous listener for every event, before `events$`; returns an unsubscribe function. */
  addEventListener(listener: (event: StageEvent) => void): () => void;
  /** Registers a hook at `priority` (default: its `defaultPriority`, else NORMAL), after hooks of equal priority. */
  registerHook(hook: Hook<any>, priority?: PriorityLike): void;
  /** Builds a hook from `{ type, priority?, name?, ...options }` through the container and registers it. */
  registerHookFromConfig(cfg: HookConfig): Hook<any>;
  /** The hook plan in MMCV's `get_hook_info` layout. */
  hookInfo(withFilters?: boolean): string;
}

/**
 * The runner as a hook sees it in a live run (`EpochBasedRunner`, `IterBasedRunner`): all of
 * {@link RecordedRunner}, plus the model, optimizer(s), data, checkpoints and run control.
 * Type your hooks against it (`class MyHook extends Hook<HookRunner>`), or against
 * `RecordedRunner` when they need none of these, so that they run in a journal replay too.
 */
export interface HookRunner extends RecordedRunner {
  /** The model the run trains. */
  readonly model: TrainableModel<any>;
  /** Class name of the model (MMCV `model_name`). */
  readonly modelName: string;
  /** The optimizer, a map of named optimizers, or null (evaluation-only runs). */
  readonly optimizer: Optimizers | null;
  /** Whether the run counts epochs (EpochBasedRunner) or only iterations (IterBasedRunner). */
  readonly byEpoch: boolean;
  /** The loader of the loop in progress (its sampler too); null between loops. */
  readonly dataLoader: LoaderLike | null;
  /** The batch of the iteration in progress (undefined between iterations). */
  readonly dataBatch: unknown;
  /** Learning rate of every param group, or per named optimizer; throws without an optimizer. */
  currentLr(): number[] | Record<string, number[]>;
  /** Momentum of every param group (`momentum`, else `betas[0]`, else 0), or per named optimizer. */
  currentMomentum(): number[] | Record<string, number[]>;

  // --- run control
  /** The pending stop request, if a hook (or a signal) asked the run to end. */
  readonly stopRequested: StopRequest | undefined;
  /** Whether the run was interrupted from outside (see {@link interrupt}). */
  readonly interrupted: boolean;
  /** The stage of the last completed event (or of the checkpoint the run resumed from). */
  readonly lastStage: EventStage | null;
  /**
   * Asks the run to end cleanly: the current iteration finishes, the epoch's closing stages run,
   * then `afterRun`. The reason is logged and recorded in the `afterRun` event.
   */
  requestStop(reason: string, source?: string): void;
  /**
   * Stops the run as a signal does: the current iteration finishes, the epoch's closing stages
   * are skipped, checkpoint-saving hooks save the point reached, then `afterRun`.
   */
  interrupt(reason: string, source?: string): void;
  /** Forget the cached per-stage hook lists (after a hook changed what it subscribes to). */
  refreshHookPlan(): void;

  // --- checkpoints
  /** Where checkpoints are stored (`TOKENS.CheckpointIO`). */
  readonly checkpointIO: CheckpointIO;
  /**
   * Saves a checkpoint `<outDir>/<name>` of the state after the current stage and returns its
   * path; hooks with `stateDict()` are saved by hook id. Call it from `deferUntilStageEnd`.
   */
  saveCheckpoint(outDir: string, options?: SaveCheckpointOptions): Promise<string>;
  /** Loads a checkpoint's model weights (MMCV `load_checkpoint`); returns its meta. */
  loadCheckpoint(checkpoint: string, options?: LoadCheckpointOptions): Promise<CheckpointMeta>;
  /** Continues a run from a checkpoint; before `run()` or from a `beforeRun` hook only. */
  resume(checkpoint: string, options?: ResumeOptions): Promise<CheckpointMeta>;
}
