import fs from 'node:fs';
import path from 'node:path';
import { consoleLogger, type Logger } from '../services.js';
import type { StageEvent } from '../stage-event.js';
import { JOURNAL_FILE, encodeLine, sameContext, type JournalContext, type JournalSession } from './journal-format.js';

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
}

/** Options of {@link attachJournal}. */
export interface JournalWriterOptions {
  /** The journal file; default `<workDir>/events.jsonl`. */
  path?: string;
}

/** Where {@link attachJournal} writes for `runner` and `options`. */
export function journalPath(runner: Pick<JournalSource, 'workDir'>, options: JournalWriterOptions = {}): string {
  if (options.path) return path.resolve(options.path);
  if (!runner.workDir) throw new Error('attachJournal: the runner has no workDir; pass { path } to say where the journal goes');
  return path.join(runner.workDir, JOURNAL_FILE);
}

/**
 * Appends every event of `runner` to a journal, one line per event, written synchronously when
 * the stage ends (a crash loses at most the line being written). The first event, and any
 * event that does not follow the last one written (a resume rewound the seq), opens a session
 * line; a torn line left at the end of the file by an interrupted run is cut off first, so the
 * new lines never extend it. The file is closed after each `afterRun`. Returns a function that
 * detaches the writer.
 */
export function attachJournal(runner: JournalSource, options: JournalWriterOptions = {}): () => void {
  const file = journalPath(runner, options);
  const logger = runner.logger ?? consoleLogger;
  let fd: number | undefined;
  let lastSeq: number | undefined;
  let lastContext: JournalContext | undefined;

  const write = (event: StageEvent): void => {
    let text = '';
    if (fd === undefined) fd = openForAppend(file, logger);
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
      text += encodeLine(session);
      lastContext = undefined;
    }
    const context: JournalContext = { maxEpochs: runner.maxEpochs ?? null, maxIters: runner.maxIters ?? null, dataLoaderLength: runner.dataLoader?.length ?? null };
    if (!lastContext || !sameContext(context, lastContext)) {
      text += encodeLine({ type: 'context', ...context });
      lastContext = context;
    }
    text += encodeLine(event);
    fs.writeSync(fd, text);
    lastSeq = event.seq;
    if (event.stage === 'afterRun') close();
  };

  const close = (): void => {
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
  };

  const off = runner.addEventListener(write);
  return () => {
    off();
    close();
  };
}

/** Opens `file` for appending, first cutting off a torn last line (one without its newline). */
function openForAppend(file: string, logger: Logger): number {
  fs.mkdirSync(path.dirname(file), { recursive: true });
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
