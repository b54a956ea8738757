/**
 * The state of a run at a glance, from its work dir: the journal's last events, `run_info.json`
 * and the newest checkpoint's meta. What `GET /api/runs` returns for each run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { JOURNAL_FILE } from '../core/journal/journal-format.js';
import type { Journal } from '../core/journal/journal-reader.js';
import { readRunInfo, writerAlive } from './run-info.js';
import { trainLoaderLength } from './run-scalars.js';

/** `live` (the trainer still runs), `finished` (it reached `afterRun`) or `failed` (it died before). */
export type RunStatus = 'live' | 'finished' | 'failed';

/** One entry of `GET /api/runs`. */
export interface RunSummary {
  id: string;
  workDir: string;
  name: string;
  status: RunStatus;
  /** Runner class, e.g. `EpochBasedRunner`. */
  runner: string | null;
  /** Epochs and iterations done, and their maxima (null when not the run's unit). */
  epoch: number;
  maxEpochs: number | null;
  iter: number;
  maxIters: number | null;
  itersPerEpoch: number | null;
  /** Seconds left at the recent pace, while live. */
  etaSeconds: number | null;
  startedAt: number | null;
  updatedAt: number | null;
  lastCheckpoint: string | null;
  best: { key: string; value: number; checkpoint: string | null } | null;
  stopReason: string | null;
  /** Why the status is `failed`, or null. */
  problem: string | null;
  hookPlan: string | null;
  hookProfile: { hook: string; stage: string; calls: number; totalMs: number; maxMs: number }[] | null;
}

/** Train iterations the ETA averages over. */
const ETA_WINDOW = 50;
/** Without a writer pid, a journal written this recently counts as live. */
const QUIET_MS = 120_000;

/** Summarises the run in `workDir` (`journal` is its journal read, if it has one). */
export function summarizeRun(id: string, workDir: string, journal: Journal | undefined, now = Date.now()): RunSummary {
  const info = readRunInfo(workDir);
  const records = journal?.records ?? [];
  const last = records.at(-1);
  const session = journal?.sessions.at(-1);
  const checkpoint = readLatestCheckpointMeta(workDir);
  const finished = last?.event.stage === 'afterRun';
  let status: RunStatus = 'finished';
  let problem: string | null = null;
  const exception = last?.event.stage === 'onException' ? last.event.payload : undefined;
  if (exception) {
    // The run said why it failed (its exception stage is the journal's last line).
    status = 'failed';
    problem = `the run failed in ${String(exception.failedStage)}: ${String(exception.error)}`;
  } else if (!finished) {
    const alive = writerAlive(info);
    const quietFor = now - (fileTime(path.join(workDir, JOURNAL_FILE)) ?? fileTime(workDir) ?? 0);
    status = alive ?? quietFor < QUIET_MS ? 'live' : 'failed';
    if (status === 'failed') problem = records.length === 0 ? 'no events recorded' : `the training process ended without reaching afterRun (last stage: ${last!.event.stage})`;
  }
  const context = last?.context;
  const maxIters = context?.maxIters ?? null;
  const iter = last ? (last.event.stage === 'afterTrainIter' ? last.event.iter + 1 : last.event.iter) : 0;
  const epoch = last ? (last.event.stage === 'afterTrainEpoch' ? last.event.epoch + 1 : last.event.epoch) : 0;
  const stopReason = finished && typeof last!.event.payload?.stopReason === 'string' ? last!.event.payload.stopReason : null;
  return {
    id,
    workDir,
    name: path.basename(workDir),
    status,
    runner: session?.runner ?? null,
    epoch,
    maxEpochs: session?.runner === 'IterBasedRunner' ? null : context?.maxEpochs ?? null,
    iter,
    maxIters,
    itersPerEpoch: journal ? trainLoaderLength(journal) : null,
    etaSeconds: status === 'live' && maxIters !== null ? eta(journal!, maxIters - iter) : null,
    startedAt: session?.time ?? null,
    updatedAt: last?.event.time ?? null,
    lastCheckpoint: checkpoint?.lastCkpt ?? null,
    best: checkpoint?.best ?? null,
    stopReason,
    problem,
    hookPlan: info?.hookPlan ?? null,
    hookProfile: info?.hookProfile ?? null,
  };
}

/** Seconds for `remaining` train iterations at the pace of the last {@link ETA_WINDOW}. */
function eta(journal: Journal, remaining: number): number | null {
  const ends = journal.records.filter((r) => r.event.stage === 'afterTrainIter').slice(-ETA_WINDOW - 1).map((r) => r.event.time);
  if (ends.length < 2) return null;
  const perIter = (ends.at(-1)! - ends[0]!) / (ends.length - 1) / 1000;
  return Math.max(0, remaining) * perIter;
}

function fileTime(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Last and best checkpoint of the run, from the meta of the checkpoint `latest` points at. */
function readLatestCheckpointMeta(workDir: string): { lastCkpt: string | null; best: RunSummary['best'] } | undefined {
  let meta: Record<string, unknown>;
  try {
    meta = (JSON.parse(fs.readFileSync(path.join(workDir, 'latest', 'meta.json'), 'utf8')) as { meta: Record<string, unknown> }).meta;
  } catch {
    return undefined;
  }
  const msgs = (meta.hookMsgs ?? {}) as Record<string, unknown>;
  const latest = fs.realpathSync(path.join(workDir, 'latest'));
  const lastCkpt = typeof msgs.lastCkpt === 'string' ? path.basename(msgs.lastCkpt) : path.basename(latest);
  const states = Object.values((meta.hookStates ?? {}) as Record<string, Record<string, unknown>>);
  const evalState = states.find((s) => s && typeof s.keyIndicator === 'string' && typeof s.bestScore === 'number');
  const best = evalState
    ? { key: evalState.keyIndicator as string, value: evalState.bestScore as number, checkpoint: typeof evalState.bestCkpt === 'string' ? path.basename(evalState.bestCkpt) : null }
    : null;
  return { lastCkpt, best };
}
