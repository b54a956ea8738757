/**
 * The stage-event journal (`events.jsonl`): one JSON object per line, of three kinds.
 *
 * - An event line is a {@link StageEvent} exactly as `runner.events$` published it.
 * - A session line `{"type":"start"|"resume","fromSeq":N,...}` opens what one writer appended:
 *   the events that follow continue after seq N and replace any recorded event with seq > N
 *   (`start` is `fromSeq` 0: a fresh run, which replaces an older run's history). It records
 *   the runner's class, timestamp and meta, which a replay needs to name and head its logs.
 * - A context line `{"type":"context",...}` records the runner facts hooks read that are not in
 *   the events (run length, current loader length), before the first event they apply to.
 *
 * Numbers that JSON cannot hold (NaN, ±Infinity, e.g. a diverged loss) are written as
 * `{"$number":"NaN"}` and read back as numbers, so a journal round-trips exactly.
 */
import type { StageEvent } from '../stage-event.js';

/** The journal's file name in a work dir. */
export const JOURNAL_FILE = 'events.jsonl';

/** Runner facts a replay needs besides the events. */
export interface JournalContext {
  maxEpochs: number | null;
  maxIters: number | null;
  /** Length of the loader of the loop in progress (`runner.dataLoader.length`). */
  dataLoaderLength: number | null;
}

/** What one writer appended: where its events continue from, and the run they belong to. */
export interface JournalSession {
  type: 'start' | 'resume';
  /** Its events continue after this seq (0 for `start`). */
  fromSeq: number;
  /** Wall-clock milliseconds when the writer began this session. */
  time: number;
  /** Class name of the runner (`EpochBasedRunner`). */
  runner: string | null;
  /** The runner's timestamp (`YYYYMMDD_HHMMSS`), which names its log files. */
  timestamp: string | null;
  meta: Record<string, unknown> | null;
}

/** A context line. */
export interface ContextLine extends JournalContext {
  type: 'context';
}

/** No facts known (events written by something other than the journal writer). */
export const UNKNOWN_CONTEXT: Readonly<JournalContext> = Object.freeze({ maxEpochs: null, maxIters: null, dataLoaderLength: null });

/** A problem in a journal file, located by file and 1-based line number. */
export class JournalError extends Error {
  constructor(readonly file: string, readonly line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'JournalError';
  }
}

const NUMBER_KEY = '$number';

/** One journal line (with its newline) for `value`. */
export function encodeLine(value: StageEvent | JournalSession | ContextLine): string {
  return `${encodeJson(value)}\n`;
}

/** One journal line for `value`, without its newline (the writer appends the newline byte itself). */
export function encodeJson(value: StageEvent | JournalSession | ContextLine): string {
  // A replacer makes JSON.stringify several times slower: only values holding NaN or ±Infinity need it.
  if (!holdsNonFinite(value)) return JSON.stringify(value);
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { [NUMBER_KEY]: String(v) } : v));
}

/** True when `value` is, or holds at any depth, a number JSON cannot represent. */
function holdsNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(holdsNonFinite);
  for (const key in value) {
    if (holdsNonFinite((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/** Parses one journal line (throws a SyntaxError for invalid JSON). */
export function decodeLine(line: string): unknown {
  return JSON.parse(line, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === NUMBER_KEY) return Number((v as Record<string, string>)[NUMBER_KEY]);
    }
    return v;
  });
}

/** True when two contexts record the same facts. */
export function sameContext(a: JournalContext, b: JournalContext): boolean {
  return a.maxEpochs === b.maxEpochs && a.maxIters === b.maxIters && a.dataLoaderLength === b.dataLoaderLength;
}
