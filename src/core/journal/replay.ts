import { Observable, defer, from } from 'rxjs';
import type { StageEvent } from '../stage-event.js';
import { readJournal, type Journal, type ReadJournalOptions } from './journal-reader.js';

/**
 * The events of a journal as a cold Observable: `source` is the path of an `events.jsonl`
 * (read when subscribed, as one coherent history, see readJournal), a journal already read,
 * or an array of events. Errors reading the file arrive as the Observable's error.
 */
export function replay(source: string | Journal | readonly StageEvent[], options: ReadJournalOptions = {}): Observable<StageEvent> {
  return defer(() => from(eventsOf(source, options)));
}

function eventsOf(source: string | Journal | readonly StageEvent[], options: ReadJournalOptions = {}): readonly StageEvent[] {
  if (typeof source === 'string') return readJournal(source, options).events;
  if (Array.isArray(source)) return source;
  return (source as Journal).events;
}
