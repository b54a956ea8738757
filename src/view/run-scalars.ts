/**
 * The scalars of a run, read the way MMCV's `analyze_logs.py` reads them: from the JSON log
 * (`<timestamp>.log.json`), one point per logged record, or from the journal when the run has
 * no JSON log. Both `hookflow plot` and the dashboard read runs through here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { JOURNAL_FILE } from '../core/journal/journal-format.js';
import { parseJournal, type Journal } from '../core/journal/journal-reader.js';
import { MemoryLogger } from '../core/services.js';

/** One logged value: where it was logged (global iteration, 1-based; epoch) and the value. */
export interface ScalarPoint {
  iter: number;
  /** Epochs done when it was logged: fractional for a train record (iter / iters per epoch). */
  epoch: number;
  value: number;
}

/** `series[mode][key]`: the points of one scalar in one mode. */
export type ScalarSeries = Record<'train' | 'val', Record<string, ScalarPoint[]>>;

/** What a run's logs say, ready to plot. */
export interface RunScalars {
  /** The `.log.json` read, or the journal when there is none. */
  source: string;
  series: ScalarSeries;
  /** Train iterations per epoch (null when unknown, e.g. an iteration-based run). */
  itersPerEpoch: number | null;
}

/** Keys of a log record that place it rather than measure something. */
const PLACE_KEYS = new Set(['mode', 'epoch', 'iter']);

/** The newest `<timestamp>.log.json` of a work dir, or undefined. */
export function findLogJson(workDir: string): string | undefined {
  const names = fs.readdirSync(workDir).filter((name) => /^\d{8}_\d{6}\.log\.json$/.test(name)).sort();
  return names.length > 0 ? path.join(workDir, names.at(-1)!) : undefined;
}

/**
 * Resolves command-line inputs (work dirs or `.log.json` files) to existing paths.
 * @throws ConfigError naming the input when it does not exist.
 */
export function checkRunInputs(inputs: string[], what: string): string[] {
  if (inputs.length === 0) throw new ConfigError(what, 'give at least one work dir or .log.json file');
  return inputs.map((input) => {
    const resolved = path.resolve(input);
    if (!fs.existsSync(resolved)) throw new ConfigError(what, `${input} does not exist (expected a work dir or a .log.json file)`);
    return resolved;
  });
}

/**
 * Reads the scalars of a work dir (its newest `.log.json`, else its journal) or of one
 * `.log.json` file (with the journal beside it, if any, for epoch lengths and times).
 */
export function readRunScalars(workDirOrLog: string): RunScalars {
  const isDir = fs.statSync(workDirOrLog).isDirectory();
  const dir = isDir ? workDirOrLog : path.dirname(workDirOrLog);
  const journal = readJournalQuietly(path.join(dir, JOURNAL_FILE));
  const logFile = isDir ? findLogJson(dir) : workDirOrLog;
  const itersFromJournal = journal ? trainLoaderLength(journal) : null;
  if (logFile) return { source: logFile, ...scalarsFromLog(readLogRecords(logFile), itersFromJournal) };
  if (!journal) throw new ConfigError('run', `${workDirOrLog} has neither a .log.json nor an ${JOURNAL_FILE}`);
  return { source: path.join(dir, JOURNAL_FILE), series: scalarsFromJournal(journal), itersPerEpoch: itersFromJournal };
}

/** The records of a `.log.json` after its header line (the one holding the config). */
export function readLogRecords(file: string): Record<string, unknown>[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const records: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue; // the line being written by a live run
    }
    if (value && typeof value === 'object' && 'mode' in value) records.push(value as Record<string, unknown>);
  }
  return records;
}

/**
 * Places every log record on the global iteration axis. A train record's `iter` is within its
 * epoch when the log was by epoch (it restarts at each epoch), else global; a val record is
 * placed at the end of the train iterations logged before it.
 */
export function scalarsFromLog(records: Record<string, unknown>[], knownItersPerEpoch: number | null): Pick<RunScalars, 'series' | 'itersPerEpoch'> {
  const train = records.filter((r) => r.mode === 'train');
  const byEpoch = train.some((r, i) => i > 0 && Number(r.epoch) > Number(train[i - 1]!.epoch) && Number(r.iter) <= Number(train[i - 1]!.iter));
  const firstEpoch = train.filter((r) => r.epoch === train[0]?.epoch).map((r) => Number(r.iter));
  const itersPerEpoch = knownItersPerEpoch ?? (byEpoch && firstEpoch.length > 0 ? Math.max(...firstEpoch) : null);
  const series: ScalarSeries = { train: {}, val: {} };
  let lastTrainIter = 0;
  for (const record of records) {
    const mode = record.mode === 'val' ? 'val' : 'train';
    const epoch = Number(record.epoch);
    let iter: number;
    let epochsDone: number;
    if (mode === 'train') {
      iter = byEpoch && itersPerEpoch ? (epoch - 1) * itersPerEpoch + Number(record.iter) : Number(record.iter);
      epochsDone = itersPerEpoch ? iter / itersPerEpoch : epoch;
      lastTrainIter = iter;
    } else {
      iter = byEpoch && itersPerEpoch ? epoch * itersPerEpoch : lastTrainIter;
      epochsDone = epoch;
    }
    for (const [key, value] of Object.entries(record)) {
      if (PLACE_KEYS.has(key)) continue;
      for (const [name, v] of flatten(key, value)) (series[mode][name] ??= []).push({ iter, epoch: epochsDone, value: v });
    }
  }
  return { series, itersPerEpoch };
}

/** `lr: {g1: 0.1}` (several optimizers) becomes `lr.g1`; non-numbers are dropped. */
function flatten(key: string, value: unknown): [string, number][] {
  if (typeof value === 'number') return [[key, value]];
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).filter(([, v]) => typeof v === 'number').map(([k, v]) => [`${key}.${k}`, v as number]);
  }
  return [];
}

/** Every train iteration and every evaluation of a journal, for runs logged without a JSON log. */
export function scalarsFromJournal(journal: Journal): ScalarSeries {
  const series: ScalarSeries = { train: {}, val: {} };
  const itersPerEpoch = trainLoaderLength(journal);
  let dataTime: number | undefined;
  for (const { event } of journal.records) {
    const payload = event.payload ?? {};
    if (event.stage === 'beforeTrainIter' && typeof payload.dataTime === 'number') dataTime = payload.dataTime;
    if (event.stage === 'afterTrainIter') {
      const iter = event.iter + 1;
      const epoch = itersPerEpoch ? iter / itersPerEpoch : event.epoch + 1;
      const values: [string, unknown][] = [['lr', payload.lr], ['momentum', payload.momentum], ['time', payload.time], ['dataTime', dataTime], ...Object.entries((payload.logVars ?? {}) as object)];
      for (const [key, value] of values) for (const [name, v] of flatten(key, value)) (series.train[name] ??= []).push({ iter, epoch, value: v });
      dataTime = undefined;
    }
    const metrics = payload.metrics;
    if (metrics && typeof metrics === 'object') {
      const epoch = event.stage === 'afterTrainEpoch' ? event.epoch + 1 : event.epoch;
      for (const [name, v] of flatten('', metrics)) (series.val[name.slice(1)] ??= []).push({ iter: event.iter, epoch, value: v });
    }
  }
  return series;
}

/** The train loader's length the journal recorded (the context of the first train iteration). */
export function trainLoaderLength(journal: Journal): number | null {
  const first = journal.records.find((r) => r.event.stage === 'beforeTrainIter');
  return first?.context.dataLoaderLength ?? null;
}

/** The journal of a work dir, or undefined when it has none; warnings (a torn line) are dropped. */
export function readJournalQuietly(file: string): Journal | undefined {
  if (!fs.existsSync(file)) return undefined;
  return parseJournal(fs.readFileSync(file, 'utf8'), { source: file, logger: new MemoryLogger() });
}
