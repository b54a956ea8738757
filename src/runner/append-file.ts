import fs from 'node:fs';
import path from 'node:path';

/**
 * A file appended to through one descriptor, opened (with its directory) at the first write and
 * kept open until {@link close}: a line costs one `write`, not the open, write and close of
 * `fs.appendFileSync`. A write after `close` opens the file again.
 */
export class AppendFile {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  /** Appends `text` at once (synchronously). */
  write(text: string): void {
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.path), { recursive: true });
      this.fd = fs.openSync(this.path, 'a');
    }
    fs.writeSync(this.fd, text);
  }

  /** Closes the descriptor, if open. */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
