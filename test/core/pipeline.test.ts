import { expect } from 'chai';
import { bufferCount, concatMap, filter, map, scan, throttleTime } from 'rxjs';
import { HookError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import { pipelineHook } from '../../src/core/pipeline.js';
import type { RunnerView } from '../../src/core/runner-view.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { ReplayRunner } from '../../src/replay/replay-runner.js';
import { buildToyRunner, driveHook, stageEvents } from '../../src/testing/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** seq of events iter 0..n-1: beforeRun, n x afterTrainIter, afterRun. */
function iterations(n: number): StageEvent[] {
  return stageEvents(['beforeRun', ...Array.from({ length: n }, (_, i) => ['afterTrainIter', { iter: i, payload: { logVars: { loss: i } } }] as const), 'afterRun']);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('pipelineHook', () => {
  it('processes events in order and the runner waits for blocking work (a real run)', async () => {
    const done: number[] = [];
    const hook = pipelineHook<BaseRunner>({ stages: ['afterTrainIter'], priority: 'LOW', name: 'slowWriter' }, (events$, { blocking }) =>
      events$.pipe(blocking(async (e) => {
        // Later events take less time: without the runner waiting, they would overtake.
        await sleep(6 - e.iter);
        done.push(e.iter);
      })));
    const toy = buildToyRunner({ workDir: false, maxEpochs: 2, workflow: [['train', 1]] });
    toy.runner.registerHook(hook);
    expect(hook.priority).to.equal(70);
    expect(hook.hookId).to.equal('slowWriter');
    // A hook after it in the same stage, and the event's publication, see the work finished.
    const seenByLater: number[] = [];
    class Later extends Hook<BaseRunner> {
      override afterTrainIter(runner: BaseRunner): void { seenByLater.push(done.length - runner.iter); }
    }
    toy.runner.registerHook(new Later(), 'LOWEST');
    const atPublication: number[] = [];
    toy.runner.events$.subscribe((e) => { if (e.stage === 'afterTrainIter') atPublication.push(done.at(-1)!); });
    await toy.run();
    expect(done).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(seenByLater).to.deep.equal([1, 1, 1, 1, 1, 1]);
    expect(atPublication).to.deep.equal([0, 1, 2, 3, 4, 5]);
  });

  it('does not wait for events an operator buffers, and flushes the buffer at afterRun (drain barrier)', async () => {
    const written: number[][] = [];
    const hook = pipelineHook({ stages: 'afterTrainIter' }, (events$, { blocking }) => events$.pipe(
      map((e) => e.iter),
      bufferCount(2),
      blocking(async (batch) => {
        await sleep(2);
        written.push(batch);
      }),
    ));
    const runner = new ReplayRunner();
    runner.registerHook(hook);
    const progress: string[] = [];
    runner.addEventListener((e) => progress.push(`${e.stage}:${written.length}`));
    await runner.run(iterations(5));
    expect(progress).to.deep.equal([
      'beforeRun:0',
      'afterTrainIter:0', 'afterTrainIter:1', 'afterTrainIter:1', 'afterTrainIter:2', 'afterTrainIter:2',
      'afterRun:3',
    ]);
    expect(written).to.deep.equal([[0, 1], [2, 3], [4]]);
  });

  it('does not deadlock on events a throttle drops; background work finishes by the end of the run', async () => {
    const kept: number[] = [];
    const background: number[] = [];
    const hook = pipelineHook({ stages: ['afterTrainIter'] }, (events$, { blocking }) => events$.pipe(
      throttleTime(1e9),
      blocking((e) => kept.push(e.iter)),
      // Plain concatMap: ordered, not awaited by the stages, drained at afterRun.
      concatMap(async () => {
        await sleep(5);
        background.push(kept.length);
      }),
    ));
    const { calls } = await driveHook(hook, iterations(4));
    expect(kept).to.deep.equal([0]);
    expect(background).to.deep.equal([1]);
    expect(calls).to.deep.equal([]);
  });

  it('filters its stage stream like @On, keeps state across events (scan) and shows in the hook plan', async () => {
    const sums: number[] = [];
    const hook = pipelineHook({ stages: ['afterTrainIter', 'afterValIter'], filter: { every: 2 } }, (events$) => events$.pipe(
      filter((e) => e.stage === 'afterTrainIter'),
      scan((sum, e) => sum + ((e.payload!.logVars as Record<string, number>).loss ?? 0), 0),
      map((sum) => sums.push(sum)),
    ));
    const { runner } = await driveHook(hook, iterations(6));
    expect(sums).to.deep.equal([1, 1 + 3, 1 + 3 + 5]);
    expect(runner.hookInfo(true)).to.equal([
      'afterTrainIter:', `(NORMAL      ) ${'PipelineHook'.padEnd(35)} pipeline [every 2 iter]`, ' -------------------- ',
      'afterValIter:', `(NORMAL      ) ${'PipelineHook'.padEnd(35)} pipeline [every 2 innerIter]`, ' -------------------- ',
      'afterRun:', `(NORMAL      ) ${'PipelineHook'.padEnd(35)}`, ' -------------------- ',
    ].join('\n'));
  });

  it('starts afresh for each run, also after a run that failed before its drain', async () => {
    const batches: number[][] = [];
    const hook = pipelineHook({ stages: ['afterTrainIter'] }, (events$) => events$.pipe(map((e) => e.iter), bufferCount(2), map((b) => batches.push(b))));
    const runner = new ReplayRunner();
    runner.registerHook(hook);
    await runner.run(iterations(3));
    await runner.run(iterations(3));
    expect(batches).to.deep.equal([[0, 1], [2], [0, 1], [2]]);
    let broken = true;
    class FailsAtIter2 extends Hook {
      override afterTrainIter(r: RunnerView): void {
        if (broken && r.iter === 2) throw new Error('broken');
      }
    }
    runner.registerHook(new FailsAtIter2(), 'LOWEST');
    await rejection(runner.run(iterations(4)));
    broken = false;
    await runner.run(iterations(4));
    // Iteration 2 sat in the failed run's buffer; the next run does not see it.
    expect(batches.slice(4)).to.deep.equal([[0, 1], [0, 1], [2, 3]]);
  });

  it('fails the stage whose blocking work fails, naming the hook', async () => {
    const hook = pipelineHook({ stages: ['afterTrainIter'], name: 'lossWriter' }, (events$, { blocking }) => events$.pipe(
      blocking(async (e) => {
        if (e.iter === 2) throw new Error('disk full');
      }),
    ));
    const error = await rejection(driveHook(hook, iterations(4)));
    expect(error).to.be.instanceOf(HookError);
    expect(error.message).to.equal('hook lossWriter failed in afterTrainIter (pipeline): disk full');
  });

  it('reports an operator error at once, and a background error at the next stage or at afterRun', async () => {
    const sync = pipelineHook({ stages: ['afterTrainIter'] }, (events$) => events$.pipe(map((e) => {
      if (e.iter === 1) throw new Error('bad value');
      return e;
    })));
    const seen: number[] = [];
    const runner = new ReplayRunner();
    runner.registerHook(sync);
    runner.addEventListener((e) => seen.push(e.seq));
    expect((await rejection(runner.run(iterations(3)))).message).to.equal('hook PipelineHook failed in afterTrainIter (pipeline): bad value');
    expect(seen).to.deep.equal([1, 2]);

    const late = pipelineHook({ stages: ['afterTrainIter'] }, (events$) => events$.pipe(concatMap(async (e) => {
      await sleep(1);
      if (e.iter === 3) throw new Error('upload refused');
    })));
    const error = await rejection(driveHook(late, iterations(4)));
    expect(error.message).to.equal('hook PipelineHook failed in afterRun (drain): upload refused');
  });

  it('checks its options', () => {
    expect(() => pipelineHook({ stages: ['afterTrainIterr' as never], name: 'p' }, (e) => e))
      .to.throw("p: pipeline stage 'afterTrainIterr' is not a stage; did you mean 'afterTrainIter'?");
    expect(() => pipelineHook({ stages: ['afterTrainIter'], filter: { every: 0 } }, (e) => e))
      .to.throw('PipelineHook: pipeline filter every must be a positive integer; got 0');
    expect(() => pipelineHook({ stages: ['afterTrainIter'] }, undefined as never)).to.throw('PipelineHook: the pipeline builder must be a function (events$, tools) => Observable');
  });
});
