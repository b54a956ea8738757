/**
 * The dashboard in a worker thread, for `hookflow train --dashboard`: a training step keeps the
 * main thread busy for its whole length, so a server there would answer only between steps.
 */
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../core/errors.js';
import type { Dashboard, DashboardOptions } from './dashboard-server.js';

type WorkerReply = { url: string; port: number } | { error: { message: string; code?: string; name?: string } };

/** Starts the dashboard for `workDirs` on its own thread; resolves once it listens. */
export async function startDashboardThread(workDirs: string[], options: DashboardOptions = {}): Promise<Dashboard> {
  const worker = new Worker(new URL('./dashboard-worker.js', import.meta.url), { workerData: { workDirs, options } });
  const reply = await new Promise<WorkerReply>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  if ('error' in reply) {
    await worker.terminate();
    const error = reply.error.name === 'ConfigError' ? new ConfigError('', reply.error.message) : new Error(reply.error.message);
    throw Object.assign(error, { code: reply.error.code });
  }
  worker.unref();
  return {
    url: reply.url,
    port: reply.port,
    close: async () => {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      await exited;
    },
  };
}
