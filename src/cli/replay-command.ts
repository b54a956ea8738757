import './hook-modules.js';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { consoleLogger } from '../core/services.js';
import { replayJournal } from '../replay/replay-journal.js';

/** Options of `hookflow replay`. */
export interface ReplayCommandOptions {
  hook: string[];
  workDir?: string;
  /** Skip malformed lines (each reported) instead of failing. */
  skipInvalid?: boolean;
}

/** Files under `dir` (relative paths) modified at or after `since` (ms). */
function filesWrittenSince(dir: string, since: number): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => fs.statSync(file).mtimeMs >= since)
    .map((file) => path.relative(dir, file))
    .sort();
}

/** `hookflow replay JOURNAL --hook JSON...`: drives the hooks from the journal, then says what it wrote where. */
export async function replayCommand(journal: string, opts: ReplayCommandOptions): Promise<void> {
  const hooks = opts.hook.map((text, i) => {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`--hook[${i}]`, `is not JSON: ${(error as Error).message}`);
    }
  });
  const workDir = path.resolve(opts.workDir ?? path.join(path.dirname(path.resolve(journal)), 'replay'));
  // mtime granularity: files written in this very millisecond must count.
  const started = Date.now() - 1;
  await replayJournal(journal, hooks, { workDir, logger: consoleLogger, skipInvalid: opts.skipInvalid });
  const written = filesWrittenSince(workDir, started);
  console.log(written.length === 0
    ? `hookflow replay: the hooks wrote nothing into ${workDir}`
    : `hookflow replay: wrote into ${workDir}:\n${written.map((f) => `  ${f}`).join('\n')}`);
}
