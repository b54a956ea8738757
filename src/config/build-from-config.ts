// Built-in datasets and default hooks register themselves on import.
import '../training/data/mnist.js';
import '../training/data/synthetic.js';
import '../hooks/index.js';
import { describeBackend, selectBackend, type BackendChoice } from '../backend/index.js';
import { ConfigError } from '../core/errors.js';
import { attachJournal } from '../core/journal/journal-writer.js';
import { attachProfiler } from '../core/profiler.js';
import { attachRunInfo } from '../view/run-info.js';
import { TOKENS } from '../core/di.js';
import { singleProcessGroup, type Logger, type ProcessGroup } from '../core/services.js';
import type { BaseRunner, RunnerLoader, Workflow } from '../runner/base-runner.js';
import path from 'node:path';
import { CheckpointError, type CheckpointIO } from '../training/checkpoint/checkpoint-io.js';
import { scanCheckpoints } from '../training/checkpoint/find-latest-checkpoint.js';
import { DataLoader } from '../training/data/data-loader.js';
import { DistributedSampler } from '../training/data/distributed-sampler.js';
import { DATASETS } from '../training/data/dataset.js';
import { MODELS } from '../training/model/models.js';
import { buildOptimizers } from '../training/optim/build-optimizer.js';
import { RUNNERS } from '../runner/runners-registry.js';
import { DistSamplerSeedHook } from '../hooks/dist-sampler-seed-hook.js';
import { OptimizerHook } from '../hooks/optimizer-hook.js';
import { parseOptions } from './parse-options.js';
import { ConfigSchema, type HookflowConfig } from './config-schema.js';
import { checkModelFitsData } from './check-model-data.js';
import { importCustomModules } from './custom-imports.js';
import { redactEnvRefs, resolveEnvRefs } from './env-refs.js';
import { checkModelSize } from './estimate-model-size.js';
import type { RawConfig } from './load-config.js';

/** What {@link buildFromConfig} returns: everything `runner.run(dataLoaders, workflow)` needs. */
export interface BuiltRun {
  runner: BaseRunner;
  dataLoaders: RunnerLoader[];
  workflow: Workflow;
  config: HookflowConfig;
  backend: BackendChoice;
  trainLoader: DataLoader;
  valLoader: DataLoader | undefined;
}

/** Options of {@link buildFromConfig} that do not belong in the config file. */
export interface BuildOptions {
  logger?: Logger;
  /** Where checkpoints are stored (default: a FileCheckpointIO); bound before any hook is built. */
  checkpointIO?: CheckpointIO;
  /**
   * The process group of a multi-process run (handed to the runner); with several ranks the
   * train and val loaders are sharded with a DistributedSampler. Default: one process.
   */
  processGroup?: ProcessGroup;
}

/**
 * The checkpoint `autoResume` continues from: the newest valid one where CheckpointHook writes.
 * Every checkpoint passed over is reported; when all of them are broken, starting from scratch
 * (and then overwriting them) is refused.
 */
function autoResumeCheckpoint(runner: BaseRunner, config: HookflowConfig, workDir: string): string | null {
  const outDir = (config.checkpointConfig as { outDir?: string } | null | undefined)?.outDir;
  const dir = outDir ? path.join(outDir, path.basename(workDir)) : workDir;
  const scan = scanCheckpoints(dir);
  for (const warning of scan.warnings) runner.logger.warn(`autoResume: ${warning}`);
  const skipped = scan.skipped.map((s) => `${s.path}: ${s.reason}`);
  for (const line of skipped) runner.logger.warn(`autoResume: skipping checkpoint ${line}`);
  if (scan.latest === null && skipped.length) {
    throw new ConfigError('config.autoResume', `${dir} holds no valid checkpoint, only ${skipped.length} broken one(s):\n  ${skipped.join('\n  ')}\n`
      + 'Refusing to start from scratch over them. To start over, pass --no-resume (checkpoints of the same names are then overwritten) or use a new work dir (--work-dir).');
  }
  if (scan.latest === null) runner.logger.info(`autoResume: no checkpoint in ${dir}, starting from scratch`);
  return scan.latest;
}

/** A checkpoint that cannot be used is a config error (exit 2): nothing has run yet. */
async function fromCheckpoint(key: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof CheckpointError) throw new ConfigError(key, error.message);
    throw error;
  }
}

/**
 * `resumeFrom` (or, with `autoResume`, the newest valid checkpoint where CheckpointHook writes)
 * restores weights, optimizer, counters, meta and hook states; `loadFrom` loads weights only.
 */
async function restoreFromCheckpoint(runner: BaseRunner, config: HookflowConfig): Promise<void> {
  let from = config.resumeFrom ?? null;
  let key = 'config.resumeFrom';
  if (!from && config.autoResume && runner.workDir) {
    const found = runner.rank === 0 ? autoResumeCheckpoint(runner, config, runner.workDir) : null;
    // Rank 0's choice, so every rank resumes from the same checkpoint even where a shared file
    // system shows the ranks different states of the work dir.
    from = runner.worldSize > 1 ? await runner.processGroup.broadcastObject(found, 0) : found;
    key = 'config.autoResume';
  }
  if (from) await fromCheckpoint(key, () => runner.resume(from));
  else if (config.loadFrom) await fromCheckpoint('config.loadFrom', () => runner.loadCheckpoint(config.loadFrom!));
}

/** MMCV registers no optimizer hook without `optimizer_config`: the optimizer would never step. */
function warnIfNothingSteps(runner: BaseRunner, config: HookflowConfig): void {
  if (config.optimizerConfig != null || runner.hooks.some((hook) => hook instanceof OptimizerHook)) return;
  runner.logger.warn('config.optimizer is set but config.optimizerConfig is missing, so no OptimizerHook is registered '
    + 'and the weights will never change; add "optimizerConfig": {} (or an optimizer hook in customHooks)');
}

/** Validates a loaded config, naming the key and what is allowed on failure. */
export function validateConfig(raw: RawConfig): HookflowConfig {
  // Environment references are resolved here, so the run sees the values (artefacts get redactEnvRefs(raw)).
  const config = parseOptions(ConfigSchema, resolveEnvRefs(raw), 'config');
  const { type, maxEpochs, maxIters } = config.runner;
  if (type === 'EpochBasedRunner' && maxEpochs === undefined) throw new ConfigError('config.runner.maxEpochs', 'is required for EpochBasedRunner');
  if (type === 'IterBasedRunner' && maxIters === undefined) throw new ConfigError('config.runner.maxIters', 'is required for IterBasedRunner');
  if (maxEpochs !== undefined && maxIters !== undefined) throw new ConfigError('config.runner', 'set only one of maxEpochs and maxIters');
  const workflow = config.workflow ?? [['train', 1]];
  if (workflow.some(([mode]) => mode === 'val') && !config.data.val) {
    throw new ConfigError('config.data.val', "is required because the workflow has a 'val' entry");
  }
  return config;
}

/**
 * The loader of one split; with several ranks, this rank's shard of it (`batchSize` is per
 * process, as MMCV's `samples_per_gpu`).
 */
function buildLoader(cfg: NonNullable<HookflowConfig['data']['val']>, split: string, seed: number, group: ProcessGroup): DataLoader {
  let dataset: ReturnType<typeof DATASETS.build>;
  try {
    dataset = DATASETS.build(cfg.dataset);
  } catch (error) {
    if (error instanceof ConfigError) throw error.under(`config.data.${split}.dataset`);
    throw new ConfigError(`config.data.${split}.dataset`, (error as Error).message);
  }
  const order = { shuffle: cfg.shuffle, seed: cfg.seed ?? seed };
  const sampler = group.worldSize > 1 ? new DistributedSampler(dataset.length, { ...order, rank: group.rank, worldSize: group.worldSize }) : undefined;
  return new DataLoader(dataset, { ...order, batchSize: cfg.batchSize, dropLast: cfg.dropLast, sampler });
}

/**
 * Does what `hookflow train` does before `runner.run(dataLoaders, workflow)`: imports
 * `customImports`, chooses the backend (before any tensor), builds data, model, optimizer(s)
 * and runner, and registers the training hooks exactly as MMCV does. Every config error is
 * raised here, before training starts.
 */
export async function buildFromConfig(raw: RawConfig, options: BuildOptions = {}): Promise<BuiltRun> {
  const config = validateConfig(raw);
  await importCustomModules(config.customImports);
  const backend = await selectBackend(config.backend);
  const seed = config.seed ?? 0;

  const group = options.processGroup ?? singleProcessGroup;
  const trainLoader = buildLoader(config.data.train, 'train', seed, group);
  const valLoader = config.data.val ? buildLoader(config.data.val, 'val', seed, group) : undefined;
  checkModelSize(config.model);
  let model: ReturnType<typeof MODELS.build>;
  try {
    model = MODELS.build({ seed, ...config.model });
  } catch (error) {
    throw error instanceof ConfigError ? error : new ConfigError('config.model', (error as Error).message);
  }
  checkModelFitsData(model, trainLoader.dataset, 'train');
  if (valLoader) checkModelFitsData(model, valLoader.dataset, 'val');
  const optimizer = buildOptimizers(config.optimizer, model.params());
  const { type, ...limits } = config.runner;
  const runner = RUNNERS.build({ type, ...limits, model, optimizer, workDir: config.workDir ?? null, logger: options.logger, processGroup: group,
    meta: { config: redactEnvRefs(raw), seed, ...(config.expName ? { expName: config.expName } : {}) } });
  if (valLoader) runner.container.bind(TOKENS.ValDataLoader).toConstantValue(valLoader);
  if (options.checkpointIO) runner.container.rebind(TOKENS.CheckpointIO).toConstantValue(options.checkpointIO);

  runner.registerTrainingHooks({
    lrConfig: config.lrConfig,
    momentumConfig: config.momentumConfig,
    optimizerConfig: config.optimizerConfig,
    checkpointConfig: config.checkpointConfig,
    logConfig: config.logConfig,
    timerConfig: config.timerConfig === undefined ? { type: 'IterTimerHook' } : config.timerConfig,
    customHooksConfig: config.customHooks,
  });
  // As MMDetection's train script: a distributed epoch-based run reshuffles its shards every epoch.
  if (group.worldSize > 1 && runner.byEpoch && !runner.hooks.some((h) => h instanceof DistSamplerSeedHook)) runner.registerHook(new DistSamplerSeedHook());

  warnIfNothingSteps(runner, config);
  await restoreFromCheckpoint(runner, config);
  // Logged once the config has proved buildable: a config error leaves no log file behind.
  runner.logger.info(`Backend: ${describeBackend(backend)}`);
  if (group.worldSize > 1) runner.logger.info(`Processes: ${group.transport ?? `${group.worldSize} ranks`}`);
  // Rank 0 alone writes the journal, as every other file of the work dir.
  if (config.journal !== false && runner.workDir && runner.rank === 0) attachJournal(runner);
  const profiler = config.profileHooks ? attachProfiler(runner, { printTable: true, warnShare: 0.5 }) : undefined;
  if (config.journal !== false && runner.rank === 0) attachRunInfo(runner, profiler);

  const workflow = (config.workflow ?? [['train', 1]]) as Workflow;
  const dataLoaders = workflow.map(([mode]) => (mode === 'train' ? trainLoader : valLoader!));
  return { runner, dataLoaders, workflow, config, backend, trainLoader, valLoader };
}
