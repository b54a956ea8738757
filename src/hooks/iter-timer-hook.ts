import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { TOKENS } from '../core/di.js';
import { Hook } from '../core/hook.js';
import { RegisterHook } from '../core/hooks-registry.js';
import { systemClock, type Clock } from '../core/services.js';
import type { BaseRunner } from '../runner/base-runner.js';
import { parseOptions } from '../config/parse-options.js';

const IterTimerHookOptions = z.object({}).strict();

/**
 * Records `dataTime` (previous iteration's end to this iteration's start: data loading and the
 * hooks in between) and `time` (a whole iteration) in seconds (MMCV `IterTimerHook`). The clock
 * is injected, so tests can rebind `TOKENS.Clock`.
 */
@RegisterHook()
@injectable()
export class IterTimerHook extends Hook<BaseRunner> {
  private t = 0;
  private readonly clock: Clock;

  constructor(
    @inject(TOKENS.HookOptions) @optional() options: Record<string, never> = {},
    @inject(TOKENS.Clock) @optional() clock?: Clock,
  ) {
    super();
    parseOptions(IterTimerHookOptions, options, 'IterTimerHook');
    this.clock = clock ?? systemClock;
  }

  override beforeEpoch(_runner: BaseRunner): void {
    this.t = this.clock.now();
  }

  override beforeIter(runner: BaseRunner): void {
    const dataTime = (this.clock.now() - this.t) / 1000;
    runner.logBuffer.update({ dataTime });
    runner.annotate({ dataTime });
  }

  override afterIter(runner: BaseRunner): void {
    const now = this.clock.now();
    const time = (now - this.t) / 1000;
    runner.logBuffer.update({ time });
    runner.annotate({ time });
    this.t = now;
  }
}
