import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { TOKENS } from '../core/di.js';
import { Hook } from '../core/hook.js';
import { RegisterHook } from '../core/hooks-registry.js';
import { systemClock, type Clock } from '../core/services.js';
import type { PayloadReplay } from '../replay/payload-replay.js';
import type { HookRunner } from '../runner/hook-runner.js';
import { parseOptions } from '../config/parse-options.js';

const IterTimerHookOptions = z.object({}).strict();

/**
 * Records `dataTime` (previous iteration's end to this iteration's start: data loading and the
 * hooks in between) and `time` (a whole iteration) in seconds (MMCV `IterTimerHook`). The clock
 * is injected, so tests can rebind `TOKENS.Clock`.
 */
@RegisterHook()
@injectable()
export class IterTimerHook extends Hook<HookRunner> {
  /** In a journal replay, the recorded timings go back into the log buffer. */
  static readonly payloadReplay: PayloadReplay = {
    keys: ['dataTime', 'time'],
    apply(runner, event) {
      const { dataTime, time } = event.payload ?? {};
      if (typeof dataTime === 'number') runner.logBuffer.update({ dataTime });
      if (typeof time === 'number') runner.logBuffer.update({ time });
    },
  };

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

  override beforeEpoch(_runner: HookRunner): void {
    this.t = this.clock.now();
  }

  override beforeIter(runner: HookRunner): void {
    const timing = { dataTime: (this.clock.now() - this.t) / 1000 };
    runner.logBuffer.update(timing);
    runner.annotate(timing);
  }

  override afterIter(runner: HookRunner): void {
    const now = this.clock.now();
    const timing = { time: (now - this.t) / 1000 };
    runner.logBuffer.update(timing);
    runner.annotate(timing);
    this.t = now;
  }
}
