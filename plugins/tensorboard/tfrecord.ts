/**
 * TFRecord framing with masked CRC-32C, the container format of TensorBoard
 * event files.
 *
 * Each record is: `uint64 LE length N`, `uint32 LE masked crc32c(length bytes)`,
 * `N payload bytes`, `uint32 LE masked crc32c(payload)`. No file header, footer
 * or padding.
 *
 * @packageDocumentation
 */
import CRC32C from 'crc-32/crc32c.js';

/** LevelDB's mask constant, shared by TensorFlow's record format. */
const MASK_DELTA = 0xa282ead8;

/** Bytes before the payload: 8 length + 4 length CRC. */
export const RECORD_HEADER_BYTES = 12;
/** Bytes after the payload: the payload CRC. */
export const RECORD_FOOTER_BYTES = 4;

/** CRC-32C (Castagnoli) of `data`, as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array): number {
  // crc-32 returns a signed int32; the record format stores it unsigned.
  return CRC32C.buf(data, 0) >>> 0;
}

/** Applies TensorFlow's CRC mask: rotate right by 15, then add 0xa282ead8 mod 2^32. */
export function maskCrc(crc: number): number {
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + MASK_DELTA) >>> 0;
}

/** Inverse of {@link maskCrc}. */
export function unmaskCrc(masked: number): number {
  const rotated = (masked - MASK_DELTA) >>> 0;
  return ((rotated >>> 17) | (rotated << 15)) >>> 0;
}

/** Masked CRC-32C of `data`, the value stored in a record. */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32c(data));
}

/** Frames one payload as a complete TFRecord. */
export function frameRecord(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length + RECORD_FOOTER_BYTES);
  out.writeBigUInt64LE(BigInt(payload.length), 0);
  // The length CRC covers the 8 length bytes as written, not the number.
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(payload, RECORD_HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(payload), RECORD_HEADER_BYTES + payload.length);
  return out;
}

/** Raised when a record's stored CRC does not match its bytes. */
export class TFRecordCorruptionError extends Error {
  /** Zero-based index of the bad record. */
  readonly recordIndex: number;
  /** Byte offset of the start of the bad record. */
  readonly offset: number;
  /** Which checksum failed. */
  readonly part: 'length' | 'payload';
  /** Masked CRC stored in the file. */
  readonly storedCrc: number;
  /** Masked CRC computed from the bytes. */
  readonly computedCrc: number;

  constructor(recordIndex: number, offset: number, part: 'length' | 'payload', storedCrc: number, computedCrc: number) {
    const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
    super(
      `TFRecord ${recordIndex} at byte ${offset}: ${part} CRC mismatch ` +
        `(stored masked crc32c ${hex(storedCrc)}, computed ${hex(computedCrc)}); the file is corrupt`,
    );
    this.name = 'TFRecordCorruptionError';
    this.recordIndex = recordIndex;
    this.offset = offset;
    this.part = part;
    this.storedCrc = storedCrc;
    this.computedCrc = computedCrc;
  }
}

/** One record found by {@link splitRecords}. */
export interface TFRecord {
  /** Byte offset of the record (its length field) in the input. */
  offset: number;
  /** Payload bytes (a view into the input). */
  payload: Uint8Array;
}

/** Result of {@link splitRecords}. */
export interface SplitRecordsResult {
  /** Every complete, checksum-verified record, in file order. */
  records: TFRecord[];
  /** Number of leading bytes made of complete records. */
  completeBytes: number;
  /**
   * True when bytes remain after the last complete record that do not form a
   * whole record: a writer is mid-append or crashed mid-write. TensorBoard
   * treats this as "not written yet", so it is not an error.
   */
  truncated: boolean;
}

/**
 * Splits TFRecord-framed bytes into payloads, verifying both CRCs of every
 * complete record.
 *
 * A short final record is reported via `truncated`, not thrown. A CRC mismatch
 * on any complete header or record throws {@link TFRecordCorruptionError}.
 */
export function splitRecords(bytes: Uint8Array): SplitRecordsResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: TFRecord[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const remaining = bytes.length - pos;
    if (remaining < RECORD_HEADER_BYTES) break;
    // Check the length CRC before trusting the length: a flipped length byte must not read as "truncated".
    const storedLenCrc = view.getUint32(pos + 8, true);
    const lenCrc = maskedCrc32c(bytes.subarray(pos, pos + 8));
    if (storedLenCrc !== lenCrc) throw new TFRecordCorruptionError(records.length, pos, 'length', storedLenCrc, lenCrc);
    const length = view.getBigUint64(pos, true);
    if (length > BigInt(remaining - RECORD_HEADER_BYTES - RECORD_FOOTER_BYTES)) break;
    const n = Number(length);
    const payload = bytes.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + n);
    const storedDataCrc = view.getUint32(pos + RECORD_HEADER_BYTES + n, true);
    const dataCrc = maskedCrc32c(payload);
    if (storedDataCrc !== dataCrc) throw new TFRecordCorruptionError(records.length, pos, 'payload', storedDataCrc, dataCrc);
    records.push({ offset: pos, payload });
    pos += RECORD_HEADER_BYTES + n + RECORD_FOOTER_BYTES;
  }
  return { records, completeBytes: pos, truncated: pos < bytes.length };
}
