import type { EventStage } from './stages.js';

/** A configuration problem, found before training starts. `path` names the offending key. */
export class ConfigError extends Error {
  constructor(readonly path: string, message: string) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'ConfigError';
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
