import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '../../src/hooks/index.js';
import type { MemoryLogger } from '../../src/core/services.js';
import type { RunnerOptions } from '../../src/runner/base-runner.js';
import type { Classifier } from '../../src/training/model/classifier.js';
import { buildToyRunner } from '../../src/testing/toy-runner.js';

/** A fresh temp dir, removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Options of {@link tinyRunner}. */
export interface TinyOptions extends Partial<Omit<RunnerOptions, 'model' | 'logger'>> {
  model?: Classifier;
  logger?: MemoryLogger;
  kind?: 'epoch' | 'iter';
  numSamples?: number;
  batchSize?: number;
  seed?: number;
}

/**
 * The test kit's toy run with no hooks registered and no work dir unless given: a real tiny
 * run (MLP 4-8-3 on Synthetic data, SGD lr 0.1 momentum 0.9, quiet logger) whose val split has
 * as many samples as the train split.
 */
export function tinyRunner(options: TinyOptions = {}) {
  const { numSamples = 12, workDir, optimizer, ...rest } = options;
  const toy = buildToyRunner({ ...rest, numSamples, valSamples: numSamples, workDir: workDir ?? false, trainingHooks: null });
  if (optimizer !== undefined) toy.runner.optimizer = optimizer;
  return toy;
}
