import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '../../src/hooks/index.js';
import { MemoryLogger } from '../../src/core/services.js';
import { DataLoader } from '../../src/runner/data/data-loader.js';
import { Synthetic } from '../../src/runner/data/synthetic.js';
import { EpochBasedRunner } from '../../src/runner/epoch-based-runner.js';
import { IterBasedRunner } from '../../src/runner/iter-based-runner.js';
import { MLPClassifier } from '../../src/runner/model/models.js';
import { SGD } from '../../src/runner/optim/sgd.js';
import type { RunnerOptions } from '../../src/runner/base-runner.js';

/** A fresh temp dir, removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Options of {@link tinyRunner}. */
export interface TinyOptions extends Partial<RunnerOptions> {
  kind?: 'epoch' | 'iter';
  numSamples?: number;
  batchSize?: number;
  seed?: number;
}

/** A real tiny run: MLP 4-8-3 on Synthetic data, SGD, quiet logger. */
export function tinyRunner(options: TinyOptions = {}) {
  const { kind = 'epoch', numSamples = 12, batchSize = 4, seed = 0, ...rest } = options;
  const model = MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed });
  const optimizer = new SGD(model.params(), { lr: 0.1, momentum: 0.9 });
  const logger = new MemoryLogger();
  const Runner = kind === 'epoch' ? EpochBasedRunner : IterBasedRunner;
  const runner = new Runner({ model, optimizer, logger, ...(kind === 'epoch' ? { maxEpochs: 2 } : { maxIters: 5 }), ...rest });
  const dataset = new Synthetic({ numSamples, inputShape: [4], numClasses: 3, seed });
  const train = new DataLoader(dataset, { batchSize, shuffle: true, seed });
  const val = new DataLoader(dataset, { batchSize });
  return { runner, model, optimizer, logger, train, val };
}
