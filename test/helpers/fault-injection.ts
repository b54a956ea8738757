// Shared by the fault-injection suite (test/runner/fault-injection.test.ts) and the soak script
// (scripts/soak-checkpoints.mjs): run the fault child, kill it, auto-resume, compare with an
// uninterrupted run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJournal } from '../../src/core/journal/journal-reader.js';
import { LATEST, verifyCheckpoint } from '../../src/training/checkpoint/checkpoint-io.js';

const CHILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'fault-child.js');

/** The training config of the fault runs: Adam, mid-epoch checkpoints every 2 iterations, keep 2. */
export function faultConfig(maxIters = 12): Record<string, unknown> {
  return {
    model: { type: 'MLPClassifier', inputShape: [4], hiddenUnits: [8], numClasses: 3 },
    data: { train: { dataset: { type: 'Synthetic', numSamples: 20, inputShape: [4], numClasses: 3 }, batchSize: 4, shuffle: true } },
    optimizer: { type: 'Adam', lr: 0.01 },
    optimizerConfig: {},
    runner: { type: 'IterBasedRunner', maxIters },
    checkpointConfig: { interval: 2, maxKeepCkpts: 2 },
    logConfig: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] },
  };
}

/** What one child process did. */
export interface ChildResult {
  /** Killed (SIGKILL) or finished (then `points` and `warnings` are set). */
  killed: boolean;
  /** Where it was killed, as the child reported it. */
  killedAt?: string;
  points?: string[];
  warnings?: string[];
  stderr: string;
}

/**
 * Runs the fault child once: `spec` is `none`, `point:K` or `iter:N`; with `killAfterMs` the
 * parent SIGKILLs it at that moment (anywhere: a journal line, a log write, a tfjs kernel).
 */
export function runChild(config: string, workDir: string, spec: string, killAfterMs?: number): ChildResult {
  const r = spawnSync(process.execPath, [CHILD, config, workDir, spec], {
    encoding: 'utf8', timeout: killAfterMs ?? 120_000, killSignal: 'SIGKILL', env: { ...process.env, HOOKFLOW_BACKEND: 'wasm' },
  });
  if (r.signal === 'SIGKILL') {
    const killedAt = /SIGKILL at (.*)/.exec(r.stderr)?.[1] ?? (killAfterMs !== undefined ? `${killAfterMs} ms` : undefined);
    return { killed: true, killedAt, stderr: r.stderr };
  }
  if (r.status !== 0) throw new Error(`fault child (${spec}) exited ${r.status ?? r.signal}:\n${r.stderr}`);
  const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { points: string[]; warnings: string[] };
  return { killed: false, ...last, stderr: r.stderr };
}

const TRAINING_STAGES = new Set(['afterTrainIter', 'afterTrainEpoch', 'afterValIter', 'afterValEpoch']);

/**
 * The training history the journal holds (resumed sessions replace what followed their
 * checkpoint): every after-iteration and after-epoch event with its counters, losses, lr and
 * momentum. Left out: timings, and the seq numbers, which a resume shifts by the `beforeRun`
 * (and IterBasedRunner's `beforeEpoch`) it records.
 */
export function trainingHistory(workDir: string): unknown[] {
  return readJournal(path.join(workDir, 'events.jsonl')).records
    .filter(({ event }) => TRAINING_STAGES.has(event.stage))
    .map(({ event: { stage, mode, epoch, iter, innerIter, payload } }) => {
      const { time: _time, dataTime: _dataTime, ...rest } = (payload ?? {}) as Record<string, unknown>;
      return { stage, mode, epoch, iter, innerIter, payload: rest };
    });
}

/** The final checkpoint's state: meta counters and the exact bytes of weights and optimizer slots. */
export function finalState(workDir: string): { runState: unknown; weights: string; optimizer: string; checkpoints: string[] } {
  const latest = verifyCheckpoint(path.join(workDir, LATEST));
  const bytes = (file: string) => fs.readFileSync(path.join(latest.path, file)).toString('base64');
  const checkpoints = fs.readdirSync(workDir).filter((n) => !n.startsWith('.') && n !== LATEST && fs.statSync(path.join(workDir, n)).isDirectory()).sort();
  const { seq: _seq, ...counters } = latest.meta.runState;
  return { runState: counters, weights: bytes('weights.bin'), optimizer: bytes('optimizer.bin'), checkpoints };
}

/** Entries a crash may leave that the next run must have swept (scratch dirs of dead writers). */
export function leftovers(workDir: string): string[] {
  return fs.readdirSync(workDir).filter((n) => n.startsWith('.'));
}
