/** MMCV's default hooks. Importing this module registers them in HOOKS. */
export * from './parse-options.js';
export * from './optimizer-hook.js';
export * from './iter-timer-hook.js';
export * from './logger/logger-runner.js';
export * from './logger/logger-hook.js';
export * from './logger/text-logger-hook.js';
export * from './logger/py-format.js';
