import '../../plugins/index.js';
import { buildFromConfig } from '../../src/config/build-from-config.js';
import { MemoryLogger } from '../../src/core/services.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { tinyConfig } from '../helpers/tiny-config.js';

/**
 * Builds a real tiny run into `workDir` (3 train iterations per epoch, an EvalHook saving the
 * best accuracy, a checkpoint per epoch, hook profiling), ready to `run()`.
 */
export async function buildTinyRun(workDir: string, overrides: Record<string, unknown> = {}) {
  return buildFromConfig(tinyConfig({
    workDir,
    checkpointConfig: { interval: 1 },
    customHooks: [{ type: 'EvalHook', saveBest: 'accuracy', priority: 'LOW' }],
    workflow: [['train', 1]],
    profileHooks: true,
    ...overrides,
  }), { logger: new MemoryLogger() });
}

/** Trains a tiny run into `workDir` to the end (see {@link buildTinyRun}). */
export async function trainTinyRun(workDir: string, overrides: Record<string, unknown> = {}): Promise<BaseRunner> {
  const { runner, dataLoaders, workflow } = await buildTinyRun(workDir, overrides);
  await runner.run(dataLoaders, workflow);
  return runner;
}
