/**
 * hookflow's custom hooks (MMCV's 定制HOOK and more). Importing this module registers every
 * plugin in HOOKS; the CLI imports it by default.
 */
export * from './tensorboard/event-file-writer.js';
export * from './tensorboard/event-file-reader.js';
export * from './subscriptions.js';
export * from './ordered-queue.js';
export * from './closure-hook.js';
export * from './empty-cache-hook.js';
export * from './sync-buffers-hook.js';
export * from './upload-hook.js';
export * from './tensorboard/tensorboard-logger-hook.js';
