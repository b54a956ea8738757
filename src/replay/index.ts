/** Driving hooks from recorded stage events (no model, data or backend). */
export * from './replay-runner.js';
export * from './replay-journal.js';
export * from './payload-replay.js';
