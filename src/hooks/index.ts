/** MMCV's default hooks. Importing this module registers them in HOOKS. */
export * from '../config/parse-options.js';
export * from './optimizer-hook.js';
export * from './iter-timer-hook.js';
export * from './logger/logger-runner.js';
export * from './logger/logger-hook.js';
export * from './logger/text-logger-hook.js';
export * from './logger/py-format.js';
export * from './gradient-cumulative-optimizer-hook.js';
export * from './fp16/float16.js';
export * from './fp16/loss-scaler.js';
export * from './fp16/fp16-optimizer-hook.js';
export * from './fp16/gradient-cumulative-fp16-optimizer-hook.js';
export * from './param-updater/index.js';
export * from './lr-updater/index.js';
export * from './momentum-updater/index.js';
export * from './checkpoint-hook.js';
export * from './dist-sampler-seed-hook.js';
