import fs from 'node:fs';
import path from 'node:path';
import { MANIFEST_FILE, digestOf, encodeManifest } from '../../src/training/checkpoint/checkpoint-manifest.js';

/** Rewrites a checkpoint's manifest.json over its files as they are now, as if they had been written so. */
export function resealCheckpoint(dir: string): void {
  const files = Object.fromEntries(fs.readdirSync(dir).filter((f) => f !== MANIFEST_FILE).sort().map((f) => [f, digestOf(fs.readFileSync(path.join(dir, f)))]));
  fs.writeFileSync(path.join(dir, MANIFEST_FILE), encodeManifest(files));
}
