/**
 * Reads TensorBoard event files back: splits TFRecords (verifying both CRCs of
 * every record) and decodes the parts of `Event` that this package writes.
 * Useful for replay tests and tooling; it is not a full TensorBoard loader.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import { ProtoDecodeError, ProtoReader, WireType, type WireTypeValue } from './protobuf.js';
import { splitRecords } from './tfrecord.js';
import { DataType } from './event-file-writer.js';

/** A decoded `TensorProto` (only the fields TensorBoard summaries use). */
export interface DecodedTensor {
  /** TensorFlow `DataType` enum value (see {@link DataType}). */
  dtype: number;
  /** Dimension sizes; `[]` is rank 0. */
  shape: number[];
  /** Raw little-endian `tensor_content` (empty if absent). */
  tensorContent: Uint8Array;
  /** `float_val` entries. */
  floatVal: number[];
  /** `double_val` entries. */
  doubleVal: number[];
  /** `string_val` entries as raw bytes. */
  stringVal: Uint8Array[];
  /**
   * The numeric elements in row-major order for DT_FLOAT / DT_DOUBLE /
   * DT_INT32 / DT_INT64, taken from `tensor_content` if present, else from
   * `float_val` / `double_val`. Undefined for other dtypes.
   */
  numbers?: number[];
}

/** One decoded `Summary.Value`. */
export interface DecodedSummaryValue {
  /** Series name. */
  tag: string;
  /** `metadata.plugin_data.plugin_name`, present only on values that carry metadata (normally the first per tag). */
  pluginName?: string;
  /** Old-style `simple_value`, when that oneof member is set. */
  simpleValue?: number;
  /** The `tensor` member, when set. */
  tensor?: DecodedTensor;
  /**
   * The scalar, by TensorBoard's rule: `simple_value`, or a rank-0 DT_FLOAT
   * tensor with exactly one `float_val` or 4 bytes of `tensor_content`.
   */
  scalar?: number;
  /** The text, for a DT_STRING tensor holding exactly one string (UTF-8). */
  text?: string;
}

/** One decoded `Event`. */
export interface DecodedEvent {
  /** Zero-based record index in the file. */
  index: number;
  /** Byte offset of the record in the file. */
  offset: number;
  /** `wall_time`: seconds since the Unix epoch (0 if absent). */
  wallTime: number;
  /** `step` (0 if absent). Values beyond ±2^53 lose precision. */
  step: number;
  /** `file_version`, set on the first record of a file (`"brain.Event:2"`). */
  fileVersion?: string;
  /** `summary.value` entries (empty if the event has no summary). */
  values: DecodedSummaryValue[];
}

/** Result of reading an event file. */
export interface EventFileReadResult {
  /** Every complete record, decoded, in file order. */
  events: DecodedEvent[];
  /**
   * True when the file ends in an incomplete record (a writer mid-append or
   * a crash mid-write). The complete records before it are still returned.
   */
  truncated: boolean;
  /** Bytes covered by complete records. */
  completeBytes: number;
  /** Total bytes read. */
  totalBytes: number;
}

/** Raised when a record's checksums are fine but its payload is not a valid `Event`. */
export class EventDecodeError extends Error {
  /** Zero-based index of the record. */
  readonly recordIndex: number;
  /** Byte offset of the record in the file. */
  readonly offset: number;

  constructor(recordIndex: number, offset: number, cause: unknown) {
    super(`event record ${recordIndex} at byte ${offset} is not a valid Event: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'EventDecodeError';
    this.recordIndex = recordIndex;
    this.offset = offset;
  }
}

/**
 * Reads and decodes a whole event file synchronously.
 *
 * @throws TFRecordCorruptionError on any CRC mismatch; EventDecodeError on a malformed payload.
 */
export function readEventFile(filePath: string): EventFileReadResult {
  return parseEventFile(fs.readFileSync(filePath));
}

/**
 * Decodes event-file bytes. A truncated final record is reported, not thrown.
 *
 * @throws TFRecordCorruptionError on any CRC mismatch; EventDecodeError on a malformed payload.
 */
export function parseEventFile(bytes: Uint8Array): EventFileReadResult {
  const { records, completeBytes, truncated } = splitRecords(bytes);
  const events = records.map((r, index) => {
    try {
      return { index, offset: r.offset, ...decodeEvent(r.payload) };
    } catch (e) {
      throw new EventDecodeError(index, r.offset, e);
    }
  });
  return { events, truncated, completeBytes, totalBytes: bytes.length };
}

/** Decodes one `Event` payload (no framing). Unknown fields are skipped. */
export function decodeEvent(payload: Uint8Array): Omit<DecodedEvent, 'index' | 'offset'> {
  const r = new ProtoReader(payload);
  const event: Omit<DecodedEvent, 'index' | 'offset'> = { wallTime: 0, step: 0, values: [] };
  while (!r.done) {
    const { fieldNo, wireType } = r.readKey();
    if (fieldNo === 1 && wireType === WireType.FIXED64) event.wallTime = r.readDouble();
    else if (fieldNo === 2 && wireType === WireType.VARINT) event.step = Number(BigInt.asIntN(64, r.readVarint()));
    else if (fieldNo === 3 && wireType === WireType.LEN) event.fileVersion = r.readString();
    // Repeated occurrences of a message field merge, so summary values accumulate.
    else if (fieldNo === 5 && wireType === WireType.LEN) event.values.push(...decodeSummary(r.readBytes()));
    else skipField(r, fieldNo, wireType);
  }
  return event;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeSummary(bytes: Uint8Array): DecodedSummaryValue[] {
  const r = new ProtoReader(bytes);
  const values: DecodedSummaryValue[] = [];
  while (!r.done) {
    const { fieldNo, wireType } = r.readKey();
    if (fieldNo === 1 && wireType === WireType.LEN) values.push(decodeValue(r.readBytes()));
    else skipField(r, fieldNo, wireType);
  }
  return values;
}

function decodeValue(bytes: Uint8Array): DecodedSummaryValue {
  const r = new ProtoReader(bytes);
  const value: DecodedSummaryValue = { tag: '' };
  while (!r.done) {
    const { fieldNo, wireType } = r.readKey();
    if (fieldNo === 1 && wireType === WireType.LEN) value.tag = r.readString();
    else if (fieldNo === 2 && wireType === WireType.FIXED32) value.simpleValue = r.readFloat();
    else if (fieldNo === 8 && wireType === WireType.LEN) value.tensor = decodeTensor(r.readBytes());
    else if (fieldNo === 9 && wireType === WireType.LEN) {
      const name = decodePluginName(r.readBytes());
      if (name !== undefined) value.pluginName = name;
    } else skipField(r, fieldNo, wireType);
  }
  if (value.simpleValue !== undefined) value.scalar = value.simpleValue;
  else if (value.tensor !== undefined) {
    const t = value.tensor;
    if (t.dtype === DataType.DT_FLOAT && t.shape.length === 0 && t.numbers?.length === 1) value.scalar = t.numbers[0]!;
    if (t.dtype === DataType.DT_STRING && t.stringVal.length === 1 && t.shape.every((d) => d === 1)) {
      value.text = utf8.decode(t.stringVal[0]!);
    }
  }
  return value;
}

function decodePluginName(metadata: Uint8Array): string | undefined {
  let name: string | undefined;
  const r = new ProtoReader(metadata);
  while (!r.done) {
    const { fieldNo, wireType } = r.readKey();
    if (fieldNo === 1 && wireType === WireType.LEN) {
      const p = new ProtoReader(r.readBytes());
      while (!p.done) {
        const k = p.readKey();
        if (k.fieldNo === 1 && k.wireType === WireType.LEN) name = p.readString();
        else skipField(p, k.fieldNo, k.wireType);
      }
    } else skipField(r, fieldNo, wireType);
  }
  return name;
}

function decodeTensor(bytes: Uint8Array): DecodedTensor {
  const r = new ProtoReader(bytes);
  const t: DecodedTensor = { dtype: 0, shape: [], tensorContent: new Uint8Array(0), floatVal: [], doubleVal: [], stringVal: [] };
  while (!r.done) {
    const { fieldNo, wireType } = r.readKey();
    if (fieldNo === 1 && wireType === WireType.VARINT) t.dtype = Number(r.readVarint());
    else if (fieldNo === 2 && wireType === WireType.LEN) t.shape = decodeShape(r.readBytes());
    else if (fieldNo === 4 && wireType === WireType.LEN) t.tensorContent = r.readBytes();
    // Repeated scalars may arrive packed (LEN) or one per key; parsers must accept both.
    else if (fieldNo === 5 && wireType === WireType.LEN) t.floatVal.push(...littleEndian(r.readBytes(), 4, 'float_val'));
    else if (fieldNo === 5 && wireType === WireType.FIXED32) t.floatVal.push(r.readFloat());
    else if (fieldNo === 6 && wireType === WireType.LEN) t.doubleVal.push(...littleEndian(r.readBytes(), 8, 'double_val'));
    else if (fieldNo === 6 && wireType === WireType.FIXED64) t.doubleVal.push(r.readDouble());
    else if (fieldNo === 8 && wireType === WireType.LEN) t.stringVal.push(r.readBytes());
    else skipField(r, fieldNo, wireType);
  }
  const numbers = tensorNumbers(t);
  if (numbers !== undefined) t.numbers = numbers;
  return t;
}

function decodeShape(bytes: Uint8Array): number[] {
  const r = new ProtoReader(bytes);
  const dims: number[] = [];
  while (!r.done) {
    const { fieldNo, wireType } = r.readKey();
    if (fieldNo === 2 && wireType === WireType.LEN) {
      const d = new ProtoReader(r.readBytes());
      let size = 0;
      while (!d.done) {
        const k = d.readKey();
        if (k.fieldNo === 1 && k.wireType === WireType.VARINT) size = Number(BigInt.asIntN(64, d.readVarint()));
        else skipField(d, k.fieldNo, k.wireType);
      }
      dims.push(size);
    } else skipField(r, fieldNo, wireType);
  }
  return dims;
}

function tensorNumbers(t: DecodedTensor): number[] | undefined {
  const c = t.tensorContent;
  const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
  switch (t.dtype) {
    case DataType.DT_FLOAT:
      return c.length > 0 ? littleEndian(c, 4, 'tensor_content') : t.floatVal.slice();
    case DataType.DT_DOUBLE:
      return c.length > 0 ? littleEndian(c, 8, 'tensor_content') : t.doubleVal.slice();
    case DataType.DT_INT32:
      checkMultiple(c, 4);
      return Array.from({ length: c.length / 4 }, (_, i) => view.getInt32(i * 4, true));
    case DataType.DT_INT64:
      checkMultiple(c, 8);
      return Array.from({ length: c.length / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    default:
      return undefined;
  }
}

function littleEndian(bytes: Uint8Array, width: 4 | 8, what: string): number[] {
  checkMultiple(bytes, width, what);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(bytes.length / width);
  for (let i = 0; i < out.length; i++) out[i] = width === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
  return out;
}

function checkMultiple(bytes: Uint8Array, width: number, what = 'tensor_content'): void {
  if (bytes.length % width !== 0) throw new ProtoDecodeError(`${what} has ${bytes.length} bytes, not a multiple of ${width}`, 0);
}

function skipField(r: ProtoReader, _fieldNo: number, wireType: WireTypeValue): void {
  r.skip(wireType);
}
