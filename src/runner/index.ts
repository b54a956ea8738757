/** The training loop: runners, hook registration, log buffer, work-dir lock. */
export * from './base-runner.js';
export * from './hook-runner.js';
export * from './epoch-based-runner.js';
export * from './iter-based-runner.js';
export * from './iter-loader.js';
export * from './log-buffer.js';
export * from './file-logger.js';
export * from './register-training-hooks.js';
export * from './runners-registry.js';
export * from './timestamp.js';
export * from './event-loop-yield.js';
