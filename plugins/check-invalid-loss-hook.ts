import { z } from 'zod';
import { Hook } from '../src/core/hook.js';
import { RegisterHook } from '../src/core/hooks-registry.js';
import { mustBe, parseOptions } from '../src/config/parse-options.js';
import type { HookRunner } from '../src/runner/hook-runner.js';

const positiveInt = mustBe('a positive integer');

/** Options of {@link CheckInvalidLossHook}. */
export const CheckInvalidLossHookOptions = z.object({
  /** Check every this many iterations. */
  interval: z.number(positiveInt).int(positiveInt).positive(positiveInt).optional(),
}).strict();
export type CheckInvalidLossHookOptions = z.input<typeof CheckInvalidLossHookOptions>;

/**
 * Stops the run when the training loss is NaN or infinite (MMDetection's
 * `CheckInvalidLossHook`), checked every `interval` iterations. The error names the
 * (1-based) iteration and the value. Register it above OptimizerHook (`'HIGH'`) to stop before
 * the bad step is applied.
 */
@RegisterHook()
export class CheckInvalidLossHook extends Hook<HookRunner> {
  readonly interval: number;

  constructor(options: CheckInvalidLossHookOptions = {}) {
    super();
    this.interval = parseOptions(CheckInvalidLossHookOptions, options, 'CheckInvalidLossHook').interval ?? 50;
  }

  override afterTrainIter(runner: HookRunner): void {
    if (!this.everyNIters(runner, this.interval)) return;
    const loss = runner.outputs?.loss;
    if (loss === undefined) throw new Error('the model step returned no loss to check');
    if (!Number.isFinite(loss)) throw new Error(`loss became infinite or NaN at iteration ${runner.iter + 1}: ${loss}`);
  }
}
