import os from 'node:os';
import { ConfigError, HookError, HookUnsettledError } from '../core/errors.js';
import { currentHookScope, trackHookScopes } from '../core/hook-scope.js';
import type { RunActivity } from '../runner/base-runner.js';

/**
 * The process-level side of `hookflow`: what happens when a run ends badly. One place reports a
 * fatal error and ends the process ({@link exitWithError}); exceptions thrown outside the
 * awaited stage path (a hook's timer, an un-awaited callback), unhandled rejections, a run whose
 * promises never settle, and SIGINT/SIGTERM all end there or in a signal exit.
 *
 * Exit codes: 0 done; 1 a runtime failure; 2 a usage or config error; 128+N stopped by signal N
 * (after the interrupted run saved its checkpoint, or at once on a second signal).
 */

/** What the guard needs of the run in progress (BaseRunner provides it). */
export interface GuardedRun {
  readonly activity: RunActivity;
  interrupt(reason: string, source?: string): void;
}

/** Exit code of a usage or config error. */
export const EXIT_USAGE = 2;
/** Exit code of a runtime failure. */
export const EXIT_FAILURE = 1;

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

let run: GuardedRun | undefined;
let stoppedBy: StopSignal | undefined;
let installed = false;

/** 128 + the signal's number: the exit code of a process stopped by `signal`. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + os.constants.signals[signal];
}

/**
 * Installs the handlers once: uncaught exceptions and unhandled rejections end the process
 * with `hookflow: error: ... (while in <stage> of <hook>)` and exit 1; a run still in progress
 * when the event loop runs dry fails naming the hook it waits for; the first SIGINT/SIGTERM
 * interrupts the run (it finishes the iteration and saves a checkpoint), a second one, or one
 * outside a run, exits at once.
 */
export function installProcessGuard(): void {
  if (installed) return;
  installed = true;
  trackHookScopes();
  // First in line: the wasm backend's own handlers would exit 7 with a raw stack.
  process.prependListener('uncaughtException', (error) => exitWithError(error));
  process.prependListener('unhandledRejection', (reason) => exitWithError(reason));
  process.on('beforeExit', () => {
    if (run) exitWithError(unsettled(run.activity));
  });
  for (const signal of STOP_SIGNALS) process.on(signal, () => onStopSignal(signal));
}

/**
 * Marks `target` as the run in progress until the returned function is called; that function
 * sets the exit code of a run a signal stopped (128+N).
 */
export function guardRun(target: GuardedRun): () => void {
  run = target;
  return () => {
    run = undefined;
    if (stoppedBy) process.exitCode = signalExitCode(stoppedBy);
  };
}

function onStopSignal(signal: StopSignal): void {
  if (!run || stoppedBy) {
    console.error(`hookflow: ${signal} received${stoppedBy ? ' again' : ''}, exiting now`);
    process.exit(signalExitCode(signal));
  }
  stoppedBy = signal;
  console.error(`hookflow: ${signal} received: finishing the current iteration and saving a checkpoint (send it again to exit at once)`);
  run.interrupt(`${signal} received`, signal);
}

/** The error of a run whose event loop ran dry while it waited. */
function unsettled({ stage, hook }: RunActivity): Error {
  if (hook && stage) return new HookUnsettledError(hook, stage, '(its promise never settled and nothing else was left to run)');
  return new Error(`the run stopped in ${stage ?? 'its setup'}: a promise it waits for never settled and nothing else was left to run`);
}

/** ` (while in <stage> of <hook>)` for an error, from the hook call that started the failing work, else the run's activity. */
function whereText(error: unknown): string {
  if (error instanceof HookError || error instanceof HookUnsettledError || error instanceof ConfigError) return '';
  const scope = currentHookScope();
  if (scope) return ` (while in ${scope.stage} of ${scope.hook})`;
  const activity = run?.activity;
  if (!activity?.stage) return '';
  if (!activity.inStage) return ` (after ${activity.stage})`;
  return ` (while in ${activity.stage}${activity.hook ? ` of ${activity.hook}` : ''})`;
}

/**
 * The one place a fatal error is reported and the process ends: `hookflow: error: <message>`
 * (or `config error`) with where it happened, the stack only with HOOKFLOW_DEBUG, then exit 2
 * for a {@link ConfigError} and 1 for anything else. Exit handlers (the work-dir lock) run.
 */
export function exitWithError(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  const kind = error instanceof ConfigError ? 'config error' : 'error';
  console.error(`hookflow: ${kind}: ${message}${whereText(error)}`);
  if (process.env.HOOKFLOW_DEBUG && error instanceof Error) console.error(error.stack);
  process.exit(error instanceof ConfigError ? EXIT_USAGE : EXIT_FAILURE);
}
