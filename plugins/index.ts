/**
 * hookflow's custom hooks (MMCV's 定制HOOK and more). Importing this module registers every
 * plugin in HOOKS; the CLI imports it by default.
 */
export * from './tensorboard/event-file-writer.js';
export * from './tensorboard/event-file-reader.js';
export * from './ordered-queue.js';
export * from './closure-hook.js';
export * from './empty-cache-hook.js';
export * from './sync-buffers-hook.js';
export * from './upload-hook.js';
export * from './tensorboard/tensorboard-logger-hook.js';
export * from './ema-hook.js';
export * from './eval/rule.js';
export * from './eval/metrics.js';
export * from './eval/eval-hook.js';
export * from './eval/dist-eval-hook.js';
export * from './early-stopping-hook.js';
export * from './check-invalid-loss-hook.js';
