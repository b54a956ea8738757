import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PendingBytes } from '../../src/core/journal/pending-bytes.js';
import { tempDir } from '../helpers/tiny.js';

describe('PendingBytes', () => {
  it('writes the lines appended as UTF-8, in order, growing past its first buffer, then holds nothing', () => {
    const { dir, cleanup } = tempDir();
    const file = path.join(dir, 'out.jsonl');
    const fd = fs.openSync(file, 'a');
    try {
      const pending = new PendingBytes();
      const lines = Array.from({ length: 2000 }, (_, i) => `{"seq":${i},"note":"é✓ 𝄞"}\n`);
      for (const line of lines) pending.appendLine(line.slice(0, -1));
      expect(pending.length).to.equal(Buffer.byteLength(lines.join('')));
      pending.writeTo(fd);
      expect(pending.length).to.equal(0);
      pending.appendLine('last');
      pending.writeTo(fd);
      expect(fs.readFileSync(file, 'utf8')).to.equal(`${lines.join('')}last\n`);
    } finally {
      fs.closeSync(fd);
      cleanup();
    }
  });

  it('keeps what a failing write did not take', () => {
    const pending = new PendingBytes();
    pending.appendLine('kept');
    expect(() => pending.writeTo(-1)).to.throw();
    expect(pending.length).to.equal(5);
  });
});
