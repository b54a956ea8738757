import fs from 'node:fs';
import path from 'node:path';
import { CheckpointError, LATEST, verifyCheckpoint, type VerifiedCheckpoint } from './checkpoint-io.js';

function tryVerify(checkpoint: string): VerifiedCheckpoint | undefined {
  try {
    return verifyCheckpoint(checkpoint);
  } catch (error) {
    if (error instanceof CheckpointError) return undefined;
    throw error;
  }
}

/**
 * The newest intact checkpoint in `workDir` (for `--auto-resume`), or null when there is none.
 * `latest` wins when it names an intact checkpoint; otherwise the intact checkpoint saved last
 * (meta `time`, then event `seq`). Scratch entries (names starting with '.') and checkpoints
 * that fail verification (missing meta, wrong sizes or CRCs) are skipped.
 */
export function findLatestCheckpoint(workDir: string): string | null {
  const dir = path.resolve(workDir);
  if (!fs.existsSync(dir)) return null;
  if (fs.existsSync(path.join(dir, LATEST))) {
    const latest = tryVerify(path.join(dir, LATEST));
    if (latest) return latest.path;
  }
  let best: VerifiedCheckpoint | undefined;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const candidate = tryVerify(path.join(dir, entry.name));
    if (!candidate) continue;
    const newer = !best || candidate.meta.time > best.meta.time || (candidate.meta.time === best.meta.time && candidate.meta.seq > best.meta.seq);
    if (newer) best = candidate;
  }
  return best?.path ?? null;
}
