/**
 * hookflow's test kit (`hookflow/testing`): a toy runner (MMEngine's RunnerTestCase), stage
 * recording, hand-made events, driving hooks from events (lists, journals, marbles), golden
 * journal comparison and in-process process groups (N ranks in one process).
 */
export * from './toy-runner.js';
export * from './record-stages.js';
export * from './stage-events.js';
export * from './drive-hook.js';
export * from './golden.js';
export * from '../dist/local-process-groups.js';
