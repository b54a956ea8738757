import { expect } from 'chai';
import { PRIORITY_NAMES, Priority, getPriority, priorityName } from '../../src/core/priority.js';

const NAMES = 'HIGHEST, VERY_HIGH, HIGH, ABOVE_NORMAL, NORMAL, BELOW_NORMAL, LOW, VERY_LOW, LOWEST';

describe('getPriority', () => {
  it('has MMCV\'s levels in order', () => {
    expect(PRIORITY_NAMES.join(', ')).to.equal(NAMES);
    expect(PRIORITY_NAMES.map((n) => Priority[n])).to.deep.equal([0, 10, 30, 40, 50, 60, 70, 90, 100]);
  });

  it('returns integers in [0, 100] as they are', () => {
    expect(getPriority(0)).to.equal(0);
    expect(getPriority(55)).to.equal(55);
    expect(getPriority(100)).to.equal(100);
  });

  for (const bad of [-1, 101, 1.5, Number.NaN, Infinity]) {
    it(`rejects the number ${bad} with a RangeError`, () => {
      expect(() => getPriority(bad)).to.throw(RangeError, `priority must be an integer between 0 and 100 or one of ${NAMES}; got ${bad}`)
        .with.property('message', `priority must be an integer between 0 and 100 or one of ${NAMES}; got ${bad}`);
    });
  }

  it('matches level names in any case', () => {
    expect(getPriority('normal')).to.equal(50);
    expect(getPriority('NORMAL')).to.equal(50);
    expect(getPriority('VERY_HIGH')).to.equal(10);
    expect(getPriority('very_high')).to.equal(10);
    expect(getPriority('Below_Normal')).to.equal(60);
    expect(getPriority('lowest')).to.equal(100);
  });

  it('accepts enum members', () => {
    expect(getPriority(Priority.HIGHEST)).to.equal(0);
    expect(getPriority(Priority.VERY_LOW)).to.equal(90);
    expect(getPriority(Priority.LOW)).to.equal(70);
  });

  it('rejects an unknown name, listing the allowed names', () => {
    const message = `priority 'medium' is not a level; allowed names are ${NAMES} (or an integer 0-100)`;
    expect(() => getPriority('medium')).to.throw(RangeError).with.property('message', message);
    // Numeric strings and Object.prototype names are not levels either.
    expect(() => getPriority('50')).to.throw(RangeError, "priority '50' is not a level");
    expect(() => getPriority('constructor')).to.throw(RangeError, "priority 'constructor' is not a level");
  });

  for (const [value, kind] of [[null, 'object'], [undefined, 'undefined'], [true, 'boolean'], [{}, 'object'], [[50], 'object']] as const) {
    it(`rejects ${JSON.stringify(value) ?? 'undefined'} with a TypeError`, () => {
      expect(() => getPriority(value as never)).to.throw(TypeError)
        .with.property('message', `priority must be an integer, a level name or a Priority member; got ${kind}`);
    });
  }
});

describe('priorityName', () => {
  it('names level values and prints other values as numbers', () => {
    expect(priorityName(0)).to.equal('HIGHEST');
    expect(priorityName(50)).to.equal('NORMAL');
    expect(priorityName(90)).to.equal('VERY_LOW');
    expect(priorityName(100)).to.equal('LOWEST');
    expect(priorityName(55)).to.equal('55');
    expect(priorityName(89)).to.equal('89');
  });

  it("maps MMCV's level names to their values and back (table from the spec)", () => {
    const table: Array<[string, number]> = [
      ['HIGHEST', 0], ['VERY_HIGH', 10], ['HIGH', 30], ['ABOVE_NORMAL', 40], ['NORMAL', 50],
      ['BELOW_NORMAL', 60], ['LOW', 70], ['VERY_LOW', 90], ['LOWEST', 100],
    ];
    expect(table.map(([name]) => getPriority(name.toLowerCase()))).to.deep.equal(table.map(([, value]) => value));
    expect(table.map(([, value]) => priorityName(value))).to.deep.equal(table.map(([name]) => name));
  });
});
