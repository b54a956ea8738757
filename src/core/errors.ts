import type { EventStage } from './stages.js';

/** A configuration problem, found before training starts. `path` names the offending key. */
export class ConfigError extends Error {
  /** The message without the path. */
  readonly detail: string;

  constructor(readonly path: string, detail: string) {
    super(path ? `${path}: ${detail}` : detail);
    this.detail = detail;
    this.name = 'ConfigError';
  }

  /** The same problem, located under `prefix` (e.g. where a nested component sits in the config). */
  under(prefix: string): ConfigError {
    return new ConfigError(this.path ? `${prefix}.${this.path}` : prefix, this.detail);
  }
}

/** A hook threw (or rejected) while handling a stage. The original error is the `cause`. */
export class HookError extends Error {
  constructor(readonly hookName: string, readonly stage: EventStage, readonly label: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const where = label === stage ? stage : `${stage} (${label})`;
    super(`hook ${hookName} failed in ${where}: ${reason}`, { cause });
    this.name = 'HookError';
  }
}

/**
 * A hook's promise did not settle: within its `timeout` or the run's stall timeout, or at all
 * (the event loop drained while the run waited for it).
 */
export class HookUnsettledError extends Error {
  constructor(readonly hookName: string, readonly stage: EventStage, detail = '') {
    super(`hook ${hookName} did not settle in ${stage}${detail ? ` ${detail}` : ''}`);
    this.name = 'HookUnsettledError';
  }
}

/**
 * A run failed, and so did some of its exception-stage handlers: `errors` holds the run's
 * original error first, then each handler's failure. The message starts with the original's.
 */
export class ExceptionStageError extends AggregateError {
  constructor(readonly original: unknown, readonly handlerErrors: readonly unknown[]) {
    const text = (e: unknown) => (e instanceof Error ? e.message : String(e));
    const also = handlerErrors.map(text).join('; ');
    super([original, ...handlerErrors], `${text(original)} (then ${handlerErrors.length === 1 ? 'an onException handler' : `${handlerErrors.length} onException handlers`} failed too: ${also})`, { cause: original });
    this.name = 'ExceptionStageError';
  }
}
