import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '../hooks/index.js';
import { selectBackend } from '../backend/select-backend.js';
import { MemoryLogger } from '../core/services.js';
import type { RunnerLoader, RunnerOptions, Workflow } from '../runner/base-runner.js';
import { DataLoader } from '../training/data/data-loader.js';
import { sliceDataset } from '../training/data/dataset.js';
import { Synthetic } from '../training/data/synthetic.js';
import { EpochBasedRunner } from '../runner/epoch-based-runner.js';
import { IterBasedRunner } from '../runner/iter-based-runner.js';
import type { Classifier } from '../training/model/classifier.js';
import { MLPClassifier } from '../training/model/models.js';
import { SGD } from '../training/optim/sgd.js';
import type { TrainingHooksConfig } from '../runner/register-training-hooks.js';

// The kit creates tensors as soon as it is used: choose the backend first, once, as the CLI
// does (HOOKFLOW_BACKEND, else auto: tensorflow, wasm, cpu), not tfjs's implicit cpu default.
await selectBackend();

/** Options of {@link buildToyRunner}. */
export interface ToyRunnerOptions extends Partial<Omit<RunnerOptions, 'model' | 'workDir' | 'logger'>> {
  /** EpochBasedRunner (default, 2 epochs) or IterBasedRunner (default 6 iterations). */
  kind?: 'epoch' | 'iter';
  /** Training samples (default 12) and validation samples (default 6). */
  numSamples?: number;
  valSamples?: number;
  /** Batch size of both loaders (default 4). */
  batchSize?: number;
  /** Seeds the model, the data and the shuffle (default 0). */
  seed?: number;
  /** Default `[['train', 1], ['val', 1]]`. */
  workflow?: Workflow;
  /** A fresh temp dir (true, default), a given dir, or none (false). */
  workDir?: boolean | string;
  /** Default: MLP 4-8-3 seeded with `seed` (a model of yours must take 4 inputs and give 3 classes). */
  model?: Classifier;
  /** Default: a MemoryLogger (see `ToyRun.logger`). */
  logger?: MemoryLogger;
  /** Passed to `registerTrainingHooks` (default `{ optimizerConfig: {} }`: OptimizerHook and IterTimerHook); null registers none. */
  trainingHooks?: TrainingHooksConfig | null;
}

/** A toy run, ready to go. */
export interface ToyRun {
  runner: EpochBasedRunner | IterBasedRunner;
  model: Classifier;
  optimizer: SGD;
  logger: MemoryLogger;
  train: DataLoader;
  val: DataLoader;
  dataLoaders: RunnerLoader[];
  workflow: Workflow;
  workDir: string | null;
  /** `runner.run(dataLoaders, workflow)`. */
  run(): Promise<void>;
  /** Removes the temp work dir, if the kit created one. */
  cleanup(): void;
}

/**
 * hookflow's RunnerTestCase: a real, tiny training run (MLP 4-8-3 on Synthetic data with SGD)
 * in a temp work dir, quiet (messages in a MemoryLogger), with the default optimizer and timer
 * hooks. Register your hooks on `runner`, then `await run()`, then `cleanup()`. Importing the kit
 * has chosen the backend (set HOOKFLOW_BACKEND to pick one).
 */
export function buildToyRunner(options: ToyRunnerOptions = {}): ToyRun {
  const {
    kind = 'epoch', numSamples = 12, valSamples = 6, batchSize = 4, seed = 0, workflow = [['train', 1], ['val', 1]],
    workDir: dirOption = true, logger = new MemoryLogger(), trainingHooks = { optimizerConfig: {} }, model: given, ...rest
  } = options;
  const workDir = dirOption === true ? fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-toy-')) : dirOption === false ? null : dirOption;
  const model = given ?? MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed });
  const optimizer = new SGD(model.params(), { lr: 0.1, momentum: 0.9 });
  const limits = kind === 'epoch' ? { maxEpochs: rest.maxEpochs ?? 2 } : { maxIters: rest.maxIters ?? 6 };
  const Runner = kind === 'epoch' ? EpochBasedRunner : IterBasedRunner;
  const runner = new Runner({ ...rest, ...limits, model, optimizer, logger, workDir });
  if (trainingHooks) runner.registerTrainingHooks(trainingHooks);
  // Train and val are disjoint samples of one distribution (Synthetic's class centres depend on the seed).
  const all = new Synthetic({ numSamples: numSamples + valSamples, inputShape: [4], numClasses: 3, seed });
  const train = new DataLoader(sliceDataset(all, 0, numSamples), { batchSize, shuffle: true, seed });
  const val = new DataLoader(sliceDataset(all, numSamples, numSamples + valSamples), { batchSize });
  const dataLoaders = workflow.map(([mode]) => (mode === 'train' ? train : val));
  return {
    runner, model, optimizer, logger, train, val, dataLoaders, workflow, workDir,
    run: () => runner.run(dataLoaders, workflow),
    cleanup: () => {
      if (dirOption === true && workDir) fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}
