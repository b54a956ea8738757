/**
 * hookflow: MMCV's Runner and Hook system for TypeScript on TensorFlow.js, as an
 * event-sourced plugin system on RxJS streams.
 */
import 'reflect-metadata';

export * from './core/index.js';
export * from './runner/index.js';
export * from './training/index.js';
export * from './hooks/index.js';
export * from './backend/index.js';
export * from './nn/index.js';
export * from './replay/index.js';
export * from './config/build-from-config.js';
export * from './config/load-config.js';
export * from './config/merge.js';
export * from './config/config-schema.js';
export * from './config/custom-imports.js';
// Data-parallel training on Open MPI (docs/distributed.md).
export { initDist, finalizeDist, abortJob, distContext, type DistContext } from './dist/init-dist.js';
export { MpiProcessGroup } from './dist/mpi-process-group.js';
export { LAUNCHERS, parseLauncher, rankFromEnv, type Launcher, type RankFromEnv } from './dist/launcher.js';
export { DistWatchdogHook, WATCHDOG_EXIT_CODE } from './dist/dist-watchdog.js';
