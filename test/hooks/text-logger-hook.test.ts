import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { IterTimerHook } from '../../src/hooks/iter-timer-hook.js';
import type { LoggerRunner } from '../../src/hooks/logger/logger-runner.js';
import { pyExp, pyFixed, pyRound, pyTimedelta } from '../../src/hooks/logger/py-format.js';
import { TextLoggerHook } from '../../src/hooks/logger/text-logger-hook.js';
import { MemoryLogger } from '../../src/core/services.js';
import { LogBuffer } from '../../src/runner/log-buffer.js';
import { SGD } from '../../src/training/optim/sgd.js';
import { tempDir, tinyRunner } from '../helpers/tiny.js';

/** A scalar-only runner view, enough to drive a logger hook by hand. */
function fakeRunner(overrides: Partial<LoggerRunner> = {}): LoggerRunner & { epoch: number; iter: number; innerIter: number } {
  const logger = new MemoryLogger();
  return {
    epoch: 0, iter: 0, innerIter: 0, mode: 'train', maxEpochs: 1, maxIters: 1000,
    dataLoader: { length: 1000 }, logBuffer: new LogBuffer(), logger, meta: null, workDir: null,
    timestamp: '20260101_000000', rank: 0, hooks: [], lrForLog: () => 0.02, momentumForLog: () => 0.9,
    ...overrides,
  } as LoggerRunner & { epoch: number; iter: number; innerIter: number };
}

describe('Python number formatting', () => {
  it('rounds exact ties half to even, like round() and %f', () => {
    expect(pyRound(0.015625, 5)).to.equal(0.01562); // JavaScript's toFixed gives 0.01563
    expect(pyRound(0.046875, 5)).to.equal(0.04688);
    expect(pyFixed(2.5, 0)).to.equal('2');
    expect(pyFixed(3.5, 0)).to.equal('4');
    expect(pyFixed(-0.125, 2)).to.equal('-0.12');
    expect(pyFixed(0.1 + 0.2, 4)).to.equal('0.3000');
    expect(pyRound(1.23456789, 5)).to.equal(1.23457);
    expect(pyFixed(9.99995, 4)).to.equal('10.0000');
    expect(pyFixed(-0.00001, 4)).to.equal('-0.0000');
    expect(pyFixed(123, 0)).to.equal('123');
  });

  it('agrees with Python off the ties too, where JavaScript rounds for it', () => {
    expect(pyFixed(0.12345, 4)).to.equal('0.1235'); // a 5 next, but above the tie in binary
    expect(pyFixed(0.12344, 4)).to.equal('0.1234');
    expect(pyFixed(-0, 2)).to.equal('-0.00');
    expect(pyFixed(-1.25, 1)).to.equal('-1.2');
    expect(pyFixed(1e20, 1)).to.equal('100000000000000000000.0');
    expect(pyExp(0.05, 3)).to.equal('5.000e-02');
    expect(pyExp(-123456, 1)).to.equal('-1.2e+05');
    expect(pyExp(1e-300, 3)).to.equal('1.000e-300');
    expect(pyRound(0.000123456, 5)).to.equal(0.00012);
  });

  it('prints %.3e and timedelta as Python does', () => {
    expect(pyExp(0.02, 3)).to.equal('2.000e-02');
    expect(pyExp(1234.5, 3)).to.equal('1.234e+03'); // a tie: JavaScript says 1.235e+3
    expect(pyExp(9.9996, 3)).to.equal('1.000e+01');
    expect(pyExp(-0.000123456, 2)).to.equal('-1.23e-04');
    expect(pyExp(0, 3)).to.equal('0.000e+00');
    expect(pyTimedelta(495)).to.equal('0:08:15');
    expect(pyTimedelta(588.9)).to.equal('0:09:48');
    expect(pyTimedelta(90000)).to.equal('1 day, 1:00:00');
    expect(pyTimedelta(2 * 86400 + 5)).to.equal('2 days, 0:00:05');
  });
});

describe('TextLoggerHook', () => {
  it("computes MMCV's ETA: 0:08:15 at iter 9, then 0:09:48 at iter 19", () => {
    const hook = new TextLoggerHook({ interval: 10, byEpoch: false });
    const runner = fakeRunner();
    hook.beforeRun(runner);
    const logAt = (iter: number, time: number) => {
      runner.iter = iter;
      runner.innerIter = iter;
      for (let k = 0; k < 10; k++) runner.logBuffer.update({ time, dataTime: 0.01, loss: 0.5 });
      hook.afterTrainIter(runner);
    };
    logAt(9, 0.5);
    logAt(19, 0.7);
    const lines = (runner.logger as MemoryLogger).lines.map((l) => l.message);
    expect(lines).to.deep.equal([
      'Iter [10/1000]\tlr: 2.000e-02, eta: 0:08:15, time: 0.500, dataTime: 0.010, loss: 0.5000',
      'Iter [20/1000]\tlr: 2.000e-02, eta: 0:09:48, time: 0.700, dataTime: 0.010, loss: 0.5000',
    ]);
  });

  it('ends a train line with ", " when there is nothing else to print, and labels eval results val', () => {
    const hook = new TextLoggerHook({ interval: 1 });
    const runner = fakeRunner({ lrForLog: () => ({ gen: 0.1, disc: 0.02 }), momentumForLog: () => ({ gen: 0.9, disc: 0.5 }) });
    hook.beforeRun(runner);
    runner.logBuffer.output.set('loss', 1);
    runner.logBuffer.ready = true;
    runner.logBuffer.output.delete('loss');
    hook.afterTrainEpoch(runner);
    runner.logBuffer.output.set('evalIterNum', 4);
    runner.logBuffer.output.set('accuracy', 0.875);
    runner.logBuffer.output.set('top5', 1);
    runner.logBuffer.output.set('missed', 0);
    runner.logBuffer.ready = true;
    hook.afterTrainEpoch(runner);
    // Integer-valued log vars print as MMCV's floats do; counters (epoch, iter) stay integers.
    expect((runner.logger as MemoryLogger).lines.map((l) => l.message)).to.deep.equal([
      'Epoch [1][1/1000]\tlr_gen: 1.000e-01 lr_disc: 2.000e-02, ',
      'Epoch(val) [1][4]\taccuracy: 0.8750, top5: 1.0000, missed: 0.0000',
    ]);
  });

  it('writes the meta line and one JSON record per log to <workDir>/<timestamp>.log.json', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { runner, train, val, logger } = tinyRunner({ workDir: dir, maxEpochs: 2, numSamples: 12, batchSize: 4, meta: { expName: 'tiny' } });
      runner.registerTrainingHooks({ optimizerConfig: { gradClip: { maxNorm: 5 } }, logConfig: { interval: 2, hooks: [{ type: 'TextLoggerHook' }] } });
      await runner.run([train, val], [['train', 1], ['val', 1]]);
      const file = path.join(dir, `${runner.timestamp}.log.json`);
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
      const records = lines.map((l) => JSON.parse(l));
      expect(records[0]).to.deep.equal({ expName: 'tiny' });
      const rest = records.slice(1);
      expect(rest.map((r) => [r.mode, r.epoch, r.iter])).to.deep.equal([['train', 1, 2], ['val', 1, 3], ['train', 2, 2], ['val', 2, 3]]);
      expect(Object.keys(rest[0])).to.deep.equal(['mode', 'epoch', 'iter', 'lr', 'momentum', 'dataTime', 'loss', 'accuracy', 'gradNorm', 'time']);
      expect(rest[0].lr).to.equal(0.1);
      expect(rest[0].momentum).to.equal(0.9);
      // Every number is written with at most 5 decimals (MMCV rounds floats to 5 places).
      for (const line of lines.slice(1)) {
        for (const [, number] of line.matchAll(/:(-?[\d.e+-]+)[,}]/g)) expect(number, line).to.match(/^-?\d+(\.\d{1,5})?$/);
      }
      const text = logger.text();
      expect(text).to.match(/Epoch \[1\]\[2\/3\]\tlr: 1\.000e-01, eta: \d+:\d\d:\d\d, time: \d+\.\d{3}, dataTime: \d+\.\d{3}, loss: \d\.\d{4}, accuracy: \d\.\d{4}, gradNorm: \d+\.\d{4}/);
      expect(text).to.match(/Epoch\(val\) \[1\]\[3\]\tloss: \d\.\d{4}, accuracy: \d\.\d{4}/);
      expect(text).to.contain('Exp name: tiny');
      // The text log file holds the same lines.
      expect(fs.readFileSync(path.join(dir, `${runner.timestamp}.log`), 'utf8')).to.contain('Epoch(val) [2][3]');
    } finally {
      cleanup();
    }
  });

  it('closes the JSON log when the run fails, keeping every record written before the failure', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { runner, train } = tinyRunner({ workDir: dir, maxEpochs: 2, numSamples: 12, batchSize: 4 });
      runner.registerTrainingHooks({ optimizerConfig: {}, logConfig: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] } });
      class FailAtIter3 extends Hook {
        override afterTrainIter(r: { iter: number }): void {
          if (r.iter === 2) throw new Error('boom at iter 3');
        }
      }
      runner.registerHook(new FailAtIter3(), 'LOWEST');
      const file = path.join(dir, `${runner.timestamp}.log.json`);
      const openOnLog = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
        } catch {
          return false; // the descriptor of readdir itself is gone by now
        }
      }).length;
      let failure: unknown;
      await runner.run([train], [['train', 1]]).catch((error: unknown) => { failure = error; });
      expect(String(failure)).to.contain('boom at iter 3');
      expect(openOnLog()).to.equal(0);
      const records = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as { iter: number });
      expect(records.map((r) => r.iter)).to.deep.equal([1, 2, 3]);
    } finally {
      cleanup();
    }
  });

  it('logs by iteration on an IterBasedRunner and copies logs to outDir after the run', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const work = path.join(dir, 'exp1');
      const { runner, train, logger } = tinyRunner({ kind: 'iter', workDir: work, maxIters: 4 });
      runner.registerTrainingHooks({ optimizerConfig: {}, logConfig: { interval: 2, hooks: [{ type: 'TextLoggerHook', outDir: path.join(dir, 'remote') }] } });
      await runner.run([train], [['train', 1]]);
      expect(logger.lines.map((l) => l.message).filter((m) => m.startsWith('Iter ['))).to.have.length(2);
      expect(logger.text()).to.match(/Iter \[4\/4\]\tlr: 1\.000e-01, eta: 0:00:00/);
      expect(fs.readdirSync(path.join(dir, 'remote', 'exp1')).sort()).to.deep.equal([`${runner.timestamp}.log`, `${runner.timestamp}.log.json`]);
    } finally {
      cleanup();
    }
  });

  it('lets exactly the last logger clear the output, so all loggers see the same averages', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1 });
    const first = new TextLoggerHook({ interval: 1 });
    const last = new TextLoggerHook({ interval: 1 });
    runner.registerHook(new IterTimerHook(), 'LOW');
    runner.registerHook(first, 'VERY_LOW');
    runner.registerHook(last, 'VERY_LOW');
    await runner.run([train], [['train', 1]]);
    expect([first.resetFlag, last.resetFlag]).to.deep.equal([false, true]);
  });

  it('rejects bad options naming the option', () => {
    expect(() => new TextLoggerHook({ interval: 0 })).to.throw('TextLoggerHook.interval: Too small: expected number to be >0');
    expect(() => new TextLoggerHook({ intervall: 5 } as never)).to.throw("TextLoggerHook: unknown option 'intervall' (did you mean 'interval'?)");
  });

  it('reports a lr that no optimizer has as a clear error', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1, optimizer: null });
    runner.registerHook(new TextLoggerHook({ interval: 1 }), 'VERY_LOW');
    let error: Error | undefined;
    try { await runner.run([train], [['train', 1]]); } catch (e) { error = e as Error; }
    expect(error?.message).to.equal('hook TextLoggerHook failed in afterTrainIter: the runner has no optimizer, so it has no lr or momentum');
  });
});

describe('tensor hygiene', () => {
  it('keeps tf.memory().numTensors flat over many iterations with the default hooks', async () => {
    const tf = await import('../../src/backend/tfjs.js');
    const { runner, train, val, model } = tinyRunner({ maxEpochs: 4, numSamples: 40, batchSize: 4 });
    runner.optimizer = new SGD(model.params(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    runner.registerTrainingHooks({ optimizerConfig: { gradClip: { maxNorm: 1 } }, logConfig: { interval: 3, hooks: [{ type: 'TextLoggerHook' }] } });
    const counts: number[] = [];
    class CountTensors extends Hook { override afterTrainIter(): void { counts.push(tf.memory().numTensors); } }
    runner.registerHook(new CountTensors(), 'LOWEST');
    await runner.run([train, val], [['train', 1], ['val', 1]]);
    expect(counts).to.have.length(40);
    // After the first iteration (which creates the momentum buffers) the count never moves.
    expect(new Set(counts.slice(1)).size).to.equal(1);
  });
});

describe('several loggers', () => {
  it('each keeps its own interval (MMCV lets a later logger log whenever an earlier one averaged)', async () => {
    const { runner, train, logger } = tinyRunner({ maxEpochs: 1, numSamples: 24, batchSize: 4 });
    runner.registerTrainingHooks({ optimizerConfig: {}, logConfig: { hooks: [{ type: 'TextLoggerHook', interval: 2 }, { type: 'TextLoggerHook', interval: 3 }] } });
    await runner.run([train], [['train', 1]]);
    const logged = logger.lines.map((l) => l.message).filter((m) => m.startsWith('Epoch [')).map((m) => m.slice(0, m.indexOf('\t')));
    // First logger at 2, 4, 6; second at 3, 6 (each line once per logger that is due).
    expect(logged).to.deep.equal(['Epoch [1][2/6]', 'Epoch [1][3/6]', 'Epoch [1][4/6]', 'Epoch [1][6/6]', 'Epoch [1][6/6]']);
  });
});
