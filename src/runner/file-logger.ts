import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/services.js';

/** A logger that writes timestamped lines to a file and passes every message on to `next`. */
export class FileLogger implements Logger {
  private readonly fd: number;

  constructor(readonly file: string, private readonly next?: Logger) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'a');
  }

  private write(level: string, message: string): void {
    const stamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
    fs.writeSync(this.fd, `${stamp} - hookflow - ${level} - ${message}\n`);
  }

  info(message: string): void { this.write('INFO', message); this.next?.info(message); }
  warn(message: string): void { this.write('WARNING', message); this.next?.warn(message); }
  error(message: string): void { this.write('ERROR', message); this.next?.error(message); }

  /** Closes the file. */
  close(): void {
    fs.closeSync(this.fd);
  }
}
