/**
 * Minimal protobuf wire-format encoder and decoder: exactly the four wire types
 * that TensorBoard's `Event`/`Summary`/`TensorProto` messages use (varint,
 * fixed64, length-delimited, fixed32). No schema, no reflection; callers write
 * fields by number.
 *
 * The writer does not apply proto3 default omission by itself: callers decide
 * which fields to leave out, so the bytes are exactly what they asked for.
 *
 * @packageDocumentation
 */

/** Protobuf wire types (the low 3 bits of a field key). */
export const WireType = {
  VARINT: 0,
  FIXED64: 1,
  LEN: 2,
  FIXED32: 5,
} as const;

/** One of the wire types this module understands. */
export type WireTypeValue = (typeof WireType)[keyof typeof WireType];

const textEncoder = new TextEncoder();
// fatal: a string field with invalid UTF-8 is corrupt data, not something to paper over.
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Raised when bytes are not valid protobuf wire format. */
export class ProtoDecodeError extends Error {
  /** Byte offset in the message being decoded at which the problem was found. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`protobuf: ${message} at byte ${offset}`);
    this.name = 'ProtoDecodeError';
    this.offset = offset;
  }
}

/**
 * Append-only builder for one protobuf message.
 *
 * Every `*Field` method writes the field key followed by the value, and returns
 * `this` so fields can be chained in field-number order.
 */
export class ProtoWriter {
  private buf = new Uint8Array(64);
  /** Made at the first fixed-width field: most messages have none, and a view costs the buffer its own backing store. */
  private view: DataView | undefined;
  private len = 0;

  /** Number of bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Writes a uint64/int64/int32/enum/bool field as a varint (negative numbers become 10-byte two's complement, as int64 requires). */
  varintField(fieldNo: number, value: number | bigint): this {
    this.key(fieldNo, WireType.VARINT);
    this.varint(value);
    return this;
  }

  /** Writes a `double` field (fixed64, IEEE 754 little-endian). */
  doubleField(fieldNo: number, value: number): this {
    this.key(fieldNo, WireType.FIXED64);
    this.ensure(8);
    this.fixedView().setFloat64(this.len, value, true);
    this.len += 8;
    return this;
  }

  /** Writes a `float` field (fixed32); the number is rounded to float32 like any float32 store. */
  floatField(fieldNo: number, value: number): this {
    this.key(fieldNo, WireType.FIXED32);
    this.ensure(4);
    this.fixedView().setFloat32(this.len, value, true);
    this.len += 4;
    return this;
  }

  /** Writes a `bytes` field, or an already-serialized sub-message. */
  bytesField(fieldNo: number, bytes: Uint8Array): this {
    this.key(fieldNo, WireType.LEN);
    this.varint(bytes.length);
    this.raw(bytes);
    return this;
  }

  /** Writes a `string` field as UTF-8. */
  stringField(fieldNo: number, value: string): this {
    return this.bytesField(fieldNo, textEncoder.encode(value));
  }

  /** Writes a sub-message field (an empty sub-message is still written, as `key 00`). */
  messageField(fieldNo: number, message: ProtoWriter | Uint8Array): this {
    return this.bytesField(fieldNo, message instanceof ProtoWriter ? message.finish() : message);
  }

  /** Writes a packed `repeated float` field. */
  packedFloatField(fieldNo: number, values: ArrayLike<number>): this {
    const bytes = new Uint8Array(values.length * 4);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i]!, true);
    return this.bytesField(fieldNo, bytes);
  }

  /** Writes a packed `repeated double` field. */
  packedDoubleField(fieldNo: number, values: ArrayLike<number>): this {
    const bytes = new Uint8Array(values.length * 8);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i]!, true);
    return this.bytesField(fieldNo, bytes);
  }

  /** Returns a copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  private key(fieldNo: number, wireType: WireTypeValue): void {
    if (!Number.isInteger(fieldNo) || fieldNo < 1 || fieldNo > 0x1fffffff) {
      throw new RangeError(`protobuf: invalid field number ${fieldNo}`);
    }
    // fieldNo * 8 instead of << 3: field numbers up to 2^29 would overflow int32 shifts.
    this.varint(fieldNo * 8 + wireType);
  }

  private varint(value: number | bigint): void {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf: varint value ${value} is not a safe integer`);
      if (value >= 0 && value <= 0xffffffff) {
        // Fast path for the common case; plain arithmetic stays exact below 2^53.
        this.ensure(5);
        let v = value;
        while (v >= 0x80) {
          this.buf[this.len++] = (v % 0x80) | 0x80;
          v = Math.floor(v / 0x80);
        }
        this.buf[this.len++] = v;
        return;
      }
      value = BigInt(value);
    }
    if (value < -(1n << 63n) || value >= 1n << 64n) throw new RangeError(`protobuf: varint value ${value} does not fit in 64 bits`);
    let v = BigInt.asUintN(64, value);
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = undefined;
  }

  private fixedView(): DataView {
    return (this.view ??= new DataView(this.buf.buffer));
  }
}

/** A field key read from the wire. */
export interface ProtoKey {
  /** Field number. */
  fieldNo: number;
  /** Wire type (0, 1, 2 or 5; anything else is rejected). */
  wireType: WireTypeValue;
}

/**
 * Sequential reader over one serialized message. Reads never go past the end of
 * the given bytes; malformed input raises {@link ProtoDecodeError}.
 */
export class ProtoReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True once every byte has been consumed. */
  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** Current read offset. */
  get offset(): number {
    return this.pos;
  }

  /** Reads the next field key. */
  readKey(): ProtoKey {
    const at = this.pos;
    const key = this.readVarint();
    const wireType = Number(key & 7n);
    const fieldNo = Number(key >> 3n);
    if (fieldNo === 0) throw new ProtoDecodeError('field number 0', at);
    if (wireType !== 0 && wireType !== 1 && wireType !== 2 && wireType !== 5) {
      throw new ProtoDecodeError(`unsupported wire type ${wireType} for field ${fieldNo}`, at);
    }
    return { fieldNo, wireType: wireType as WireTypeValue };
  }

  /** Reads a varint as an unsigned 64-bit bigint (use `BigInt.asIntN(64, v)` for int64). */
  readVarint(): bigint {
    const at = this.pos;
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw new ProtoDecodeError('varint runs past the end', at);
      const b = this.bytes[this.pos++]!;
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new ProtoDecodeError('varint longer than 10 bytes', at);
  }

  /** Reads a fixed64 as a little-endian double. */
  readDouble(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a fixed32 as a little-endian float. */
  readFloat(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Reads a length-delimited field's bytes (a view, not a copy). */
  readBytes(): Uint8Array {
    const at = this.pos;
    const n = this.readVarint();
    if (n > BigInt(this.bytes.length - this.pos)) throw new ProtoDecodeError(`length ${n} runs past the end`, at);
    const len = Number(n);
    const out = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Reads a length-delimited field as UTF-8 text. */
  readString(): string {
    const at = this.pos;
    const bytes = this.readBytes();
    try {
      return textDecoder.decode(bytes);
    } catch {
      throw new ProtoDecodeError('string field is not valid UTF-8', at);
    }
  }

  /** Skips the value of a field whose key has just been read. */
  skip(wireType: WireTypeValue): void {
    switch (wireType) {
      case WireType.VARINT: this.readVarint(); break;
      case WireType.FIXED64: this.need(8); this.pos += 8; break;
      case WireType.LEN: this.readBytes(); break;
      case WireType.FIXED32: this.need(4); this.pos += 4; break;
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new ProtoDecodeError(`needs ${n} bytes but only ${this.bytes.length - this.pos} remain`, this.pos);
  }
}
