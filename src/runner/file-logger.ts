import type { Logger } from '../core/services.js';
import { AppendFile } from './append-file.js';

/**
 * A logger that writes timestamped lines to a file and passes every message on to `next`. The
 * file is created with the first message, so a run that fails before logging leaves no empty log.
 */
export class FileLogger implements Logger {
  private readonly out: AppendFile;

  constructor(readonly file: string, private readonly next?: Logger) {
    this.out = new AppendFile(file);
  }

  private write(level: string, message: string): void {
    const stamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
    this.out.write(`${stamp} - hookflow - ${level} - ${message}\n`);
  }

  info(message: string): void { this.write('INFO', message); this.next?.info(message); }
  warn(message: string): void { this.write('WARNING', message); this.next?.warn(message); }
  error(message: string): void { this.write('ERROR', message); this.next?.error(message); }

  /** Closes the file (a later message opens it again). */
  close(): void {
    this.out.close();
  }
}
