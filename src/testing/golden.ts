import { UNKNOWN_CONTEXT, type JournalContext } from '../core/journal/journal-format.js';
import { readJournal, type Journal } from '../core/journal/journal-reader.js';
import { MemoryLogger } from '../core/services.js';
import type { StageEvent } from '../core/stage-event.js';
import type { ReplaySource } from '../replay/replay-runner.js';

/** Fields that hold wall-clock times, never compared. */
export const WALL_CLOCK_FIELDS = ['time', 'payload.time', 'payload.dataTime'] as const;

/** Options of {@link diffJournals}. */
export interface JournalDiffOptions {
  /** More dotted paths not to compare (e.g. `payload.logVars.loss`). */
  ignore?: readonly string[];
  /** Largest absolute difference between numbers that still counts as equal (default 0). */
  tolerance?: number;
}

interface Entry {
  event: StageEvent;
  context?: JournalContext;
}

function entriesOf(source: ReplaySource): Entry[] {
  // Golden files are read strictly: a torn line is a difference worth seeing, not a warning.
  if (typeof source === 'string') return readJournal(source, { logger: new MemoryLogger() }).records;
  if (Array.isArray(source)) return source.map((event) => ({ event }));
  return (source as Journal).records;
}

const show = (v: unknown) => (v === undefined ? 'missing' : JSON.stringify(v));

function compare(actual: unknown, expected: unknown, at: string, ignored: ReadonlySet<string>, tolerance: number, out: string[], where: string): void {
  if (ignored.has(at)) return;
  if (typeof actual === 'number' && typeof expected === 'number') {
    const same = Object.is(actual, expected) || Math.abs(actual - expected) <= tolerance;
    if (!same) out.push(`${where}: ${at} is ${show(actual)} (expected ${show(expected)})`);
    return;
  }
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (isObj(actual) && isObj(expected) && Array.isArray(actual) === Array.isArray(expected)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    for (const key of keys) compare(actual[key], expected[key], at ? `${at}.${key}` : key, ignored, tolerance, out, where);
    return;
  }
  if (actual !== expected) out.push(`${where}: ${at} is ${show(actual)} (expected ${show(expected)})`);
}

/**
 * The differences between two journals' histories (paths, journals or event arrays), one line
 * each, empty when they match: event by event, every field but the wall-clock ones
 * ({@link WALL_CLOCK_FIELDS}), plus the recorded context when both sides have one. Use it to
 * compare a run with a golden journal, or a resumed run with an uninterrupted one.
 */
export function diffJournals(actual: ReplaySource, expected: ReplaySource, options: JournalDiffOptions = {}): string[] {
  const ignored = new Set<string>([...WALL_CLOCK_FIELDS, ...(options.ignore ?? [])]);
  const tolerance = options.tolerance ?? 0;
  const a = entriesOf(actual);
  const e = entriesOf(expected);
  const out: string[] = [];
  if (a.length !== e.length) out.push(`the history has ${a.length} events (expected ${e.length})`);
  for (let i = 0; i < Math.min(a.length, e.length); i++) {
    const where = `event ${i + 1} (${e[i]!.event.stage})`;
    compare(a[i]!.event, e[i]!.event, '', ignored, tolerance, out, where);
    const [ca, ce] = [a[i]!.context, e[i]!.context];
    if (ca && ce && ca !== UNKNOWN_CONTEXT && ce !== UNKNOWN_CONTEXT) compare(ca, ce, 'context', ignored, tolerance, out, where);
  }
  return out;
}

/** Throws an Error listing the first differences when {@link diffJournals} finds any. */
export function expectJournalsMatch(actual: ReplaySource, expected: ReplaySource, options: JournalDiffOptions = {}): void {
  const diffs = diffJournals(actual, expected, options);
  if (diffs.length === 0) return;
  const shown = diffs.slice(0, 20);
  const more = diffs.length > shown.length ? `\n... and ${diffs.length - shown.length} more` : '';
  throw new Error(`journals differ (${diffs.length} difference${diffs.length === 1 ? '' : 's'}):\n${shown.join('\n')}${more}`);
}
