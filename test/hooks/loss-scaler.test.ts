import { expect } from 'chai';
import { DYNAMIC_LOSS_SCALE_DEFAULTS, LossScaler, hasInfOrNaN } from '../../src/hooks/fp16/loss-scaler.js';

/** Feeds overflow flags and returns the scale after each update. */
function trajectory(scaler: LossScaler, overflows: boolean[]): number[] {
  return overflows.map((o) => {
    scaler.updateScale(o);
    return scaler.lossScale;
  });
}

const clean = false;
const overflow = true;

describe('LossScaler', () => {
  it("builds 'dynamic' with GradScaler's defaults and a number as a static scale", () => {
    expect(DYNAMIC_LOSS_SCALE_DEFAULTS).to.deep.equal({ initScale: 65536, scaleFactor: 2, scaleWindow: 2000 });
    expect(LossScaler.from('dynamic').stateDict()).to.deep.equal({
      curScale: 65536, curIter: 0, mode: 'dynamic', lastOverflowIter: -1, scaleFactor: 2, scaleWindow: 2000,
    });
    expect(LossScaler.from(512).stateDict()).to.deep.equal({
      curScale: 512, curIter: 0, mode: 'static', lastOverflowIter: -1, scaleFactor: 2, scaleWindow: 2000,
    });
    expect(LossScaler.from({ initScale: 8, scaleWindow: 3 }).stateDict()).to.deep.equal({
      curScale: 8, curIter: 0, mode: 'dynamic', lastOverflowIter: -1, scaleFactor: 2, scaleWindow: 3,
    });
  });

  it('halves on overflow and grows after scaleWindow clean updates, at the start and after an overflow', () => {
    const scaler = new LossScaler({ initScale: 8, scaleWindow: 3 });
    expect(trajectory(scaler, [clean, clean, clean])).to.deep.equal([8, 8, 16]);
    expect(trajectory(scaler, [overflow])).to.deep.equal([8]);
    expect(scaler.stateDict()).to.include({ curIter: 4, lastOverflowIter: 3 });
    expect(trajectory(scaler, [clean, clean, clean, clean, clean, clean])).to.deep.equal([8, 8, 16, 16, 16, 32]);
    expect(trajectory(scaler, [clean, overflow, overflow, clean, clean, clean])).to.deep.equal([32, 16, 8, 8, 8, 16]);
  });

  it('uses scaleFactor both ways and never goes below 1', () => {
    const scaler = new LossScaler({ initScale: 6, scaleFactor: 4, scaleWindow: 2 });
    expect(trajectory(scaler, [overflow, overflow, overflow, clean, clean])).to.deep.equal([1.5, 1, 1, 1, 4]);
  });

  it('never changes a static scale nor counts its updates', () => {
    const scaler = LossScaler.from(512);
    expect(trajectory(scaler, [overflow, clean, clean, overflow])).to.deep.equal([512, 512, 512, 512]);
    expect(scaler.stateDict()).to.include({ curIter: 0, lastOverflowIter: -1 });
  });

  it('round-trips its state through JSON and continues identically', () => {
    const a = new LossScaler({ initScale: 1024, scaleWindow: 3 });
    trajectory(a, [clean, overflow, clean]);
    const saved = JSON.parse(JSON.stringify(a.stateDict()));
    expect(saved).to.deep.equal({ curScale: 512, curIter: 3, mode: 'dynamic', lastOverflowIter: 1, scaleFactor: 2, scaleWindow: 3 });
    const b = LossScaler.from(7);
    b.loadStateDict(saved);
    expect(b.stateDict()).to.deep.equal(saved);
    const flags = [clean, clean, overflow, clean, clean, clean];
    expect(trajectory(b, flags)).to.deep.equal(trajectory(a, flags)).and.to.deep.equal([512, 1024, 512, 512, 512, 1024]);
  });

  it('rejects bad options and bad states with the key and the value', () => {
    expect(() => new LossScaler({ scaleFactor: 1 })).to.throw('LossScaler.scaleFactor: must be a number > 1; got 1');
    expect(() => new LossScaler({ scaleWindow: 2.5 })).to.throw('LossScaler.scaleWindow: must be a positive integer; got 2.5');
    expect(() => new LossScaler({ initScale: Infinity })).to.throw('LossScaler.initScale: must be a positive finite number; got Infinity');
    expect(() => new LossScaler({ mode: 'auto' as 'static' })).to.throw(`LossScaler.mode: must be 'static' or 'dynamic'; got "auto"`);
    const state = LossScaler.from('dynamic').stateDict();
    const scaler = LossScaler.from('dynamic');
    expect(() => scaler.loadStateDict({ ...state, scaleWindow: 0 })).to.throw('lossScaler.scaleWindow: must be a positive integer; got 0');
    expect(() => scaler.loadStateDict({ ...state, cur_scale: 2 })).to.throw("lossScaler: unknown option 'cur_scale' (did you mean 'curScale'?)");
    expect(scaler.stateDict()).to.deep.equal(state); // a rejected state changes nothing
  });

  it('detects infinities and NaN (hasInfOrNaN)', () => {
    expect(hasInfOrNaN([new Float32Array([1, 2]), [3]])).to.equal(false);
    expect(hasInfOrNaN([])).to.equal(false);
    expect(hasInfOrNaN([[1], new Float32Array([0, -Infinity])])).to.equal(true);
    expect(hasInfOrNaN([[NaN]])).to.equal(true);
  });
});
