/**
 * Worker-thread entry of {@link startDashboardThread}: runs the dashboard server on its own event
 * loop, so it answers while the training thread is busy. Messages: it posts `{ url, port }` or
 * `{ error: { message, code } }`; it closes the server on `'close'`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startDashboard, type DashboardOptions } from './dashboard-server.js';

const { workDirs, options } = workerData as { workDirs: string[]; options: DashboardOptions };
try {
  const dashboard = await startDashboard(workDirs, options);
  parentPort!.on('message', async (message: unknown) => {
    if (message !== 'close') return;
    await dashboard.close();
    parentPort!.close();
  });
  parentPort!.postMessage({ url: dashboard.url, port: dashboard.port });
} catch (error) {
  parentPort!.postMessage({ error: { message: (error as Error).message, code: (error as NodeJS.ErrnoException).code, name: (error as Error).name } });
}
