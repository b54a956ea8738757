import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventFileWriter, FILE_VERSION, type EventFileWriterOptions } from '../../plugins/tensorboard/event-file-writer.js';
import { EventDecodeError, parseEventFile, readEventFile } from '../../plugins/tensorboard/event-file-reader.js';
import { crc32c, frameRecord, maskCrc, maskedCrc32c, TFRecordCorruptionError, unmaskCrc } from '../../plugins/tensorboard/tfrecord.js';
import { ProtoReader, ProtoWriter } from '../../plugins/tensorboard/protobuf.js';

// --- Independent checks: nothing below shares code with the writer/reader. ---

/** Bitwise CRC-32C, reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF. */
function refCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Mask written with plain arithmetic (no shifts that wrap), unlike tfrecord.ts. */
function refMask(crc: number): number {
  const rotated = Math.floor(crc / 0x8000) + (crc % 0x8000) * 0x20000;
  return (rotated + 0xa282ead8) % 0x100000000;
}

/** Splits a file with its own framing code and checks both masked CRCs of every record. */
function refCheckRecords(bytes: Buffer): Buffer[] {
  const payloads: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const lenBytes = bytes.subarray(pos, pos + 8);
    expect(bytes.readUInt32LE(pos + 8), `length crc of record ${payloads.length}`).to.equal(refMask(refCrc32c(lenBytes)));
    const n = Number(bytes.readBigUInt64LE(pos));
    const payload = bytes.subarray(pos + 12, pos + 12 + n);
    expect(payload.length).to.equal(n);
    expect(bytes.readUInt32LE(pos + 12 + n), `data crc of record ${payloads.length}`).to.equal(refMask(refCrc32c(payload)));
    payloads.push(payload);
    pos += 12 + n + 4;
  }
  expect(pos).to.equal(bytes.length);
  return payloads;
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): string => Buffer.from(s, 'ascii').toString('hex');

// CRC32C check values (the iSCSI polynomial's published vectors) and the masked CRCs TFRecord stores.
const CRC_VECTORS: Array<[string, Buffer, number, number]> = [
  ['"123456789"', Buffer.from('123456789'), 0xe3069283, 0xc78ab0e5],
  ['quick brown fox', Buffer.from('The quick brown fox jumps over the lazy dog'), 0x22620404, 0xaa8b2f9c],
  ['32 zero bytes', Buffer.alloc(32), 0x8a9136aa, 0x0fd7fffa],
  ['empty', Buffer.alloc(0), 0x00000000, 0xa282ead8],
  ['Event{file_version:"CRC test, one two"}', Buffer.concat([hex('1a11'), Buffer.from('CRC test, one two')]), 0xf2d95a88, 0x5794d08a],
];

// Real TF 2.x records, as in tensorboard's own tf_record.rs test.
const GOLDEN_FILE_VERSION = hex(`
  1800000000000000 a37f4b22
  0900008038 99d6d741 1a0d ${ascii('brain.Event:2')}
  124b36ab`);
const GOLDEN_SCALAR = hex(`
  3200000000000000 241956ec
  09c405b73d99d6d741 104d 2a25 0a23 0a08 ${ascii('accuracy')}
  420a 0801 1200 2204a4707d3f
  4a0b 0a09 0a07 ${ascii('scalars')}
  a55b6433`);

describe('tensorboard event files', () => {
  let dir: string;
  const writers: EventFileWriter[] = [];
  const open = (options: EventFileWriterOptions = {}, sub = ''): EventFileWriter => {
    const w = new EventFileWriter(path.join(dir, sub), options);
    writers.push(w);
    return w;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-tb-'));
  });
  afterEach(() => {
    for (const w of writers.splice(0)) w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('masked CRC-32C', () => {
    for (const [name, input, crc, masked] of CRC_VECTORS) {
      it(`matches the vector for ${name}`, () => {
        expect(refCrc32c(input), 'reference crc').to.equal(crc);
        expect(refMask(crc), 'reference mask').to.equal(masked);
        expect(crc32c(input)).to.equal(crc);
        expect(maskCrc(crc)).to.equal(masked);
        expect(maskedCrc32c(input)).to.equal(masked);
        expect(unmaskCrc(masked)).to.equal(crc);
      });
    }

    it('agrees with the bitwise reference on random data, and unmask inverts mask', () => {
      let seed = 12345;
      const rand = (): number => (seed = (seed * 1103515245 + 12345) % 0x80000000);
      for (let n = 0; n < 300; n++) {
        const data = Buffer.alloc(n % 97);
        for (let i = 0; i < data.length; i++) data[i] = rand() & 0xff;
        expect(crc32c(data)).to.equal(refCrc32c(data));
        const c = rand() * 2 + (n & 1);
        expect(unmaskCrc(maskCrc(c))).to.equal(c);
        expect(maskCrc(c)).to.equal(refMask(c));
      }
    });

    it('frames an old-style scalar payload exactly', () => {
      const payload = hex('0900002040fc54d94110012a0d0a0b0a046c6f7373150000003f');
      expect(frameRecord(payload).toString('hex')).to.equal(`1a00000000000000129bd82d${payload.toString('hex')}34c2793e`);
    });
  });

  describe('golden bytes', () => {
    it('writes the TF2 file_version record first, using whole seconds', () => {
      const w = open({ clock: () => 1599759586_987 });
      w.close();
      const bytes = fs.readFileSync(w.path);
      expect(bytes.toString('hex')).to.equal(GOLDEN_FILE_VERSION.toString('hex'));
    });

    it('matches the real file_version record for wall time 1700000000', () => {
      const w = open({ clock: () => 1700000000_000 });
      w.close();
      expect(fs.readFileSync(w.path).toString('hex')).to.equal(
        '1800000000000000a37f4b220900000040fc54d9411a0d627261696e2e4576656e743a32eced8f9d',
      );
    });

    it('writes a new-style scalar byte-identical to the real TF 2.x record', () => {
      const wallTimeMs = GOLDEN_SCALAR.readDoubleLE(13) * 1000; // 1599759606.859727 s as ms; /1000 round-trips exactly
      const w = open({ clock: () => 1599759586_000 });
      w.addScalar('accuracy', 0.99, 77, wallTimeMs);
      w.close();
      const bytes = fs.readFileSync(w.path);
      expect(bytes.subarray(0, 40).toString('hex')).to.equal(GOLDEN_FILE_VERSION.toString('hex'));
      expect(bytes.subarray(40).toString('hex')).to.equal(GOLDEN_SCALAR.toString('hex'));
    });

    it('takes the scalar wall time from the injected clock', () => {
      let now = 1599759586_000;
      const w = open({ clock: () => now });
      now = GOLDEN_SCALAR.readDoubleLE(13) * 1000;
      w.addScalar('accuracy', 0.99, 77);
      w.close();
      expect(fs.readFileSync(w.path).subarray(40).toString('hex')).to.equal(GOLDEN_SCALAR.toString('hex'));
    });

    it('puts scalars plugin metadata only on the first value of a tag', () => {
      const w = open({ clock: () => 1599759606_000 });
      w.addScalar('accuracy', 0.99, 77, 1700000000_500);
      w.addScalar('accuracy', 0.5, 78, 1700000000_500);
      w.close();
      const payloads = refCheckRecords(fs.readFileSync(w.path));
      // Second value: tag + tensor only (no 0x4a metadata field).
      expect(payloads[2]!.toString('hex')).to.equal(
        `0900002040fc54d941104e2a180a160a08${ascii('accuracy')}420a080112002204${hex('0000003f').toString('hex')}`,
      );
      const { events } = readEventFile(w.path);
      expect(events[1]!.values[0]!.pluginName).to.equal('scalars');
      expect(events[2]!.values[0]!.pluginName).to.equal(undefined);
    });

    it('writes the old-style simple_value record when asked', () => {
      const w = open({ clock: () => 1700000000_000, scalarEncoding: 'simple_value' });
      w.addScalar('loss', 0.5, 1, 1700000000_500);
      w.close();
      const bytes = fs.readFileSync(w.path);
      expect(bytes.subarray(40).toString('hex')).to.equal(
        '1a00000000000000129bd82d0900002040fc54d94110012a0d0a0b0a046c6f7373150000003f34c2793e',
      );
      const { events } = parseEventFile(bytes);
      expect(events[1]!.values[0]).to.deep.include({ tag: 'loss', simpleValue: 0.5, scalar: 0.5 });
    });

    it('writes text as a rank-0 DT_STRING tensor in string_val with text metadata', () => {
      const w = open({ clock: () => 1700000000_000 });
      w.addText('notes', 'hi', 3, 1700000000_500);
      w.close();
      const payloads = refCheckRecords(fs.readFileSync(w.path));
      expect(payloads[1]!.toString('hex')).to.equal(
        hex(`0900002040fc54d941 1003 2a1d 0a1b 0a05 ${ascii('notes')}
             4208 0807 1200 4202 ${ascii('hi')}
             4a08 0a06 0a04 ${ascii('text')}`).toString('hex'),
      );
    });
  });

  describe('round trip', () => {
    it('reads back many scalars and texts with steps, tags and float32 values intact', () => {
      let t = 1700000000_000;
      const w = open({ clock: () => (t += 250), maxQueue: 7 });
      const expected: Array<{ tag: string; step: number; scalar?: number; text?: string }> = [];
      const texts = ['', 'plain', 'ünïcödé ✓ 🚀', '# Markdown\n\n| a | b |', 'x'.repeat(5000)];
      for (let step = -3; step < 400; step++) {
        const v = Math.sin(step) * 10 ** (step % 7);
        w.addScalar('train/loss', v, step);
        expected.push({ tag: 'train/loss', step, scalar: Math.fround(v) });
        if (step % 50 === 0) {
          const text = texts[(step / 50) % texts.length]!;
          w.addText('log', text, step);
          expected.push({ tag: 'log', step, text });
        }
      }
      for (const [i, v] of [NaN, Infinity, -Infinity, 0, -0, 1e39, 1e-46].entries()) {
        w.addScalar('special', v, i);
        expected.push({ tag: 'special', step: i, scalar: Math.fround(v) });
      }
      w.close();

      const bytes = fs.readFileSync(w.path);
      expect(refCheckRecords(bytes)).to.have.length(expected.length + 1);
      const result = parseEventFile(bytes);
      expect(result.truncated).to.equal(false);
      expect(result.completeBytes).to.equal(bytes.length);
      expect(result.events[0]!.fileVersion).to.equal(FILE_VERSION);
      expect(result.events[0]!.values).to.deep.equal([]);
      const got = result.events.slice(1).map((e) => {
        expect(e.values).to.have.length(1);
        const v = e.values[0]!;
        return v.text !== undefined ? { tag: v.tag, step: e.step, text: v.text } : { tag: v.tag, step: e.step, scalar: v.scalar };
      });
      expect(got).to.deep.equal(expected); // deep-equal treats NaN === NaN and -0 !== 0
      // Wall times strictly increase with the clock (seconds in the file).
      const walls = result.events.map((e) => e.wallTime);
      expect(walls[1]).to.equal(1700000000.5);
      for (let i = 2; i < walls.length; i++) expect(walls[i]!).to.be.greaterThan(walls[i - 1]!);
    });

    it('writes a histogram as a [k,3] DT_DOUBLE tensor', () => {
      const w = open();
      const values = Array.from({ length: 1000 }, (_, i) => (i % 100) / 10); // 0 .. 9.9
      w.addHistogram('weights', values, 1, undefined, { buckets: 10 });
      w.addHistogram('weights', [], 2);
      w.addHistogram('weights', [4, 4, 4], 3);
      w.close();
      const { events } = readEventFile(w.path);
      const [h1, h2, h3] = events.slice(1).map((e) => e.values[0]!);
      expect(h1!.pluginName).to.equal('histograms');
      expect(h1!.tensor!.dtype).to.equal(2);
      expect(h1!.tensor!.shape).to.deep.equal([10, 3]);
      const rows = h1!.tensor!.numbers!;
      expect(rows.filter((_, i) => i % 3 === 2)).to.deep.equal(new Array(10).fill(100));
      expect(rows[0]).to.equal(0);
      expect(rows[rows.length - 2]).to.equal(9.9);
      for (let b = 0; b < 9; b++) expect(rows[b * 3 + 1]).to.equal(rows[(b + 1) * 3]); // contiguous edges
      expect(h2!.pluginName).to.equal(undefined);
      expect(h2!.tensor!.shape).to.deep.equal([0, 3]);
      expect(h2!.tensor!.numbers).to.deep.equal([]);
      expect(h3!.tensor!.numbers).to.deep.equal([3.5, 4.5, 3]);
      expect(() => w.addHistogram('x', [1], 1)).to.throw(/closed/);
    });

    it('encodes negative and large steps as int64 varints', () => {
      const w = open({ clock: () => 1700000000_000 });
      w.addScalar('s', 1, -1);
      w.addScalar('s', 1, Number.MAX_SAFE_INTEGER);
      w.addScalar('s', 1, 0);
      w.close();
      const payloads = refCheckRecords(fs.readFileSync(w.path));
      expect(payloads[1]!.subarray(9, 20).toString('hex')).to.equal('10ffffffffffffffffff01');
      expect(readEventFile(w.path).events.map((e) => e.step)).to.deep.equal([0, -1, Number.MAX_SAFE_INTEGER, 0]);
      // step 0 is proto3's default: omitted from the wire.
      expect(payloads[3]![9]).to.equal(0x2a);
    });

    it('ProtoWriter/ProtoReader agree on varint boundaries', () => {
      const cases: Array<number | bigint> = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -(2n ** 63n), 2n ** 64n - 1n];
      for (const v of cases) {
        const bytes = new ProtoWriter().varintField(2, v).finish();
        const r = new ProtoReader(bytes);
        expect(r.readKey()).to.deep.equal({ fieldNo: 2, wireType: 0 });
        expect(r.readVarint()).to.equal(BigInt.asUintN(64, BigInt(v)));
        expect(r.done).to.equal(true);
      }
      expect(new ProtoWriter().varintField(1, 300).finish()).to.deep.equal(Uint8Array.from([0x08, 0xac, 0x02]));
      expect(() => new ProtoWriter().varintField(1, 2n ** 64n)).to.throw(RangeError);
    });
  });

  describe('file naming', () => {
    const NAME = /^events\.out\.tfevents\.(\d{10})\.([^/]+)\.(\d+)\.(\d+)$/;

    it('names the file events.out.tfevents.<10-digit seconds>.<host>.<pid>.<uid>', () => {
      const w = open({ clock: () => 1700000000_999 });
      const m = NAME.exec(w.fileName);
      expect(m, w.fileName).to.not.equal(null);
      expect(m![1]).to.equal('1700000000');
      expect(m![2]).to.equal(os.hostname());
      expect(m![3]).to.equal(String(process.pid));
      expect(path.dirname(w.path)).to.equal(path.resolve(dir));
      expect(fs.readdirSync(dir)).to.deep.equal([w.fileName]);
    });

    it('zero-pads the seconds to 10 digits and appends the suffix', () => {
      const w = open({ clock: () => 12_345, hostname: 'box', pid: 7, filenameSuffix: '.v2' });
      expect(w.fileName).to.match(/^events\.out\.tfevents\.0000000012\.box\.7\.\d+\.v2$/);
    });

    it('gives two writers in one directory, same second, two files', () => {
      const a = open({ clock: () => 1700000000_000 });
      const b = open({ clock: () => 1700000000_000 });
      expect(a.fileName).to.not.equal(b.fileName);
      expect(Number(NAME.exec(b.fileName)![4])).to.be.greaterThan(Number(NAME.exec(a.fileName)![4]));
      a.addScalar('x', 1, 1);
      b.addScalar('x', 2, 1);
      a.close();
      b.close();
      expect(fs.readdirSync(dir).sort()).to.deep.equal([a.fileName, b.fileName].sort());
      expect(readEventFile(a.path).events[1]!.values[0]!.scalar).to.equal(1);
      expect(readEventFile(b.path).events[1]!.values[0]!.scalar).to.equal(2);
    });

    it('creates nested log directories', () => {
      const w = open({}, 'exp/train');
      expect(fs.existsSync(w.path)).to.equal(true);
      expect(path.basename(path.dirname(w.path))).to.equal('train');
    });
  });

  describe('damaged files', () => {
    const writeSample = (): string => {
      const w = open({ clock: () => 1700000000_000 });
      for (let i = 0; i < 5; i++) w.addScalar('loss', 1 / (i + 1), i);
      w.close();
      return w.path;
    };

    it('returns the complete records of a file truncated by a few bytes and reports it', () => {
      const file = writeSample();
      const full = fs.readFileSync(file);
      const lastLen = refLastRecordLength(full);
      for (const cut of [1, 3, 4, 5, lastLen - 12, lastLen - 11, lastLen - 1]) {
        const result = parseEventFile(full.subarray(0, full.length - cut));
        expect(result.truncated, `cut ${cut}`).to.equal(true);
        expect(result.events, `cut ${cut}`).to.have.length(5); // file_version + 4 of 5 scalars
        expect(result.completeBytes).to.equal(full.length - lastLen);
      }
      fs.truncateSync(file, full.length - 3);
      const onDisk = readEventFile(file);
      expect(onDisk.truncated).to.equal(true);
      expect(onDisk.events.map((e) => e.step)).to.deep.equal([0, 0, 1, 2, 3]);
      expect(parseEventFile(full).truncated).to.equal(false);
    });

    it('reports a flipped payload byte as a payload CRC error naming the record', () => {
      const full = fs.readFileSync(writeSample());
      const bad = Buffer.from(full);
      bad[40 + 12 + 3] = bad[40 + 12 + 3]! ^ 0x10; // inside record 1's payload
      expect(() => parseEventFile(bad)).to.throw(TFRecordCorruptionError, /TFRecord 1 at byte 40: payload CRC mismatch \(stored masked crc32c 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\); the file is corrupt/);
    });

    it('reports a flipped length byte as a length CRC error, not as truncation', () => {
      const full = fs.readFileSync(writeSample());
      const bad = Buffer.from(full);
      bad[40 + 1] = 0x7f; // claims a huge record 1
      let error: unknown;
      try { parseEventFile(bad); } catch (e) { error = e; }
      expect(error).to.be.instanceOf(TFRecordCorruptionError);
      expect((error as TFRecordCorruptionError).part).to.equal('length');
      expect((error as TFRecordCorruptionError).recordIndex).to.equal(1);
      expect(String(error)).to.contain('length CRC mismatch');
    });

    it('reports a payload that is not an Event, with its record index', () => {
      const junk = Buffer.concat([GOLDEN_FILE_VERSION, frameRecord(Uint8Array.from([0x0a, 0x05, 0x01]))]);
      expect(() => parseEventFile(junk)).to.throw(EventDecodeError, /event record 1 at byte 40 is not a valid Event: protobuf: length 5 runs past the end/);
    });
  });

  it('passes an independent CRC check over every record of a mixed file', () => {
    const w = open({ maxQueue: 3 });
    for (let i = 0; i < 50; i++) {
      w.addScalar(`m/${i % 4}`, i * 0.1, i);
      if (i % 10 === 0) w.addText('t', `step ${i}`, i);
      if (i % 25 === 0) w.addHistogram('h', [i, i + 1, i + 2.5], i);
    }
    w.close();
    const payloads = refCheckRecords(fs.readFileSync(w.path));
    expect(payloads).to.have.length(1 + 50 + 5 + 2);
  });

  describe('validation', () => {
    it('rejects an empty or non-string tag', () => {
      const w = open();
      expect(() => w.addScalar('', 1, 1)).to.throw(TypeError, 'EventFileWriter.addScalar: tag must be a non-empty string, got ""');
      expect(() => w.addText(undefined as unknown as string, 'x', 1)).to.throw(TypeError, /tag must be a non-empty string/);
    });

    it('rejects non-finite, fractional or unsafe steps', () => {
      const w = open();
      for (const step of [NaN, Infinity, -Infinity, 1.5, 2 ** 53]) {
        expect(() => w.addScalar('loss', 1, step), String(step)).to.throw(RangeError, `EventFileWriter.addScalar: step for tag "loss" must be a finite safe integer, got ${step}`);
      }
      expect(() => w.addScalar('loss', 1, 1, NaN)).to.throw(RangeError, /wallTimeMs .* must be finite/);
    });

    it('writes NaN and infinite values (TensorBoard plots them) but rejects non-numbers', () => {
      const w = open();
      w.addScalar('loss', NaN, 1);
      w.addScalar('loss', Infinity, 2);
      expect(() => w.addScalar('loss', '1' as unknown as number, 3)).to.throw(TypeError, /value for tag "loss" must be a number/);
      expect(() => w.addHistogram('h', [1, NaN], 3)).to.throw(RangeError, /element 1 is NaN/);
      w.close();
      const scalars = readEventFile(w.path).events.slice(1).map((e) => e.values[0]!.scalar);
      expect(scalars).to.deep.equal([NaN, Infinity]);
    });

    it('refuses to reuse a tag for another plugin', () => {
      const w = open();
      w.addScalar('x', 1, 1);
      expect(() => w.addText('x', 'a', 1)).to.throw('EventFileWriter.addText: tag "x" was first written as scalars; one tag cannot hold text too');
    });

    it('rejects adds after close, and close is idempotent', () => {
      const w = open();
      w.close();
      w.close();
      expect(w.closed).to.equal(true);
      expect(() => w.addScalar('x', 1, 1)).to.throw(Error, /is closed/);
    });

    it('rejects bad options', () => {
      expect(() => open({ maxQueue: 0 })).to.throw(RangeError, /maxQueue/);
      expect(() => open({ filenameSuffix: '/x' })).to.throw(RangeError, /path separator/);
      expect(() => open({ clock: () => NaN })).to.throw(RangeError, /clock must return finite milliseconds/);
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    });
  });

  describe('write policy', () => {
    it('queues up to maxQueue records, then appends them in one write', () => {
      const w = open({ maxQueue: 3, flushIntervalMs: 60_000 });
      const size = (): number => fs.statSync(w.path).size;
      const first = size();
      expect(first).to.be.greaterThan(0); // file_version record is written at once
      w.addScalar('a', 1, 1);
      w.addScalar('a', 2, 2);
      expect(size()).to.equal(first);
      w.addScalar('a', 3, 3);
      expect(size()).to.be.greaterThan(first);
      w.addScalar('a', 4, 4);
      const before = size();
      w.flush();
      expect(size()).to.be.greaterThan(before);
      expect(readEventFile(w.path).events).to.have.length(5);
    });

    it('writes a lone queued record after flushIntervalMs', async () => {
      const w = open({ maxQueue: 100, flushIntervalMs: 20 });
      w.addScalar('a', 1, 1);
      expect(readEventFile(w.path).events).to.have.length(1);
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(readEventFile(w.path).events).to.have.length(2);
    });

    it('writes every record at once with flushIntervalMs 0', () => {
      const w = open({ flushIntervalMs: 0 });
      w.addText('t', 'now', 1);
      expect(readEventFile(w.path).events[1]!.values[0]!.text).to.equal('now');
    });
  });
});

/** Length in bytes of the last record, found by walking the framing (test-local helper). */
function refLastRecordLength(bytes: Buffer): number {
  let pos = 0;
  let last = 0;
  while (pos < bytes.length) {
    last = 12 + Number(bytes.readBigUInt64LE(pos)) + 4;
    pos += last;
  }
  return last;
}
