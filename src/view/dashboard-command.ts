/** `hookflow dashboard` and `hookflow train --dashboard`: start the server and announce it. */
import { ConfigError } from '../core/errors.js';
import { DEFAULT_DASHBOARD_PORT, startDashboard, type Dashboard } from './dashboard-server.js';
import { startDashboardThread } from './dashboard-thread.js';

/** Command-line options (strings as given). */
export interface DashboardCommandOptions {
  port?: string;
  host?: string;
}

/** Checks `--port` (0 picks a free port). */
export function parsePort(text: string | undefined): number {
  if (text === undefined) return DEFAULT_DASHBOARD_PORT;
  const port = Number(text);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new ConfigError('--port', `must be an integer from 0 to 65535; got '${text}'`);
  return port;
}

/**
 * Starts the dashboard for `workDirs` and prints exactly one line: `hookflow dashboard: URL`.
 * `thread`: serve from a worker thread (while this thread trains).
 */
export async function dashboardCommand(workDirs: string[], options: DashboardCommandOptions, thread = false): Promise<Dashboard> {
  const port = parsePort(options.port);
  let dashboard: Dashboard;
  try {
    dashboard = await (thread ? startDashboardThread : startDashboard)(workDirs, { port, host: options.host });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ConfigError('--port', `${port} is in use; pick another or 0 for a free one`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ConfigError('--host', `cannot listen on '${options.host}'`);
    throw error;
  }
  console.log(`hookflow dashboard: ${dashboard.url}`);
  return dashboard;
}
