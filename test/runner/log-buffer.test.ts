import { expect } from 'chai';
import { LogBuffer } from '../../src/runner/log-buffer.js';

describe('LogBuffer', () => {
  it('MMCV\'s example: (1 x1, 3 x3) averages to 2.5, the last one to 3', () => {
    const buf = new LogBuffer();
    buf.update({ loss: 1 }, 1);
    buf.update({ loss: 3 }, 3);
    expect(buf.ready).to.equal(false);
    buf.average();
    expect(buf.output.get('loss')).to.equal(2.5);
    expect(buf.ready).to.equal(true);
    buf.average(1);
    expect(buf.output.get('loss')).to.equal(3);
  });

  it('keeps first-insertion key order and one history per key', () => {
    const buf = new LogBuffer();
    buf.update({ b: 1, a: 2 });
    buf.update({ c: 3, a: 4 }, 2);
    expect([...buf.valHistory.keys()]).to.deep.equal(['b', 'a', 'c']);
    expect(buf.valHistory.get('a')).to.deep.equal([2, 4]);
    expect(buf.nHistory.get('a')).to.deep.equal([1, 2]);
    expect(buf.nHistory.get('c')).to.deep.equal([2]);
    buf.average();
    expect([...buf.output.entries()]).to.deep.equal([['b', 1], ['a', 10 / 3], ['c', 3]]);
  });

  it('averages each key over its own last n values, even when it was not updated recently', () => {
    const buf = new LogBuffer();
    buf.update({ loss: 10, acc: 0.5 }, 2);
    buf.update({ loss: 20, acc: 0.7 }, 2);
    buf.update({ loss: 4 }, 4);
    buf.update({ loss: 6 }, 4);
    buf.average(2);
    expect(buf.output.get('loss')).to.equal(5);
    expect(buf.output.get('acc')).to.equal(0.6);
    buf.average(3);
    expect(buf.output.get('loss')).to.equal((20 * 2 + 4 * 4 + 6 * 4) / 10);
    // n larger than the history takes all of it; 0 means all.
    buf.average(100);
    expect(buf.output.get('loss')).to.equal((10 * 2 + 20 * 2 + 4 * 4 + 6 * 4) / 12);
    buf.average(0);
    expect(buf.output.get('loss')).to.equal((10 * 2 + 20 * 2 + 4 * 4 + 6 * 4) / 12);
  });

  it('keeps output values that have no history (evaluation metrics)', () => {
    const buf = new LogBuffer();
    buf.output.set('accuracy', 0.93);
    buf.output.set('evalIterNum', 4);
    buf.update({ loss: 2 });
    buf.average();
    expect([...buf.output.entries()]).to.deep.equal([['accuracy', 0.93], ['evalIterNum', 4], ['loss', 2]]);
  });

  it('clearOutput empties the output and ready, keeping the history', () => {
    const buf = new LogBuffer();
    buf.update({ loss: 2 });
    buf.average();
    buf.clearOutput();
    expect(buf.output.size).to.equal(0);
    expect(buf.ready).to.equal(false);
    expect(buf.valHistory.get('loss')).to.deep.equal([2]);
    buf.update({ loss: 4 });
    buf.average();
    expect(buf.output.get('loss')).to.equal(3);
  });

  it('clear empties histories, output and ready', () => {
    const buf = new LogBuffer();
    buf.update({ loss: 2 });
    buf.output.set('accuracy', 1);
    buf.average();
    buf.clear();
    expect([buf.valHistory.size, buf.nHistory.size, buf.output.size, buf.ready]).to.deep.equal([0, 0, 0, false]);
    buf.update({ loss: 8 });
    buf.average();
    expect([...buf.output.entries()]).to.deep.equal([['loss', 8]]);
  });

  it('rejects a negative or fractional n', () => {
    const buf = new LogBuffer();
    buf.update({ loss: 1 });
    expect(() => buf.average(-1)).to.throw(RangeError).with.property('message', 'LogBuffer.average: n must be an integer >= 0; got -1');
    // A fractional n used to slice from a fractional index and average to NaN.
    expect(() => buf.average(1.5)).to.throw(RangeError).with.property('message', 'LogBuffer.average: n must be an integer >= 0; got 1.5');
    expect(() => buf.average(Number.NaN)).to.throw(RangeError, 'got NaN');
    expect(buf.ready).to.equal(false);
  });
});
