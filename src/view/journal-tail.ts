/**
 * Follows a journal file as a trainer appends to it: every complete line, once, in order, to
 * every listener. A listener added later first gets the lines already read, so it sees the
 * journal from the start. Change notifications on the folder (`fs.watch`) make it prompt; a poll
 * of the file's size (`fs.watchFile`) backs them up where notifications are missing or late.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** Receives one journal line (without its newline) and its 1-based line number. */
export type LineListener = (line: string, lineNo: number) => void;

/** How often the file is checked while someone listens, in ms. */
const POLL_MS = 200;

/** One journal followed for any number of listeners; the file is read only while some listen. */
export class JournalTail {
  private readonly lines: string[] = [];
  private readonly listeners = new Set<LineListener>();
  private offset = 0;
  private partial = '';
  /** Keeps a character split across two reads whole. */
  private decoder = new StringDecoder('utf8');
  private watcher?: fs.FSWatcher;

  constructor(readonly file: string) {}

  /** Sends every line so far to `listener`, then each new one; returns the unsubscribe function. */
  subscribe(listener: LineListener): () => void {
    this.readNew();
    this.lines.forEach((line, i) => listener(line, i + 1));
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.watch();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.unwatch();
    };
  }

  /** Stops following the file. */
  close(): void {
    this.listeners.clear();
    this.unwatch();
  }

  private watch(): void {
    fs.watchFile(this.file, { interval: POLL_MS }, this.onChange);
    try {
      const name = path.basename(this.file);
      this.watcher = fs.watch(path.dirname(this.file), (_event, changed) => {
        if (changed === null || changed === name) this.readNew();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No notifications here: the poll alone follows the file.
    }
  }

  private unwatch(): void {
    fs.unwatchFile(this.file, this.onChange);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private readonly onChange = (): void => this.readNew();

  /** Reads what was appended since the last read and hands out the complete lines. */
  private readNew(): void {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return; // not written yet
    }
    if (size < this.offset) {
      // A resuming writer cut off a torn last line: the lines read stay valid.
      this.offset = size;
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
      return;
    }
    if (size === this.offset) return;
    const buffer = Buffer.alloc(size - this.offset);
    const fd = fs.openSync(this.file, 'r');
    try {
      fs.readSync(fd, buffer, 0, buffer.length, this.offset);
    } finally {
      fs.closeSync(fd);
    }
    this.offset = size;
    const parts = (this.partial + this.decoder.write(buffer)).split('\n');
    this.partial = parts.pop()!;
    for (const line of parts) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      for (const listener of this.listeners) listener(line, this.lines.length);
    }
  }
}
