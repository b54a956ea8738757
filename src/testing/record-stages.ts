import type { Observable } from 'rxjs';
import type { StageEvent } from '../core/stage-event.js';
import type { EventStage } from '../core/stages.js';

/** Events collected from a runner's `events$`. */
export interface StageRecording {
  /** The events so far, in order. */
  readonly events: StageEvent[];
  /** Their stage names. */
  stages(): EventStage[];
  /** Stops recording. */
  stop(): void;
}

/** Starts collecting `runner.events$` (a live or a replay runner) into an array. */
export function recordStages(runner: { readonly events$: Observable<StageEvent> }): StageRecording {
  const events: StageEvent[] = [];
  const subscription = runner.events$.subscribe((event) => events.push(event));
  return { events, stages: () => events.map((e) => e.stage), stop: () => subscription.unsubscribe() };
}
