/**
 * Dispatch cost per called hook on the synchronous path, with 10 and 50 hooks registered,
 * against a plain loop calling the same functions (the baseline), in one run.
 * Run: npx tsc -p tsconfig.json && node dist/bench/dispatch.js
 */
import 'reflect-metadata';
import { Dispatcher } from '../src/core/dispatcher.js';
import { Hook } from '../src/core/hook.js';
import type { RunnerView } from '../src/core/runner-view.js';
import type { StageEvent } from '../src/core/stage-event.js';
import { interleaved, printTable } from './stats.js';

let sink = 0;
class CountingHook extends Hook {
  override afterTrainIter(): void { sink++; }
}
class EpochOnlyHook extends Hook {
  override afterTrainEpoch(): void { sink++; }
}

const runner: RunnerView = { epoch: 0, iter: 0, innerIter: 0, mode: 'train' };
const event: StageEvent = { seq: 1, stage: 'afterTrainIter', mode: 'train', epoch: 0, iter: 0, innerIter: 0, time: 0 };
const DISPATCHES = 1_000_000;

export async function benchDispatch(): Promise<Array<{ hooks: number; nsPerHook: number; baselineNsPerHook: number; unsubscribedNs: number }>> {
  const results = [];
  for (const count of [10, 50]) {
    const dispatcher = new Dispatcher();
    const hooks: Hook[] = [];
    for (let i = 0; i < count; i++) {
      const hook = new CountingHook();
      hook.priority = (i * 7) % 100;
      dispatcher.add(hook);
      hooks.push(hook);
      const idle = new EpochOnlyHook(); // registered but not subscribed to afterTrainIter
      idle.priority = 50;
      dispatcher.add(idle);
    }
    const ordered = dispatcher.callsFor('afterTrainIter').map((c) => c.subscription.handler);
    const idleEvent = { ...event, stage: 'beforeValIter' as const };
    dispatcher.dispatch(event, runner); // build the plan outside the timing
    const times = await interleaved({
      dispatcher: () => { for (let i = 0; i < DISPATCHES; i++) dispatcher.dispatch(event, runner); },
      plainLoop: () => { for (let i = 0; i < DISPATCHES; i++) for (let k = 0; k < ordered.length; k++) ordered[k]!(runner, event); },
      unsubscribedStage: () => { for (let i = 0; i < DISPATCHES; i++) dispatcher.dispatch(idleEvent, runner); },
    }, 7);
    results.push({
      hooks: count,
      nsPerHook: (times.dispatcher! * 1e6) / (DISPATCHES * count),
      baselineNsPerHook: (times.plainLoop! * 1e6) / (DISPATCHES * count),
      unsubscribedNs: (times.unsubscribedStage! * 1e6) / DISPATCHES,
    });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await benchDispatch();
  for (const r of results) {
    printTable(`dispatch, ${r.hooks} subscribed hooks (+${r.hooks} registered elsewhere)`, [
      ['hookflow dispatcher', `${r.nsPerHook.toFixed(1)} ns per called hook`],
      ['plain loop (baseline)', `${r.baselineNsPerHook.toFixed(1)} ns per call`],
      ['ratio', `${(r.nsPerHook / r.baselineNsPerHook).toFixed(2)}x`],
      ['stage nobody subscribes to', `${r.unsubscribedNs.toFixed(1)} ns per dispatch (whole stage)`],
    ]);
  }
  if (sink < 0) console.log(sink);
}
