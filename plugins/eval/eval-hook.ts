import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { TOKENS } from '../../src/core/di.js';
import { ConfigError } from '../../src/core/errors.js';
import { Hook, type HookResult } from '../../src/core/hook.js';
import { RegisterHook } from '../../src/core/hooks-registry.js';
import { LoggerHook } from '../../src/hooks/logger/logger-hook.js';
import { pyFixed } from '../../src/hooks/logger/py-format.js';
import { mustBe, parseOptions } from '../../src/config/parse-options.js';
import type { RunnerLoader } from '../../src/runner/base-runner.js';
import type { PayloadReplay } from '../../src/replay/payload-replay.js';
import type { HookRunner, RecordedRunner } from '../../src/runner/hook-runner.js';
import type { TrainableModel } from '../../src/training/model/trainable-model.js';
import { buildMetric, type EvalResults, type Metric, type MetricSpec } from './metrics.js';
import { DEFAULT_GREATER_KEYS, DEFAULT_LESS_KEYS, RULE_INIT, inferRule, isImprovement, keyList, type Rule } from './rule.js';

const positiveInt = mustBe('a positive integer');
const nonNegativeInt = mustBe('an integer >= 0');
const keys = z.union([z.string(), z.array(z.string())], mustBe('a key or a list of keys'));

/** Options of {@link EvalHook} (MMCV's keyword arguments, camelCase). */
export const EvalHookOptions = z.object({
  /** The loader to evaluate on; default: the val loader the runner's container provides (`TOKENS.ValDataLoader`). */
  dataloader: z.custom<RunnerLoader>(
    (v) => v !== null && typeof v === 'object' && typeof (v as RunnerLoader).length === 'number' && typeof (v as RunnerLoader)[Symbol.iterator] === 'function',
    { error: 'must be a data loader (an iterable of batches with a length)' },
  ).nullish(),
  /** First epoch (or iteration) to evaluate after; then every `interval`. Default: every `interval` from the start. */
  start: z.number(nonNegativeInt).int(nonNegativeInt).min(0, nonNegativeInt).nullish(),
  interval: z.number(positiveInt).int(positiveInt).positive(positiveInt).optional(),
  /** Evaluate after train epochs (true) or after train iterations (false). */
  byEpoch: z.boolean(mustBe('a boolean')).optional(),
  /** Metric whose best value keeps a `best_<key>_<epoch|iter>_N` checkpoint; 'auto': the first metric. */
  saveBest: z.string(mustBe("a metric key, 'auto' or null")).min(1, mustBe("a metric key, 'auto' or null")).nullish(),
  /** Whether a greater or a less `saveBest` value is better; inferred from the key when absent. */
  rule: z.enum(['greater', 'less'], mustBe("'greater', 'less' or null")).nullish(),
  /** Key fragments meaning "greater is better" (replace MMCV's defaults). */
  greaterKeys: keys.nullish(),
  /** Key fragments meaning "less is better" (replace MMCV's defaults). */
  lessKeys: keys.nullish(),
  /** Where best checkpoints go: `<outDir>/<basename(workDir)>`; default the work dir. */
  outDir: z.string(mustBe('a directory path')).nullish(),
  /** Metrics to compute: registered names (METRICS), `{ type, ...options }` configs, or functions. */
  metrics: z.array(
    z.union([z.string().min(1), z.looseObject({ type: z.string().min(1) }), z.custom<Metric>((v) => typeof v === 'function')],
      mustBe('a metric name, a { type, ...options } config or a function')),
    mustBe('a list of metrics'),
  ).min(1, mustBe('a non-empty list of metrics')).optional(),
}).strict();
export type EvalHookOptions = z.input<typeof EvalHookOptions>;

/** A model EvalHook can run: a TrainableModel with an inference forward pass (Classifier). */
export interface EvaluableModel extends TrainableModel<any> {
  /** Outputs (logits) of shape `[batch, classes]` for `x`. */
  forward(x: tf.Tensor, training?: boolean): tf.Tensor;
  /** The current mode, where the model exposes it. */
  training?: boolean;
}

/** What {@link EvalHook.stateDict} returns (JSON-serialisable). */
export interface EvalHookState {
  keyIndicator: string | null;
  rule: Rule | null;
  bestScore: number | null;
  bestCkpt: string | null;
}

/** `runner.meta.hookMsgs`, created when missing (MMCV `hook_msgs`). */
export function hookMsgs(runner: HookRunner): Record<string, unknown> {
  const meta = (runner.meta ??= {});
  const msgs = meta.hookMsgs;
  if (msgs !== null && typeof msgs === 'object' && !Array.isArray(msgs)) return msgs as Record<string, unknown>;
  return (meta.hookMsgs = {});
}

/**
 * Evaluating by iteration: the training values are logged first (every logger hook's
 * `afterTrainIter`), then the buffer is cleared, so that it holds only the evaluation results.
 */
function flushTrainingLog(runner: RecordedRunner): void {
  for (const hook of runner.hooks) if (hook instanceof LoggerHook) hook.afterTrainIter(runner);
  runner.logBuffer.clear();
}

/** The results go into the log buffer's output, ready, so the logger hooks write a val record. */
function logResults(runner: RecordedRunner, metrics: Record<string, number>, evalIterNum: number | undefined): void {
  const output = runner.logBuffer.output;
  if (evalIterNum !== undefined) output.set('evalIterNum', evalIterNum);
  for (const [key, value] of Object.entries(metrics)) output.set(key, value);
  runner.logBuffer.ready = true;
}

/** The numbers of a recorded `metrics` payload. */
function recordedMetrics(value: unknown): Record<string, number> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}

/** `accuracy: 0.9167, loss: 0.2345` (floats with 4 decimals, as the text logger prints them). */
function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics).map(([k, v]) => `${k}: ${Number.isInteger(v) ? String(v) : pyFixed(v, 4)}`).join(', ');
}

/**
 * Runs `runner.model` in inference mode over `loader` and collects its outputs and the labels.
 * The model's mode is restored afterwards (MMCV leaves it in eval mode).
 */
export async function collectResults(runner: HookRunner, loader: RunnerLoader, owner = 'EvalHook'): Promise<EvalResults> {
  const model = runner.model as EvaluableModel;
  const wasTraining = typeof model.training === 'boolean' ? model.training : runner.mode === 'train';
  const outputs: Float32Array[] = [];
  const labels: Int32Array[] = [];
  let numOutputs = 0;
  model.eval();
  try {
    for (const batch of loader) {
      try {
        const { x, labels: y } = batch as { x?: unknown; labels?: unknown };
        if (!(x instanceof tf.Tensor) || !(y instanceof Int32Array)) {
          throw new Error(`${owner}: every batch must carry x (a tensor) and labels (an Int32Array of class ids), as DataLoader batches do`);
        }
        const logits = tf.tidy(() => model.forward(x, false));
        try {
          if (logits.rank !== 2) throw new Error(`${owner}: the model's outputs must have shape [batch, classes]; got ${JSON.stringify(logits.shape)}`);
          numOutputs = logits.shape[1]!;
          outputs.push(new Float32Array(await logits.data()));
        } finally {
          logits.dispose();
        }
        labels.push(y);
      } finally {
        (batch as { dispose?: () => void } | null)?.dispose?.();
      }
    }
  } finally {
    if (wasTraining) model.train();
  }
  const concat = <A extends Float32Array | Int32Array>(parts: A[], make: (n: number) => A): A => {
    const all = make(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { all.set(p, at); at += p.length; }
    return all;
  };
  const allLabels = concat(labels, (n) => new Int32Array(n));
  return { outputs: concat(outputs, (n) => new Float32Array(n)), numOutputs, labels: allLabels, numSamples: allLabels.length };
}

/**
 * Evaluates the model every `interval` train epochs (or iterations, `byEpoch: false`) from
 * `start` on (MMCV `EvalHook`). The metrics go into the log buffer (`evalIterNum` = loader
 * length, `ready`), so the logger hooks that run later in the same stage write a val record,
 * and into the event payload as `metrics`, so the journal and later hooks (EarlyStoppingHook)
 * see them. With `saveBest` the best checkpoint is kept as `best_<key>_epoch_N` (or `_iter_N`),
 * the previous best is deleted, and `meta.hookMsgs.bestScore/bestCkpt` record it.
 *
 * Register it before the logger hooks (they log its results), e.g. at `'LOW'`; an EMAHook must
 * run before it (`'HIGHEST'`) for it to evaluate the EMA weights.
 */
@RegisterHook()
@injectable()
export class EvalHook extends Hook<HookRunner> {
  /** The options schema; subclasses with more options replace it. */
  static readonly optionsSchema: z.ZodType = EvalHookOptions;
  /**
   * In a journal replay, results recorded after a train epoch or iteration go back into the log
   * buffer as they went live (by iteration, after the training values were logged).
   */
  static readonly payloadReplay: PayloadReplay = {
    keys: ['metrics', 'evalIterNum'],
    apply(runner, event) {
      const metrics = recordedMetrics(event.payload?.metrics);
      if (!metrics || (event.stage !== 'afterTrainIter' && event.stage !== 'afterTrainEpoch')) return;
      if (event.stage === 'afterTrainIter') flushTrainingLog(runner);
      const evalIterNum = event.payload!.evalIterNum;
      logResults(runner, metrics, typeof evalIterNum === 'number' ? evalIterNum : undefined);
    },
  };

  readonly dataloader: RunnerLoader;
  readonly start: number | null;
  readonly interval: number;
  readonly byEpoch: boolean;
  readonly saveBest: string | null;
  readonly greaterKeys: readonly string[];
  readonly lessKeys: readonly string[];
  /** The metric `saveBest` watches (resolved at the first evaluation for 'auto'). */
  keyIndicator: string | null;
  rule: Rule | null;
  /** Where best checkpoints go (resolved in beforeRun). */
  outDir: string | null = null;
  bestScore: number | null = null;
  bestCkptPath: string | null = null;
  /** The class name, for messages (DistEvalHook, subclasses). */
  protected readonly owner: string;
  /** Whether evaluate() gathers every rank's shard (DistEvalHook) rather than scoring this rank's alone. */
  protected readonly gathersRanks: boolean = false;
  private readonly outDirOption: string | null;
  private readonly metrics: Metric[];
  private initialFlag = true;

  constructor(
    @inject(TOKENS.HookOptions) @optional() options: EvalHookOptions = {},
    @inject(TOKENS.ValDataLoader) @optional() valLoader?: RunnerLoader,
  ) {
    super();
    const ctor = new.target as typeof EvalHook;
    this.owner = ctor.name;
    const opts = parseOptions(ctor.optionsSchema, options, this.owner) as z.output<typeof EvalHookOptions>;
    const loader = opts.dataloader ?? valLoader;
    if (!loader) {
      throw new ConfigError(`${this.owner}.dataloader`, 'is required: pass a data loader in code, or give the config a data.val split (the runner provides it)');
    }
    this.dataloader = loader;
    this.start = opts.start ?? null;
    this.interval = opts.interval ?? 1;
    this.byEpoch = opts.byEpoch ?? true;
    this.saveBest = opts.saveBest ?? null;
    this.greaterKeys = keyList(opts.greaterKeys, DEFAULT_GREATER_KEYS);
    this.lessKeys = keyList(opts.lessKeys, DEFAULT_LESS_KEYS);
    this.outDirOption = opts.outDir ?? null;
    this.metrics = (opts.metrics ?? ['accuracy', 'loss']).map((spec, i) => buildMetric(spec as MetricSpec, `${this.owner}.metrics[${i}]`));
    this.keyIndicator = this.saveBest === 'auto' ? null : this.saveBest;
    this.rule = opts.rule ?? null;
    if (this.keyIndicator !== null && this.rule === null) {
      this.rule = inferRule(this.keyIndicator, this.greaterKeys, this.lessKeys, `${this.owner}.saveBest`);
    }
  }

  override beforeRun(runner: HookRunner): void {
    if (typeof (runner.model as Partial<EvaluableModel>).forward !== 'function') {
      throw new Error(`${this.owner} needs a model with forward(x, training) (such as Classifier); ${runner.modelName} has none`);
    }
    this.initialFlag = true;
    const ranks = runner.processGroup.worldSize;
    if (ranks > 1 && !this.gathersRanks && runner.rank === 0) {
      runner.logger.warn(`${this.owner} in a run of ${ranks} processes scores only this rank's shard of the val loader (1/${ranks} of it), and saveBest follows that score; use DistEvalHook, which gathers every shard (the same results with one process)`);
    }
    if (this.saveBest === null) return;
    if (!runner.workDir && !this.outDirOption) {
      throw new ConfigError(`${this.owner}.outDir`, 'is required to save the best checkpoint when the runner has no workDir');
    }
    // As CheckpointHook: the work dir, or <outDir>/<basename(workDir)>.
    const outDir = this.outDirOption === null ? null : path.resolve(this.outDirOption);
    this.outDir = outDir === null ? runner.workDir : runner.workDir ? path.join(outDir, path.basename(runner.workDir)) : outDir;
    if (!runner.meta) runner.logger.warn('runner.meta is null; it is set to {} to record the best checkpoint');
    // A resume restores meta.hookMsgs (MMCV); the hook's own state fills in when it did not.
    const msgs = hookMsgs(runner);
    if (typeof msgs.bestScore === 'number') this.bestScore = msgs.bestScore;
    else if (this.bestScore !== null) msgs.bestScore = this.bestScore;
    if (typeof msgs.bestCkpt === 'string') this.bestCkptPath = msgs.bestCkpt;
    else if (this.bestCkptPath !== null) msgs.bestCkpt = this.bestCkptPath;
  }

  // Evaluation before training: once per run, at the first train epoch (iteration), when the
  // run already is at or past `start` (start = 0, or a resumed run).
  override beforeTrainEpoch(runner: HookRunner): HookResult {
    if (!this.byEpoch || !this.initialFlag) return undefined;
    this.initialFlag = false;
    if (this.start !== null && runner.epoch >= this.start && this.shouldEvaluate(runner)) return this.run(runner, 'before');
    return undefined;
  }

  override beforeTrainIter(runner: HookRunner): HookResult {
    if (this.byEpoch || !this.initialFlag) return undefined;
    this.initialFlag = false;
    if (this.start !== null && runner.iter >= this.start && this.shouldEvaluate(runner)) return this.run(runner, 'before');
    return undefined;
  }

  override afterTrainEpoch(runner: HookRunner): HookResult {
    if (!this.byEpoch || !this.shouldEvaluate(runner)) return undefined;
    return this.run(runner, 'after');
  }

  override afterTrainIter(runner: HookRunner): HookResult {
    if (this.byEpoch || !this.shouldEvaluate(runner)) return undefined;
    flushTrainingLog(runner);
    return this.run(runner, 'after');
  }

  /**
   * MMCV `_should_evaluate`: without `start`, every `interval` epochs (iterations); with it,
   * at `start` and every `interval` after it (start 3, interval 2: after epochs 3, 5, 7...).
   */
  shouldEvaluate(runner: HookRunner): boolean {
    const current = this.byEpoch ? runner.epoch : runner.iter;
    if (this.start === null) return this.byEpoch ? this.everyNEpochs(runner, this.interval) : this.everyNIters(runner, this.interval);
    if (current + 1 < this.start) return false;
    return (current + 1 - this.start) % this.interval === 0;
  }

  /**
   * Computes the metrics over the loader (MMCV `test_fn` + `dataset.evaluate`); undefined on a
   * rank that does not evaluate (DistEvalHook).
   */
  protected async evaluate(runner: HookRunner): Promise<Record<string, number> | undefined> {
    return this.computeMetrics(await collectResults(runner, this.dataloader, this.owner));
  }

  /** The configured metrics of `results`, merged into one record. */
  protected computeMetrics(results: EvalResults): Record<string, number> {
    const metrics: Record<string, number> = {};
    for (const metric of this.metrics) Object.assign(metrics, metric(results));
    return metrics;
  }

  private async run(runner: HookRunner, when: 'before' | 'after'): Promise<void> {
    const metrics = await this.evaluate(runner);
    if (!metrics) return;
    // Epochs (iterations) of training behind the evaluated weights.
    const progress = (this.byEpoch ? runner.epoch : runner.iter) + (when === 'after' ? 1 : 0);
    const unit = this.byEpoch ? 'epoch' : 'iter';
    if (when === 'after') {
      logResults(runner, metrics, this.dataloader.length);
    } else {
      // The loggers clear the buffer at the start of an epoch, so MMCV never logs these.
      runner.logger.info(`Evaluation before training (${unit} ${progress}): ${formatMetrics(metrics)}`);
    }
    // evalIterNum marks results that went into the log buffer (a journal replay feeds them back there).
    runner.annotate(when === 'after' ? { metrics, evalIterNum: this.dataloader.length } : { metrics });
    if (this.saveBest !== null) this.considerBest(runner, metrics, `${unit}_${progress}`, `${progress} ${unit}`);
  }

  /** MMCV `_save_ckpt`, with a strict comparison that lets any finite score (0 too) become best. */
  private considerBest(runner: HookRunner, metrics: Record<string, number>, current: string, when: string): void {
    const names = Object.keys(metrics);
    if (names.length === 0) {
      runner.logger.warn(`${this.owner}: the evaluation returned no metric, so no best checkpoint is considered`);
      return;
    }
    if (this.keyIndicator === null) {
      this.keyIndicator = names[0]!;
      this.rule ??= inferRule(this.keyIndicator, this.greaterKeys, this.lessKeys, `${this.owner}.saveBest`);
    }
    const key = this.keyIndicator;
    if (!(key in metrics)) throw new Error(`${this.owner}: saveBest key '${key}' is not among the evaluation results (${names.join(', ')})`);
    const score = metrics[key]!;
    if (!Number.isFinite(score)) {
      runner.logger.warn(`${this.owner}: ${key} is ${score}, which cannot be a best score`);
      return;
    }
    if (!isImprovement(this.rule!, score, this.bestScore ?? RULE_INIT[this.rule!])) return;
    const outDir = this.outDir!;
    const name = `best_${key}_${current}`;
    const previous = this.bestCkptPath;
    const bestCkpt = path.join(outDir, name);
    this.bestScore = score;
    this.bestCkptPath = bestCkpt;
    const msgs = hookMsgs(runner);
    msgs.bestScore = score;
    msgs.bestCkpt = bestCkpt;
    // Saved (by rank 0) once the stage is over, so that the checkpoint holds every hook's state
    // after it; the previous best goes only once the new one is on disk.
    if (runner.rank !== 0) return;
    runner.deferUntilStageEnd(async () => {
      await runner.saveCheckpoint(outDir, { filenameTmpl: name, createSymlink: false });
      if (previous !== null && previous !== bestCkpt && fs.existsSync(previous)) {
        fs.rmSync(previous, { recursive: true, force: true });
        runner.logger.info(`The previous best checkpoint ${previous} was removed`);
      }
      runner.logger.info(`Now best checkpoint is saved as ${name}.`);
      runner.logger.info(`Best ${key} is ${pyFixed(score, 4)} at ${when}.`);
    });
  }

  override stateDict(): EvalHookState {
    return { keyIndicator: this.keyIndicator, rule: this.rule, bestScore: this.bestScore, bestCkpt: this.bestCkptPath };
  }

  override loadStateDict(state: unknown): void {
    const s = state as Partial<EvalHookState> | null;
    const valid = s !== null && typeof s === 'object'
      && (s.keyIndicator === null || typeof s.keyIndicator === 'string')
      && (s.rule === null || s.rule === 'greater' || s.rule === 'less')
      && (s.bestScore === null || Number.isFinite(s.bestScore))
      && (s.bestCkpt === null || typeof s.bestCkpt === 'string');
    if (!valid) throw new Error(`${this.owner}: invalid state ${JSON.stringify(state)}; expected { keyIndicator, rule, bestScore, bestCkpt }`);
    // A best score is only meaningful for the key it was measured on.
    if (this.saveBest === null || (this.saveBest !== 'auto' && s.keyIndicator !== this.saveBest)) return;
    this.keyIndicator = s.keyIndicator!;
    this.rule = s.rule ?? this.rule;
    this.bestScore = s.bestScore!;
    this.bestCkptPath = s.bestCkpt!;
  }
}
