import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { AppendFile } from '../../src/runner/append-file.js';
import { tempDir } from '../helpers/tiny.js';

describe('AppendFile', () => {
  it('creates nothing before the first write, then appends each write at once, also after close', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'sub', 'a.log');
      fs.mkdirSync(path.dirname(file));
      fs.writeFileSync(file, 'before\n');
      const out = new AppendFile(file);
      out.write('one\n');
      expect(fs.readFileSync(file, 'utf8')).to.equal('before\none\n');
      out.close();
      out.close();
      out.write('two\n');
      out.close();
      expect(fs.readFileSync(file, 'utf8')).to.equal('before\none\ntwo\n');
      const fresh = new AppendFile(path.join(dir, 'new', 'b.log'));
      expect(fs.existsSync(path.join(dir, 'new'))).to.equal(false);
      fresh.write('x\n');
      fresh.close();
      expect(fs.readFileSync(path.join(dir, 'new', 'b.log'), 'utf8')).to.equal('x\n');
    } finally {
      cleanup();
    }
  });
});
