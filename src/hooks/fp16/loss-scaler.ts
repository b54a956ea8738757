import { z } from 'zod';
import { mustBe, parseOptions } from '../../config/parse-options.js';

/** `'static'`: the scale never changes. `'dynamic'`: it shrinks on overflow and grows after a clean window. */
export type LossScaleMode = 'static' | 'dynamic';

/**
 * Defaults of a dynamic scaler. They are PyTorch `GradScaler`'s (init 2^16, factor 2, window
 * 2000), which is what MMCV 1.x's `loss_scale='dynamic'` builds on PyTorch >= 1.6. MMCV's own
 * legacy `LossScaler` starts at 2^32 with a window of 1000; with binary16 gradients 2^32 only
 * costs about 16 skipped steps before the scale comes down to where 2^16 starts.
 */
export const DYNAMIC_LOSS_SCALE_DEFAULTS = { initScale: 2 ** 16, scaleFactor: 2, scaleWindow: 2000 } as const;

const positiveFinite = mustBe('a positive finite number');
const positiveInt = mustBe('a positive integer');
const aboveOne = mustBe('a number > 1');
const initScale = z.number(positiveFinite).positive(positiveFinite);
const scaleWindow = z.number(positiveInt).int(positiveInt).positive(positiveInt);
const scaleFactor = z.number(aboveOne).gt(1, aboveOne);
const mode = z.enum(['static', 'dynamic'], mustBe("'static' or 'dynamic'"));

/** Options of {@link LossScaler} (MMCV `LossScaler(init_scale, mode, scale_factor, scale_window)`). */
export const LossScalerOptions = z.object({
  /** The starting scale. Default 2^16 (see {@link DYNAMIC_LOSS_SCALE_DEFAULTS}). */
  initScale: initScale.optional(),
  /** Default `'dynamic'`. */
  mode: mode.optional(),
  /** Divisor on overflow and multiplier after a clean window. Default 2. */
  scaleFactor: scaleFactor.optional(),
  /** Clean updates between two growths. Default 2000. */
  scaleWindow: scaleWindow.optional(),
}).strict();
export type LossScalerOptions = z.input<typeof LossScalerOptions>;

/** What {@link LossScaler.stateDict} returns (MMCV's keys in camelCase); JSON-serialisable. */
export const LossScalerState = z.object({
  curScale: initScale,
  curIter: z.number().int().nonnegative(),
  mode,
  lastOverflowIter: z.number().int().min(-1),
  scaleFactor,
  scaleWindow,
}).strict();
export type LossScalerState = z.output<typeof LossScalerState>;

/** A `lossScale` option: a positive number (a static scale), `'dynamic'`, or {@link LossScalerOptions}. */
export const LossScaleOption = z.union(
  [initScale, z.literal('dynamic'), LossScalerOptions],
  mustBe("a positive number (a static scale), 'dynamic' or { initScale, scaleFactor, scaleWindow, mode }"),
);
export type LossScaleOption = z.input<typeof LossScaleOption>;

/**
 * The loss scale of mixed-precision training (MMCV's `LossScaler`), pure bookkeeping: the
 * hook multiplies the loss by {@link lossScale}, checks the binary16 gradients for overflow and
 * reports the outcome to {@link updateScale}.
 *
 * Dynamic mode: on overflow the scale is divided by `scaleFactor` (never below 1); after
 * `scaleWindow` consecutive clean updates (at the start as after an overflow) it is multiplied
 * by `scaleFactor`. Static mode: the scale never changes.
 */
export class LossScaler {
  private curScale: number;
  private curIter = 0;
  private mode: LossScaleMode;
  private lastOverflowIter = -1;
  private scaleFactor: number;
  private scaleWindow: number;

  constructor(options: LossScalerOptions = {}) {
    const opts = parseOptions(LossScalerOptions, options, 'LossScaler');
    this.curScale = opts.initScale ?? DYNAMIC_LOSS_SCALE_DEFAULTS.initScale;
    this.mode = opts.mode ?? 'dynamic';
    this.scaleFactor = opts.scaleFactor ?? DYNAMIC_LOSS_SCALE_DEFAULTS.scaleFactor;
    this.scaleWindow = opts.scaleWindow ?? DYNAMIC_LOSS_SCALE_DEFAULTS.scaleWindow;
  }

  /** Builds the scaler of a `lossScale` option: a number is a static scale, `'dynamic'` the defaults. */
  static from(option: LossScaleOption): LossScaler {
    if (option === 'dynamic') return new LossScaler({ mode: 'dynamic' });
    if (typeof option === 'number') return new LossScaler({ initScale: option, mode: 'static' });
    return new LossScaler(option);
  }

  /** The current scale. */
  get lossScale(): number {
    return this.curScale;
  }

  get scaleMode(): LossScaleMode {
    return this.mode;
  }

  /** Records one update: shrink on overflow, grow after a clean window (dynamic mode only). */
  updateScale(overflow: boolean): void {
    if (this.mode === 'static') return;
    if (overflow) {
      this.curScale = Math.max(this.curScale / this.scaleFactor, 1);
      this.lastOverflowIter = this.curIter;
    } else if ((this.curIter - this.lastOverflowIter) % this.scaleWindow === 0) {
      this.curScale *= this.scaleFactor;
    }
    this.curIter += 1;
  }

  /** The whole state (plain numbers and strings). */
  stateDict(): LossScalerState {
    return {
      curScale: this.curScale,
      curIter: this.curIter,
      mode: this.mode,
      lastOverflowIter: this.lastOverflowIter,
      scaleFactor: this.scaleFactor,
      scaleWindow: this.scaleWindow,
    };
  }

  /** Restores what {@link stateDict} returned (validated; a ConfigError names the bad key). */
  loadStateDict(state: unknown): void {
    const s = parseOptions(LossScalerState, state, 'lossScaler');
    this.curScale = s.curScale;
    this.curIter = s.curIter;
    this.mode = s.mode;
    this.lastOverflowIter = s.lastOverflowIter;
    this.scaleFactor = s.scaleFactor;
    this.scaleWindow = s.scaleWindow;
  }
}

/** True when any value is ±Infinity or NaN (MMCV `_has_inf_or_nan`). */
export function hasInfOrNaN(arrays: Iterable<ArrayLike<number>>): boolean {
  for (const values of arrays) {
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return true;
  }
  return false;
}
