import type { Hook } from '../core/hook.js';
import { HOOKS } from '../core/hooks-registry.js';
import type { Registry } from '../core/registry.js';
import type { StageEvent } from '../core/stage-event.js';
import type { RecordedRunner } from '../runner/hook-runner.js';

/**
 * How the values a hook records in event payloads (`runner.annotate`) come back in a journal
 * replay, where the hook itself is usually not registered: a hook class declares it as its
 * static `payloadReplay`, and the replay runner applies it to every replayed event that carries
 * one of its keys, so that the hooks being replayed (the loggers) find the log buffer as the
 * live run left it.
 *
 * ```ts
 * @RegisterHook()
 * class QueueDepthHook extends Hook<HookRunner> {
 *   static readonly payloadReplay: PayloadReplay = {
 *     keys: ['queueDepth'],
 *     apply: (runner, event) => runner.logBuffer.update({ queueDepth: Number(event.payload!.queueDepth) }),
 *   };
 *   override afterTrainIter(runner: HookRunner): void {
 *     const queueDepth = measure();
 *     runner.logBuffer.update({ queueDepth });
 *     runner.annotate({ queueDepth });
 *   }
 * }
 * ```
 */
export interface PayloadReplay {
  /** The payload keys the hook records; nothing else may claim them. */
  readonly keys: readonly string[];
  /**
   * Puts the values recorded in `event` back where the hook put them live (the log buffer,
   * `runner.meta`). Called once per event that has any of {@link keys}, after the runner's own
   * part of the event (log vars, lr, `outputs`) and at the place of the first of those keys in
   * the payload: payload keys are in the order the live hooks recorded them, so recording hooks
   * are re-applied in the order they ran.
   */
  apply(runner: RecordedRunner, event: StageEvent): void;
}

/** A payload key's replay and the name of the hook class that declared it. */
export interface OwnedPayloadReplay {
  readonly owner: string;
  readonly replay: PayloadReplay;
}

/**
 * The `payloadReplay` declarations of the hook classes registered in `registry` (and its child
 * scopes), by payload key. Subclasses inheriting their parent's declaration share it. Two
 * different declarations claiming one key are an error naming both classes.
 */
export function payloadReplaysOf(registry: Registry<Hook<any>> = HOOKS): ReadonlyMap<string, OwnedPayloadReplay> {
  const byKey = new Map<string, OwnedPayloadReplay>();
  const visit = (reg: Registry<any>, prefix: string): void => {
    for (const name of reg.keys()) {
      const replay = (reg.get(name) as { payloadReplay?: PayloadReplay } | undefined)?.payloadReplay;
      if (!replay) continue;
      for (const key of replay.keys) {
        const claimed = byKey.get(key);
        if (claimed && claimed.replay !== replay) {
          throw new Error(`payload key '${key}' is replayed by both ${claimed.owner} and ${prefix}${name}: give one of them another key`);
        }
        if (!claimed) byKey.set(key, { owner: `${prefix}${name}`, replay });
      }
    }
    for (const [scope, child] of reg.children) visit(child, `${prefix}${scope}.`);
  };
  visit(registry, '');
  return byKey;
}
