import fs from 'node:fs';

const NEWLINE = 0x0a;

/**
 * Journal lines waiting to be written, as UTF-8 bytes in one reused off-heap buffer. Kept as a
 * JavaScript string they would outlive a young-generation collection or two (they wait up to
 * `flushMs`) and be copied, then promoted to the old generation, at every flush; as bytes they
 * cost the collector nothing, and each line's string dies young.
 */
export class PendingBytes {
  private bytes = Buffer.allocUnsafe(16 * 1024);
  private used = 0;

  /** Bytes waiting. */
  get length(): number {
    return this.used;
  }

  /** Adds `text` (UTF-8) and a newline. */
  appendLine(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    const room = this.used + text.length * 3 + 1;
    if (room > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(room, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    this.used += this.bytes.write(text, this.used);
    this.bytes[this.used++] = NEWLINE;
  }

  /** Writes everything waiting to `fd`; what a failing write did not take stays waiting. */
  writeTo(fd: number): void {
    let done = 0;
    try {
      while (done < this.used) done += fs.writeSync(fd, this.bytes, done, this.used - done);
    } finally {
      if (done < this.used) this.bytes.copy(this.bytes, 0, done, this.used);
      this.used -= done;
    }
  }
}
