/** The base shared by the LR and momentum updaters, for hooks that schedule other hyper-parameters. */
export { ParamUpdaterHook, ParamUpdaterHookOptions, WARMUP_TYPES, type GroupValues, type ParamUpdaterSettings, type ScheduleRunner, type Warmup } from './param-updater-hook.js';
