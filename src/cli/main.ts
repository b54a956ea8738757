#!/usr/bin/env node
import 'reflect-metadata';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import YAML from 'yaml';
import '../hooks/index.js';
import '../../plugins/index.js';
import { buildFromConfig } from '../config/build-from-config.js';
import { ConfigError } from '../core/errors.js';
import { MemoryLogger, consoleLogger } from '../core/services.js';
import { replayJournal } from '../replay/replay-journal.js';
import { resolveConfig, trainCommand } from './train-command.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The config `hookflow train` uses when none is given (shipped with the package). */
export const DEFAULT_CONFIG = path.resolve(here, '../../../configs/mnist_mlp.json');

const collect = (value: string, previous: string[] = []) => [...previous, value];

const program = new Command('hookflow')
  .description("MMCV's Runner and Hook system for TensorFlow.js: train from a config, inspect hook plans")
  .showHelpAfterError();

program.command('train')
  .description('train a model from a config file (JSON, YAML or JS)')
  .argument('[config]', 'config file', DEFAULT_CONFIG)
  .option('--work-dir <dir>', 'where logs, checkpoints and the journal go')
  .option('--resume-from <checkpoint>', 'resume from a checkpoint directory')
  .option('--auto-resume', 'resume from the newest valid checkpoint in the work dir')
  .option('--cfg-options <key=value...>', 'override config keys, e.g. runner.maxEpochs=2 optimizer.lr=0.1', collect)
  .option('--seed <n>', 'random seed of initialisation and shuffling')
  .option('--backend <name>', 'auto | tensorflow | wasm | cpu (default: HOOKFLOW_BACKEND or auto)')
  .option('--profile-hooks', 'time every hook call and print a table at the end')
  .option('--no-journal', 'do not write events.jsonl')
  .option('--no-progress', 'no progress bar')
  // Data-parallel training (src/dist, docs/distributed.md).
  .option('--launcher <name>', 'none | mpi | slurm: how the processes of this job were started (default none)')
  .option('--nproc <n>', 'train with N processes on this machine (runs mpirun for you)')
  .option('--timeout <s>', 'with --nproc: mpirun ends the whole job after S seconds')
  .option('--dist-timeout <s>', 'end the whole job when no iteration finishes in S seconds')
  .action(async (config: string, opts) => trainCommand(config, opts));

program.command('hooks')
  .description('print the resolved hook plan of a config, per stage, with priorities and filters')
  .argument('[config]', 'config file', DEFAULT_CONFIG)
  .option('--cfg-options <key=value...>', 'override config keys', collect)
  .option('--backend <name>', 'backend used while building the model')
  .action(async (config: string, opts) => {
    const raw = await resolveConfig(config, { ...opts, journal: false });
    const { runner } = await buildFromConfig({ ...raw, workDir: undefined }, { logger: new MemoryLogger() });
    console.log(runner.hookInfo(true));
  });

program.command('print-config')
  .description('print the config after _base_ merging and --cfg-options')
  .argument('[config]', 'config file', DEFAULT_CONFIG)
  .option('--cfg-options <key=value...>', 'override config keys', collect)
  .option('--format <format>', 'json or yaml', 'json')
  .action(async (config: string, opts) => {
    const raw = await resolveConfig(config, opts);
    console.log(opts.format === 'yaml' ? YAML.stringify(raw) : JSON.stringify(raw, null, 2));
  });

program.command('replay')
  .description('drive hooks from a recorded journal (events.jsonl): regenerate logs or TensorBoard files without model, data or backend')
  .argument('<journal>', 'an events.jsonl file')
  .requiredOption('--hook <json...>', "hook config(s), e.g. '{\"type\":\"TensorboardLoggerHook\"}'", collect)
  .option('--work-dir <dir>', 'where the hooks write (default: <journal dir>/replay)')
  .action(async (journal: string, opts: { hook: string[]; workDir?: string }) => {
    const hooks = opts.hook.map((text, i) => {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        throw new ConfigError(`--hook[${i}]`, `is not JSON: ${(error as Error).message}`);
      }
    });
    const workDir = opts.workDir ?? path.join(path.dirname(path.resolve(journal)), 'replay');
    await replayJournal(journal, hooks, { workDir, logger: consoleLogger });
  });

program.parseAsync(process.argv).catch(async (error: unknown) => {
  const { abortJob, rankPrefix } = await import('../dist/init-dist.js');
  const message = error instanceof Error ? error.message : String(error);
  console.error(`${rankPrefix()}hookflow: ${error instanceof ConfigError ? 'config error: ' : 'error: '}${message}`);
  if (process.env.HOOKFLOW_DEBUG && error instanceof Error) console.error(error.stack);
  process.exitCode = error instanceof ConfigError ? 2 : 1;
  abortJob(process.exitCode);
});
