import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { LrUpdaterHook, LrUpdaterHookOptions } from './lr-updater-hook.js';

/** Options of {@link FixedLrUpdaterHook}. */
export const FixedLrUpdaterHookOptions = LrUpdaterHookOptions.strict();
export type FixedLrUpdaterHookOptions = z.input<typeof FixedLrUpdaterHookOptions>;

/** Keeps the base lr (policy `'fixed'`); only warmup changes it. */
@RegisterHook()
export class FixedLrUpdaterHook extends LrUpdaterHook {
  constructor(options: FixedLrUpdaterHookOptions = {}) {
    super(parseOptions(FixedLrUpdaterHookOptions, options, 'FixedLrUpdaterHook'), 'FixedLrUpdaterHook');
  }

  protected getLr(_runner: ScheduleRunner, baseLr: number): number {
    return baseLr;
  }
}
