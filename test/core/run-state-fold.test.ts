import { expect } from 'chai';
import fc from 'fast-check';
import { Hook } from '../../src/core/hook.js';
import { On } from '../../src/core/on.js';
import { INITIAL_RUN_STATE, foldRunState, type RunState } from '../../src/core/run-state.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import { STAGES, type EventStage, type Mode } from '../../src/core/stages.js';
import type { BaseRunner, Workflow } from '../../src/runner/base-runner.js';
import { DataLoader } from '../../src/training/data/data-loader.js';
import { Synthetic } from '../../src/training/data/synthetic.js';
import { buildToyRunner } from '../../src/testing/index.js';

/** What the reference loops emit: the stage and the counters hooks see there. */
type Step = [EventStage, Mode | null, number, number, number];

/**
 * MMCV's EpochBasedRunner.run, written out from the specification: `iter` grows after each
 * train iteration, `epoch` after each train epoch; a train entry stops once `epoch` reached
 * `maxEpochs`; `innerIter` is the batch index, kept until the next loop sets it.
 */
function referenceEpochRun(maxEpochs: number, workflow: Workflow, lengths: number[]): Step[] {
  const out: Step[] = [];
  let mode: Mode | null = null;
  let epoch = 0;
  let iter = 0;
  let inner = 0;
  const hook = (stage: EventStage) => out.push([stage, mode, epoch, iter, inner]);
  hook('beforeRun');
  while (epoch < maxEpochs) {
    workflow.forEach(([entryMode, count], i) => {
      for (let k = 0; k < count; k++) {
        if (entryMode === 'train' && epoch >= maxEpochs) break;
        mode = entryMode;
        const T = entryMode === 'train' ? 'Train' : 'Val';
        hook(`before${T}Epoch` as EventStage);
        for (let b = 0; b < lengths[i]!; b++) {
          inner = b;
          hook(`before${T}Iter` as EventStage);
          hook(`after${T}Iter` as EventStage);
          if (entryMode === 'train') iter++;
        }
        hook(`after${T}Epoch` as EventStage);
        if (entryMode === 'train') epoch++;
      }
    });
  }
  hook('afterRun');
  return out;
}

/**
 * MMCV's IterBasedRunner.run with hookflow's documented differences: each loader wraps around
 * endlessly (a pass counter per loader); a train iteration's `epoch` is the pass its batch comes
 * from; `innerIter` is the index within the workflow entry; the aggregate beforeEpoch/afterEpoch
 * run once around the loop; a train entry stops once `iter` reached `maxIters`.
 */
function referenceIterRun(maxIters: number, workflow: Workflow, lengths: number[]): Step[] {
  const out: Step[] = [];
  let mode: Mode | null = null;
  let epoch = 0;
  let iter = 0;
  let inner = 0;
  const passes = lengths.map(() => 0);
  const used = lengths.map(() => 0);
  const hook = (stage: EventStage) => out.push([stage, mode, epoch, iter, inner]);
  const fetch = (i: number) => {
    if (used[i] === lengths[i]) {
      passes[i]!++;
      used[i] = 0;
    }
    used[i]!++;
  };
  hook('beforeRun');
  hook('beforeEpoch');
  while (iter < maxIters) {
    workflow.forEach(([entryMode, count], i) => {
      for (let k = 0; k < count; k++) {
        if (entryMode === 'train' && iter >= maxIters) break;
        fetch(i);
        mode = entryMode;
        inner = k;
        if (entryMode === 'train') {
          epoch = passes[i]!;
          hook('beforeTrainIter');
          hook('afterTrainIter');
          iter++;
        } else {
          hook('beforeValIter');
          hook('afterValIter');
        }
      }
    });
  }
  hook('afterEpoch');
  hook('afterRun');
  return out;
}

/**
 * Checks the runner at every stage: while a stage's hooks run, the runner shows the event's
 * counters on top of the fold of the previous events; once the stage is over, the runner's
 * state is exactly the fold of all events so far.
 */
class FoldChecker extends Hook<BaseRunner> {
  readonly problems: string[] = [];
  private folded: RunState = INITIAL_RUN_STATE;

  attach(runner: BaseRunner): void {
    runner.addEventListener((event) => {
      this.folded = foldRunState(this.folded, event);
      if (JSON.stringify(runner.runState) !== JSON.stringify(this.folded)) {
        this.problems.push(`after seq ${event.seq}: runner ${JSON.stringify(runner.runState)} != fold ${JSON.stringify(this.folded)}`);
      }
    });
  }

  @On([...STAGES, 'beforeEpoch', 'afterEpoch'])
  check(runner: BaseRunner, event: StageEvent): void {
    const expected = { seq: this.folded.seq, mode: event.mode, epoch: event.epoch, iter: event.iter, innerIter: event.innerIter };
    if (event.seq !== this.folded.seq + 1 || JSON.stringify(runner.runState) !== JSON.stringify(expected)) {
      this.problems.push(`during seq ${event.seq} (${event.stage}): runner ${JSON.stringify(runner.runState)} != ${JSON.stringify(expected)}`);
    }
  }
}

const workflowArb = fc.array(fc.tuple(fc.constantFrom<Mode>('train', 'val'), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 3 })
  .filter((w) => w.some(([mode]) => mode === 'train'));

/** Runs a toy runner over loaders of the given lengths; the events it emitted, checked against the fold as they come. */
async function recordedRun(kind: 'epoch' | 'iter', limit: number, workflow: Workflow, lengths: number[]): Promise<StageEvent[]> {
  const toy = buildToyRunner({ kind, workDir: false, trainingHooks: null, ...(kind === 'epoch' ? { maxEpochs: limit } : { maxIters: limit }) });
  const loaders = lengths.map((n, i) => new DataLoader(new Synthetic({ numSamples: 2 * n, inputShape: [4], numClasses: 3, seed: i }), { batchSize: 2 }));
  const checker = new FoldChecker();
  toy.runner.registerHook(checker);
  checker.attach(toy.runner);
  const events: StageEvent[] = [];
  toy.runner.events$.subscribe((e) => events.push(e));
  await toy.runner.run(loaders, workflow);
  expect(checker.problems).to.deep.equal([]);
  return events;
}

async function runAndCheck(kind: 'epoch' | 'iter', limit: number, workflow: Workflow, lengths: number[]): Promise<void> {
  const events = await recordedRun(kind, limit, workflow, lengths);
  const actual: Step[] = events.map((e) => [e.stage, e.mode, e.epoch, e.iter, e.innerIter]);
  const expected = kind === 'epoch' ? referenceEpochRun(limit, workflow, lengths) : referenceIterRun(limit, workflow, lengths);
  expect(actual).to.deep.equal(expected);
  expect(events.map((e) => e.seq)).to.deep.equal(events.map((_, i) => i + 1));
}

describe('runner counters are the fold of the events (property)', () => {
  it('EpochBasedRunner: random workflows, epochs and loader lengths match the reference loops', async () => {
    await fc.assert(
      fc.asyncProperty(
        workflowArb.chain((workflow) => fc.tuple(fc.constant(workflow), fc.integer({ min: 1, max: 3 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: workflow.length, maxLength: workflow.length }))),
        ([workflow, maxEpochs, lengths]) => runAndCheck('epoch', maxEpochs, workflow, lengths),
      ),
      { numRuns: 25 },
    );
  });

  it('IterBasedRunner: random workflows, iterations and loader lengths match the reference loops', async () => {
    await fc.assert(
      fc.asyncProperty(
        workflowArb.chain((workflow) => fc.tuple(fc.constant(workflow), fc.integer({ min: 1, max: 7 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: workflow.length, maxLength: workflow.length }))),
        ([workflow, maxIters, lengths]) => runAndCheck('iter', maxIters, workflow, lengths),
      ),
      { numRuns: 25 },
    );
  });

  it("the runners reproduce the spec's examples (expected values written out by hand)", async () => {
    // [('train', 1), ('val', 1)], 2 epochs: train e0, val, train e1, val; val after the last train still runs.
    const epochRun = await recordedRun('epoch', 2, [['train', 1], ['val', 1]], [1, 1]);
    expect(epochRun.map((e) => e.stage).join(' ')).to.equal(
      'beforeRun beforeTrainEpoch beforeTrainIter afterTrainIter afterTrainEpoch beforeValEpoch beforeValIter afterValIter afterValEpoch '
      + 'beforeTrainEpoch beforeTrainIter afterTrainIter afterTrainEpoch beforeValEpoch beforeValIter afterValIter afterValEpoch afterRun',
    );
    // IterBasedRunner with 2 batches per pass: the third iteration comes from pass 1 ([epoch, iter, innerIter]).
    const iterRun = await recordedRun('iter', 3, [['train', 3]], [2]);
    expect(iterRun.filter((e) => e.stage === 'beforeTrainIter').map((e) => [e.epoch, e.iter, e.innerIter])).to.deep.equal([[0, 0, 0], [0, 1, 1], [1, 2, 2]]);
  });
});
