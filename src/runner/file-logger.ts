import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/services.js';

/**
 * A logger that writes timestamped lines to a file and passes every message on to `next`. The
 * file is created with the first message, so a run that fails before logging leaves no empty log.
 */
export class FileLogger implements Logger {
  private fd: number | undefined;

  constructor(readonly file: string, private readonly next?: Logger) {}

  private write(level: string, message: string): void {
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'a');
    }
    const stamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
    fs.writeSync(this.fd, `${stamp} - hookflow - ${level} - ${message}\n`);
  }

  info(message: string): void { this.write('INFO', message); this.next?.info(message); }
  warn(message: string): void { this.write('WARNING', message); this.next?.warn(message); }
  error(message: string): void { this.write('ERROR', message); this.next?.error(message); }

  /** Closes the file (a later message opens it again). */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
