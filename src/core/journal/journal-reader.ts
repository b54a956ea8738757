import fs from 'node:fs';
import { consoleLogger, type Logger } from '../services.js';
import type { StageEvent } from '../stage-event.js';
import { isEventStage } from '../stages.js';
import { JournalError, UNKNOWN_CONTEXT, decodeLine, type JournalContext, type JournalSession } from './journal-format.js';

/** One event of a journal's history, with what the journal says about its run. */
export interface JournalRecord {
  event: StageEvent;
  /** The runner facts in effect for this event. */
  context: JournalContext;
  /** The session that wrote it. */
  session: JournalSession;
  /** Its 1-based line number in the file. */
  line: number;
}

/** A journal read into one coherent history. */
export interface Journal {
  /** The file (or name) it was read from. */
  source: string;
  /** The history: seq 1 (or where the file's history starts) onwards, without gaps. */
  records: JournalRecord[];
  /** The events of {@link records}. */
  events: StageEvent[];
  /** Every session of the file, in file order (including ones whose events were replaced). */
  sessions: JournalSession[];
}

/** Options of {@link readJournal}. */
export interface ReadJournalOptions {
  /** Where warnings go (a torn last line); default the console. */
  logger?: Logger;
  /**
   * Salvage a damaged journal: skip malformed lines (each reported with its line number, and a
   * count at the end) and accept the seq gaps they leave, instead of failing at the first one.
   */
  skipInvalid?: boolean;
}

/**
 * Reads a journal file (see journal-format.ts) into one coherent history: the events after a
 * session line replace the recorded events with a greater seq, so a resumed run's history is
 * the checkpointed prefix followed by the resumed events. A torn last line (an interrupted
 * write) is ignored with a warning; any other malformed line is a {@link JournalError} naming
 * its line number.
 */
export function readJournal(file: string, options: ReadJournalOptions = {}): Journal {
  return parseJournal(fs.readFileSync(file, 'utf8'), { ...options, source: file });
}

/** {@link readJournal} on the text of a journal; `source` names it in messages. */
export function parseJournal(text: string, options: ReadJournalOptions & { source?: string } = {}): Journal {
  const source = options.source ?? 'journal';
  const logger = options.logger ?? consoleLogger;
  const skipInvalid = options.skipInvalid === true;
  let skipped = 0;
  const lines = text.split('\n');
  const complete = text.endsWith('\n');
  if (complete) lines.pop();
  const records: JournalRecord[] = [];
  const sessions: JournalSession[] = [];
  let session: JournalSession | undefined;
  let context: JournalContext = UNKNOWN_CONTEXT;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const fail = (detail: string) => new JournalError(source, lineNo, detail);
    let value: unknown;
    try {
      value = decodeLine(line);
    } catch (error) {
      if (i === lines.length - 1 && !complete) {
        logger.warn(`${source}:${lineNo}: ignoring a torn last line (the run was interrupted while writing it)`);
        break;
      }
      if (!skipInvalid) throw fail(`not valid JSON (${(error as Error).message})`);
      logger.warn(`${source}:${lineNo}: skipped: not valid JSON (${(error as Error).message})`);
      skipped++;
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail(`expected a JSON object; got ${truncate(line)}`);
    const obj = value as Record<string, unknown>;
    if ('type' in obj) {
      if (obj.type === 'context') {
        context = checkContext(obj, fail);
        continue;
      }
      if (obj.type !== 'start' && obj.type !== 'resume') throw fail(`unknown record type ${JSON.stringify(obj.type)}; expected 'start', 'resume' or 'context'`);
      session = checkSession(obj, fail);
      sessions.push(session);
      context = UNKNOWN_CONTEXT;
      const last = records.at(-1)?.event.seq;
      if (last !== undefined && session.fromSeq > last) {
        throw fail(`${session.type} from seq ${session.fromSeq} leaves a gap: the history before it ends at seq ${last}`);
      }
      while (records.length > 0 && records.at(-1)!.event.seq > session.fromSeq) records.pop();
      continue;
    }
    const event = checkEvent(obj, fail);
    if (!session) {
      // Events appended without a writer session (a bare listener): the history starts here.
      session = { type: event.seq === 1 ? 'start' : 'resume', fromSeq: event.seq - 1, time: event.time, runner: null, timestamp: null, meta: null };
      sessions.push(session);
    }
    const previous = records.at(-1)?.event.seq ?? session.fromSeq;
    if (event.seq !== previous + 1) {
      if (!skipInvalid || event.seq <= previous) throw fail(`event seq ${event.seq} does not follow seq ${previous}`);
      logger.warn(`${source}:${lineNo}: events ${previous + 1}..${event.seq - 1} are missing (lost with skipped lines); continuing at seq ${event.seq}`);
    }
    records.push({ event, context, session, line: lineNo });
  }
  if (skipped > 0) logger.warn(`${source}: skipped ${skipped} invalid line${skipped === 1 ? '' : 's'}; kept ${records.length} events`);
  return { source, records, events: records.map((r) => r.event), sessions };
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isNullableCount = (v: unknown): v is number | null => v === null || isCount(v);

function checkEvent(obj: Record<string, unknown>, fail: (detail: string) => JournalError): StageEvent {
  const { seq, stage, mode, epoch, iter, innerIter, time, payload } = obj;
  if (!(Number.isInteger(seq) && (seq as number) > 0)) throw fail(`event seq must be a positive integer; got ${JSON.stringify(seq)}`);
  if (!isEventStage(stage)) throw fail(`event stage ${JSON.stringify(stage)} is not a stage`);
  if (mode !== null && mode !== 'train' && mode !== 'val') throw fail(`event mode must be 'train', 'val' or null; got ${JSON.stringify(mode)}`);
  for (const [name, v] of [['epoch', epoch], ['iter', iter], ['innerIter', innerIter]] as const) {
    if (!isCount(v)) throw fail(`event ${name} must be an integer >= 0; got ${JSON.stringify(v)}`);
  }
  if (typeof time !== 'number') throw fail(`event time must be a number; got ${JSON.stringify(time)}`);
  if (payload !== undefined && (payload === null || typeof payload !== 'object' || Array.isArray(payload))) {
    throw fail(`event payload must be an object; got ${JSON.stringify(payload)}`);
  }
  return obj as unknown as StageEvent;
}

function checkSession(obj: Record<string, unknown>, fail: (detail: string) => JournalError): JournalSession {
  const { type, fromSeq, time, runner, timestamp, meta } = obj;
  if (!isCount(fromSeq)) throw fail(`${type} fromSeq must be an integer >= 0; got ${JSON.stringify(fromSeq)}`);
  if (type === 'start' && fromSeq !== 0) throw fail(`start must have fromSeq 0; got ${fromSeq}`);
  if (typeof time !== 'number') throw fail(`${type} time must be a number; got ${JSON.stringify(time)}`);
  if (runner !== null && typeof runner !== 'string') throw fail(`${type} runner must be a string or null; got ${JSON.stringify(runner)}`);
  if (timestamp !== null && typeof timestamp !== 'string') throw fail(`${type} timestamp must be a string or null; got ${JSON.stringify(timestamp)}`);
  if (meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) throw fail(`${type} meta must be an object or null; got ${JSON.stringify(meta)}`);
  return { type, fromSeq, time, runner, timestamp, meta: meta as Record<string, unknown> | null } as JournalSession;
}

function checkContext(obj: Record<string, unknown>, fail: (detail: string) => JournalError): JournalContext {
  const { maxEpochs, maxIters, dataLoaderLength } = obj;
  for (const [name, v] of [['maxEpochs', maxEpochs], ['maxIters', maxIters], ['dataLoaderLength', dataLoaderLength]] as const) {
    if (!isNullableCount(v)) throw fail(`context ${name} must be an integer >= 0 or null; got ${JSON.stringify(v)}`);
  }
  return { maxEpochs: maxEpochs as number | null, maxIters: maxIters as number | null, dataLoaderLength: dataLoaderLength as number | null };
}
