import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Container } from 'inversify';
import type { Observable } from 'rxjs';
import { TOKENS } from '../core/di.js';
import { Dispatcher, hookName } from '../core/dispatcher.js';
import { ConfigError, ExceptionStageError, HookError } from '../core/errors.js';
import { exceptionPayload } from '../core/exception-stage.js';
import type { Hook, HookResult } from '../core/hook.js';
import { formatHookPlan } from '../core/hook-info.js';
import { HookRegistrar, type HookConfig } from '../core/hook-registration.js';
import { Listeners } from '../core/listeners.js';
import type { PriorityLike } from '../core/priority.js';
import { foldRunState, type RunState } from '../core/run-state.js';
import { StageCycle } from '../core/stage-cycle.js';
import { consoleLogger, singleProcessGroup, systemClock, type Clock, type Logger, type ProcessGroup } from '../core/services.js';
import type { EventPayload, Scalar, StageEvent } from '../core/stage-event.js';
import { EVENT_STAGES, EXCEPTION_STAGE, type EventStage, type Mode } from '../core/stages.js';
import type { StageHandler, SubscribeOptions, SubscriptionHandle } from '../core/subscription.js';
import { agreeOnStop, averageLogVars, type ReducedLogVars } from '../dist/collective-agreement.js';
import { RankLogger } from '../dist/rank-logger.js';
import { FileCheckpointIO, disposeCheckpoint, type CheckpointIO, type CheckpointMeta } from '../training/checkpoint/checkpoint-io.js';
import {
  SNAPSHOT_ONLY_KEYS, loadModelWeights, restoreHookStates, restoreOptimizers, saveRunnerCheckpoint,
  type LoadCheckpointOptions, type ResumeOptions, type RunSnapshot, type SaveCheckpointOptions,
} from '../training/checkpoint/runner-checkpoint.js';
import { EventLoopYield, checkYieldEvery, type YieldEvery } from './event-loop-yield.js';
import { FileLogger } from './file-logger.js';
import type { HookRunner, LoaderLike, StopRequest } from './hook-runner.js';
import { LogBuffer } from './log-buffer.js';
import { timestampOf } from './timestamp.js';
import { broadcastWeightsFromRankZero } from '../training/model/buffers.js';
import { releaseOutputs, type StepOutputs, type TrainableModel } from '../training/model/trainable-model.js';
import { isStepAverager } from './step-averager.js';
import { isSingleOptimizer, type Optimizers } from '../training/optim/build-optimizer.js';
import type { ParamGroup } from '../training/optim/param-group-optimizer.js';
import { registerTrainingHooks, type TrainingHooksConfig } from './register-training-hooks.js';

/** A data source the runners iterate: batches, a length, optionally a sampler with epochs. */
export interface RunnerLoader<B = unknown> extends Iterable<B> {
  readonly length: number;
  readonly sampler?: { setEpoch(epoch: number): void };
}

/** `[['train', 1], ['val', 1]]`: which loop runs how many times per round. */
export type Workflow = Array<[Mode, number]>;

/** Options of every runner. */
export interface RunnerOptions {
  model: TrainableModel<any>;
  optimizer?: Optimizers | null;
  /** Created if missing; the text log, json log, checkpoints and journal go here. */
  workDir?: string | null;
  /**
   * Where messages go (default: the console); with a work dir they are also written to
   * `<workDir>/<timestamp>.log`. On ranks other than 0 only warnings and errors get through,
   * prefixed `rank N: `, and no log file is written.
   */
  logger?: Logger;
  meta?: Record<string, unknown> | null;
  maxEpochs?: number;
  maxIters?: number;
  clock?: Clock;
  processGroup?: ProcessGroup;
  /**
   * Stall watchdog: seconds any hook's promise may stay pending before the run fails with an
   * error naming the hook and stage (a hook's own `timeout` wins). Default: no limit.
   */
  stallTimeout?: number;
  /** Parent of the runner's container (application-wide services). */
  parentContainer?: Container;
  /** How often to let timers and I/O run between iterations (default `'auto'`: every 125 ms). */
  yieldEvery?: YieldEvery;
}

/** A hook that can checkpoint the point an interrupted run reached (CheckpointHook). */
export interface InterruptSaver {
  saveOnInterrupt(runner: HookRunner): Promise<void>;
}

function isInterruptSaver(hook: Hook<any>): hook is Hook<any> & InterruptSaver {
  return typeof (hook as Partial<InterruptSaver>).saveOnInterrupt === 'function';
}

/** What a run is doing, for messages about a run that ended badly. */
export interface RunActivity {
  /** The stage being dispatched, else the last one completed (null before the first). */
  stage: EventStage | null;
  /** Whether {@link stage} is still in progress. */
  inStage: boolean;
  /** The hook whose promise the run is waiting for, if any. */
  hook?: string;
}

/**
 * What both runners share (MMCV `BaseRunner`): the model, optimizer(s), counters (the fold of
 * the run's stage events), the hook dispatcher, the DI container and the event stream.
 */
export abstract class BaseRunner implements HookRunner {
  readonly model: TrainableModel<any>;
  optimizer: Optimizers | null;
  readonly logger: Logger;
  meta: Record<string, unknown> | null;
  readonly workDir: string | null;
  readonly timestamp: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly clock: Clock;
  readonly processGroup: ProcessGroup;
  /** The runner's inversify container: hooks built from config resolve their services here. */
  readonly container: Container;
  readonly logBuffer = new LogBuffer();
  private readonly checkpointListeners = new Listeners<[]>();
  /** Outputs of the last model step. */
  outputs: StepOutputs | undefined;
  /** The batch of the iteration in progress (undefined between iterations). */
  dataBatch: unknown;
  /** The loader of the loop in progress. */
  dataLoader: LoaderLike | null = null;

  protected maxEpochsValue: number | undefined;
  protected maxItersValue: number | undefined;
  protected readonly dispatcher = new Dispatcher<BaseRunner>(this.firedStages);
  private readonly registrar: HookRegistrar<BaseRunner>;
  /** Counters, the event in progress, listeners and end-of-stage tasks. */
  private readonly cycle = new StageCycle<BaseRunner>(this.dispatcher);
  private stopRequest: StopRequest | undefined;
  private readonly eventLoopYield: EventLoopYield;
  /** `iter` when run() started, to tell whether an interrupted run trained at all. */
  private iterAtStart = 0;

  /** Every stage event, in order, after the stage's hooks have run (payload complete). */
  readonly events$: Observable<StageEvent> = this.cycle.events$;

  constructor(options: RunnerOptions) {
    const { model, optimizer = null, workDir = null, meta = {}, maxEpochs, maxIters } = options;
    if (!model || typeof model.trainStep !== 'function') {
      throw new TypeError('runner: model must implement trainStep(batch) (see TrainableModel)');
    }
    if (meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) {
      throw new TypeError(`runner: meta must be an object or null; got ${Array.isArray(meta) ? 'an array' : typeof meta}`);
    }
    if (maxEpochs !== undefined && maxIters !== undefined) {
      throw new ConfigError('runner', 'only one of maxEpochs and maxIters can be set');
    }
    for (const [name, v] of [['maxEpochs', maxEpochs], ['maxIters', maxIters]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ConfigError(`runner.${name}`, `must be a positive integer; got ${v}`);
    }
    const { stallTimeout } = options;
    if (stallTimeout !== undefined && !(typeof stallTimeout === 'number' && stallTimeout > 0)) {
      throw new ConfigError('runner.stallTimeout', `must be a positive number of seconds; got ${JSON.stringify(stallTimeout)}`);
    }
    this.dispatcher.setStallTimeout(stallTimeout);
    this.model = model;
    this.optimizer = optimizer;
    this.meta = meta;
    this.maxEpochsValue = maxEpochs;
    this.maxItersValue = maxIters;
    this.clock = options.clock ?? systemClock;
    this.processGroup = options.processGroup ?? singleProcessGroup;
    this.rank = this.processGroup.rank;
    this.worldSize = this.processGroup.worldSize;
    this.timestamp = timestampOf(new Date());
    if (workDir !== null && typeof workDir !== 'string') throw new TypeError('runner: workDir must be a string or null');
    this.workDir = workDir === null ? null : path.resolve(workDir);
    if (this.workDir) fs.mkdirSync(this.workDir, { recursive: true });
    const sink = options.logger ?? consoleLogger;
    if (this.rank !== 0) this.logger = new RankLogger(this.rank, sink);
    else this.logger = this.workDir ? new FileLogger(path.join(this.workDir, `${this.timestamp}.log`), sink) : sink;

    this.container = new Container({ parent: options.parentContainer, defaultScope: 'Singleton' });
    this.container.bind(TOKENS.Runner).toConstantValue(this);
    this.container.bind(TOKENS.Logger).toConstantValue(this.logger);
    this.container.bind(TOKENS.Clock).toConstantValue(this.clock);
    this.container.bind(TOKENS.WorkDir).toConstantValue(this.workDir);
    this.container.bind(TOKENS.ProcessGroup).toConstantValue(this.processGroup);
    this.container.bind(TOKENS.CheckpointIO).toConstantValue(new FileCheckpointIO());
    this.registrar = new HookRegistrar(this.dispatcher, this.container);
    this.eventLoopYield = new EventLoopYield(checkYieldEvery(options.yieldEvery ?? 'auto', 'runner.yieldEvery'));
  }

  /** The counters: the fold of the events so far. */
  protected get state(): Readonly<RunState> { return this.cycle.state; }
  get epoch(): number { return this.state.epoch; }
  get iter(): number { return this.state.iter; }
  get innerIter(): number { return this.state.innerIter; }
  get mode(): Mode | null { return this.state.mode; }
  /** The counters as a whole (the fold of the events so far). */
  get runState(): Readonly<RunState> { return this.state; }
  /** Sequence number of the last event. */
  get seq(): number { return this.state.seq; }
  get maxEpochs(): number | undefined { return this.maxEpochsValue; }
  get maxIters(): number | undefined { return this.maxItersValue; }
  /** Class name of the model (MMCV `model_name`). */
  get modelName(): string { return this.model.constructor.name; }
  /** Hooks in execution order. */
  get hooks(): readonly Hook<any>[] { return this.dispatcher.hooks; }
  /** The event being dispatched, while hooks run. */
  get event(): StageEvent | undefined { return this.cycle.event; }
  /** The pending stop request, if a hook asked the run to end. */
  get stopRequested(): StopRequest | undefined { return this.stopRequest; }
  /** Whether the run was interrupted from outside (see {@link interrupt}). */
  get interrupted(): boolean { return this.stopRequest?.interrupt === true; }
  /** The stage of the last completed event (or of the checkpoint the run resumed from). */
  get lastStage(): EventStage | null { return this.cycle.lastStage; }
  /** The stage in progress (or the last one) and the hook awaited, if any. */
  get activity(): RunActivity {
    const event = this.cycle.event;
    const hook = this.dispatcher.pendingCall?.hook;
    return { stage: event?.stage ?? this.cycle.lastStage, inStage: event !== undefined, ...(hook ? { hook } : {}) };
  }
  /** Where checkpoints are stored (`TOKENS.CheckpointIO` in the container; rebind to change it). */
  get checkpointIO(): CheckpointIO { return this.container.get<CheckpointIO>(TOKENS.CheckpointIO); }

  /** Runs the workflow until the run's length (epochs or iterations) is reached. */
  abstract run(dataLoaders: RunnerLoader[], workflow: Workflow): Promise<void>;

  /**
   * Registers a hook at `priority` (default: its `defaultPriority`, else NORMAL), stable: after
   * hooks of equal priority. A hook instance can be registered once; its `hookId` must be unique
   * in the runner.
   */
  registerHook(hook: Hook<any>, priority?: PriorityLike): void {
    this.registrar.register(hook, priority);
  }

  /**
   * Builds a hook from `{ type, priority?, name?, ...options }` through the runner's container
   * and registers it. `name` becomes the hook id (the key of its checkpointed state).
   */
  registerHookFromConfig(cfg: HookConfig): Hook<any> {
    return this.registrar.registerFromConfig(cfg);
  }

  /**
   * Subscribes `handler` to `stages` (a stage, an aggregate such as `afterEpoch`, or a list),
   * the one primitive every hook compiles to: it runs at `priority` (default NORMAL) among the
   * hooks, after those of lower or equal priority registered before it, for the events that pass
   * `filter` (as `@On`'s); a promise it returns is awaited. Returns a handle whose `remove()`
   * unsubscribes (idempotent; during a stage's dispatch the handler is not called again).
   * `runner.on('afterTrainIter', (r, e) => losses.push(e.payload!.logVars), { filter: { every: 10 } })`.
   */
  on(stages: EventStage | readonly EventStage[], handler: StageHandler<this>, options: SubscribeOptions<this> = {}): SubscriptionHandle {
    return this.registrar.subscribe(stages, handler as StageHandler<BaseRunner>, options as SubscribeOptions<BaseRunner>);
  }

  /** Registers MMCV's default hooks in MMCV's order and priorities, then the custom hooks. */
  registerTrainingHooks(config: TrainingHooksConfig): void {
    registerTrainingHooks(this, config);
  }

  /** Whether this runner counts epochs (EpochBasedRunner) or iterations (IterBasedRunner). */
  abstract get byEpoch(): boolean;

  /**
   * The stages this runner fires, in the order its plan lists them: its loop can fire no other
   * (the dispatcher refuses one), and {@link hookInfo} lists these only. A runner subclass that
   * does not declare its own may fire any stage.
   */
  get firedStages(): readonly EventStage[] {
    return EVENT_STAGES;
  }

  /** The hook plan in MMCV's `get_hook_info` layout, over the stages this runner fires. */
  hookInfo(withFilters = false): string {
    return formatHookPlan(this.dispatcher, withFilters);
  }

  /** Learning rate of every param group, or per named optimizer. */
  currentLr(): number[] | Record<string, number[]> {
    return this.perGroup(lrOf);
  }

  /** Momentum of every param group (`momentum`, else `betas[0]`, else 0), or per optimizer. */
  currentMomentum(): number[] | Record<string, number[]> {
    return this.perGroup(momentumOf);
  }

  private perGroup(read: (g: ParamGroup) => number): number[] | Record<string, number[]> {
    return this.perOptimizer((groups) => groups.map(read));
  }

  /** First-group lr (one optimizer) or `{ name: lr }` (several), as loggers report it. */
  lrForLog(): number | Record<string, number> {
    return this.firstGroup(lrOf);
  }

  /** First-group momentum, like {@link lrForLog}. */
  momentumForLog(): number | Record<string, number> {
    return this.firstGroup(momentumOf);
  }

  /** `read` of the first param group (every iteration's payload has it: no list of all groups is built). */
  private firstGroup(read: (g: ParamGroup) => number): number | Record<string, number> {
    return this.perOptimizer((groups) => read(groups[0]!));
  }

  /** `of` the param groups of the one optimizer, or `{ name: of(groups) }` for named optimizers. */
  private perOptimizer<T>(of: (groups: readonly ParamGroup[]) => T): T | Record<string, T> {
    const opt = this.optimizer;
    if (!opt) throw new Error('the runner has no optimizer, so it has no lr or momentum');
    if (isSingleOptimizer(opt)) return of(opt.paramGroups);
    return Object.fromEntries(Object.entries(opt).map(([name, o]) => [name, of(o.paramGroups)]));
  }

  /**
   * Asks the run to end cleanly: the current iteration finishes, the epoch's closing stages
   * run, then `afterRun`. The reason is logged and recorded in the `afterRun` event.
   */
  requestStop(reason: string, source?: string): void {
    if (this.stopRequest) return;
    this.stopRequest = { reason, source };
    this.logger.info(`Stopping: ${reason}${source ? ` (requested by ${source})` : ''}`);
  }

  /**
   * Stops the run from outside, as a cluster's SIGTERM asks (what Lightning does): the current
   * training iteration, or validation epoch, finishes; the epoch's closing stages are skipped
   * (the epoch did not end); hooks that save checkpoints (CheckpointHook) save the point reached,
   * with the reason in the checkpoint's meta (`stop`); then `afterRun` runs with the reason in its
   * payload. A resume from that checkpoint continues exactly. It overrides a pending
   * {@link requestStop}.
   */
  interrupt(reason: string, source?: string): void {
    if (this.interrupted) return;
    this.stopRequest = { reason, source, interrupt: true };
    this.logger.warn(`Stopping: ${reason}; the current iteration finishes, then a checkpoint is saved`);
  }

  /** Adds scalars to the payload of the event being dispatched (journaled with it). */
  annotate(values: Record<string, Scalar | Record<string, Scalar>>): void {
    this.cycle.annotate(values);
  }

  /**
   * Runs `task` once the current stage is over: after every hook of the stage, the counter
   * update and the event's publication. Checkpoints use it so that they snapshot every hook's
   * state after the whole stage, not halfway through it.
   */
  deferUntilStageEnd(task: () => void | Promise<void>): void {
    this.cycle.defer(task);
  }

  /**
   * Subscribes a synchronous listener that sees every event before `events$` does (the
   * journal writer uses this); returns an unsubscribe function.
   */
  addEventListener(listener: (event: StageEvent) => void): () => void {
    return this.cycle.addEventListener(listener);
  }

  /** Forget the cached per-stage hook lists (after a hook changed what it subscribes to). */
  refreshHookPlan(): void {
    this.dispatcher.invalidate();
  }

  /** Attach (or detach with undefined) a timer that measures every hook call. */
  setHookTimer(timer: Parameters<Dispatcher['setTimer']>[0]): void {
    this.dispatcher.setTimer(timer);
  }

  /** Restores counters (used by resume); the next event continues after `seq`. */
  restoreState(state: Partial<RunState>): void {
    this.cycle.restore(state);
  }

  /**
   * Saves a checkpoint `<outDir>/<name>` and returns its path (MMCV `save_checkpoint`). The
   * snapshot is the run state after the current stage (or the last one, between stages), so
   * the name counts completed epochs (`epoch_N`) or iterations (`iter_N`), and `meta.epoch`,
   * `meta.iter` are those counts. Hooks with `stateDict()` are saved by hook id.
   */
  async saveCheckpoint(outDir: string, options: SaveCheckpointOptions = {}): Promise<string> {
    const event = this.cycle.event;
    const snapshot: RunSnapshot = event
      ? { state: foldRunState(this.state, event), stage: event.stage }
      : { state: { ...this.state }, stage: this.cycle.lastStage };
    this.checkpointListeners.notify();
    return saveRunnerCheckpoint(this, outDir, snapshot, options);
  }

  /**
   * A synchronous listener called before each checkpoint is saved (the journal writes what it
   * holds, so no checkpoint is ever ahead of the journal); returns an unsubscribe function.
   */
  addCheckpointListener(listener: () => void): () => void {
    return this.checkpointListeners.add(listener);
  }

  /**
   * Loads a checkpoint's model weights by key (MMCV `load_checkpoint`): missing and unexpected
   * keys are an error when `strict`, a warning otherwise. Returns the checkpoint's meta.
   */
  async loadCheckpoint(checkpoint: string, options: LoadCheckpointOptions = {}): Promise<CheckpointMeta> {
    const loaded = await this.checkpointIO.read(checkpoint, { optimizer: false });
    this.logger.info(`load checkpoint from ${loaded.path}`);
    for (const warning of loaded.warnings ?? []) this.logger.warn(warning);
    try {
      loadModelWeights(this, loaded, options.strict ?? false);
    } finally {
      disposeCheckpoint(loaded);
    }
    await this.syncWeightsFromRankZero();
    return loaded.meta;
  }

  /**
   * Continues a run from a checkpoint (a checkpoint directory or a `latest` entry): model
   * weights, optimizer state(s) with their param groups, the counters and event seq, hook
   * states, and `runner.meta` (the checkpoint's keys win, other keys stay). Call it after
   * registering the hooks and before `run()`, or from a `beforeRun` hook (MMCV's EMAHook
   * `resumeFrom`): then the `beforeRun` event is renumbered to continue the checkpoint's history.
   * Resume is strict: a checkpoint of a different model (keys or shapes) is refused with a
   * CheckpointError before anything is changed.
   */
  async resume(checkpoint: string, options: ResumeOptions = {}): Promise<CheckpointMeta> {
    const event = this.cycle.event;
    if (event && event.stage !== 'beforeRun') {
      throw new Error(`resume() must be called before run() or from a beforeRun hook; it was called during ${event.stage}`);
    }
    const { resumeOptimizer = true } = options;
    const loaded = await this.checkpointIO.read(checkpoint, { optimizer: resumeOptimizer });
    this.logger.info(`load checkpoint from ${loaded.path}`);
    for (const warning of loaded.warnings ?? []) this.logger.warn(warning);
    try {
      // Strict: counters, optimizer and hook states would come from another model's run.
      loadModelWeights(this, loaded, 'resume');
      if (resumeOptimizer) restoreOptimizers(this, loaded);
      restoreHookStates(this, loaded);
    } finally {
      disposeCheckpoint(loaded);
    }
    await this.syncWeightsFromRankZero();
    const { meta } = loaded;
    const kept = Object.fromEntries(Object.entries(meta).filter(([k]) => !(SNAPSHOT_ONLY_KEYS as readonly string[]).includes(k)));
    this.meta = { ...(this.meta ?? {}), ...kept };
    this.restoreState(meta.runState);
    if (event) Object.assign(event, { ...meta.runState, seq: meta.runState.seq + 1 });
    this.cycle.lastStage = meta.stage;
    this.continueFrom(meta.stage);
    this.logger.info(`resumed epoch ${this.epoch}, iter ${this.iter}`);
    return meta;
  }

  /**
   * Runs the part of `run()` after the run has started (from `beforeRun` on). When it fails,
   * the exception stage fires first ({@link EXCEPTION_STAGE}, journaled), then the run rejects
   * with the error, or with an {@link ExceptionStageError} (the error first) when exception
   * handlers failed too.
   */
  protected async guardStarted(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      const { seq, mode, epoch, iter, innerIter } = this.state;
      const payload = exceptionPayload(error, this.cycle.event?.stage ?? this.cycle.lastStage);
      const event: StageEvent = { seq: seq + 1, stage: EXCEPTION_STAGE, mode, epoch, iter, innerIter, time: this.clock.now(), payload };
      const failures = await this.cycle.fail(event, this, error);
      throw failures.length > 0 ? new ExceptionStageError(error, failures) : error;
    }
  }

  /** Called by {@link resume} once the counters are restored; `stage` is the one the checkpoint followed. */
  protected continueFrom(_stage: EventStage | null): void {}

  protected resetStopRequest(): void {
    this.stopRequest = undefined;
    this.iterAtStart = this.iter;
  }

  /**
   * After an {@link interrupt}: lets checkpoint-saving hooks save the point reached (nothing when
   * no training iteration ran in this run).
   */
  protected async saveInterrupted(): Promise<void> {
    if (!this.interrupted || this.iter === this.iterAtStart) return;
    const savers = this.hooks.filter(isInterruptSaver);
    if (savers.length === 0) {
      this.logger.warn('Stopping without a checkpoint: no CheckpointHook is registered (checkpointConfig is null)');
      return;
    }
    for (const hook of savers) {
      try {
        await hook.saveOnInterrupt(this);
      } catch (error) {
        throw new HookError(hookName(hook), this.cycle.lastStage ?? 'afterRun', 'saveOnInterrupt', error);
      }
    }
  }

  /**
   * With several ranks, gives every rank rank 0's weights (parameters and buffers), as PyTorch
   * DDP does when it wraps the model: the runners call it before `beforeRun`, and
   * {@link loadCheckpoint} and {@link resume} after loading. Nothing with one rank.
   */
  protected async syncWeightsFromRankZero(): Promise<void> {
    if (this.worldSize > 1) await broadcastWeightsFromRankZero(this.model, this.processGroup);
  }

  /**
   * With several ranks, a step's log vars averaged over the ranks (MMCV all-reduces `log_vars`).
   * In a training step, the first hook that averages gradients in the model step (the
   * {@link StepAverager} OptimizerHook, as PyTorch DDP does during backward) averages the
   * gradients too, in the same collective; otherwise the log vars get an all-reduce of their own.
   * A failure there names the hook, as the `afterTrainIter` work it belongs to.
   */
  private averageAcrossRanks(train: boolean, outputs: StepOutputs): Promise<ReducedLogVars> {
    if (train) {
      for (const hook of this.hooks) {
        const averaged = isStepAverager(hook) ? hook.averageStep(this, outputs) : undefined;
        if (averaged) return averaged.catch((error: unknown) => { throw new HookError(hookName(hook), 'afterTrainIter', 'averageStep', error); });
      }
    }
    return averageLogVars(this.processGroup, outputs.logVars, outputs.numSamples);
  }

  /**
   * With several ranks, the ranks agree on a stop (one all-reduce): a stop requested on any rank
   * becomes every rank's, so every rank leaves its loop at the same place; a rank that did not
   * ask records the request of the lowest rank that did. It runs as the first end-of-stage task
   * of every stage after which the runners check for a stop, so the other end-of-stage tasks
   * (CheckpointHook's `saveLast`) already see the agreed request.
   */
  private async agreeOnStopRequest(): Promise<void> {
    const asking = await agreeOnStop(this.processGroup, this.stopRequest !== undefined);
    if (asking !== undefined && !this.stopRequest) this.requestStop(`rank ${asking} asked to stop`, `rank ${asking}`);
  }

  /**
   * Starts `stage`: an event with `changes` applied to the current counters, run through its
   * hooks by the {@link StageCycle}.
   */
  protected emit(stage: EventStage, changes?: Partial<Omit<RunState, 'seq'>>, payload?: EventPayload): HookResult {
    const s = this.state;
    const event: StageEvent = {
      seq: s.seq + 1,
      stage,
      mode: changes?.mode !== undefined ? changes.mode : s.mode,
      epoch: changes?.epoch ?? s.epoch,
      iter: changes?.iter ?? s.iter,
      innerIter: changes?.innerIter ?? s.innerIter,
      time: this.clock.now(),
    };
    if (payload) event.payload = payload;
    if (this.worldSize > 1 && STOP_CHECK_STAGES.has(stage)) return this.cycle.run(event, this, () => this.cycle.defer(() => this.agreeOnStopRequest()));
    return this.cycle.run(event, this);
  }

  /** Checks `run()`'s arguments as MMCV does, with messages that say what is wrong. */
  protected validateWorkflow(dataLoaders: RunnerLoader[], workflow: Workflow): void {
    if (!Array.isArray(dataLoaders)) throw new TypeError('run: dataLoaders must be an array');
    if (!Array.isArray(workflow) || workflow.length === 0) throw new ConfigError('workflow', "must be a non-empty list such as [['train', 1], ['val', 1]]");
    if (dataLoaders.length !== workflow.length) {
      throw new ConfigError('workflow', `has ${workflow.length} entries but ${dataLoaders.length} data loaders were given`);
    }
    workflow.forEach((entry, i) => {
      if (!Array.isArray(entry) || entry.length !== 2) throw new ConfigError(`workflow[${i}]`, "must be a [mode, count] pair such as ['train', 1]");
      const [mode, count] = entry;
      if (mode !== 'train' && mode !== 'val') throw new ConfigError(`workflow[${i}][0]`, `must be one of 'train', 'val'; got ${JSON.stringify(mode)}`);
      if (!(Number.isInteger(count) && count > 0)) throw new ConfigError(`workflow[${i}][1]`, `must be a positive integer; got ${JSON.stringify(count)}`);
      const loader = dataLoaders[i];
      if (!loader || typeof loader.length !== 'number' || typeof loader[Symbol.iterator] !== 'function') {
        throw new TypeError(`run: dataLoaders[${i}] must be an iterable with a length`);
      }
      if (loader.length === 0) throw new ConfigError(`workflow[${i}]`, `the '${mode}' data loader yields no batch`);
    });
    if (!workflow.some(([mode]) => mode === 'train')) {
      throw new ConfigError('workflow', "has no 'train' entry, so the run would never end (add ['train', 1])");
    }
  }

  /** MMCV's start-of-run log lines. */
  protected logStart(workflow: Workflow, limit: string): void {
    let host = 'unknown';
    try { host = `${os.userInfo().username}@${os.hostname()}`; } catch { /* some sandboxes have no passwd entry */ }
    this.logger.info(`Start running, host: ${host}, work_dir: ${this.workDir ?? 'NONE'}`);
    this.logger.info(`Hooks will be executed in the following order:\n${this.hookInfo()}`);
    this.logger.info(`workflow: ${JSON.stringify(workflow)}, max: ${limit}`);
  }

  /**
   * One iteration on `batch` (MMCV `run_iter` between its hooks): the before-iteration stage with
   * `changes` applied to the counters, the model step (with gradients in train mode), the
   * after-iteration stage, then the step's leftover gradients and the batch are released.
   * Returns a promise only when something in it is asynchronous (a hook, the ranks' averaging,
   * a yield to the event loop): an iteration whose hooks are all synchronous runs without a
   * promise or a microtask hop.
   */
  protected runIteration(mode: Mode, batch: unknown, changes: Partial<Omit<RunState, 'seq'>>): HookResult {
    const train = mode === 'train';
    this.dataBatch = batch;
    const pending = this.emit(train ? 'beforeTrainIter' : 'beforeValIter', changes);
    if (pending) return pending.then(() => this.stepModel(train, batch));
    return this.stepModel(train, batch);
  }

  /** The model step of {@link runIteration} and what follows it. */
  private stepModel(train: boolean, batch: unknown): HookResult {
    const outputs = train ? this.model.trainStep(batch) : this.model.valStep(batch);
    this.outputs = outputs;
    if (this.worldSize > 1) {
      return this.averageAcrossRanks(train, outputs).then((reduced) => {
        Object.assign(outputs, reduced);
        return this.endIteration(train, batch, outputs);
      });
    }
    return this.endIteration(train, batch, outputs);
  }

  /** The after-iteration stage of {@link runIteration}, then the release of the step and the batch. */
  private endIteration(train: boolean, batch: unknown, outputs: StepOutputs): HookResult {
    this.logBuffer.update(outputs.logVars, outputs.numSamples);
    const pending = this.emit(train ? 'afterTrainIter' : 'afterValIter', undefined, this.iterPayload(outputs));
    if (pending) return pending.then(() => this.releaseIteration(batch, outputs));
    return this.releaseIteration(batch, outputs);
  }

  private releaseIteration(batch: unknown, outputs: StepOutputs): HookResult {
    releaseOutputs(outputs);
    disposeBatch(batch);
    this.dataBatch = undefined;
    return this.eventLoopYield.maybeYield();
  }

  /** Payload of an after-iteration event: the step's log vars, its sample count and the lr. */
  protected iterPayload(outputs: StepOutputs): EventPayload {
    const payload: EventPayload = { logVars: outputs.logVars, numSamples: outputs.numSamples };
    if (this.optimizer) {
      payload.lr = this.lrForLog();
      payload.momentum = this.momentumForLog();
    }
    return payload;
  }

  /** Stop-request payload for `afterRun`. */
  protected runEndPayload(): EventPayload | undefined {
    return this.stopRequest ? { stopReason: this.stopRequest.reason, stopSource: this.stopRequest.source ?? null } : undefined;
  }
}

/** The stages after which the runners' loops check for a stop request. */
const STOP_CHECK_STAGES: ReadonlySet<EventStage> = new Set(['afterTrainIter', 'afterValIter', 'afterTrainEpoch', 'afterValEpoch']);

/** Disposable batches (tensors) are released after their iteration. */
export function disposeBatch(batch: unknown): void {
  (batch as { dispose?: () => void } | null)?.dispose?.();
}

function lrOf(group: ParamGroup): number {
  return group.lr;
}

function momentumOf(group: ParamGroup): number {
  return group.momentum !== undefined ? group.momentum : group.betas ? group.betas[0] : 0;
}
