/**
 * What the LR and momentum updaters share: the updater base (also for hooks that schedule other
 * hyper-parameters), schedule definitions, and the option fields and annealing helpers
 * schedules are written with.
 */
export { ParamUpdaterHook, ParamUpdaterHookOptions, WARMUP_TYPES, type GroupValues, type ParamUpdaterSettings, type ScheduleRunner, type Warmup } from './param-updater-hook.js';
export * from './define-schedule.js';
export { iterOnlyField, type PolicySettings, type PolicyShape, type ScheduledHookClass, type ScheduledOptions, type ScheduledUpdater } from './scheduled-hook.js';
export * from './option-fields.js';
export * from './annealing.js';
