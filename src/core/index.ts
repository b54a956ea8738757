/** The backend-free core: stages, events, hooks, priorities, registries, dispatch and DI. */
export * from './stages.js';
export * from './stage-event.js';
export * from './run-state.js';
export * from './priority.js';
export * from './hook.js';
export * from './hook-info.js';
export * from './registry.js';
export * from './hooks-registry.js';
export * from './dispatcher.js';
export * from './di.js';
export * from './errors.js';
export * from './services.js';
export * from './nearest-names.js';
export type { RunnerView } from './runner-view.js';
