/**
 * The ten MMCV stages in canonical order, plus the four aggregate methods that the
 * mode-specific stages delegate to.
 */

/** The stages a hook can react to, in the order a run visits them (MMCV `Hook.stages`). */
export const STAGES = [
  'beforeRun',
  'beforeTrainEpoch',
  'beforeTrainIter',
  'afterTrainIter',
  'afterTrainEpoch',
  'beforeValEpoch',
  'beforeValIter',
  'afterValIter',
  'afterValEpoch',
  'afterRun',
] as const;

/** One of {@link STAGES}. */
export type Stage = (typeof STAGES)[number];

/** Aggregate methods: one override covers the train and the val variant of a stage. */
export const AGGREGATE_STAGES = ['beforeEpoch', 'afterEpoch', 'beforeIter', 'afterIter'] as const;

/** One of {@link AGGREGATE_STAGES}. */
export type AggregateStage = (typeof AGGREGATE_STAGES)[number];

/**
 * The exception stage (Ignite's `EXCEPTION_RAISED`, Lightning's `on_exception`): a run that has
 * started and is about to reject fires it once, with the error in the event (see
 * `exceptionOf`), before its promise rejects. Not one of the MMCV {@link STAGES}.
 */
export const EXCEPTION_STAGE = 'onException' as const;

/** The {@link EXCEPTION_STAGE}. */
export type ExceptionStage = typeof EXCEPTION_STAGE;

/**
 * What an event can name: a stage, an aggregate that IterBasedRunner calls directly
 * (`beforeEpoch` once before its first iteration, `afterEpoch` once after its last), as MMCV
 * does, or the {@link EXCEPTION_STAGE}.
 */
export type EventStage = Stage | AggregateStage | ExceptionStage;

/** Every name an event can carry: the ten stages, the four aggregates, then the exception stage. */
export const EVENT_STAGES: readonly EventStage[] = [...STAGES, ...AGGREGATE_STAGES, EXCEPTION_STAGE];

/** The stages each aggregate method stands for. */
export const AGGREGATE_TO_STAGES: Readonly<Record<AggregateStage, readonly Stage[]>> = {
  beforeEpoch: ['beforeTrainEpoch', 'beforeValEpoch'],
  afterEpoch: ['afterTrainEpoch', 'afterValEpoch'],
  beforeIter: ['beforeTrainIter', 'beforeValIter'],
  afterIter: ['afterTrainIter', 'afterValIter'],
};

/** Runner modes. */
export type Mode = 'train' | 'val';

const STAGE_SET: ReadonlySet<string> = new Set(STAGES);
const EVENT_STAGE_SET: ReadonlySet<string> = new Set<string>(EVENT_STAGES);

/** True when `name` is one of the ten stages. */
export function isStage(name: unknown): name is Stage {
  return typeof name === 'string' && STAGE_SET.has(name);
}

/** True when `name` is a stage, an aggregate method name or the exception stage. */
export function isEventStage(name: unknown): name is EventStage {
  return typeof name === 'string' && EVENT_STAGE_SET.has(name);
}
