import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { attachJournal } from '../../src/core/journal/journal-writer.js';
import { encodeLine } from '../../src/core/journal/journal-format.js';
import { On } from '../../src/core/on.js';
import type { RunnerView } from '../../src/core/runner-view.js';
import { IterTimerHook } from '../../src/hooks/iter-timer-hook.js';
import { OptimizerHook } from '../../src/hooks/optimizer-hook.js';
import {
  buildToyRunner, diffJournals, driveHook, expectJournalsMatch, hookCalls, recordStages, stageEvent, stageEvents,
} from '../../src/testing/index.js';
import { lastValueFrom, of, toArray } from 'rxjs';
import { tempDir } from '../helpers/tiny.js';

describe('testing kit', () => {
  describe('buildToyRunner and recordStages', () => {
    it('builds a real tiny run in a temp work dir with the optimizer and timer hooks, and cleans up', async () => {
      const toy = buildToyRunner();
      expect(toy.runner.hooks.map((h) => h.constructor)).to.deep.equal([OptimizerHook, IterTimerHook]);
      expect(fs.existsSync(toy.workDir!)).to.equal(true);
      const recording = recordStages(toy.runner);
      const tensors: number[] = [];
      toy.runner.addEventListener((e) => { if (e.stage === 'afterTrainIter') tensors.push(tf.memory().numTensors); });
      const before = [...toy.model.params().values()].map((v) => Array.from(v.dataSync()));
      await toy.run();
      recording.stop();
      // 12 samples in batches of 4 (3 iterations), 6 val samples (2), 2 epochs.
      const letters = recording.stages().map((s) => ({ beforeRun: 'R', beforeTrainEpoch: 'E', beforeTrainIter: 'i', afterTrainIter: 'j', afterTrainEpoch: 'e', beforeValEpoch: 'V', beforeValIter: 'v', afterValIter: 'w', afterValEpoch: 'X', afterRun: 'Z' } as Record<string, string>)[s]).join('');
      expect(letters).to.equal('R' + 'Eijijije' + 'VvwvwX' + 'Eijijije' + 'VvwvwX' + 'Z');
      expect(new Set(tensors).size).to.equal(1);
      const after = [...toy.model.params().values()].map((v) => Array.from(v.dataSync()));
      expect(after).to.not.deep.equal(before);
      expect(fs.readdirSync(toy.workDir!).some((f) => f.endsWith('.log'))).to.equal(true);
      toy.cleanup();
      expect(fs.existsSync(toy.workDir!)).to.equal(false);
    });

    it('chooses the backend once on import, as the CLI does: no cpu fallback, no tfjs banner', () => {
      const kit = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/testing/index.js')).href;
      const script = `const tf = await import('../../src/backend/tfjs.js'); const { buildToyRunner } = await import(${JSON.stringify(kit)});
const toy = buildToyRunner({ workDir: false }); await toy.run(); console.log('backend=' + tf.getBackend());`;
      const env = { ...process.env };
      delete env.HOOKFLOW_BACKEND;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env, cwd: path.dirname(fileURLToPath(import.meta.url)) });
      expect(child.status, child.stderr).to.equal(0);
      expect(child.stdout.trim()).to.match(/^backend=(tensorflow|wasm)$/);
      expect(child.stdout + child.stderr).to.not.contain('Hi, looks like you are running TensorFlow.js in Node.js');
    });

    it('builds an IterBasedRunner, without work dir or hooks when asked; recording stops', async () => {
      const toy = buildToyRunner({ kind: 'iter', maxIters: 3, workDir: false, trainingHooks: null, workflow: [['train', 1]] });
      expect(toy.workDir).to.equal(null);
      expect(toy.runner.hooks).to.deep.equal([]);
      const recording = recordStages(toy.runner);
      await toy.run();
      expect(recording.stages()).to.deep.equal(['beforeRun', 'beforeEpoch', 'beforeTrainIter', 'afterTrainIter', 'beforeTrainIter', 'afterTrainIter', 'beforeTrainIter', 'afterTrainIter', 'afterEpoch', 'afterRun']);
      recording.stop();
      await toy.run();
      expect(recording.events).to.have.length(10);
      toy.cleanup();
    });
  });

  describe('stageEvent(s)', () => {
    it('fills in seq, mode, counters and time', () => {
      expect(stageEvent('afterValIter', { innerIter: 2 })).to.deep.equal({ seq: 1, stage: 'afterValIter', mode: 'val', epoch: 0, iter: 0, innerIter: 2, time: 0 });
      expect(stageEvents(['beforeRun', ['beforeTrainEpoch', { epoch: 1 }]])).to.deep.equal([
        { seq: 1, stage: 'beforeRun', mode: null, epoch: 0, iter: 0, innerIter: 0, time: 0 },
        { seq: 2, stage: 'beforeTrainEpoch', mode: 'train', epoch: 1, iter: 0, innerIter: 0, time: 0 },
      ]);
      expect(() => stageEvent('afterIteration' as never)).to.throw("stageEvent: 'afterIteration' is not a stage");
    });
  });

  describe('driveHook and hookCalls', () => {
    it('drives hooks (async ones awaited) from events and reports their calls in order', async () => {
      const log: string[] = [];
      class Slow extends Hook<RunnerView> {
        override async afterTrainIter(r: RunnerView): Promise<void> {
          await new Promise((resolve) => setTimeout(resolve, 2));
          log.push(`slow ${r.iter}`);
        }
      }
      class Fast extends Hook<RunnerView> {
        override afterTrainIter(r: RunnerView): void { log.push(`fast ${r.iter}`); }
        @On('afterRun') done(): void { log.push('done'); }
      }
      const events = stageEvents(['beforeRun', ['afterTrainIter', { iter: 0 }], ['afterTrainIter', { iter: 1 }], 'afterRun']);
      const { calls, runner } = await driveHook([new Fast(), new Slow()], events, { priority: 'LOW' });
      expect(log).to.deep.equal(['fast 0', 'slow 0', 'fast 1', 'slow 1', 'done']);
      expect(calls).to.deep.equal([
        { hook: 'Fast', label: 'afterTrainIter', stage: 'afterTrainIter', seq: 2 },
        { hook: 'Slow', label: 'afterTrainIter', stage: 'afterTrainIter', seq: 2 },
        { hook: 'Fast', label: 'afterTrainIter', stage: 'afterTrainIter', seq: 3 },
        { hook: 'Slow', label: 'afterTrainIter', stage: 'afterTrainIter', seq: 3 },
        { hook: 'Fast', label: 'done', stage: 'afterRun', seq: 4 },
      ]);
      expect(runner.hooks.map((h) => h.priority)).to.deep.equal([70, 70]);
    });

    it('counts a stage method delegating to its aggregate as one call', async () => {
      class Agg extends Hook<RunnerView> {
        override afterIter(): void {}
      }
      const { calls } = await driveHook(new Agg(), stageEvents(['afterTrainIter', 'afterValIter']));
      expect(calls.map((c) => c.label)).to.deep.equal(['afterTrainIter', 'afterValIter']);
    });

    it('hookCalls refuses asynchronous hooks (marbles run in virtual time)', async () => {
      class Async extends Hook<RunnerView> {
        override async afterTrainIter(): Promise<void> {}
      }
      const error = await lastValueFrom(hookCalls(new Async(), of(stageEvent('afterTrainIter'))).pipe(toArray())).then(() => undefined, (e: Error) => e);
      expect(error!.message).to.equal('hookCalls drives synchronous hooks; Async returned a promise at afterTrainIter (use driveHook)');
    });
  });

  describe('golden journals', () => {
    let dir: string;
    let cleanup: () => void;
    beforeEach(() => ({ dir, cleanup } = tempDir()));
    afterEach(() => cleanup());

    async function journalOf(name: string, seed: number): Promise<string> {
      const toy = buildToyRunner({ workDir: path.join(dir, name), seed, maxEpochs: 1 });
      attachJournal(toy.runner);
      await toy.run();
      return path.join(dir, name, 'events.jsonl');
    }

    it('the same run twice matches apart from wall-clock fields; another seed does not', async () => {
      const a = await journalOf('a', 0);
      const b = await journalOf('b', 0);
      const c = await journalOf('c', 1);
      expect(diffJournals(a, b)).to.deep.equal([]);
      expectJournalsMatch(a, b);
      const diffs = diffJournals(c, a);
      expect(diffs.length).to.be.greaterThan(0);
      expect(diffs[0]).to.match(/^event 4 \(afterTrainIter\): payload\.logVars\.loss is \d\.\d+ \(expected \d\.\d+\)$/);
      expect(diffJournals(c, a, { ignore: ['payload.logVars.loss', 'payload.logVars.accuracy'] })).to.deep.equal([]);
      expect(() => expectJournalsMatch(c, a)).to.throw(/^journals differ \(\d+ differences\):\nevent 4 \(afterTrainIter\): payload\.logVars\.loss/);
    });

    it('reports lengths, fields, contexts and tolerates small numeric differences', () => {
      const base = stageEvents(['beforeRun', ['afterTrainIter', { payload: { logVars: { loss: 1 }, numSamples: 4, time: 0.5 } }]]);
      const other = stageEvents(['beforeRun', ['afterTrainIter', { time: 99, payload: { logVars: { loss: 1.0001 }, numSamples: 4, time: 0.7, extra: 1 } }], 'afterRun']);
      expect(diffJournals(other, base)).to.deep.equal([
        'the history has 3 events (expected 2)',
        'event 2 (afterTrainIter): payload.logVars.loss is 1.0001 (expected 1)',
        'event 2 (afterTrainIter): payload.extra is 1 (expected missing)',
      ]);
      expect(diffJournals(other.slice(0, 2), base, { tolerance: 1e-3, ignore: ['payload.extra'] })).to.deep.equal([]);
      const ctx = (n: number) => encodeLine({ type: 'context', maxEpochs: 1, maxIters: n, dataLoaderLength: 1 });
      const write = (name: string, text: string) => {
        fs.writeFileSync(path.join(dir, name), text);
        return path.join(dir, name);
      };
      const lines = base.map((e) => encodeLine(e)).join('');
      expect(diffJournals(write('x', ctx(3) + lines), write('y', ctx(4) + lines))).to.deep.equal([
        'event 1 (beforeRun): context.maxIters is 3 (expected 4)',
        'event 2 (afterTrainIter): context.maxIters is 3 (expected 4)',
      ]);
    });
  });
});
