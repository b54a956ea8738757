import './hook-modules.js';
import { buildFromConfig, validateConfig } from '../config/build-from-config.js';
import { consoleLogger } from '../core/services.js';
import { Priority } from '../core/priority.js';
import { DistWatchdogHook } from '../dist/dist-watchdog.js';
import { finalizeDist, initDist } from '../dist/init-dist.js';
import { launchNproc } from '../dist/launch-nproc.js';
import { parseNproc, parseSeconds } from '../dist/mpirun-command.js';
import { WorkDirLock } from '../runner/work-dir-lock.js';
import { ProgressBarHook, wantsProgressBar } from './progress-bar-hook.js';
import { guardRun } from './process-guard.js';
import { resolveConfig, type ConfigFlags } from './resolve-config.js';
import type { Dashboard } from '../view/dashboard-server.js';

/** Options of `hookflow train`. */
export interface TrainCommandOptions extends ConfigFlags {
  progress?: boolean;
  /** Serve the dashboard for the run while it trains, on `port`. */
  dashboard?: boolean;
  port?: string;
  launcher?: string;
  nproc?: string;
  timeout?: string;
  distTimeout?: string;
}

/** `hookflow train CONFIG`: build everything from the config, then run the workflow. */
export async function trainCommand(configPath: string, opts: TrainCommandOptions): Promise<void> {
  const distTimeout = opts.distTimeout === undefined ? undefined : parseSeconds('--dist-timeout', opts.distTimeout);
  if (opts.nproc !== undefined) {
    const timeout = opts.timeout === undefined ? undefined : parseSeconds('--timeout', opts.timeout);
    const trainArgs = process.argv.slice(process.argv.indexOf('train', 2) + 1);
    // A config error is reported once, here, rather than by every rank.
    validateConfig(await resolveConfig(configPath, opts));
    // SIGINT/SIGTERM go to mpirun (which passes them to every rank); this process waits for it.
    const guard = (stop: () => void) => guardRun({ activity: { stage: null, inStage: false }, interrupt: stop });
    process.exitCode = await launchNproc(process.argv[1]!, trainArgs, { nproc: parseNproc(opts.nproc), timeout }, guard);
    return;
  }
  const { processGroup } = initDist(opts.launcher);
  const raw = await resolveConfig(configPath, opts);
  validateConfig(raw); // a config error leaves no work dir behind
  // One trainer per work dir; with several ranks only rank 0 writes there, so only it takes the lock.
  const lock = typeof raw.workDir === 'string' && processGroup.rank === 0 ? WorkDirLock.acquire(raw.workDir, consoleLogger) : undefined;
  const release = () => lock?.release();
  process.once('exit', release);
  // Under mpirun every rank's stdout is a terminal: only rank 0 draws.
  const wanted = processGroup.rank === 0 && wantsProgressBar({ progress: opts.progress, isTTY: process.stdout.isTTY === true, env: process.env });
  const progress = wanted ? new ProgressBarHook() : undefined;
  let dashboard: Dashboard | undefined;
  try {
    const built = await buildFromConfig(raw, { logger: progress?.logger ?? consoleLogger, processGroup });
    const { runner, dataLoaders, workflow } = built;
    if (progress) runner.registerHook(progress, Priority.LOWEST);
    if (distTimeout !== undefined) runner.registerHook(new DistWatchdogHook(distTimeout, processGroup.rank), Priority.HIGHEST);
    if (opts.dashboard && runner.workDir && runner.rank === 0) {
      dashboard = await (await import('../view/dashboard-command.js')).dashboardCommand([runner.workDir], { port: opts.port }, true);
    }
    const done = guardRun(runner);
    await runner.run(dataLoaders, workflow);
    done();
    finalizeDist();
  } finally {
    await dashboard?.close();
    progress?.stop();
    release();
    process.off('exit', release);
  }
}
