import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The version of the installed hookflow package (from its package.json), or 'unknown'. */
export function hookflowVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  // Walk up from this file: the same code runs from src/ (ts loaders) and from dist/src/.
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'hookflow' && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    }
    if (path.dirname(dir) === dir) break;
  }
  return cached;
}
