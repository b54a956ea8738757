import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../backend/tfjs.js';
import { z } from 'zod';
import type { RunState } from '../../core/run-state.js';
import type { EventStage } from '../../core/stages.js';
import type { OptimizerState } from '../optim/param-group-optimizer.js';
import { MANIFEST_FILE, checkFile, digestOf, encodeManifest, FileDigests, verifyManifest, type FileDigest } from './checkpoint-manifest.js';
import { fsyncDir, processAlive, scratchName, scratchOwner, writeFileDurable } from './durable-fs.js';
import { MODEL_FILE, WEIGHTS_FILE, fileIOHandler } from './file-io-handler.js';
import { hookflowVersion } from './hookflow-version.js';

/** What the checkpoint is and its meta (covered by manifest.json, which is written after it). */
export const META_FILE = 'meta.json';
/** Hyper-parameters, step counts and slot layout of the optimizer(s). */
export const OPTIMIZER_FILE = 'optimizer.json';
/** The optimizer slot tensors, one buffer for all optimizers. */
export const OPTIMIZER_WEIGHTS_FILE = 'optimizer.bin';
/** The entry of an output dir that names its newest checkpoint. */
export const LATEST = 'latest';
/** `format` of a checkpoint's meta.json. */
export const CHECKPOINT_FORMAT = 'hookflow-checkpoint';
/**
 * The checkpoint layout version this code writes: 2 adds manifest.json (covering meta.json too).
 * Version 1 (file digests inside meta.json, meta.json itself unchecked) is still read, with a warning.
 */
export const CHECKPOINT_FORMAT_VERSION = 2;
const LEGACY_FORMAT_VERSION = 1;

// Scratch entries of an output dir; names starting with '.' are never checkpoints.
const TMP_PREFIX = '.tmp-';
const TRASH_PREFIX = '.trash-';
const LINK_PREFIX = '.latest-';

/** A checkpoint that cannot be used; the message names its path and what is wrong. */
export class CheckpointError extends Error {
  constructor(readonly path: string, readonly detail: string, message = `checkpoint ${path}: ${detail}`) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/**
 * A checkpoint's meta: MMCV's `epoch` and `iter` (the runner's counters after the snapshot's
 * stage), whatever `runner.meta` held (`hookMsgs`, `config`, ...), plus what an exact resume
 * needs.
 */
export interface CheckpointMeta {
  /** Completed epochs (EpochBasedRunner); the pass of the last batch (IterBasedRunner). */
  epoch: number;
  /** Completed training iterations. */
  iter: number;
  /** Sequence number of the last event the snapshot includes; the journal continues after it. */
  seq: number;
  /** The stage the snapshot was taken after (null before any event). */
  stage: EventStage | null;
  /** The runner's counters (the fold of the events up to `seq`). */
  runState: RunState;
  /** `hook.stateDict()` of every hook that has state, by hook id. */
  hookStates: Record<string, unknown>;
  hookflowVersion: string;
  /** ISO 8601 time of the save. */
  time: string;
  [key: string]: unknown;
}

/** Optimizer state(s) of a checkpoint: one optimizer, or a map of named optimizers. */
export type OptimizerStates =
  | { kind: 'single'; state: OptimizerState }
  | { kind: 'named'; states: Record<string, OptimizerState> };

/** What {@link CheckpointIO.write} stores. Tensors stay the caller's. */
export interface CheckpointContents {
  /** Model weights by key (`layerName/weightName`). */
  weights: tf.NamedTensorMap;
  /** tfjs layers-model topology (`LayersModel.toJSON(null, false)`), for `tf.loadLayersModel`. */
  modelTopology?: object | null;
  optimizer?: OptimizerStates | null;
  meta: CheckpointMeta;
}

/** A checkpoint read back. Its tensors are the caller's: release them with {@link disposeCheckpoint}. */
export interface LoadedCheckpoint {
  /** The checkpoint directory (`latest` resolved). */
  path: string;
  meta: CheckpointMeta;
  weights: tf.NamedTensorMap;
  /** Null when the checkpoint has none or it was not asked for. */
  optimizer: OptimizerStates | null;
  /** Things a reader should tell the user (e.g. an old checkpoint whose meta.json has no checksum). */
  warnings?: string[];
}

/** Options of {@link CheckpointIO.write}. */
export interface CheckpointWriteOptions {
  /** Point `<outDir>/latest` at the new checkpoint (default true). */
  createSymlink?: boolean;
}

/**
 * Storage of checkpoints (`TOKENS.CheckpointIO` in a runner's container). Writes are atomic: a
 * reader sees a complete checkpoint or none.
 */
export interface CheckpointIO {
  /** Writes `<outDir>/<name>` (replacing one of that name); returns its path. */
  write(outDir: string, name: string, contents: CheckpointContents, options?: CheckpointWriteOptions): Promise<string>;
  /** Reads and verifies a checkpoint directory or a `latest` entry. */
  read(checkpoint: string, options?: { optimizer?: boolean }): Promise<LoadedCheckpoint>;
  exists(checkpoint: string): boolean;
  remove(checkpoint: string): void;
  /** Removes what writers that no longer run left in `outDir` (scratch entries of a crash mid-write or mid-prune). */
  tidy?(outDir: string): void;
}

/** The checkpoint name for `count`: MMCV's `filename_tmpl.format(count)` (`'epoch_{}'` → `epoch_3`). */
export function formatCheckpointName(filenameTmpl: string, count: number): string {
  return filenameTmpl.replaceAll('{}', String(count));
}

/** MMCV's default templates, without the `.pth` (a checkpoint is a directory). */
export function defaultFilenameTmpl(byEpoch: boolean): string {
  return byEpoch ? 'epoch_{}' : 'iter_{}';
}

/** Releases the tensors of a loaded checkpoint. */
export function disposeCheckpoint(checkpoint: LoadedCheckpoint): void {
  tf.dispose(checkpoint.weights);
  const opt = checkpoint.optimizer;
  if (!opt) return;
  for (const state of opt.kind === 'single' ? [opt.state] : Object.values(opt.states)) tf.dispose(state.slots);
}

const int = z.number().int().nonnegative();
const MetaSchema = z.looseObject({
  epoch: int,
  iter: int,
  seq: int,
  stage: z.string().nullable(),
  runState: z.object({ seq: int, mode: z.enum(['train', 'val']).nullable(), epoch: int, iter: int, innerIter: int }).strict(),
  hookStates: z.record(z.string(), z.unknown()),
  hookflowVersion: z.string(),
  time: z.string(),
});
const Envelope = z.object({ format: z.literal(CHECKPOINT_FORMAT), formatVersion: z.literal(CHECKPOINT_FORMAT_VERSION), meta: MetaSchema }).strict();
const LegacyEnvelope = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  formatVersion: z.literal(LEGACY_FORMAT_VERSION),
  files: FileDigests,
  meta: MetaSchema,
}).strict();
const OptimizerFile = z.object({
  kind: z.enum(['single', 'named']),
  optimizers: z.array(z.object({
    name: z.string().nullable(),
    type: z.string(),
    paramGroups: z.array(z.looseObject({ params: z.array(z.string()) })),
    steps: z.record(z.string(), int),
    weightSpecs: z.array(z.looseObject({ name: z.string(), shape: z.array(int), dtype: z.string() })),
    byteOffset: int,
    byteLength: int,
  }).strict()),
}).strict();

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`;
}

/**
 * The checkpoint directory `checkpoint` stands for: itself, or what a `latest` entry names (a
 * relative symlink, or a pointer file named `latest` holding the name where symlinks are
 * unavailable). Any other regular file is refused: it is not a checkpoint.
 */
export function resolveCheckpointPath(checkpoint: string): string {
  const abs = path.resolve(checkpoint);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(abs);
  } catch {
    throw new CheckpointError(abs, 'does not exist');
  }
  if (stat.isDirectory()) return abs;
  let target: string;
  if (stat.isSymbolicLink()) {
    target = path.resolve(path.dirname(abs), fs.readlinkSync(abs));
  } else {
    const content = path.basename(abs) === LATEST && stat.size < 4096 ? fs.readFileSync(abs, 'utf8').trim() : '';
    if (content === '' || /[\r\n]/.test(content)) {
      const detail = `is a file, not a checkpoint directory or a ${LATEST} pointer`;
      throw new CheckpointError(abs, detail, `${abs} ${detail}`);
    }
    target = path.resolve(path.dirname(abs), content);
  }
  if (!fs.existsSync(target) || !fs.statSync(target).isDirectory()) throw new CheckpointError(abs, `points at ${target}, which does not exist`);
  return target;
}

/** A checkpoint whose manifest and files were checked. */
export interface VerifiedCheckpoint {
  path: string;
  meta: CheckpointMeta;
  files: ReadonlySet<string>;
  /** Set for a readable checkpoint that is not fully covered by checksums (format version 1). */
  warnings: string[];
}

function readMetaJson(dir: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, META_FILE), 'utf8'));
  } catch (error) {
    throw new CheckpointError(dir, `${META_FILE} is not valid JSON (${(error as Error).message})`);
  }
}

function checkFormat(dir: string, raw: unknown): void {
  const format = (raw as { format?: unknown } | null)?.format;
  if (format !== CHECKPOINT_FORMAT) throw new CheckpointError(dir, `is not a hookflow checkpoint (${META_FILE} has format ${JSON.stringify(format)})`);
  const version = (raw as { formatVersion?: unknown }).formatVersion;
  if (version !== CHECKPOINT_FORMAT_VERSION && version !== LEGACY_FORMAT_VERSION) {
    throw new CheckpointError(dir, `has format version ${JSON.stringify(version)}; this hookflow reads versions ${LEGACY_FORMAT_VERSION} and ${CHECKPOINT_FORMAT_VERSION}`);
  }
}

function requireModelFiles(dir: string, files: Iterable<string>, listedIn: string): void {
  const listed = new Set(files);
  for (const required of [MODEL_FILE, WEIGHTS_FILE]) {
    if (!listed.has(required)) throw new CheckpointError(dir, `${listedIn} lists no ${required}`);
  }
}

/** A format-1 checkpoint: digests of the other files inside meta.json, meta.json itself unchecked. */
function verifyLegacy(dir: string, raw: unknown): VerifiedCheckpoint {
  const parsed = LegacyEnvelope.safeParse(raw);
  if (!parsed.success) throw new CheckpointError(dir, `${META_FILE} is malformed: ${describeIssue(parsed.error)}`);
  const { files, meta } = parsed.data;
  requireModelFiles(dir, Object.keys(files), META_FILE);
  for (const [name, entry] of Object.entries(files)) {
    const problem = checkFile(dir, name, entry, META_FILE);
    if (problem) throw new CheckpointError(dir, problem.detail);
  }
  const warning = `checkpoint ${dir} has format version ${LEGACY_FORMAT_VERSION} (no ${MANIFEST_FILE}): its files are checked, but ${META_FILE} itself is not; save a new checkpoint to get full coverage`;
  return { path: dir, meta: meta as CheckpointMeta, files: new Set(Object.keys(files)), warnings: [warning] };
}

/**
 * Checks that `checkpoint` is complete and intact: manifest.json (written last) is there and
 * matches its own checksum, every file it lists (meta.json and the weights included) has its
 * recorded size and CRC32, and meta.json describes a hookflow checkpoint. Format-1 checkpoints
 * (before manifests) are checked as far as they can be and come back with a warning. Throws a
 * {@link CheckpointError} naming the file and what is wrong with it.
 */
export function verifyCheckpoint(checkpoint: string): VerifiedCheckpoint {
  const dir = resolveCheckpointPath(checkpoint);
  if (!fs.existsSync(path.join(dir, MANIFEST_FILE))) {
    const metaPath = path.join(dir, META_FILE);
    const legacy = fs.existsSync(metaPath) ? readMetaJson(dir) : undefined;
    if ((legacy as { formatVersion?: unknown } | undefined)?.formatVersion === LEGACY_FORMAT_VERSION) {
      checkFormat(dir, legacy);
      return verifyLegacy(dir, legacy);
    }
    throw new CheckpointError(dir, `${MANIFEST_FILE} is missing (the checkpoint was not completely written, or this is not a checkpoint directory)`);
  }
  const verified = verifyManifest(dir);
  if ('problem' in verified) throw new CheckpointError(dir, verified.problem.detail);
  requireModelFiles(dir, verified.files, MANIFEST_FILE);
  if (!verified.files.includes(META_FILE)) throw new CheckpointError(dir, `${MANIFEST_FILE} lists no ${META_FILE}`);
  const raw = readMetaJson(dir);
  checkFormat(dir, raw);
  const parsed = Envelope.safeParse(raw);
  if (!parsed.success) throw new CheckpointError(dir, `${META_FILE} is malformed: ${describeIssue(parsed.error)}`);
  return { path: dir, meta: parsed.data.meta as CheckpointMeta, files: new Set(verified.files), warnings: [] };
}

async function encodeOptimizers(states: OptimizerStates): Promise<{ json: string; data: Uint8Array }> {
  const list: Array<[string | null, OptimizerState]> = states.kind === 'single' ? [[null, states.state]] : Object.entries(states.states);
  const parts: Uint8Array[] = [];
  let offset = 0;
  const optimizers = [];
  for (const [name, state] of list) {
    const { data, specs } = await tf.io.encodeWeights(state.slots);
    optimizers.push({ name, type: state.type, paramGroups: state.paramGroups, steps: state.steps, weightSpecs: specs, byteOffset: offset, byteLength: data.byteLength });
    parts.push(new Uint8Array(data));
    offset += data.byteLength;
  }
  return { json: JSON.stringify({ kind: states.kind, optimizers }, null, 2), data: Buffer.concat(parts) };
}

function decodeOptimizers(dir: string): OptimizerStates {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(dir, OPTIMIZER_FILE), 'utf8'));
  } catch (error) {
    throw new CheckpointError(dir, `${OPTIMIZER_FILE} is not valid JSON (${(error as Error).message})`);
  }
  const parsed = OptimizerFile.safeParse(raw);
  if (!parsed.success) throw new CheckpointError(dir, `${OPTIMIZER_FILE} is malformed: ${describeIssue(parsed.error)}`);
  const bin = fs.readFileSync(path.join(dir, OPTIMIZER_WEIGHTS_FILE));
  const { kind, optimizers } = parsed.data;
  const states = optimizers.map((o) => {
    if (o.byteOffset + o.byteLength > bin.byteLength) {
      throw new CheckpointError(dir, `${OPTIMIZER_WEIGHTS_FILE} is shorter than ${OPTIMIZER_FILE} describes`);
    }
    const data = bin.buffer.slice(bin.byteOffset + o.byteOffset, bin.byteOffset + o.byteOffset + o.byteLength) as ArrayBuffer;
    const slots = tf.io.decodeWeights(data, o.weightSpecs as tf.io.WeightsManifestEntry[]);
    return { name: o.name, state: { type: o.type, paramGroups: o.paramGroups, steps: o.steps, slots } as OptimizerState };
  });
  if (kind === 'single') {
    if (states.length !== 1) throw new CheckpointError(dir, `${OPTIMIZER_FILE} says 'single' but holds ${states.length} optimizers`);
    return { kind, state: states[0]!.state };
  }
  return { kind, states: Object.fromEntries(states.map((s) => [s.name ?? '', s.state])) };
}

/** What a checkpoint name must be. */
export const CHECKPOINT_NAME_RULE = `a plain directory name, not '${LATEST}', not starting with '.'`;

/** Whether `name` can name a checkpoint directory inside its output dir ({@link CHECKPOINT_NAME_RULE}). */
export function isUsableCheckpointName(name: string): boolean {
  return !(name === '' || /[/\\]/.test(name) || name.startsWith('.') || name === LATEST);
}

function checkName(outDir: string, name: string): void {
  if (!isUsableCheckpointName(name)) {
    throw new CheckpointError(path.join(outDir, name), `'${name}' is not a usable checkpoint name (it must be ${CHECKPOINT_NAME_RULE})`);
  }
}

const SYMLINK_UNSUPPORTED = new Set(['EPERM', 'EACCES', 'ENOSYS', 'ENOTSUP', 'EOPNOTSUPP', 'EINVAL']);

/** Options of {@link FileCheckpointIO}. */
export interface FileCheckpointIOOptions {
  /**
   * How `latest` names the newest checkpoint: a relative symlink (true), a pointer file holding
   * the checkpoint's name (false), or a symlink where the file system allows one, else a
   * pointer file (undefined, the default).
   */
  symlinks?: boolean;
}

/**
 * Checkpoints as directories on the local file system:
 * `model.json` + `weights.bin` (tfjs layers-model format: `tf.loadLayersModel(fileIOHandler(dir))`
 * loads it), `optimizer.json` + `optimizer.bin` (when saved), `meta.json`, and `manifest.json` (sizes and
 * CRC32s of all of them and of itself), written last.
 *
 * A write goes into a scratch directory inside the output dir, every file is flushed, then the
 * directory is renamed into place, so a crash leaves either the whole checkpoint or a scratch
 * directory (ignored, and removed by the next write once its writer is gone). `latest` is then
 * replaced atomically (a new link or pointer renamed over the old one).
 */
export class FileCheckpointIO implements CheckpointIO {
  private symlinks: boolean | undefined;

  constructor(options: FileCheckpointIOOptions = {}) {
    this.symlinks = options.symlinks;
  }

  async write(outDir: string, name: string, contents: CheckpointContents, options: CheckpointWriteOptions = {}): Promise<string> {
    const dir = path.resolve(outDir);
    checkName(dir, name);
    fs.mkdirSync(dir, { recursive: true });
    this.sweepStale(dir);
    const tmp = path.join(dir, scratchName(dir, TMP_PREFIX));
    fs.mkdirSync(tmp);
    const final = path.join(dir, name);
    try {
      await this.writeContents(tmp, contents);
      fsyncDir(tmp);
      this.moveIntoPlace(tmp, final);
    } catch (error) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw error;
    }
    if (options.createSymlink ?? true) this.pointLatest(dir, name);
    return final;
  }

  async read(checkpoint: string, options: { optimizer?: boolean } = {}): Promise<LoadedCheckpoint> {
    const verified = verifyCheckpoint(checkpoint);
    const artifacts = await fileIOHandler(verified.path).load();
    const weights = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), artifacts.weightSpecs ?? []);
    let optimizer: OptimizerStates | null = null;
    try {
      if ((options.optimizer ?? true) && verified.files.has(OPTIMIZER_FILE)) optimizer = decodeOptimizers(verified.path);
    } catch (error) {
      tf.dispose(weights);
      throw error;
    }
    return { path: verified.path, meta: verified.meta, weights, optimizer, warnings: verified.warnings };
  }

  exists(checkpoint: string): boolean {
    return fs.existsSync(checkpoint);
  }

  /** Removes a checkpoint: renamed away first, so it never lingers half-deleted under its name. */
  remove(checkpoint: string): void {
    const abs = path.resolve(checkpoint);
    const dir = path.dirname(abs);
    const trash = path.join(dir, scratchName(dir, TRASH_PREFIX));
    this.rename(abs, trash);
    fs.rmSync(trash, { recursive: true, force: true });
  }

  /** Renames an entry of an output dir: every step that makes a write, prune or `latest` swap visible. */
  protected rename(from: string, to: string): void {
    fs.renameSync(from, to);
  }

  /** Writes one file of a checkpoint (flushed). */
  protected writeFile(dir: string, name: string, data: string | Uint8Array): void {
    writeFileDurable(path.join(dir, name), data);
  }

  private async writeContents(dir: string, contents: CheckpointContents): Promise<void> {
    const { data, specs } = await tf.io.encodeWeights(contents.weights);
    await fileIOHandler(dir).save({
      modelTopology: contents.modelTopology ?? undefined,
      format: 'layers-model',
      generatedBy: `hookflow ${hookflowVersion()}`,
      convertedBy: null,
      weightSpecs: specs,
      weightData: data,
    });
    if (contents.optimizer) {
      const encoded = await encodeOptimizers(contents.optimizer);
      this.writeFile(dir, OPTIMIZER_WEIGHTS_FILE, encoded.data);
      this.writeFile(dir, OPTIMIZER_FILE, encoded.json);
    }
    const envelope = { format: CHECKPOINT_FORMAT, formatVersion: CHECKPOINT_FORMAT_VERSION, meta: contents.meta };
    this.writeFile(dir, META_FILE, JSON.stringify(envelope, null, 2));
    // Last: the manifest covers every file written so far, meta.json included.
    const files: Record<string, FileDigest> = {};
    for (const file of fs.readdirSync(dir).sort()) files[file] = digestOf(fs.readFileSync(path.join(dir, file)));
    this.writeFile(dir, MANIFEST_FILE, encodeManifest(files));
  }

  private moveIntoPlace(tmp: string, final: string): void {
    const dir = path.dirname(final);
    if (fs.existsSync(final)) {
      // rename() cannot replace a non-empty directory: move the old one aside first.
      const trash = path.join(dir, scratchName(dir, TRASH_PREFIX));
      this.rename(final, trash);
      this.rename(tmp, final);
      fsyncDir(dir);
      fs.rmSync(trash, { recursive: true, force: true });
    } else {
      this.rename(tmp, final);
      fsyncDir(dir);
    }
  }

  /** Points `<dir>/latest` at `name`: a staged link or pointer file renamed over the old one. */
  protected pointLatest(dir: string, name: string): void {
    const staged = path.join(dir, scratchName(dir, LINK_PREFIX));
    if (this.symlinks !== false) {
      try {
        fs.symlinkSync(name, staged, 'dir');
        this.symlinks = true;
      } catch (error) {
        if (this.symlinks === true || !SYMLINK_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
        this.symlinks = false;
      }
    }
    if (this.symlinks === false) writeFileDurable(staged, `${name}\n`);
    this.rename(staged, path.join(dir, LATEST));
    fsyncDir(dir);
  }

  tidy(outDir: string): void {
    if (fs.existsSync(outDir)) this.sweepStale(path.resolve(outDir));
  }

  /** Removes scratch entries left by writers that no longer run (a crash mid-write). */
  private sweepStale(dir: string): void {
    for (const entry of fs.readdirSync(dir)) {
      const owner = [TMP_PREFIX, TRASH_PREFIX, LINK_PREFIX].map((p) => scratchOwner(entry, p)).find((pid) => pid !== undefined);
      if (owner !== undefined && owner !== process.pid && !processAlive(owner)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
    }
  }
}
