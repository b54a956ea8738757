import type { EventPayload, StageEvent } from '../core/stage-event.js';
import { isEventStage, type EventStage, type Mode } from '../core/stages.js';

/** The fields of an event a test cares about; the rest get defaults. */
export type EventFields = Partial<Omit<StageEvent, 'stage'>> & { payload?: EventPayload };

/** The mode a stage implies: train stages 'train', val stages 'val', others null. */
export function modeOf(stage: EventStage): Mode | null {
  if (/Train/.test(stage)) return 'train';
  if (/Val/.test(stage)) return 'val';
  return null;
}

/**
 * A stage event for tests: seq 1, the mode the stage implies, counters 0 and time 0 unless
 * `fields` says otherwise.
 */
export function stageEvent(stage: EventStage, fields: EventFields = {}): StageEvent {
  if (!isEventStage(stage)) throw new Error(`stageEvent: '${String(stage)}' is not a stage`);
  return { seq: 1, mode: modeOf(stage), epoch: 0, iter: 0, innerIter: 0, time: 0, ...fields, stage };
}

/**
 * A history of events numbered 1, 2, 3...: each entry a stage name or `[stage, fields]`.
 * `stageEvents(['beforeRun', ['afterTrainIter', { iter: 0 }], 'afterRun'])`.
 */
export function stageEvents(entries: ReadonlyArray<EventStage | readonly [EventStage, EventFields]>): StageEvent[] {
  return entries.map((entry, i) => {
    const [stage, fields = {}] = typeof entry === 'string' ? [entry] : entry;
    return stageEvent(stage, { ...fields, seq: i + 1 });
  });
}
