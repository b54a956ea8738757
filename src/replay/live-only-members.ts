import type { HookRunner, RecordedRunner } from '../runner/hook-runner.js';

/** The members a live runner offers hooks beyond {@link RecordedRunner}. */
type LiveOnlyMember = Exclude<keyof HookRunner, keyof RecordedRunner>;

// A record rather than a list, so that a member added to HookRunner must be added here too.
const LIVE_ONLY: Record<LiveOnlyMember, true> = {
  model: true, modelName: true, optimizer: true, byEpoch: true, dataBatch: true,
  currentLr: true, currentMomentum: true, stopRequested: true, interrupted: true, lastStage: true,
  requestStop: true, interrupt: true, refreshHookPlan: true,
  checkpointIO: true, saveCheckpoint: true, loadCheckpoint: true, resume: true,
};

/**
 * Gives `runner` (a journal replay's runner) a getter for each live-only member it lacks that
 * throws an error naming the member, so a hook that needs the live run fails in a replay with
 * `hook CheckpointHook failed in beforeRun: runner.checkpointIO ...` rather than with
 * `Cannot read properties of undefined`.
 */
export function refuseLiveOnlyMembers(runner: object): void {
  for (const member of Object.keys(LIVE_ONLY)) {
    if (member in runner) continue;
    Object.defineProperty(runner, member, {
      configurable: true,
      get: () => {
        throw new Error(`runner.${member} belongs to a live run; a journal replay has no model, optimizer, data, checkpoints or run control, `
          + 'so this hook cannot be replayed (replayable hooks use only RecordedRunner: counters, events, log buffer, logger, work dir)');
      },
    });
  }
}
