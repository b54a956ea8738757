/**
 * hookflow's custom hooks (MMCV's 定制HOOK and more). Importing this module registers every
 * plugin in HOOKS; the CLI imports it by default.
 */
export * from './tensorboard/event-file-writer.js';
export * from './tensorboard/event-file-reader.js';
