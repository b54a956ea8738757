import { z } from 'zod';
import { Hook } from '../src/core/hook.js';
import { RegisterHook } from '../src/core/hooks-registry.js';
import { hookName } from '../src/core/dispatcher.js';
import { pyFixed } from '../src/hooks/logger/py-format.js';
import { mustBe, parseOptions } from '../src/config/parse-options.js';
import type { HookRunner } from '../src/runner/hook-runner.js';
import { EvalHook } from './eval/eval-hook.js';
import { RULE_INIT, inferRule, isImprovement, type Rule } from './eval/rule.js';

const positiveInt = mustBe('a positive integer');
const nonNegative = mustBe('a number >= 0');

/** Options of {@link EarlyStoppingHook}. */
export const EarlyStoppingHookOptions = z.object({
  /** The evaluation metric to watch (a key EvalHook produces). */
  monitor: z.string(mustBe('a metric key')).min(1, mustBe('a metric key')).optional(),
  /** Whether a greater or a less value is better; inferred from `monitor` as EvalHook does when absent. */
  rule: z.enum(['greater', 'less'], mustBe("'greater', 'less' or null")).nullish(),
  /** Evaluations without improvement before the run stops. */
  patience: z.number(positiveInt).int(positiveInt).positive(positiveInt).optional(),
  /** An evaluation improves only when it beats the best by more than this. */
  minDelta: z.number(nonNegative).min(0, nonNegative).optional(),
  /** Stop at once when the monitored value is NaN or infinite. */
  checkFinite: z.boolean(mustBe('a boolean')).optional(),
}).strict();
export type EarlyStoppingHookOptions = z.input<typeof EarlyStoppingHookOptions>;

/** What {@link EarlyStoppingHook.stateDict} returns (JSON-serialisable). */
export interface EarlyStoppingHookState {
  /** Best value so far; null before the first evaluation. */
  bestScore: number | null;
  waitCount: number;
  /** Why the run stopped, once it did. */
  stopReason: string | null;
  /** Training iterations behind the last evaluation counted. */
  lastProgress: number | null;
}

/**
 * Stops the run when the monitored evaluation metric has not improved (by more than
 * `minDelta`) for `patience` evaluations, or at once when it is not finite (`checkFinite`).
 * It reads the `metrics` EvalHook puts in the event payload, so it must run after EvalHook
 * in the same stage (`priority: 'LOWEST'`); beforeRun checks that order.
 *
 * Its best value, wait count and stop decision survive resume, and a resumed run that had
 * already stopped stops again at once. An evaluation repeated on the same training progress
 * (EvalHook's evaluation before training after a resume) is not counted twice.
 */
@RegisterHook()
export class EarlyStoppingHook extends Hook<HookRunner> {
  readonly monitor: string;
  readonly rule: Rule;
  readonly patience: number;
  readonly minDelta: number;
  readonly checkFinite: boolean;
  bestScore: number;
  waitCount = 0;
  stopReason: string | null = null;
  private lastProgress: number | null = null;
  private seen = false;

  constructor(options: EarlyStoppingHookOptions = {}) {
    super();
    const opts = parseOptions(EarlyStoppingHookOptions, options, 'EarlyStoppingHook');
    this.monitor = opts.monitor ?? 'loss';
    this.rule = opts.rule ?? inferRule(this.monitor, undefined, undefined, 'EarlyStoppingHook.monitor');
    this.patience = opts.patience ?? 5;
    this.minDelta = opts.minDelta ?? 0;
    this.checkFinite = opts.checkFinite ?? true;
    this.bestScore = RULE_INIT[this.rule];
  }

  override beforeRun(runner: HookRunner): void {
    const at = runner.hooks.indexOf(this);
    const producer = runner.hooks.slice(at + 1).find((h) => h instanceof EvalHook);
    if (at >= 0 && producer) {
      throw new Error(`EarlyStoppingHook runs before ${hookName(producer)}, so it cannot see its metrics; give it a lower priority than ${hookName(producer)} (e.g. 'LOWEST')`);
    }
    this.seen = false;
    if (this.stopReason !== null) runner.requestStop(`stopped earlier: ${this.stopReason}`, hookName(this));
  }

  override beforeTrainEpoch(runner: HookRunner): void {
    this.check(runner, runner.iter);
  }

  override beforeTrainIter(runner: HookRunner): void {
    this.check(runner, runner.iter);
  }

  override afterTrainIter(runner: HookRunner): void {
    this.check(runner, runner.iter + 1);
  }

  override afterTrainEpoch(runner: HookRunner): void {
    this.check(runner, runner.iter);
  }

  override afterRun(runner: HookRunner): void {
    if (!this.seen && this.stopReason === null) {
      runner.logger.warn(`EarlyStoppingHook: no evaluation metrics were seen during the run, so '${this.monitor}' was never checked (is an EvalHook registered?)`);
    }
  }

  /** Judges the metrics of an evaluation made in the current stage, if there was one. */
  private check(runner: HookRunner, progress: number): void {
    const metrics = runner.event?.payload?.metrics;
    if (metrics === undefined || metrics === null || typeof metrics !== 'object') return;
    this.seen = true;
    if (!(this.monitor in metrics)) {
      throw new Error(`EarlyStoppingHook: the monitored key '${this.monitor}' is not among the evaluation metrics (${Object.keys(metrics).join(', ') || 'none'})`);
    }
    // The same weights evaluated again (after a resume) are not a new evaluation.
    if (progress === this.lastProgress) return;
    this.lastProgress = progress;
    const score = metrics[this.monitor];
    if (typeof score !== 'number') throw new Error(`EarlyStoppingHook: the monitored metric '${this.monitor}' is not a number: ${JSON.stringify(score)}`);
    const best = Number.isFinite(this.bestScore) ? pyFixed(this.bestScore, 4) : 'none';
    if (this.checkFinite && !Number.isFinite(score)) {
      this.stop(runner, `${this.monitor} is ${score}, not finite (best so far: ${best})`);
    } else if (isImprovement(this.rule, score, this.bestScore, this.minDelta)) {
      this.bestScore = score;
      this.waitCount = 0;
    } else if (++this.waitCount >= this.patience) {
      this.stop(runner, `${this.monitor} did not improve by more than ${this.minDelta} for ${this.waitCount} evaluation${this.waitCount === 1 ? '' : 's'} (best: ${best})`);
    }
  }

  private stop(runner: HookRunner, reason: string): void {
    this.stopReason = reason;
    runner.requestStop(reason, hookName(this));
  }

  override stateDict(): EarlyStoppingHookState {
    return {
      bestScore: Number.isFinite(this.bestScore) ? this.bestScore : null,
      waitCount: this.waitCount,
      stopReason: this.stopReason,
      lastProgress: this.lastProgress,
    };
  }

  override loadStateDict(state: unknown): void {
    const s = state as Partial<EarlyStoppingHookState> | null;
    const valid = s !== null && typeof s === 'object'
      && (s.bestScore === null || Number.isFinite(s.bestScore))
      && Number.isInteger(s.waitCount) && s.waitCount! >= 0
      && (s.stopReason === null || typeof s.stopReason === 'string')
      && (s.lastProgress === null || Number.isInteger(s.lastProgress));
    if (!valid) throw new Error(`EarlyStoppingHook: invalid state ${JSON.stringify(state)}; expected { bestScore, waitCount, stopReason, lastProgress }`);
    this.bestScore = s.bestScore ?? RULE_INIT[this.rule];
    this.waitCount = s.waitCount!;
    this.stopReason = s.stopReason!;
    this.lastProgress = s.lastProgress!;
  }
}
