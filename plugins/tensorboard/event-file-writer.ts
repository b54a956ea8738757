/**
 * Writes TensorBoard event files (`events.out.tfevents.*`) directly, without
 * TensorFlow: TFRecord-framed `Event` protobufs, first a `brain.Event:2`
 * file-version record, then summaries.
 *
 * This is the file-format layer only; it knows nothing about runners or hooks.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProtoWriter } from './protobuf.js';
import { frameRecord } from './tfrecord.js';

/** The `file_version` string every TensorBoard-compatible writer puts in its first record. */
export const FILE_VERSION = 'brain.Event:2';

/** Prefix of every event file name; TensorBoard only needs the basename to contain "tfevents". */
export const EVENT_FILE_PREFIX = 'events.out.tfevents.';

/** TensorFlow `DataType` enum values used by the writer and reader. */
export const DataType = {
  DT_INVALID: 0,
  DT_FLOAT: 1,
  DT_DOUBLE: 2,
  DT_INT32: 3,
  DT_STRING: 7,
  DT_INT64: 9,
  DT_BOOL: 10,
  DT_HALF: 19,
} as const;

/** Plugin names TensorBoard uses to route tensor summaries. */
export const PluginName = {
  SCALARS: 'scalars',
  TEXT: 'text',
  HISTOGRAMS: 'histograms',
} as const;

/** Field numbers from `event.proto`, `summary.proto`, `tensor.proto`, `tensor_shape.proto`. */
const F = {
  event: { wallTime: 1, step: 2, fileVersion: 3, summary: 5 },
  summary: { value: 1 },
  value: { tag: 1, simpleValue: 2, tensor: 8, metadata: 9 },
  metadata: { pluginData: 1 },
  pluginData: { pluginName: 1 },
  tensor: { dtype: 1, shape: 2, content: 4, stringVal: 8 },
  shape: { dim: 2 },
  dim: { size: 1 },
} as const;

/**
 * How scalars are encoded.
 * - `'tensor'` (default): TF2 style, a rank-0 DT_FLOAT tensor with the 4 bytes
 *   in `tensor_content`, plus `scalars` plugin metadata on the first value of
 *   each tag. Both TensorBoard loaders read it natively, without migration.
 * - `'simple_value'`: TF1 / tensorboardX style `Summary.Value.simple_value`
 *   (float32, no metadata). Equally readable; both loaders migrate it.
 */
export type ScalarEncoding = 'tensor' | 'simple_value';

/** Options for {@link EventFileWriter}. */
export interface EventFileWriterOptions {
  /** Wall clock in milliseconds since the Unix epoch, like `Date.now` (the default). Inject a fixed clock for golden-byte tests. */
  clock?: () => number;
  /** Host name in the file name; defaults to `os.hostname()`. */
  hostname?: string;
  /** Process id in the file name; defaults to `process.pid`. */
  pid?: number;
  /** Appended to the file name after the uid (e.g. `'.v2'`); default none. Must not contain a path separator. */
  filenameSuffix?: string;
  /** Scalar layout; default `'tensor'`. See {@link ScalarEncoding}. */
  scalarEncoding?: ScalarEncoding;
  /** Pending records that trigger a write to the file; default 10. `1` writes every record at once. */
  maxQueue?: number;
  /** Longest time in ms a record may wait in memory before it is written; default 2000. `0` writes every record at once. */
  flushIntervalMs?: number;
}

/** Options for {@link EventFileWriter.addHistogram}. */
export interface HistogramOptions {
  /** Number of equal-width buckets; default 30 (TensorBoard's default). */
  buckets?: number;
}

type TagKind = (typeof PluginName)[keyof typeof PluginName];

// Process-wide counter so two writers in one process never share a name, even in the same second.
let globalUid = 0;

// Writers still open at process exit get their queued records written (synchronously, as 'exit' requires).
const openWriters = new Set<EventFileWriter>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const writer of openWriters) {
      try {
        writer.flush();
      } catch {
        // Nothing useful can be done about a failing write while the process exits.
      }
    }
  });
}

/**
 * Appends TensorBoard events to one new file
 * `<logDir>/events.out.tfevents.<10-digit seconds>.<hostname>.<pid>.<uid><suffix>`
 * (TensorBoard's own naming; `uid` is a per-process counter, and the file is
 * created exclusively, so two writers never share a file).
 *
 * **Write policy.** Records are encoded at once and queued in memory. The queue
 * is written to the file with one synchronous `fs.writeSync` on an append-mode
 * fd when it holds `maxQueue` records, when its oldest record is
 * `flushIntervalMs` old (an unref'd timer, so an idle process is not kept
 * alive), on {@link flush}, on {@link close}, and at process exit. Written
 * bytes are visible to TensorBoard immediately; {@link flush} and {@link close}
 * also `fsync`. Because each record is appended whole, a crash can at worst
 * leave a truncated final record, which TensorBoard's readers skip as
 * "not yet written".
 *
 * The `brain.Event:2` record is written (not queued) when the file is created,
 * so a new run shows up in TensorBoard straight away.
 */
export class EventFileWriter {
  /** Absolute path of the event file. */
  readonly path: string;
  /** Basename of the event file. */
  readonly fileName: string;

  private readonly clock: () => number;
  private readonly scalarEncoding: ScalarEncoding;
  private readonly maxQueue: number;
  private readonly flushIntervalMs: number;
  private fd: number | undefined;
  private queue: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  // A write that failed inside the timer is re-thrown from the next call, never lost.
  private deferredError: unknown;
  private readonly tagKinds = new Map<string, TagKind>();

  /**
   * Creates `logDir` (recursively) if needed, creates a new event file in it
   * and writes the `brain.Event:2` record.
   *
   * @param logDir Run directory; TensorBoard names the run after its path relative to the logdir it was started on.
   * @param options See {@link EventFileWriterOptions}.
   */
  constructor(logDir: string, options: EventFileWriterOptions = {}) {
    this.clock = options.clock ?? Date.now;
    if (typeof this.clock !== 'function') throw new TypeError('EventFileWriter: clock must be a function returning milliseconds');
    this.scalarEncoding = options.scalarEncoding ?? 'tensor';
    if (this.scalarEncoding !== 'tensor' && this.scalarEncoding !== 'simple_value') {
      throw new RangeError(`EventFileWriter: scalarEncoding must be 'tensor' or 'simple_value', got ${String(this.scalarEncoding)}`);
    }
    this.maxQueue = options.maxQueue ?? 10;
    if (!Number.isSafeInteger(this.maxQueue) || this.maxQueue < 1) {
      throw new RangeError(`EventFileWriter: maxQueue must be a positive integer, got ${this.maxQueue}`);
    }
    this.flushIntervalMs = options.flushIntervalMs ?? 2000;
    if (!Number.isFinite(this.flushIntervalMs) || this.flushIntervalMs < 0) {
      throw new RangeError(`EventFileWriter: flushIntervalMs must be a finite number >= 0, got ${this.flushIntervalMs}`);
    }
    const hostname = options.hostname ?? os.hostname();
    const pid = options.pid ?? process.pid;
    const suffix = options.filenameSuffix ?? '';
    for (const [what, part] of [['hostname', hostname], ['filenameSuffix', suffix]] as const) {
      if (/[/\\\0]/.test(part)) throw new RangeError(`EventFileWriter: ${what} must not contain a path separator or NUL, got ${JSON.stringify(part)}`);
    }
    if (!Number.isSafeInteger(pid) || pid < 0) throw new RangeError(`EventFileWriter: pid must be a non-negative integer, got ${pid}`);

    const nowMs = this.now();
    // TF's EventsWriter uses whole seconds for both the name and the file_version record.
    const seconds = Math.floor(nowMs / 1000);
    if (seconds < 0 || seconds > 9_999_999_999) throw new RangeError(`EventFileWriter: clock gave ${nowMs} ms, outside the range a 10-digit file timestamp can hold`);
    const stamp = String(seconds).padStart(10, '0');

    fs.mkdirSync(logDir, { recursive: true });
    let fd: number | undefined;
    let fileName = '';
    // 'ax' = O_APPEND|O_CREAT|O_EXCL: never append into a file another writer (or process) owns.
    while (fd === undefined) {
      fileName = `${EVENT_FILE_PREFIX}${stamp}.${hostname}.${pid}.${globalUid++}${suffix}`;
      try {
        fd = fs.openSync(path.join(logDir, fileName), 'ax');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    this.fd = fd;
    this.fileName = fileName;
    this.path = path.resolve(logDir, fileName);
    try {
      const first = new ProtoWriter().doubleField(F.event.wallTime, seconds).stringField(F.event.fileVersion, FILE_VERSION);
      writeAll(fd, frameRecord(first.finish()));
    } catch (e) {
      fs.closeSync(fd);
      this.fd = undefined;
      throw e;
    }
    openWriters.add(this);
    installExitHook();
  }

  /** True after {@link close}. */
  get closed(): boolean {
    return this.fd === undefined;
  }

  /**
   * Adds one scalar. The value is stored as float32 (what TensorBoard's scalar
   * plugin requires); NaN and ±Infinity are written as such, finite values
   * beyond float32 range become ±Infinity.
   *
   * @param tag Non-empty series name, e.g. `'train/loss'`.
   * @param value The number.
   * @param step Integer step (int64 in the file; must be a safe integer here).
   * @param wallTimeMs Milliseconds since the epoch; defaults to the clock.
   */
  addScalar(tag: string, value: number, step: number, wallTimeMs?: number): void {
    this.checkCommon('addScalar', tag, step, wallTimeMs);
    if (typeof value !== 'number') throw new TypeError(`EventFileWriter.addScalar: value for tag "${tag}" must be a number, got ${typeof value}`);
    const first = this.claimTag('addScalar', tag, PluginName.SCALARS);
    const v = new ProtoWriter().stringField(F.value.tag, tag);
    if (this.scalarEncoding === 'simple_value') {
      // simple_value is a oneof member: written even when 0.
      v.floatField(F.value.simpleValue, value);
    } else {
      const content = Buffer.allocUnsafe(4);
      content.writeFloatLE(value, 0);
      v.messageField(F.value.tensor, tensorProto(DataType.DT_FLOAT, [], (t) => t.bytesField(F.tensor.content, content)));
      if (first) v.messageField(F.value.metadata, pluginMetadata(PluginName.SCALARS));
    }
    this.enqueue(step, wallTimeMs, v);
  }

  /**
   * Adds one text summary (TF2 `tf.summary.text` layout: rank-0 DT_STRING
   * tensor, UTF-8 in `string_val`, `text` plugin metadata on the tag's first
   * value). TensorBoard renders the text as Markdown.
   *
   * @param tag Non-empty series name.
   * @param text Any string (may be empty).
   * @param step Integer step.
   * @param wallTimeMs Milliseconds since the epoch; defaults to the clock.
   */
  addText(tag: string, text: string, step: number, wallTimeMs?: number): void {
    this.checkCommon('addText', tag, step, wallTimeMs);
    if (typeof text !== 'string') throw new TypeError(`EventFileWriter.addText: text for tag "${tag}" must be a string, got ${typeof text}`);
    const first = this.claimTag('addText', tag, PluginName.TEXT);
    const v = new ProtoWriter().stringField(F.value.tag, tag);
    // string_val, not tensor_content: TensorBoard's Python side cannot read strings from tensor_content.
    v.messageField(F.value.tensor, tensorProto(DataType.DT_STRING, [], (t) => t.stringField(F.tensor.stringVal, text)));
    if (first) v.messageField(F.value.metadata, pluginMetadata(PluginName.TEXT));
    this.enqueue(step, wallTimeMs, v);
  }

  /**
   * Adds a histogram of `values` (TF2 layout: a `[k, 3]` DT_DOUBLE tensor of
   * rows `[left edge, right edge, count]`, `histograms` plugin metadata on the
   * tag's first value). Buckets are `k` equal-width intervals from min to max,
   * the last one closed; if all values are equal there is one bucket
   * `[v - 0.5, v + 0.5]`; no values gives shape `[0, 3]`.
   *
   * @param tag Non-empty series name.
   * @param values Finite numbers.
   * @param step Integer step.
   * @param wallTimeMs Milliseconds since the epoch; defaults to the clock.
   * @param options Bucket count.
   */
  addHistogram(tag: string, values: ArrayLike<number>, step: number, wallTimeMs?: number, options: HistogramOptions = {}): void {
    this.checkCommon('addHistogram', tag, step, wallTimeMs);
    const bucketCount = options.buckets ?? 30;
    if (!Number.isSafeInteger(bucketCount) || bucketCount < 1) {
      throw new RangeError(`EventFileWriter.addHistogram: buckets must be a positive integer, got ${bucketCount}`);
    }
    const rows = histogramRows(tag, values, bucketCount);
    const first = this.claimTag('addHistogram', tag, PluginName.HISTOGRAMS);
    const content = Buffer.allocUnsafe(rows.length * 8);
    rows.forEach((x, i) => content.writeDoubleLE(x, i * 8));
    const v = new ProtoWriter().stringField(F.value.tag, tag);
    v.messageField(
      F.value.tensor,
      tensorProto(DataType.DT_DOUBLE, [rows.length / 3, 3], (t) => {
        if (content.length > 0) t.bytesField(F.tensor.content, content);
      }),
    );
    if (first) v.messageField(F.value.metadata, pluginMetadata(PluginName.HISTOGRAMS));
    this.enqueue(step, wallTimeMs, v);
  }

  /** Writes all queued records to the file and `fsync`s it. */
  flush(): void {
    this.rethrowDeferred();
    if (this.fd === undefined) return;
    this.drain();
    fs.fsyncSync(this.fd);
  }

  /** Flushes and closes the file. Idempotent; adding after close throws. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    try {
      this.flush();
    } finally {
      this.clearTimer();
      this.fd = undefined;
      openWriters.delete(this);
      fs.closeSync(fd);
    }
  }

  private now(): number {
    const ms = this.clock();
    if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new RangeError(`EventFileWriter: clock must return finite milliseconds, got ${String(ms)}`);
    return ms;
  }

  private checkCommon(method: string, tag: string, step: number, wallTimeMs: number | undefined): void {
    this.rethrowDeferred();
    if (this.fd === undefined) throw new Error(`EventFileWriter.${method}: writer for ${this.path} is closed`);
    if (typeof tag !== 'string' || tag.length === 0) throw new TypeError(`EventFileWriter.${method}: tag must be a non-empty string, got ${JSON.stringify(tag)}`);
    if (typeof step !== 'number' || !Number.isSafeInteger(step)) {
      throw new RangeError(`EventFileWriter.${method}: step for tag "${tag}" must be a finite safe integer, got ${String(step)}`);
    }
    if (wallTimeMs !== undefined && (typeof wallTimeMs !== 'number' || !Number.isFinite(wallTimeMs))) {
      throw new RangeError(`EventFileWriter.${method}: wallTimeMs for tag "${tag}" must be finite milliseconds, got ${String(wallTimeMs)}`);
    }
  }

  /** Records the tag's plugin; returns true on its first use (the value that must carry metadata). */
  private claimTag(method: string, tag: string, kind: TagKind): boolean {
    const known = this.tagKinds.get(tag);
    if (known === undefined) {
      this.tagKinds.set(tag, kind);
      return true;
    }
    // TensorBoard keeps the first metadata per tag, so mixing kinds would misrender the later ones.
    if (known !== kind) throw new Error(`EventFileWriter.${method}: tag "${tag}" was first written as ${known}; one tag cannot hold ${kind} too`);
    return false;
  }

  private enqueue(step: number, wallTimeMs: number | undefined, value: ProtoWriter): void {
    const wallTime = (wallTimeMs ?? this.now()) / 1000;
    const event = new ProtoWriter();
    // proto3 omits zero scalars; readers read the absence as 0.
    if (wallTime !== 0) event.doubleField(F.event.wallTime, wallTime);
    if (step !== 0) event.varintField(F.event.step, step);
    event.messageField(F.event.summary, new ProtoWriter().messageField(F.summary.value, value));
    this.queue.push(frameRecord(event.finish()));
    if (this.queue.length >= this.maxQueue || this.flushIntervalMs === 0) {
      this.drain();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.onTimer(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  private onTimer(): void {
    this.timer = undefined;
    try {
      this.drain();
    } catch (e) {
      this.deferredError ??= e;
    }
  }

  private drain(): void {
    this.clearTimer();
    if (this.queue.length === 0 || this.fd === undefined) return;
    const bytes = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
    this.queue = [];
    writeAll(this.fd, bytes);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private rethrowDeferred(): void {
    if (this.deferredError !== undefined) {
      const e = this.deferredError;
      this.deferredError = undefined;
      throw e;
    }
  }
}

/** writeSync may write less than asked (e.g. near a full disk); loop until all bytes are out. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}

/** A TensorProto with dtype and an explicit (possibly empty, i.e. rank-0) shape, as TF writes it. */
function tensorProto(dtype: number, dims: number[], body: (t: ProtoWriter) => void): ProtoWriter {
  const shape = new ProtoWriter();
  for (const size of dims) {
    const dim = new ProtoWriter();
    if (size !== 0) dim.varintField(F.dim.size, size);
    shape.messageField(F.shape.dim, dim);
  }
  const t = new ProtoWriter().varintField(F.tensor.dtype, dtype).messageField(F.tensor.shape, shape);
  body(t);
  return t;
}

/** SummaryMetadata{plugin_data{plugin_name}}; the plugins' content (version 0) serializes to nothing. */
function pluginMetadata(pluginName: string): ProtoWriter {
  return new ProtoWriter().messageField(F.metadata.pluginData, new ProtoWriter().stringField(F.pluginData.pluginName, pluginName));
}

/** Flattened `[left, right, count]` rows. */
function histogramRows(tag: string, values: ArrayLike<number>, bucketCount: number): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new RangeError(`EventFileWriter.addHistogram: values for tag "${tag}" must be finite numbers; element ${i} is ${String(x)}`);
    }
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (values.length === 0) return [];
  if (min === max) return [min - 0.5, max + 0.5, values.length];
  // Work in halves so that max - min cannot overflow to Infinity for extreme inputs; halving is exact, so results are unchanged otherwise.
  const halfWidth = (max / 2 - min / 2) / bucketCount;
  const counts = new Array<number>(bucketCount).fill(0);
  for (let i = 0; i < values.length; i++) {
    let b = Math.floor((values[i]! / 2 - min / 2) / halfWidth);
    // Clamp: max itself belongs to the last, closed bucket; NaN (a range so tiny halfWidth underflows to 0) goes to the first.
    if (!(b >= 0)) b = 0;
    if (b > bucketCount - 1) b = bucketCount - 1;
    counts[b]!++;
  }
  const rows: number[] = [];
  for (let b = 0; b < bucketCount; b++) {
    const left = (min / 2 + b * halfWidth) * 2;
    const right = b === bucketCount - 1 ? max : (min / 2 + (b + 1) * halfWidth) * 2;
    rows.push(left, right, counts[b]!);
  }
  return rows;
}
