import fs from 'node:fs';
import path from 'node:path';
import { consoleLogger, type Logger } from '../services.js';
import type { StageEvent } from '../stage-event.js';
import { JOURNAL_FILE, decodeLine, encodeJson, sameContext, type JournalContext, type JournalSession } from './journal-format.js';
import { PendingBytes } from './pending-bytes.js';

/** What the journal writer reads of a runner (BaseRunner provides it). */
export interface JournalSource {
  /** A synchronous listener called with every event once its stage is over. */
  addEventListener(listener: (event: StageEvent) => void): () => void;
  readonly workDir?: string | null;
  readonly maxEpochs?: number;
  readonly maxIters?: number;
  readonly dataLoader?: { readonly length: number } | null;
  readonly timestamp?: string;
  readonly meta?: Record<string, unknown> | null;
  readonly logger?: Logger;
  /** A synchronous listener called before each checkpoint is saved (BaseRunner provides it). */
  addCheckpointListener?(listener: () => void): () => void;
}

/** Options of {@link attachJournal}. */
export interface JournalWriterOptions {
  /** The journal file; default `<workDir>/events.jsonl`. */
  path?: string;
  /**
   * How long iteration events may wait in memory to be written together, in ms (default 100;
   * 0 writes every event at once). A write costs 10-30 µs here, a few percent of a small
   * model's step when every event pays it.
   */
  flushMs?: number;
}

/** Events that may wait to be written together. */
const ITERATION_STAGES: ReadonlySet<string> = new Set(['beforeTrainIter', 'afterTrainIter', 'beforeValIter', 'afterValIter']);

/** Where {@link attachJournal} writes for `runner` and `options`. */
export function journalPath(runner: Pick<JournalSource, 'workDir'>, options: JournalWriterOptions = {}): string {
  if (options.path) return path.resolve(options.path);
  if (!runner.workDir) throw new Error('attachJournal: the runner has no workDir; pass { path } to say where the journal goes');
  return path.join(runner.workDir, JOURNAL_FILE);
}

/**
 * Appends every event of `runner` to a journal, one line per event. Iteration events are
 * collected in memory and written together, synchronously, at the next other event (epoch
 * stages, `afterRun`, `onException`), at the first iteration event at least `flushMs` after the
 * oldest one waiting, or by a timer `flushMs` after it. Before a checkpoint is saved, what waits
 * is written, and so is the event in progress (which the checkpoint covers) when its stage ends.
 * So what is on disk is always a whole prefix of the run, a crash loses at most the last
 * `flushMs` of iteration events, and a resume from any checkpoint continues the journal without
 * a gap. The first
 * event, and any event that does not follow the last one (a resume rewound the seq), opens a
 * session line; a torn line left at the end of the file by an interrupted run is cut off first,
 * so the new lines never extend it. The file is closed after each `afterRun` and `onException`
 * (a run's last event). Returns a function that detaches the writer (writing what waits).
 */
export function attachJournal(runner: JournalSource, options: JournalWriterOptions = {}): () => void {
  const file = journalPath(runner, options);
  const logger = runner.logger ?? consoleLogger;
  const flushMs = options.flushMs ?? 100;
  if (!(Number.isFinite(flushMs) && flushMs >= 0)) throw new RangeError(`attachJournal: flushMs must be a number of milliseconds >= 0; got ${flushMs}`);
  let fd: number | undefined;
  let lastSeq: number | undefined;
  let lastContext: JournalContext | undefined;
  /** The file as this writer closed it: a reopen that finds it unchanged skips checking it again. */
  let closedAs: FileIdentity | undefined;
  /** Lines not written yet, and since when the oldest of them waits. */
  const held = new PendingBytes();
  let heldSince = 0;
  let timer: NodeJS.Timeout | undefined;
  /** A checkpoint is being saved: the event in progress (which it covers) is written at once. */
  let checkpointed = false;

  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (held.length === 0 || fd === undefined) return;
    held.writeTo(fd);
  };

  const flushLater = (): void => {
    timer = undefined;
    try {
      flush();
    } catch (error) {
      logger.warn(`journal: cannot write ${file}: ${(error as Error).message}; retrying at the next event`);
    }
  };

  const write = (event: StageEvent): void => {
    const waiting = held.length > 0;
    if (fd === undefined) fd = openForAppend(file, logger, lastSeq === undefined && event.seq === 1, closedAs);
    if (lastSeq === undefined || event.seq !== lastSeq + 1) {
      const fromSeq = event.seq - 1;
      const session: JournalSession = {
        type: fromSeq === 0 ? 'start' : 'resume',
        fromSeq,
        time: Date.now(),
        runner: runner.constructor.name,
        timestamp: runner.timestamp ?? null,
        meta: runner.meta ?? null,
      };
      held.appendLine(encodeJson(session));
      lastContext = undefined;
    }
    const context: JournalContext = { maxEpochs: runner.maxEpochs ?? null, maxIters: runner.maxIters ?? null, dataLoaderLength: runner.dataLoader?.length ?? null };
    if (!lastContext || !sameContext(context, lastContext)) {
      held.appendLine(encodeJson({ type: 'context', ...context }));
      lastContext = context;
    }
    held.appendLine(encodeJson(event));
    lastSeq = event.seq;
    const hold = flushMs > 0 && ITERATION_STAGES.has(event.stage) && !checkpointed;
    checkpointed = false;
    if (hold) {
      const now = Date.now();
      if (!waiting) heldSince = now;
      if (now - heldSince < flushMs) {
        timer ??= setTimeout(flushLater, flushMs).unref();
        return;
      }
    }
    flush();
    if (event.stage === 'afterRun' || event.stage === 'onException') close();
  };

  const close = (): void => {
    if (fd === undefined) return;
    flush();
    closedAs = identityOf(fs.fstatSync(fd));
    fs.closeSync(fd);
    fd = undefined;
  };

  const off = runner.addEventListener(write);
  const offCheckpoint = runner.addCheckpointListener?.(() => {
    flush();
    checkpointed = true;
  });
  return () => {
    off();
    offCheckpoint?.();
    close();
  };
}

/**
 * Opens `file` for appending. A fresh run (`fresh`) never appends to an earlier run's journal:
 * that one is kept beside it as `events.<its run's timestamp>.jsonl`. A resumed run first checks
 * the journal: a damaged line before the end (which would make every later replay fail) moves
 * the file aside as `events.damaged-<time>.jsonl`, for `hookflow replay --skip-invalid`, and the
 * run continues in a fresh journal; a torn last line (one without its newline) is cut off.
 * A file still as this writer closed it (`closedAs`: the same file, size and modification
 * time) was whole then and is not read again, so a runner whose `run()` is called once per
 * epoch does not re-read its growing journal every time.
 */
function openForAppend(file: string, logger: Logger, fresh: boolean, closedAs?: FileIdentity): number {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!fresh && stat && closedAs && sameIdentity(identityOf(stat), closedAs)) return fs.openSync(file, 'a');
  if (stat && stat.size > 0) {
    if (fresh) {
      const kept = moveAside(file, runTimestampOf(file));
      logger.info(`journal: ${path.basename(file)} held an earlier run; kept it as ${path.basename(kept)} and started a new journal`);
    } else {
      const damaged = firstDamagedLine(file);
      if (damaged) {
        const kept = moveAside(file, `damaged-${compactTime(new Date())}`);
        logger.warn(`journal: ${file}:${damaged.line} is damaged (${damaged.reason}); moved the journal to ${path.basename(kept)} `
          + '(salvage it with hookflow replay --skip-invalid) and continued in a new one');
      }
    }
  }
  const fd = fs.openSync(file, 'a+');
  const size = fs.fstatSync(fd).size;
  if (size > 0) {
    const keep = endOfLastLine(fd, size);
    if (keep < size) {
      fs.ftruncateSync(fd, keep);
      logger.warn(`journal: cut off a torn last line (${size - keep} bytes) of ${file}, left by an interrupted run`);
    }
  }
  return fd;
}

/** What tells that a file is still the one a writer closed. */
interface FileIdentity { dev: number; ino: number; size: number; mtimeMs: number }

function identityOf(stat: fs.Stats): FileIdentity {
  return { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
}

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** The 1-based number and the problem of the first line that is not a JSON object, ignoring a torn last line. */
export function firstDamagedLine(file: string): { line: number; reason: string } | undefined {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // The last element is '' after a final newline, or a torn line the writer cuts off.
  for (let i = 0; i < lines.length - 1; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = decodeLine(line);
    } catch (error) {
      return { line: i + 1, reason: `not valid JSON: ${(error as Error).message}` };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { line: i + 1, reason: 'not a JSON object' };
  }
  return undefined;
}

/** Renames `file` (`events.jsonl`) to `events.<tag>.jsonl` beside it (numbered if taken); returns the new path. */
function moveAside(file: string, tag: string): string {
  const ext = path.extname(file);
  const base = file.slice(0, file.length - ext.length);
  let target = `${base}.${tag}${ext}`;
  for (let n = 2; fs.existsSync(target); n++) target = `${base}.${tag}-${n}${ext}`;
  fs.renameSync(file, target);
  return target;
}

/** The timestamp of the run that began the journal (it names that run's logs), else the file's mtime. */
function runTimestampOf(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const first = head.subarray(0, n).toString('utf8').split('\n', 1)[0]!;
    const session = decodeLine(first) as { timestamp?: unknown };
    if (typeof session.timestamp === 'string' && /^[\w-]+$/.test(session.timestamp)) return session.timestamp;
  } catch { /* not a session line: fall back to the file's time */ } finally {
    fs.closeSync(fd);
  }
  return compactTime(fs.statSync(file).mtime);
}

/** A file-name-safe UTC time (`2026-12-04T16-30-00-000Z`). */
function compactTime(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

/** Byte offset just after the last newline of the file (0 when there is none). */
function endOfLastLine(fd: number, size: number): number {
  const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - chunk.length);
    const n = fs.readSync(fd, chunk, 0, end - start, start);
    const at = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}
