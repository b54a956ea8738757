import fs from 'node:fs';
import path from 'node:path';
import { CheckpointError, LATEST, META_FILE, OPTIMIZER_FILE, OPTIMIZER_WEIGHTS_FILE, verifyCheckpoint, type VerifiedCheckpoint } from './checkpoint-io.js';
import { MANIFEST_FILE } from './checkpoint-manifest.js';
import { MODEL_FILE, WEIGHTS_FILE } from './file-io-handler.js';

/** A checkpoint that {@link scanCheckpoints} passed over, and why. */
export interface SkippedCheckpoint {
  path: string;
  reason: string;
}

/** What {@link scanCheckpoints} found in a directory. */
export interface CheckpointScan {
  /** The newest intact checkpoint, or null. */
  latest: string | null;
  /** Entries that look like checkpoints (or `latest`) but cannot be used, in directory order. */
  skipped: SkippedCheckpoint[];
  /** Things to tell the user that are not failures (a `latest` that leads outside the directory). */
  warnings: string[];
}

const CHECKPOINT_FILES = [MANIFEST_FILE, META_FILE, MODEL_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, OPTIMIZER_WEIGHTS_FILE];

/** A directory holding any checkpoint file is a checkpoint, intact or not (tf_logs/ and the like are not). */
function looksLikeCheckpoint(dir: string): boolean {
  return CHECKPOINT_FILES.some((file) => fs.existsSync(path.join(dir, file)));
}

function verifyOrSkip(checkpoint: string, skipped: SkippedCheckpoint[]): VerifiedCheckpoint | undefined {
  try {
    return verifyCheckpoint(checkpoint);
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    // error.path is the directory a `latest` leads to, so a broken one is reported once, by name.
    if (!skipped.some((s) => s.path === error.path)) skipped.push({ path: error.path, reason: error.detail });
    return undefined;
  }
}

function isInside(dir: string, target: string): boolean {
  const rel = path.relative(dir, target);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Looks for the newest intact checkpoint in `dir` (for `--auto-resume`) and reports every
 * checkpoint it had to pass over. `latest` wins when it names an intact checkpoint (one outside
 * `dir` is followed, with a warning); otherwise the intact checkpoint saved last (meta `time`,
 * then event `seq`). Scratch entries (names starting with '.') are not checkpoints.
 */
export function scanCheckpoints(dir: string): CheckpointScan {
  const abs = path.resolve(dir);
  const scan: CheckpointScan = { latest: null, skipped: [], warnings: [] };
  if (!fs.existsSync(abs)) return scan;
  const latestEntry = path.join(abs, LATEST);
  let fromLatest: VerifiedCheckpoint | undefined;
  if (fs.lstatSync(latestEntry, { throwIfNoEntry: false })) {
    fromLatest = verifyOrSkip(latestEntry, scan.skipped);
    if (fromLatest && !isInside(abs, fromLatest.path)) scan.warnings.push(`${latestEntry} points outside ${abs}, at ${fromLatest.path}; following it`);
  }
  const seen = (p: string) => p === fromLatest?.path || scan.skipped.some((s) => s.path === p);
  let best: VerifiedCheckpoint | undefined;
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    const candidatePath = path.join(abs, entry.name);
    if (!entry.isDirectory() || entry.name.startsWith('.') || seen(candidatePath) || !looksLikeCheckpoint(candidatePath)) continue;
    const candidate = verifyOrSkip(candidatePath, scan.skipped);
    if (!candidate) continue;
    const newer = !best || candidate.meta.time > best.meta.time || (candidate.meta.time === best.meta.time && candidate.meta.seq > best.meta.seq);
    if (newer) best = candidate;
  }
  scan.latest = fromLatest?.path ?? best?.path ?? null;
  return scan;
}

/** The newest intact checkpoint in `workDir`, or null ({@link scanCheckpoints} without the report). */
export function findLatestCheckpoint(workDir: string): string | null {
  return scanCheckpoints(workDir).latest;
}
