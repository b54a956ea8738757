import type { Mode } from './stages.js';
import type { StageEvent } from './stage-event.js';

/** The runner's counters, which are always the fold of its events so far. */
export interface RunState {
  seq: number;
  mode: Mode | null;
  epoch: number;
  iter: number;
  innerIter: number;
}

/** The state before the first event of a fresh run. */
export const INITIAL_RUN_STATE: Readonly<RunState> = Object.freeze({ seq: 0, mode: null, epoch: 0, iter: 0, innerIter: 0 });

/**
 * The pure reducer the runner's counters obey: the state after `event` and its hooks.
 * An event carries the counters its hooks saw; afterwards MMCV advances `iter` after a train
 * iteration and `epoch` after a train epoch, and nothing else.
 */
export function foldRunState(state: RunState, event: StageEvent): RunState {
  if (event.seq <= state.seq) {
    throw new Error(`foldRunState: event seq ${event.seq} does not follow state seq ${state.seq}`);
  }
  return {
    seq: event.seq,
    mode: event.mode,
    epoch: event.stage === 'afterTrainEpoch' ? event.epoch + 1 : event.epoch,
    iter: event.stage === 'afterTrainIter' ? event.iter + 1 : event.iter,
    innerIter: event.innerIter,
  };
}
