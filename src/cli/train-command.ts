import './hook-modules.js';
import { buildFromConfig, validateConfig } from '../config/build-from-config.js';
import { consoleLogger } from '../core/services.js';
import { Priority } from '../core/priority.js';
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
}

/** `hookflow train CONFIG`: build everything from the config, then run the workflow. */
export async function trainCommand(configPath: string, opts: TrainCommandOptions): Promise<void> {
  const raw = await resolveConfig(configPath, opts);
  validateConfig(raw); // a config error leaves no work dir behind
  // One trainer per work dir; under mpirun only rank 0 writes there, so only it takes the lock.
  const lock = typeof raw.workDir === 'string' && (process.env.OMPI_COMM_WORLD_RANK ?? '0') === '0' ? WorkDirLock.acquire(raw.workDir, consoleLogger) : undefined;
  const release = () => lock?.release();
  process.once('exit', release);
  const wanted = wantsProgressBar({ progress: opts.progress, isTTY: process.stdout.isTTY === true, env: process.env });
  const progress = wanted ? new ProgressBarHook() : undefined;
  let dashboard: Dashboard | undefined;
  try {
    const built = await buildFromConfig(raw, { logger: progress?.logger ?? consoleLogger });
    const { runner, dataLoaders, workflow } = built;
    if (progress && runner.rank === 0) runner.registerHook(progress, Priority.LOWEST);
    if (opts.dashboard && runner.workDir && runner.rank === 0) {
      dashboard = await (await import('../view/dashboard-command.js')).dashboardCommand([runner.workDir], { port: opts.port }, true);
    }
    const done = guardRun(runner);
    await runner.run(dataLoaders, workflow);
    done();
  } finally {
    await dashboard?.close();
    progress?.stop();
    release();
    process.off('exit', release);
  }
}
