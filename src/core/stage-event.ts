import type { EventStage, Mode } from './stages.js';

/** A scalar that may travel in an event payload (and therefore in a journal). */
export type Scalar = number | string | boolean | null;

/** Scalars only: log vars after an iteration, metrics after an evaluation, lr per optimizer. */
export type EventPayload = Record<string, Scalar | Record<string, Scalar>>;

/**
 * One stage transition of a run. The counters are the ones hooks see at that stage
 * (MMCV semantics: not yet advanced for the iteration or epoch in progress).
 */
export interface StageEvent {
  /** 1-based position of the event in the run's history (continues across resume). */
  seq: number;
  stage: EventStage;
  mode: Mode | null;
  epoch: number;
  iter: number;
  innerIter: number;
  /** Wall-clock milliseconds since the Unix epoch when the stage began. */
  time: number;
  payload?: EventPayload;
}
