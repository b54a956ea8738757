import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../src/core/errors.js';
import { Hook } from '../src/core/hook.js';
import { RegisterHook } from '../src/core/hooks-registry.js';
import type { Logger } from '../src/core/services.js';
import { STAGES } from '../src/core/stages.js';
import { parseOptions } from '../src/config/parse-options.js';
import type { HookRunner } from '../src/runner/hook-runner.js';
import { OrderedQueue } from './ordered-queue.js';

/** The groups of work-dir artifacts UploadHook can copy. */
export const ARTIFACT_GROUPS = ['checkpoints', 'logs', 'journal'] as const;
/** One of {@link ARTIFACT_GROUPS}. */
export type ArtifactGroup = (typeof ARTIFACT_GROUPS)[number];

const UploadHookOptions = z.object({
  /** Folder the work dir's artifacts are mirrored to (created if missing). */
  dest: z.string().min(1),
  /** Upload after every `interval`-th new checkpoint; the end of the run always uploads. */
  interval: z.number().int().positive().optional(),
  /** Log `upload <stage>` at every stage the hook sees. */
  verbose: z.boolean().optional(),
  /** Most uploads waiting or running; beyond it the training loop waits for a free slot. */
  queueSize: z.number().int().positive().optional(),
  /** Attempts after a failed copy before it is reported. */
  retries: z.number().int().nonnegative().optional(),
  /** Milliseconds before the first retry, doubled for each further one. */
  retryDelay: z.number().nonnegative().optional(),
  /** What to upload: checkpoints (epoch_N, iter_N, best_*, latest), logs (*.log, *.log.json, tf_logs/), journal (events.jsonl). */
  include: z.array(z.enum(ARTIFACT_GROUPS)).min(1).optional(),
}).strict();
/** Options of {@link UploadHook}. */
export type UploadHookOptions = z.input<typeof UploadHookOptions>;

/** Something in the work dir worth uploading. */
export interface Artifact {
  /** Path relative to the work dir; also its path under the destination. */
  rel: string;
  /** Changes whenever the content does (sizes and mtimes of its files, or a link's target). */
  signature: string;
}

const CHECKPOINT_NAME = /^(?:(?:epoch|iter)_\d+|best_.+|latest)$/;
const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * The artifacts of `workDir` in the given groups, group by group, by name within a group.
 * Checkpoints and the journal are top-level entries; logs are the top-level `*.log` and
 * `*.log.json` files plus every file under `tf_logs/` (event files grow, so each is its own
 * artifact). Entries that vanish while being looked at are left out.
 */
export function scanArtifacts(workDir: string, include: readonly ArtifactGroup[]): Artifact[] {
  const entries = fs.readdirSync(workDir, { withFileTypes: true }).sort((a, b) => byName(a.name, b.name));
  const found: Artifact[] = [];
  const add = (rel: string) => {
    const signature = signatureOf(path.join(workDir, rel));
    if (signature !== undefined) found.push({ rel, signature });
  };
  for (const group of include) {
    for (const entry of entries) {
      const name = entry.name;
      if (group === 'checkpoints' && CHECKPOINT_NAME.test(name)) add(name);
      else if (group === 'journal' && name === 'events.jsonl') add(name);
      else if (group === 'logs' && (name.endsWith('.log') || name.endsWith('.log.json'))) add(name);
      else if (group === 'logs' && name === 'tf_logs' && entry.isDirectory()) filesUnder(path.join(workDir, name)).forEach((f) => add(path.join(name, f)));
    }
  }
  return found;
}

function signatureOf(file: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (stat.isSymbolicLink()) return `link:${fs.readlinkSync(file)}`;
  if (!stat.isDirectory()) return `${stat.size}:${stat.mtimeMs}`;
  return filesUnder(file).map((f) => `${f}:${signatureOf(path.join(file, f)) ?? '-'}`).join('|');
}

/** Files and links under `dir` (recursively), relative to it, sorted by name. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => byName(a.name, b.name))) {
    if (entry.isDirectory()) out.push(...filesUnder(path.join(dir, entry.name)).map((f) => path.join(entry.name, f)));
    else out.push(entry.name);
  }
  return out;
}

let tempCounter = 0;

/**
 * Copies `src` (a file, a symlink, or a directory tree) to `dst` so that `dst` appears whole or
 * not at all: the copy is made under a temporary name next to `dst`, then renamed into place.
 */
export async function copyAtomic(src: string, dst: string): Promise<void> {
  const stat = await fsp.lstat(src);
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  const temp = path.join(path.dirname(dst), `.${path.basename(dst)}.upload-${process.pid}-${tempCounter++}`);
  try {
    await copyInto(src, temp, stat);
    if (stat.isDirectory()) await replaceDirectory(temp, dst);
    else await fsp.rename(temp, dst);
  } catch (error) {
    await fsp.rm(temp, { recursive: true, force: true });
    throw error;
  }
}

async function copyInto(src: string, dst: string, stat: fs.Stats): Promise<void> {
  if (stat.isSymbolicLink()) await fsp.symlink(await fsp.readlink(src), dst);
  else if (!stat.isDirectory()) await fsp.copyFile(src, dst);
  else {
    await fsp.mkdir(dst);
    for (const name of await fsp.readdir(src)) {
      const from = path.join(src, name);
      await copyInto(from, path.join(dst, name), await fsp.lstat(from));
    }
  }
}

async function replaceDirectory(temp: string, dst: string): Promise<void> {
  // rename() cannot replace a non-empty directory: move the previous copy aside first.
  const previous = `${temp}.previous`;
  let moved = false;
  try {
    await fsp.rename(dst, previous);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await fsp.rename(temp, dst);
  if (moved) await fsp.rm(previous, { recursive: true, force: true });
}

/**
 * Mirrors the work dir's artifacts (checkpoints, logs, TensorBoard files, the journal) to
 * `dest` in the background while training goes on: the custom hook of the seed document,
 * made useful.
 *
 * When: after every `interval`-th checkpoint and at the end of the run. A checkpoint is noticed
 * when `runner.meta.hookMsgs.lastCkpt` changes; the check runs at the end of every
 * `afterTrainIter`/`afterTrainEpoch` stage (`deferUntilStageEnd`), so registered after
 * CheckpointHook (the default: a custom hook at NORMAL follows it) it sees the checkpoint of
 * the same stage; registered before it, one stage later.
 *
 * How: each check scans the work dir and queues what is new or changed since it was last
 * queued (sizes and mtimes), in order, through a bounded queue; when the queue is full the
 * training loop waits (backpressure). Training itself never waits for I/O, so while copies are
 * pending the hook yields one event-loop turn at each train-iteration end to let them move.
 * Copies are atomic at the destination. A failed copy is retried with backoff, then reported
 * with `runner.logger.error`; training goes on, and a later check tries it again. The end of
 * the run (after every `afterRun` hook, so log files are complete), or of a failing run (after
 * its `onException` stage), uploads what is left and waits for the queue to drain. Only rank 0 uploads. Nothing is deleted at the destination
 * (checkpoints removed locally by `maxKeepCkpts` stay uploaded).
 */
@RegisterHook()
export class UploadHook extends Hook<HookRunner> {
  readonly dest: string;
  readonly interval: number;
  readonly verbose: boolean;
  readonly queueSize: number;
  readonly retries: number;
  readonly retryDelay: number;
  readonly include: readonly ArtifactGroup[];
  /** Artifacts (work-dir relative paths) uploaded during the current run, in completion order. */
  readonly uploaded: string[] = [];
  /** Artifacts given up on during the current run, in order. */
  readonly failed: string[] = [];

  private queue: OrderedQueue | undefined;
  private workDir = '';
  private logger: Logger | undefined;
  // Last signature queued per artifact, and artifacts queued but not started yet.
  private readonly queued = new Map<string, string>();
  private readonly waiting = new Set<string>();
  private lastCkpt: unknown;
  private checkpoints = 0;

  constructor(options: UploadHookOptions) {
    super();
    const opts = parseOptions(UploadHookOptions, options, 'UploadHook');
    this.dest = path.resolve(opts.dest);
    this.interval = opts.interval ?? 1;
    this.verbose = opts.verbose ?? false;
    this.queueSize = opts.queueSize ?? 8;
    this.retries = opts.retries ?? 3;
    this.retryDelay = opts.retryDelay ?? 200;
    this.include = [...new Set(opts.include ?? ARTIFACT_GROUPS)];
    // Verbose mode subscribes to every stage to print it (`upload beforeRun`, as in the seed example).
    if (this.verbose) this.on([...STAGES, 'beforeEpoch', 'afterEpoch'], (runner, event) => runner.logger.info(`upload ${event.stage}`), { label: 'verbose' });
  }

  override beforeRun(runner: HookRunner): void {
    this.queue = undefined;
    if (runner.rank !== 0) return;
    if (!runner.workDir) throw new Error('UploadHook needs a runner workDir to upload from');
    if (this.dest === runner.workDir) throw new ConfigError('UploadHook.dest', `must not be the work dir itself (${this.dest})`);
    this.workDir = runner.workDir;
    const logger = (this.logger = runner.logger);
    this.uploaded.length = 0;
    this.failed.length = 0;
    this.queued.clear();
    this.waiting.clear();
    this.lastCkpt = undefined;
    this.checkpoints = 0;
    this.queue = new OrderedQueue({
      capacity: this.queueSize,
      retries: this.retries,
      retryDelay: this.retryDelay,
      onFailure: (rel, error, attempts) => {
        this.failed.push(rel);
        this.queued.delete(rel); // a later check tries again
        logger.error(`UploadHook: could not upload ${rel} to ${this.dest} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${(error as Error)?.message ?? String(error)}`);
      },
    });
  }

  override afterTrainIter(runner: HookRunner): void {
    this.checkAtStageEnd(runner);
  }

  override afterTrainEpoch(runner: HookRunner): void {
    this.checkAtStageEnd(runner);
  }

  override afterRun(runner: HookRunner): void {
    this.finishAtStageEnd(runner);
  }

  /**
   * A failing run uploads what it leaves too (the logs and journal that say why, the last
   * checkpoints), as its end would have: after the stage, so the journal holds the exception
   * event. The copies are bounded by the hook's `timeout` like any of its promises.
   */
  override onException(runner: HookRunner): void {
    this.finishAtStageEnd(runner);
  }

  /** At the end of the current stage: queues what is left and waits for the queue to drain. */
  private finishAtStageEnd(runner: HookRunner): void {
    const queue = this.queue;
    if (!queue) return;
    this.queue = undefined;
    runner.deferUntilStageEnd(async () => {
      await this.queueChanges(queue);
      await queue.drain();
      const failed = this.failed.length > 0 ? `; ${this.failed.length} failed` : '';
      this.logger!.info(`UploadHook: uploaded ${this.uploaded.length} artifact${this.uploaded.length === 1 ? '' : 's'} to ${this.dest}${failed}`);
    });
  }

  private checkAtStageEnd(runner: HookRunner): void {
    if (this.queue) runner.deferUntilStageEnd(() => this.atStageEnd(runner));
  }

  private atStageEnd(runner: HookRunner): Promise<void> | undefined {
    const lastCkpt = (runner.meta?.hookMsgs as { lastCkpt?: unknown } | undefined)?.lastCkpt;
    if (lastCkpt !== undefined && lastCkpt !== null && lastCkpt !== this.lastCkpt) {
      this.lastCkpt = lastCkpt;
      this.checkpoints++;
      if (this.checkpoints % this.interval === 0) return this.queueChanges(this.queue!).then(() => this.letCopiesRun());
    }
    return this.letCopiesRun();
  }

  /**
   * The training loop is synchronous JavaScript: it never waits for I/O on its own, so file
   * copies would only move while it is blocked. While copies are pending, each stage end
   * gives them one event-loop turn.
   */
  private letCopiesRun(): Promise<void> | undefined {
    return this.queue!.size > 0 ? new Promise((resolve) => setImmediate(resolve)) : undefined;
  }

  /** Queues every artifact that is new or changed since it was last queued (waits while the queue is full). */
  private async queueChanges(queue: OrderedQueue): Promise<void> {
    for (const { rel, signature } of scanArtifacts(this.workDir, this.include)) {
      if (this.queued.get(rel) === signature) continue;
      this.queued.set(rel, signature);
      // A copy still waiting will read the newer content when it starts.
      if (this.waiting.has(rel)) continue;
      this.waiting.add(rel);
      await queue.push(rel, () => this.copy(rel));
    }
  }

  private async copy(rel: string): Promise<void> {
    this.waiting.delete(rel);
    const src = path.join(this.workDir, rel);
    try {
      await copyAtomic(src, path.join(this.dest, rel));
      this.uploaded.push(rel);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code !== 'ENOENT' || !(e.path === src || e.path?.startsWith(src + path.sep))) throw error;
      // Removed locally before its turn (e.g. an old checkpoint past maxKeepCkpts): nothing to copy.
      this.queued.delete(rel);
      this.logger!.warn(`UploadHook: ${rel} was removed from the work dir before it could be uploaded`);
    }
  }
}
