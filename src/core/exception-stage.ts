/**
 * The exception stage (`onException`): what its event carries. The payload (journaled, so a
 * replay sees it too) describes the error with scalars; a live run's handlers also get the
 * error itself through {@link exceptionOf}.
 */
import { HookError, HookUnsettledError } from './errors.js';
import type { EventPayload, StageEvent } from './stage-event.js';
import type { EventStage } from './stages.js';

const errors = new WeakMap<StageEvent, unknown>();

/** The error behind an `onException` event of a live run (undefined for other events and in replays). */
export function exceptionOf(event: StageEvent): unknown {
  return errors.get(event);
}

/** Attaches `error` to `event` for {@link exceptionOf}. */
export function attachException(event: StageEvent, error: unknown): void {
  errors.set(event, error);
}

/**
 * The payload of an `onException` event: `error` (the message), `errorType` (the error's name),
 * `failedStage` (the stage the run was in, or the last one it finished), `failedHook` (the hook
 * that failed or stalled, else null).
 */
export function exceptionPayload(error: unknown, stage: EventStage | null): EventPayload {
  const failedHook = error instanceof HookError || error instanceof HookUnsettledError ? error.hookName : null;
  const failedStage = error instanceof HookError || error instanceof HookUnsettledError ? error.stage : stage;
  return {
    error: error instanceof Error ? error.message : String(error),
    errorType: error instanceof Error ? error.name : typeof error,
    failedStage,
    failedHook,
  };
}
