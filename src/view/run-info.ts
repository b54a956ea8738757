/**
 * `run_info.json`: what the dashboard shows of a run that the journal does not hold: the
 * training process (to tell a live run from one that died without `afterRun`), the hook plan,
 * and, for a profiled run, the time per hook per stage. The trainer writes it atomically after
 * `beforeRun` and at `afterRun`, and a profiled run also after every epoch (its hook times
 * change; nothing else does, and a rename per epoch is not free on every file system).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HookCallStats } from '../core/profiler.js';
import type { StageEvent } from '../core/stage-event.js';

/** The file's name in a work dir. */
export const RUN_INFO_FILE = 'run_info.json';

/** The content of `run_info.json`. */
export interface RunInfo {
  pid: number;
  host: string;
  /** What `hookflow hooks` prints for the run (`runner.hookInfo(true)`). */
  hookPlan: string;
  /** Time per hook per stage so far, when the run is profiled (`--profile-hooks`); else null. */
  hookProfile: HookCallStats[] | null;
  /** Wall-clock milliseconds of the last write. */
  updated: number;
}

/** What {@link attachRunInfo} reads of a runner. */
export interface RunInfoSource {
  readonly workDir?: string | null;
  hookInfo(withFilters?: boolean): string;
  addEventListener(listener: (event: StageEvent) => void): () => void;
}

const WRITE_AFTER = new Set(['beforeRun', 'afterRun']);
const WRITE_AFTER_PROFILED = new Set([...WRITE_AFTER, 'afterTrainEpoch', 'afterValEpoch']);

/** Keeps `<workDir>/run_info.json` up to date for `runner`; returns a function that detaches it. */
export function attachRunInfo(runner: RunInfoSource, profiler?: { stats(): HookCallStats[] }): () => void {
  if (!runner.workDir) return () => {};
  const file = path.join(runner.workDir, RUN_INFO_FILE);
  const writeAfter = profiler ? WRITE_AFTER_PROFILED : WRITE_AFTER;
  return runner.addEventListener((event) => {
    if (!writeAfter.has(event.stage)) return;
    const info: RunInfo = { pid: process.pid, host: os.hostname(), hookPlan: runner.hookInfo(true), hookProfile: profiler?.stats() ?? null, updated: Date.now() };
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${JSON.stringify(info, null, 1)}\n`);
    fs.renameSync(temp, file);
  });
}

/** The run info of a work dir, or undefined when it has none (or it cannot be read). */
export function readRunInfo(workDir: string): RunInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(workDir, RUN_INFO_FILE), 'utf8')) as RunInfo;
  } catch {
    return undefined;
  }
}

/** True when the process that wrote `info` still runs (on this machine); undefined when unknowable. */
export function writerAlive(info: RunInfo | undefined): boolean | undefined {
  if (!info || info.host !== os.hostname()) return undefined;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
