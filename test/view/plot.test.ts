import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors.js';
import { buildPlot, plotCommand } from '../../src/view/plot-command.js';
import { findLogJson, readLogRecords, scalarsFromLog } from '../../src/view/run-scalars.js';
import { formatTrainTime, trainTime } from '../../src/view/train-time.js';
import { tempDir } from '../helpers/tiny.js';
import { trainTinyRun } from './tiny-run.js';

type Row = { series: string; x: number; y: number };
const rowsOf = (spec: Record<string, unknown>) => (spec.datasets as Record<string, Row[]>).points!;

/** Number of point symbols Vega drew in an SVG (one `<path>` per point in the symbol mark). */
function symbolCount(svg: string): number {
  const groups = svg.split('class="mark-symbol role-mark').slice(1);
  return groups.reduce((n, g) => n + (g.split('</g>')[0]!.match(/<path /g) ?? []).length, 0);
}

/** Width and height in a PNG's IHDR chunk. */
function pngSize(file: string): [number, number] {
  const png = fs.readFileSync(file);
  expect(png.subarray(0, 8).toString('hex')).to.equal('89504e470d0a1a0a');
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

describe('hookflow plot and analyze-logs', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  let runA: string;
  let runB: string;
  let log: Record<string, unknown>[];

  before(async () => {
    ({ dir, cleanup } = tempDir());
    runA = path.join(dir, 'a');
    runB = path.join(dir, 'b');
    await trainTinyRun(runA, { runner: { type: 'EpochBasedRunner', maxEpochs: 3 } });
    await trainTinyRun(runB, { runner: { type: 'EpochBasedRunner', maxEpochs: 2 }, seed: 3 });
    log = readLogRecords(findLogJson(runA)!);
  });
  after(() => cleanup());

  it('has one point per logged record, at the global iteration MMCV plots it at', () => {
    const { spec, curves } = buildPlot([runA], { keys: 'loss' });
    const train = log.filter((r) => r.mode === 'train');
    expect(train).to.have.length(9);
    expect(rowsOf(spec).map((r) => [r.x, r.y])).to.deep.equal(train.map((r) => [(Number(r.epoch) - 1) * 3 + Number(r.iter), r.loss]));
    expect(rowsOf(spec).every((r) => r.series === `${runA}_loss`)).to.equal(true);
    expect(curves).to.deep.equal([{ label: `${runA}_loss`, source: findLogJson(runA), key: 'loss', points: 9 }]);
  });

  it('places an iteration-based log at its global iterations, a val record after the iteration it followed', () => {
    const train = (epoch: number, iter: number) => ({ mode: 'train', epoch, iter, loss: iter / 10, lr: { head: 0.1, body: 0.01 } });
    const records = [train(1, 1), train(1, 2), train(2, 3), { mode: 'val', epoch: 2, iter: 2, accuracy: 0.5 }, train(2, 4)];
    const { series, itersPerEpoch } = scalarsFromLog(records, null);
    expect(itersPerEpoch).to.equal(null);
    expect(series.train.loss!.map((p) => [p.iter, p.value])).to.deep.equal([[1, 0.1], [2, 0.2], [3, 0.3], [4, 0.4]]);
    expect(series.train['lr.body']!.map((p) => p.value)).to.deep.equal([0.01, 0.01, 0.01, 0.01]);
    expect(series.val.accuracy).to.deep.equal([{ iter: 3, epoch: 2, value: 0.5 }]);
  });

  it('overlays several logs and keys, one curve each, named by --legend', () => {
    const { spec, curves } = buildPlot([runA, runB], { keys: 'loss,accuracy', legend: 'A,B' });
    expect(curves.map((c) => [c.label, c.points])).to.deep.equal([['A_loss', 9], ['A_accuracy', 9], ['B_loss', 6], ['B_accuracy', 6]]);
    expect(rowsOf(spec)).to.have.length(30);
  });

  it('plots val metrics per epoch', () => {
    const { spec, curves } = buildPlot([runA], { mode: 'val' });
    expect(curves.map((c) => c.key)).to.deep.equal(['accuracy', 'loss']);
    const val = log.filter((r) => r.mode === 'val');
    expect(rowsOf(spec).filter((r) => r.series.endsWith('_accuracy')).map((r) => [r.x, r.y])).to.deep.equal(val.map((r) => [r.epoch, r.accuracy]));
  });

  it('writes an SVG whose curve has one drawn point per record', async () => {
    const out = path.join(dir, 'one.svg');
    const printed: string[] = [];
    await plotCommand([findLogJson(runA)!], { keys: 'loss', out, title: 'tiny' }, (line) => printed.push(line));
    expect(printed).to.deep.equal([`${findLogJson(runA)}_loss: 9 points of 'loss' from ${findLogJson(runA)}`, `saved curve to ${out}`]);
    const svg = fs.readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg')).to.equal(true);
    expect(symbolCount(svg)).to.equal(9);
    expect(svg).to.contain('>tiny</text>');
    const several = path.join(dir, 'several.svg');
    await plotCommand([runA, runB], { keys: 'loss', out: several }, () => {});
    expect(symbolCount(fs.readFileSync(several, 'utf8'))).to.equal(15);
  });

  it('writes a PNG at twice the SVG size, for one and several logs', async () => {
    const svgFile = path.join(dir, 'size.svg');
    await plotCommand([runA], { out: svgFile }, () => {});
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(fs.readFileSync(svgFile, 'utf8'))!;
    for (const runs of [[runA], [runA, runB]]) {
      const out = path.join(dir, `curve${runs.length}.png`);
      await plotCommand(runs, { out }, () => {});
      expect(pngSize(out)[0]).to.equal(2 * Number(w));
      if (runs.length === 1) expect(pngSize(out)[1]).to.equal(2 * Number(h));
    }
  });

  it('names the bad option before writing anything', async () => {
    const cases: [() => unknown, string][] = [
      [() => buildPlot([runA], { keys: 'los' }), "--keys: " + runA + " has no train key 'los' (its train keys: lr, momentum, dataTime, loss, accuracy, time)"],
      [() => buildPlot([runA], { mode: 'test' }), "--mode: must be 'train' or 'val'; got 'test'"],
      [() => buildPlot([runA, runB], { legend: 'x,y,z' }), '--legend: has 3 names; give one per log (2) or one per curve (2)'],
      [() => buildPlot([path.join(dir, 'missing')], {}), 'plot: ' + path.join(dir, 'missing') + ' does not exist (expected a work dir or a .log.json file)'],
    ];
    for (const [call, message] of cases) {
      expect(call).to.throw(ConfigError, message);
    }
    const out = path.join(dir, 'never.gif');
    let error: unknown;
    try {
      await plotCommand([runA], { out }, () => {});
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).to.equal("--out: must end in .svg or .png; got '" + out + "'");
    expect(fs.existsSync(out)).to.equal(false);
  });

  it("computes MMCV's cal_train_time: per-epoch means without each epoch's first iteration", () => {
    const records = [1, 2].flatMap((epoch) => [0.5, 0.1, 0.2 * epoch].map((time, i) => ({ mode: 'train', epoch, iter: i + 1, time })));
    records.push({ mode: 'val', epoch: 1, iter: 2, time: 9 } as never);
    const stats = trainTime(records)!;
    expect(stats.epochMeans.map((m) => Number(m.toFixed(6)))).to.deep.equal([0.15, 0.25]);
    expect([stats.slowestEpoch, stats.fastestEpoch]).to.deep.equal([2, 1]);
    expect(stats.stdOverEpochs).to.be.closeTo(0.05, 1e-12);
    expect(stats.meanIterTime).to.be.closeTo(0.2, 1e-12);
    expect(trainTime(records, true)!.epochMeans[0]).to.be.closeTo(0.8 / 3, 1e-12);
    expect(formatTrainTime('x.log.json', stats).split('\n')).to.deep.equal([
      '-----Analyze train time of x.log.json-----',
      'slowest epoch 2, average time is 0.2500',
      'fastest epoch 1, average time is 0.1500',
      'time std over epochs is 0.0500',
      'average iter time: 0.2000 s/iter',
    ]);
  });
});
