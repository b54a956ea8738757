#!/usr/bin/env node
// The entry stays cheap: commander and node builtins only. Every command's action loads its own
// module with `await import()`, so `--help`, `--version` and `print-config` never load tfjs.
// Adding a command: one block below, its logic in its own file under src/cli/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { exitWithError, installProcessGuard } from './process-guard.js';

installProcessGuard();

const here = path.dirname(fileURLToPath(import.meta.url));
/** The config `hookflow train` uses when none is given (shipped with the package). */
export const DEFAULT_CONFIG = path.resolve(here, '../../../configs/mnist_mlp.json');
const packageJson = JSON.parse(fs.readFileSync(path.resolve(here, '../../../package.json'), 'utf8')) as { version: string };

const collect = (value: string, previous: string[] = []) => [...previous, value];

const program = new Command('hookflow')
  .description("MMCV's Runner and Hook system for TensorFlow.js: train from a config, inspect hook plans")
  .version(packageJson.version, '-V, --version', 'print the version of hookflow')
  .showHelpAfterError();

// --- train
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
  .option('--dashboard', 'serve the dashboard of this run while it trains (see hookflow dashboard)')
  .option('--port <n>', 'dashboard port with --dashboard (0 picks a free one)')
  .action(async (config: string, opts) => (await import('./train-command.js')).trainCommand(config, opts));

// --- hooks
program.command('hooks')
  .description('print the resolved hook plan of a config, per stage, with priorities and filters')
  .argument('[config]', 'config file', DEFAULT_CONFIG)
  .option('--cfg-options <key=value...>', 'override config keys', collect)
  .option('--backend <name>', 'backend used while building the model')
  .action(async (config: string, opts) => (await import('./hooks-command.js')).hooksCommand(config, opts));

// --- print-config
program.command('print-config')
  .description('print the config after _base_ merging and --cfg-options')
  .argument('[config]', 'config file', DEFAULT_CONFIG)
  .option('--cfg-options <key=value...>', 'override config keys', collect)
  .option('--format <format>', 'json or yaml', 'json')
  .action(async (config: string, opts) => (await import('./print-config-command.js')).printConfigCommand(config, opts));

// --- replay
program.command('replay')
  .description('drive hooks from a recorded journal (events.jsonl): regenerate logs or TensorBoard files without model, data or backend')
  .argument('<journal>', 'an events.jsonl file')
  .requiredOption('--hook <json...>', "hook config(s), e.g. '{\"type\":\"TensorboardLoggerHook\"}'", collect)
  .option('--work-dir <dir>', 'where the hooks write (default: <journal dir>/replay)')
  .option('--skip-invalid', 'salvage a damaged journal: skip malformed lines (each reported) instead of failing')
  .action(async (journal: string, opts) => (await import('./replay-command.js')).replayCommand(journal, opts));

// --- seeing runs: plot, analyze-logs, dashboard (src/view) ---
program.command('plot')
  .description("plot scalar curves of runs (MMCV's analyze_logs plot_curve) to SVG or PNG")
  .argument('<runs...>', 'work dirs or .log.json files')
  .option('--keys <k1,k2>', 'scalars to plot (default: loss in train mode, every metric in val mode)')
  .option('--mode <mode>', 'train or val', 'train')
  .option('--x <axis>', 'iter or epoch (default: iter in train mode, epoch in val mode)')
  .option('--legend <a,b>', 'curve names: one per run or one per curve')
  .option('--title <title>', 'chart title')
  .option('--out <file>', 'output file, .svg or .png', 'curve.svg')
  .action(async (runs: string[], opts) => (await import('../view/plot-command.js')).plotCommand(runs, opts));

program.command('analyze-logs')
  .description("MMCV's analyze_logs: cal-train-time (slowest, fastest and average epoch time)")
  .argument('<task>', 'cal-train-time')
  .argument('<logs...>', 'work dirs or .log.json files')
  .option('--include-outliers', "count each epoch's first iteration too")
  .action(async (task: string, logs: string[], opts: { includeOutliers?: boolean }) => (await import('../view/analyze-logs-command.js')).analyzeLogsCommand(task, logs, opts));

program.command('dashboard')
  .description('serve a read-only web page with live curves and state of runs')
  .argument('<workDirs...>', 'work dirs of runs (finished or training)')
  .option('--port <n>', 'port (0 picks a free one)', '6066')
  .option('--host <host>', 'interface to bind', '127.0.0.1')
  .action(async (workDirs: string[], opts) => { await (await import('../view/dashboard-command.js')).dashboardCommand(workDirs, opts); });

program.parseAsync(process.argv).catch(exitWithError);
