/**
 * The dashboard's HTTP server (plain `node:http`: a handful of fixed routes needs no framework).
 * Read-only: it serves its own page and the given runs' data and nothing else; a URL names a run
 * by its id, never by a path, so no request reaches a file outside the work dirs.
 *
 * - `GET /api/runs` -> `[RunSummary, ...]`
 * - `GET /api/runs/:id` -> one `RunSummary`
 * - `GET /api/runs/:id/scalars` -> `{ "train": { key: [[iter, value], ...] }, "val": {...} }`
 * - `GET /api/runs/:id/events` -> `text/event-stream` of the journal's lines, then live ones
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';
import { JOURNAL_FILE } from '../core/journal/journal-format.js';
import type { Journal } from '../core/journal/journal-reader.js';
import { JournalTail } from './journal-tail.js';
import { readJournalQuietly, readRunScalars, type ScalarSeries } from './run-scalars.js';
import { summarizeRun } from './run-summary.js';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** Default 6066; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
}

/** A running dashboard. */
export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The dashboard's default port. */
export const DEFAULT_DASHBOARD_PORT = 6066;

const here = path.dirname(fileURLToPath(import.meta.url));
const PAGE_DIR = path.resolve(here, '../../../src/view/page');
const vendor = (pkg: string, file: string) => path.join(path.dirname(fileURLToPath(import.meta.resolve(pkg))), file);

/** Every file the server sends, by URL: its own page, the shared chart spec and Vega. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: path.join(PAGE_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: path.join(PAGE_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/curve-spec.js': { file: path.join(here, 'curve-spec.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/vega.min.js': { file: vendor('vega', 'vega.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/vega-lite.min.js': { file: vendor('vega-lite', 'vega-lite.min.js'), type: 'text/javascript; charset=utf-8' },
};

const RUN_ROUTE = /^\/api\/runs\/([A-Za-z0-9_-]+)(\/scalars|\/events)?$/;
/** A comment line keeps idle event streams open through proxies. */
const HEARTBEAT_MS = 15_000;

/** A run the server knows: its work dir, its journal follower and its last parsed journal. */
interface ServedRun {
  id: string;
  workDir: string;
  tail: JournalTail;
  journal?: { size: number; mtimeMs: number; value: Journal | undefined };
}

/**
 * Checks the work dirs and gives each run an id from its folder name.
 * @throws ConfigError when a work dir is missing or not a directory.
 */
export function servedRuns(workDirs: string[]): ServedRun[] {
  if (workDirs.length === 0) throw new ConfigError('dashboard', 'give at least one work dir');
  const ids = new Set<string>();
  return workDirs.map((dir) => {
    const workDir = path.resolve(dir);
    if (!fs.existsSync(workDir)) throw new ConfigError('dashboard', `work dir ${dir} does not exist`);
    if (!fs.statSync(workDir).isDirectory()) throw new ConfigError('dashboard', `${dir} is not a directory (give a work dir)`);
    const base = path.basename(workDir).replace(/[^A-Za-z0-9_-]+/g, '-') || 'run';
    let id = base;
    for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
    ids.add(id);
    return { id, workDir, tail: new JournalTail(path.join(workDir, JOURNAL_FILE)) };
  });
}

/** Starts the dashboard for `workDirs`; resolves once it listens. */
export async function startDashboard(workDirs: string[], options: DashboardOptions = {}): Promise<Dashboard> {
  const runs = new Map(servedRuns(workDirs).map((run) => [run.id, run]));
  const streams = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    try {
      route(req, res);
    } catch (error) {
      if (!res.headersSent) send(res, 500, { error: (error as Error).message });
      else res.end();
    }
  });

  const route = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'read-only: GET only' });
    const pathname = (req.url ?? '/').split('?')[0]!;
    const asset = ASSETS[pathname];
    if (asset) {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
      return void res.end(req.method === 'HEAD' ? undefined : fs.readFileSync(asset.file));
    }
    if (pathname === '/api/runs') return send(res, 200, [...runs.values()].map(summary));
    const match = RUN_ROUTE.exec(pathname);
    const run = match ? runs.get(match[1]!) : undefined;
    if (!match || !run) return send(res, 404, { error: `not found: ${pathname}` });
    if (match[2] === '/scalars') return send(res, 200, scalarsBody(seriesOf(run.workDir)));
    if (match[2] === '/events') return streamEvents(run, req, res);
    return send(res, 200, summary(run));
  };

  const summary = (run: ServedRun) => summarizeRun(run.id, run.workDir, journalOf(run));

  const streamEvents = (run: ServedRun, req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    streams.add(res);
    const unsubscribe = run.tail.subscribe((line, lineNo) => res.write(`id: ${lineNo}\ndata: ${line}\n\n`));
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_DASHBOARD_PORT, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    port: address.port,
    close: async () => {
      for (const res of streams) res.end();
      for (const run of runs.values()) run.tail.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The journal of `run`, parsed again only when the file changed. */
function journalOf(run: ServedRun): Journal | undefined {
  const file = path.join(run.workDir, JOURNAL_FILE);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (run.journal?.size !== stat.size || run.journal.mtimeMs !== stat.mtimeMs) {
    run.journal = { size: stat.size, mtimeMs: stat.mtimeMs, value: readJournalQuietly(file) };
  }
  return run.journal.value;
}

/** The run's scalars; none yet when it has written neither a log nor a journal. */
function seriesOf(workDir: string): ScalarSeries {
  try {
    return readRunScalars(workDir).series;
  } catch (error) {
    if (error instanceof ConfigError) return { train: {}, val: {} };
    throw error;
  }
}

/** The API's scalars shape: `[iter, value]` pairs per key per mode. */
export function scalarsBody(series: ScalarSeries): Record<'train' | 'val', Record<string, [number, number][]>> {
  const pairs = (byKey: ScalarSeries['train']) => Object.fromEntries(Object.entries(byKey).map(([key, points]) => [key, points.map((p) => [p.iter, p.value] as [number, number])]));
  return { train: pairs(series.train), val: pairs(series.val) };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
  res.end(JSON.stringify(body));
}
