import fs from 'node:fs';
import path from 'node:path';
import { Container } from 'inversify';
import type { Observable } from 'rxjs';
import { TOKENS } from '../core/di.js';
import { Dispatcher } from '../core/dispatcher.js';
import { HookError } from '../core/errors.js';
import type { Hook, HookResult } from '../core/hook.js';
import { formatHookInfo } from '../core/hook-info.js';
import { HookRegistrar, type HookConfig } from '../core/hook-registration.js';
import { UNKNOWN_CONTEXT, type JournalContext, type JournalSession } from '../core/journal/journal-format.js';
import { readJournal, type Journal, type JournalRecord } from '../core/journal/journal-reader.js';
import type { PriorityLike } from '../core/priority.js';
import { INITIAL_RUN_STATE, type RunState } from '../core/run-state.js';
import { StageCycle } from '../core/stage-cycle.js';
import { consoleLogger, singleProcessGroup, type Clock, type Logger, type ProcessGroup } from '../core/services.js';
import type { EventPayload, Scalar, StageEvent } from '../core/stage-event.js';
import type { EventStage, Mode } from '../core/stages.js';
import type { StageHandler, SubscribeOptions, SubscriptionHandle } from '../core/subscription.js';
import { FileLogger } from '../runner/file-logger.js';
import type { RecordedRunner, StopRequest } from '../runner/hook-runner.js';
import { LogBuffer } from '../runner/log-buffer.js';
import type { StepOutputs } from '../training/model/trainable-model.js';
import { timestampOf } from '../runner/timestamp.js';
import { refuseLiveOnlyMembers } from './live-only-members.js';
import { payloadReplaysOf, type OwnedPayloadReplay, type PayloadReplay } from './payload-replay.js';

/** Options of {@link ReplayRunner}. */
export interface ReplayRunnerOptions {
  /** Where the replayed hooks write (created); with it, messages also go to `<workDir>/<timestamp>.log`. */
  workDir?: string | null;
  /** Where messages go (default the console). */
  logger?: Logger;
  /** Names the log files; default the recorded run's timestamp (per session), else the current time. */
  timestamp?: string;
  /** `runner.meta`; default the recorded run's meta (per session), else `{}`. */
  meta?: Record<string, unknown> | null;
  /** Runner facts for events the journal has none for (event arrays): run length, loader length. */
  context?: Partial<JournalContext>;
  /** Parent of the runner's container. */
  parentContainer?: Container;
}

/** Something to replay: a journal path, a journal already read, or events. */
export type ReplaySource = string | Journal | readonly StageEvent[];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function numbersOf(value: unknown): Record<string, number> | undefined {
  if (!isObject(value)) return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'number') out[k] = v;
  return out;
}

/**
 * Drives hooks from recorded stage events, without a model, data or tensor backend: the
 * counters come from the events (the runner's fold), the run facts from the journal's context
 * lines, and before an event's hooks run, the runner does its own part of the event as the live
 * runner did (the lr and momentum of the iteration; its `logVars`, weighted by `numSamples`,
 * into the log buffer and `outputs`), then the hooks that recorded values in the event's payload
 * put them back through their classes' {@link PayloadReplay} (IterTimerHook its timings,
 * EvalHook its results...), in the order they recorded them. Logger hooks (TextLoggerHook,
 * TensorboardLoggerHook) replayed this way write what they wrote live.
 *
 * It offers hooks the {@link RecordedRunner} part of the runner interface. The container
 * provides the logger, the work dir, a single-process group, and a clock that reads the time of
 * the event being replayed.
 */
export class ReplayRunner implements RecordedRunner {
  readonly logBuffer = new LogBuffer();
  readonly workDir: string | null;
  readonly rank = 0;
  readonly worldSize = 1;
  readonly processGroup: ProcessGroup = singleProcessGroup;
  readonly container: Container;
  /** Messages: to the current session's `<timestamp>.log` (with a work dir) and the sink. */
  readonly logger: Logger;
  /** The time of the event being replayed. */
  readonly clock: Clock;
  meta: Record<string, unknown> | null;
  timestamp: string;
  /**
   * The last iteration's outputs as its event recorded them (`logVars`, `numSamples`, and
   * `loss` = `logVars.loss`, NaN when not logged), so hooks reading `runner.outputs` after an
   * iteration work in replay too. No tensors: `grads` is absent.
   */
  outputs: StepOutputs | undefined;

  private readonly sink: Logger;
  private readonly options: ReplayRunnerOptions;
  private readonly dispatcher = new Dispatcher<ReplayRunner>();
  private readonly registrar: HookRegistrar<ReplayRunner>;
  /** Counters, the event in progress, listeners and end-of-stage tasks, as in the live runner. */
  private readonly cycle = new StageCycle<ReplayRunner>(this.dispatcher);
  private readonly fileLoggers = new Map<string, FileLogger>();
  private fileLogger: FileLogger | undefined;
  private context: JournalContext = UNKNOWN_CONTEXT;
  private loader: { readonly length: number } | null = null;
  private session: JournalSession | undefined;
  private lastTime = 0;
  private stopRequest: StopRequest | undefined;
  private lr: number | Record<string, number> | undefined;
  private momentum: number | Record<string, number> | undefined;
  /** The hook classes' payload replays by key, looked up in HOOKS when a replay starts. */
  private payloadReplays: ReadonlyMap<string, OwnedPayloadReplay> | undefined;

  /** Every replayed event, after its hooks ran (with what they annotated). */
  readonly events$: Observable<StageEvent> = this.cycle.events$;

  constructor(options: ReplayRunnerOptions = {}) {
    this.options = options;
    this.workDir = options.workDir ? path.resolve(options.workDir) : null;
    if (this.workDir) fs.mkdirSync(this.workDir, { recursive: true });
    this.sink = options.logger ?? consoleLogger;
    this.timestamp = options.timestamp ?? timestampOf(new Date());
    this.meta = options.meta !== undefined ? options.meta : {};
    const current = () => this.fileLogger ?? this.sink;
    this.logger = {
      info: (m) => current().info(m),
      warn: (m) => current().warn(m),
      error: (m) => current().error(m),
    };
    this.clock = { now: () => this.cycle.event?.time ?? this.lastTime };
    this.cycle.addEventListener((event) => { this.lastTime = event.time; });
    this.applyContext(UNKNOWN_CONTEXT);
    this.container = new Container({ parent: options.parentContainer, defaultScope: 'Singleton' });
    this.container.bind(TOKENS.Runner).toConstantValue(this);
    this.container.bind(TOKENS.Logger).toConstantValue(this.logger);
    this.container.bind(TOKENS.Clock).toConstantValue(this.clock);
    this.container.bind(TOKENS.WorkDir).toConstantValue(this.workDir);
    this.container.bind(TOKENS.ProcessGroup).toConstantValue(this.processGroup);
    this.registrar = new HookRegistrar(this.dispatcher, this.container);
    refuseLiveOnlyMembers(this);
  }

  private get state(): Readonly<RunState> { return this.cycle.state; }
  get epoch(): number { return this.state.epoch; }
  get iter(): number { return this.state.iter; }
  get innerIter(): number { return this.state.innerIter; }
  get mode(): Mode | null { return this.state.mode; }
  get seq(): number { return this.state.seq; }
  /** The counters: the fold of the events replayed so far. */
  get runState(): Readonly<RunState> { return this.state; }
  get maxEpochs(): number | undefined { return this.context.maxEpochs ?? undefined; }
  get maxIters(): number | undefined { return this.context.maxIters ?? undefined; }
  /** A stand-in for the loader of the loop in progress: only its length is known. */
  get dataLoader(): { readonly length: number } | null { return this.loader; }
  get hooks(): readonly Hook<any>[] { return this.dispatcher.hooks; }
  /** The event being dispatched, while hooks run. */
  get event(): StageEvent | undefined { return this.cycle.event; }

  /** Registers a hook, as `BaseRunner.registerHook` does. */
  registerHook(hook: Hook<any>, priority?: PriorityLike): void {
    this.registrar.register(hook, priority);
  }

  /** Subscribes a handler, as `BaseRunner.on` does; returns the handle that removes it. */
  on(stages: EventStage | readonly EventStage[], handler: StageHandler<this>, options: SubscribeOptions<this> = {}): SubscriptionHandle {
    return this.registrar.subscribe(stages, handler as StageHandler<ReplayRunner>, options as SubscribeOptions<ReplayRunner>);
  }

  /** Builds a hook from `{ type, priority?, name?, ...options }` through the container and registers it. */
  registerHookFromConfig(cfg: HookConfig): Hook<any> {
    return this.registrar.registerFromConfig(cfg);
  }

  /** The hook plan in MMCV's `get_hook_info` layout. */
  hookInfo(withFilters = false): string {
    return formatHookInfo(this.hooks, withFilters);
  }

  /** The first stop a replayed hook asked for (see {@link requestStop}). */
  get stopRequested(): StopRequest | undefined { return this.stopRequest; }

  /**
   * A replayed hook asks the run to stop (EarlyStoppingHook...): the request is logged, as the live
   * runner logs it, with where it came, and kept in {@link stopRequested}; the recorded events
   * still replay to their end, since they are what the run did.
   */
  requestStop(reason: string, source?: string): void {
    if (this.stopRequest) return;
    this.stopRequest = { reason, source };
    this.logger.info(`Stopping: ${reason}${source ? ` (requested by ${source})` : ''}; in this replay at epoch ${this.epoch}, iter ${this.iter}, `
      + 'the recorded events replay to their end');
  }

  /** The lr of the last replayed iteration (first group, or `{ name: lr }`). */
  lrForLog(): number | Record<string, number> {
    if (this.lr === undefined) throw new Error('the replayed events carry no lr (the run had no optimizer)');
    return this.lr;
  }

  /** The momentum of the last replayed iteration, like {@link lrForLog}. */
  momentumForLog(): number | Record<string, number> {
    if (this.momentum === undefined) throw new Error('the replayed events carry no momentum (the run had no optimizer)');
    return this.momentum;
  }

  /** Adds scalars to the payload of the event being replayed (a copy: the source is untouched). */
  annotate(values: Record<string, Scalar | Record<string, Scalar>>): void {
    this.cycle.annotate(values);
  }

  /** Runs `task` once the replayed stage is over, as the live runner does. */
  deferUntilStageEnd(task: () => void | Promise<void>): void {
    this.cycle.defer(task);
  }

  /** A synchronous listener for every replayed event, before `events$`; returns an unsubscribe function. */
  addEventListener(listener: (event: StageEvent) => void): () => void {
    return this.cycle.addEventListener(listener);
  }

  /**
   * Replays a whole history (a journal path, a journal, or events) from a fresh state, awaiting
   * hooks as the live runner does. Log files written during it are closed at the end.
   */
  async run(source: ReplaySource): Promise<void> {
    const records = this.recordsOf(source);
    this.cycle.restore(INITIAL_RUN_STATE);
    this.payloadReplays = payloadReplaysOf();
    try {
      for (const record of records) {
        const pending = this.feed(record.event, record);
        if (pending) await pending;
      }
    } finally {
      this.close();
    }
  }

  /**
   * Replays one event: counters from it, the log buffer fed from its payload, its hooks in
   * priority order, then the fold. `recorded` carries the journal's context and session for
   * it. Returns a promise when a hook is asynchronous.
   */
  feed(event: StageEvent, recorded: Partial<Pick<JournalRecord, 'context' | 'session'>> = {}): HookResult {
    if (recorded.session && recorded.session !== this.session) this.applySession(recorded.session);
    else if (!this.fileLogger) this.openLog();
    this.applyContext(recorded.context ?? UNKNOWN_CONTEXT);
    const current: StageEvent = { ...event, ...(event.payload ? { payload: { ...event.payload } } : {}) };
    return this.cycle.run(current, this, () => this.absorb(current));
  }

  /**
   * Before the event's hooks: the runner's own part of the event, as the live runner did it, then
   * the recording hooks' payload replays, in the order of their keys in the payload.
   */
  private absorb(event: StageEvent): void {
    const p: EventPayload = event.payload ?? {};
    if (p.lr !== undefined) this.lr = p.lr as number | Record<string, number>;
    if (p.momentum !== undefined) this.momentum = p.momentum as number | Record<string, number>;
    if (event.stage === 'afterTrainIter' || event.stage === 'afterValIter') {
      const logVars = numbersOf(p.logVars);
      const numSamples = typeof p.numSamples === 'number' ? p.numSamples : 1;
      if (logVars) this.logBuffer.update(logVars, numSamples);
      this.outputs = { loss: logVars?.loss ?? NaN, logVars: logVars ?? {}, numSamples };
    }
    const replays = (this.payloadReplays ??= payloadReplaysOf());
    const applied = new Set<PayloadReplay>();
    for (const key of Object.keys(p)) {
      const owned = replays.get(key);
      if (!owned || applied.has(owned.replay)) continue;
      applied.add(owned.replay);
      try {
        owned.replay.apply(this, event);
      } catch (error) {
        throw new HookError(owned.owner, event.stage, 'payloadReplay', error);
      }
    }
  }

  private applyContext(recorded: JournalContext): void {
    const fallback = this.options.context ?? {};
    const context: JournalContext = {
      maxEpochs: recorded.maxEpochs ?? fallback.maxEpochs ?? null,
      maxIters: recorded.maxIters ?? fallback.maxIters ?? null,
      dataLoaderLength: recorded.dataLoaderLength ?? fallback.dataLoaderLength ?? null,
    };
    if (context.dataLoaderLength !== this.loader?.length) {
      this.loader = context.dataLoaderLength === null ? null : { length: context.dataLoaderLength };
    }
    this.context = context;
  }

  /** A new session is a new live run: its timestamp names the log files, its meta is `runner.meta`. */
  private applySession(session: JournalSession): void {
    this.session = session;
    this.timestamp = this.options.timestamp ?? session.timestamp ?? this.timestamp;
    if (this.options.meta === undefined) this.meta = session.meta ?? {};
    this.openLog();
  }

  /** With a work dir, messages also go to `<workDir>/<timestamp>.log`, as in a live run. */
  private openLog(): void {
    if (!this.workDir) return;
    let logger = this.fileLoggers.get(this.timestamp);
    if (!logger) this.fileLoggers.set(this.timestamp, (logger = new FileLogger(path.join(this.workDir, `${this.timestamp}.log`), this.sink)));
    this.fileLogger = logger;
  }

  /** Closes the log files (run() does it at its end; call it after feeding events yourself). */
  close(): void {
    for (const logger of this.fileLoggers.values()) logger.close();
    this.fileLoggers.clear();
    this.fileLogger = undefined;
    this.session = undefined;
  }

  private recordsOf(source: ReplaySource): Array<Pick<JournalRecord, 'event'> & Partial<JournalRecord>> {
    if (typeof source === 'string') return readJournal(source, { logger: this.sink }).records;
    if (Array.isArray(source)) return source.map((event) => ({ event }));
    return (source as Journal).records;
  }
}
