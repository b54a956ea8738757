import * as tf from '../src/backend/tfjs.js';
import { z } from 'zod';
import { Hook, type HookResult } from '../src/core/hook.js';
import { RegisterHook } from '../src/core/hooks-registry.js';
import { mustBe, parseOptions } from '../src/config/parse-options.js';
import type { HookRunner } from '../src/runner/hook-runner.js';

const positiveInt = mustBe('a positive integer');
const openUnit = mustBe('a number between 0 and 1 (exclusive)');
const nonNegative = mustBe('a number >= 0');

/** Options of {@link EMAHook} (MMCV `momentum, interval, warm_up, resume_from`). */
export const EMAHookOptions = z.object({
  /** Weight of the new value in each update (MMCV's convention); raised to the power `interval`. */
  momentum: z.number(openUnit).gt(0, openUnit).lt(1, openUnit).optional(),
  /** Update every this many iterations. */
  interval: z.number(positiveInt).int(positiveInt).positive(positiveInt).optional(),
  /** Lowers the momentum early in training to `(1 + t) / (warmUp + t)`; 0 (or anything <= 1) means no warm-up. */
  warmUp: z.number(nonNegative).min(0, nonNegative).optional(),
  /** Resume the run from this checkpoint in beforeRun (EMA state included). */
  resumeFrom: z.string(mustBe('a checkpoint path')).nullish(),
}).strict();
export type EMAHookOptions = z.input<typeof EMAHookOptions>;

/** What {@link EMAHook.stateDict} returns (JSON-serialisable). */
export interface EMAHookState {
  /** Which weights the hook's copies hold: the EMA ('ema'), or the raw ones while the model holds the EMA ('raw'). */
  holds: 'ema' | 'raw';
  /** The copies by parameter key: float32 values, little-endian, base64 (compact and exact in meta.json). */
  weights: Record<string, string>;
}

/**
 * Exponential moving average of the model's parameters (MMCV `EMAHook`). Every `interval`
 * iterations (t = `runner.iter`), with `m = min(momentum ** interval, (1 + t) / (warmUp + t))`:
 * `ema = ema * (1 - m) + m * param`. The update waits for the end of `afterTrainIter`, so it
 * averages the weights after the iteration's optimizer step whatever the hook's priority.
 *
 * The EMA weights live in the hook; at `afterTrainEpoch` they are swapped into the model, so
 * that hooks running after this one in that stage (checkpoint, evaluation) and the val epochs
 * see the EMA weights; at `beforeTrainEpoch` the raw weights are swapped back and training
 * continues from them. After the last epoch the model keeps the EMA weights. Register it
 * before CheckpointHook and EvalHook: `{ type: 'EMAHook', priority: 'HIGHEST' }`.
 * IterBasedRunner has no epoch stages, so there it only averages (as in MMCV).
 */
@RegisterHook()
export class EMAHook extends Hook<HookRunner> {
  /** The effective momentum, `momentum ** interval`. */
  readonly momentum: number;
  readonly interval: number;
  readonly warmUp: number;
  readonly resumeFrom: string | null;
  private readonly copies = new Map<string, tf.Variable>();
  private holds: 'ema' | 'raw' = 'ema';
  /** State loaded before the copies exist (resume before run). */
  private pending: EMAHookState | undefined;
  private loaded = false;

  constructor(options: EMAHookOptions = {}) {
    super();
    const opts = parseOptions(EMAHookOptions, options, 'EMAHook');
    this.interval = opts.interval ?? 1;
    this.momentum = (opts.momentum ?? 0.0002) ** this.interval;
    this.warmUp = opts.warmUp ?? 100;
    this.resumeFrom = opts.resumeFrom ?? null;
  }

  override async beforeRun(runner: HookRunner): Promise<void> {
    const params = runner.model.params();
    if (this.pending) this.createCopies(params, this.pending);
    else this.copyParams(params);
    if (this.resumeFrom === null) return;
    this.loaded = false;
    await runner.resume(this.resumeFrom);
    if (!this.loaded) {
      runner.logger.warn(`EMAHook: ${this.resumeFrom} holds no EMAHook state; the average starts from the resumed weights`);
      this.copyParams(runner.model.params());
    }
  }

  override beforeTrainEpoch(runner: HookRunner): void {
    if (this.holds === 'raw') this.swap(runner);
  }

  override afterTrainEpoch(runner: HookRunner): void {
    if (this.holds === 'ema') this.swap(runner);
  }

  override afterTrainIter(runner: HookRunner): HookResult {
    const t = runner.iter;
    if (t % this.interval !== 0) return;
    // (1 + t) / 0 is Infinity here, not an error: warmUp = 0 means no warm-up.
    const m = Math.min(this.momentum, (1 + t) / (this.warmUp + t));
    runner.deferUntilStageEnd(() => this.update(runner, m));
  }

  private update(runner: HookRunner, m: number): void {
    const params = runner.model.params();
    tf.tidy(() => {
      for (const [key, ema] of this.copies) ema.assign(ema.mul(1 - m).add(params.get(key)!.mul(m)));
    });
  }

  /** Exchanges the model's parameters with the hook's copies. */
  private swap(runner: HookRunner): void {
    const params = runner.model.params();
    tf.tidy(() => {
      for (const [key, copy] of this.copies) {
        const param = params.get(key)!;
        const old = param.clone();
        param.assign(copy);
        copy.assign(old);
      }
    });
    this.holds = this.holds === 'ema' ? 'raw' : 'ema';
  }

  private copyParams(params: Map<string, tf.Variable>): void {
    this.disposeCopies();
    for (const [key, p] of params) this.copies.set(key, tf.variable(p, false));
    this.holds = 'ema';
  }

  private createCopies(params: Map<string, tf.Variable>, state: EMAHookState): void {
    const values = stateTensors(state, params);
    this.disposeCopies();
    for (const [key, t] of values) {
      this.copies.set(key, tf.variable(t, false));
      t.dispose();
    }
    this.holds = state.holds;
    this.pending = undefined;
  }

  private disposeCopies(): void {
    for (const v of this.copies.values()) v.dispose();
    this.copies.clear();
  }

  override stateDict(): EMAHookState {
    if (this.pending) return this.pending;
    const weights: Record<string, string> = {};
    for (const [key, v] of this.copies) weights[key] = Buffer.from(new Float32Array(v.dataSync()).buffer).toString('base64');
    return { holds: this.holds, weights };
  }

  override loadStateDict(state: unknown): void {
    const s = state as Partial<EMAHookState> | null;
    const valid = s !== null && typeof s === 'object' && (s.holds === 'ema' || s.holds === 'raw')
      && s.weights !== null && typeof s.weights === 'object'
      && Object.values(s.weights).every((w) => typeof w === 'string');
    if (!valid) throw new Error('EMAHook: invalid state; expected { holds: "ema" | "raw", weights: { key: base64 float32 } }');
    this.loaded = true;
    if (this.copies.size === 0) {
      this.pending = s as EMAHookState;
      return;
    }
    const values = stateTensors(s as EMAHookState, this.copies);
    for (const [key, t] of values) {
      this.copies.get(key)!.assign(t);
      t.dispose();
    }
    this.holds = s.holds!;
  }
}

/** The state's weights as tensors shaped like the variables of `like`, with the same keys. */
function stateTensors(state: EMAHookState, like: Map<string, tf.Variable>): Map<string, tf.Tensor> {
  const unknown = Object.keys(state.weights).filter((k) => !like.has(k));
  if (unknown.length) throw new Error(`EMAHook: the state has weights for unknown parameters: ${unknown.join(', ')}`);
  const decoded = [...like].map(([key, v]) => {
    const encoded = state.weights[key];
    const bytes = encoded === undefined ? undefined : Buffer.from(encoded, 'base64');
    if (!bytes || bytes.byteLength !== v.size * 4) {
      throw new Error(`EMAHook: the state has ${bytes ? `${bytes.byteLength / 4} values` : 'no entry'} for parameter ${key}, which has ${v.size}`);
    }
    // Copied into a fresh buffer: a Buffer's offset need not be a multiple of 4.
    const values = new Float32Array(v.size);
    new Uint8Array(values.buffer).set(bytes);
    return [key, values, v.shape] as const;
  });
  return new Map(decoded.map(([key, values, shape]) => [key, tf.tensor(values, shape, 'float32')]));
}
