import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors.js';
import { startDashboard, type Dashboard } from '../../src/view/dashboard-server.js';
import { findLogJson, readLogRecords } from '../../src/view/run-scalars.js';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';
import { trainTinyRun } from './tiny-run.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

/** A GET with the path sent exactly as written (no URL normalisation). */
function rawGet(url: string, pathname: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: pathname, method }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An open event stream: the `data` of every message so far, and a wait for the next ones. */
function openEvents(url: string) {
  const messages: string[] = [];
  let wake = () => {};
  let request!: http.ClientRequest;
  const ready = new Promise<string>((resolve, reject) => {
    request = http.get(url, (res) => {
      resolve(String(res.headers['content-type']));
      let buffer = '';
      res.on('data', (chunk) => {
        buffer += chunk;
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop()!;
        for (const block of blocks) {
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
          if (data.length) messages.push(data.join('\n'));
        }
        wake();
      });
    });
    request.on('error', reject);
  });
  /** Resolves when `count` messages arrived; rejects after `ms`. */
  const waitFor = (count: number, ms: number) => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${messages.length} of ${count} messages after ${ms} ms`)), ms);
    wake = () => {
      if (messages.length >= count) {
        clearTimeout(timer);
        resolve();
      }
    };
    wake();
  });
  return { messages, ready, waitFor, close: () => request.destroy() };
}

describe('hookflow dashboard: JSON API and event stream', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  let finished: string;
  let live: string;
  let dashboard: Dashboard;
  let afterRunLine: string;

  before(async () => {
    ({ dir, cleanup } = tempDir());
    finished = path.join(dir, 'finished');
    // Logged every 2 iterations: the journal has every iteration, the log.json is what counts.
    await trainTinyRun(finished, { runner: { type: 'EpochBasedRunner', maxEpochs: 3 }, logConfig: { interval: 2, hooks: [{ type: 'TextLoggerHook' }] } });
    // A run caught mid-way: the same journal without its last line, written just now.
    live = path.join(dir, 'live run');
    fs.mkdirSync(live);
    const lines = fs.readFileSync(path.join(finished, 'events.jsonl'), 'utf8').trimEnd().split('\n');
    afterRunLine = lines.pop()!;
    fs.writeFileSync(path.join(live, 'events.jsonl'), `${lines.join('\n')}\n`);
    dashboard = await startDashboard([finished, live], { port: 0 });
  });
  after(async () => {
    await dashboard.close();
    cleanup();
  });

  it('lists the runs with their state, hook plan and profile', async () => {
    const runs = await (await fetch(`${dashboard.url}api/runs`)).json() as Record<string, unknown>[];
    expect(runs.map((r) => [r.id, r.workDir, r.status])).to.deep.equal([['finished', finished, 'finished'], ['live-run', live, 'live']]);
    const [done, running] = runs;
    expect(done).to.include({ runner: 'EpochBasedRunner', epoch: 3, maxEpochs: 3, iter: 9, maxIters: 9, itersPerEpoch: 3, lastCheckpoint: 'epoch_3', stopReason: null, problem: null });
    expect((done!.best as { key: string }).key).to.equal('accuracy');
    expect(done!.hookPlan).to.match(/^beforeRun:\n\(VERY_HIGH {3}\) StepLrUpdaterHook|^beforeRun:/);
    expect(done!.hookPlan).to.contain('EvalHook');
    const profile = done!.hookProfile as { hook: string; stage: string; calls: number }[];
    expect(profile.find((p) => p.hook === 'OptimizerHook' && p.stage === 'afterTrainIter')!.calls).to.equal(9);
    expect(running).to.include({ status: 'live', epoch: 3, iter: 9 });
  });

  it('serves scalars equal to the .log.json, on the global iteration axis', async () => {
    const records = readLogRecords(findLogJson(finished)!);
    const expected: Record<string, Record<string, [number, number][]>> = { train: {}, val: {} };
    for (const r of records) {
      const mode = r.mode as 'train' | 'val';
      const iter = mode === 'train' ? (Number(r.epoch) - 1) * 3 + Number(r.iter) : Number(r.epoch) * 3;
      for (const [key, value] of Object.entries(r)) if (!['mode', 'epoch', 'iter'].includes(key)) (expected[mode]![key] ??= []).push([iter, value as number]);
    }
    expect(records.filter((r) => r.mode === 'train').map((r) => r.iter)).to.deep.equal([2, 2, 2]);
    const scalars = await (await fetch(`${dashboard.url}api/runs/finished/scalars`)).json();
    expect(scalars).to.deep.equal(expected);
  });

  it('streams the journal from the start, then an appended record within a second', async () => {
    const lines = fs.readFileSync(path.join(live, 'events.jsonl'), 'utf8').trimEnd().split('\n');
    const stream = openEvents(`${dashboard.url}api/runs/live-run/events`);
    try {
      expect(await stream.ready).to.equal('text/event-stream; charset=utf-8');
      await stream.waitFor(lines.length, 5000);
      expect(stream.messages).to.deep.equal(lines);
      fs.appendFileSync(path.join(live, 'events.jsonl'), `${afterRunLine}\n`);
      await stream.waitFor(lines.length + 1, 1000);
      expect(stream.messages.at(-1)).to.equal(afterRunLine);
    } finally {
      stream.close();
    }
    const run = await (await fetch(`${dashboard.url}api/runs/live-run`)).json() as Record<string, unknown>;
    expect(run.status).to.equal('finished');
  });

  it('answers 404 to anything outside its routes, however encoded, and 405 to writes', async () => {
    const attempts = ['/api/runs/..%2F..', '/api/runs/..%2f..%2fetc%2fpasswd', '/api/runs/%2e%2e', '/api/runs/..', '/api/runs/../../etc/passwd',
      '/api/runs/finished/..%2F..%2Fevents.jsonl', '/api/runs/finished/events.jsonl', '/../package.json', '/%2e%2e/%2e%2e/etc/passwd',
      '/vendor/..%2F..%2Fpackage.json', '/finished/events.jsonl', '/api/runs/finished%00/scalars'];
    for (const attempt of attempts) expect((await rawGet(dashboard.url, attempt)).status, attempt).to.equal(404);
    expect((await rawGet(dashboard.url, '/api/runs', 'POST')).status).to.equal(405);
    expect((await rawGet(dashboard.url, '/')).body).to.contain('<title>hookflow dashboard</title>');
    expect((await rawGet(dashboard.url, '/curve-spec.js')).body).to.contain('export function curveSpec');
  });

  it('refuses a missing work dir with a clear error', async () => {
    const missing = path.join(dir, 'nope');
    let error: unknown;
    try {
      await startDashboard([missing], { port: 0 });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.equal(`dashboard: work dir ${missing} does not exist`);
    const cli = spawnSync(process.execPath, [CLI, 'dashboard', missing, '--port', '0'], { encoding: 'utf8' });
    expect(cli.status).to.equal(2);
    expect(cli.stderr).to.equal(`hookflow: config error: dashboard: work dir ${missing} does not exist\n`);
  });

  it('prints exactly one line with its address from the command line, port 0 picking a free port', async () => {
    const child = spawn(process.execPath, [CLI, 'dashboard', finished, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk) => { out += chunk; if (out.includes('\n')) resolve(); });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      expect(out).to.match(/^hookflow dashboard: http:\/\/127\.0\.0\.1:\d+\/\n$/);
      const url = out.trim().split(': ')[1]!;
      const runs = await (await fetch(`${url}api/runs`)).json() as { id: string }[];
      expect(runs.map((r) => r.id)).to.deep.equal(['finished']);
    } finally {
      child.kill();
    }
  });

  it('serves the run that `train --dashboard` trains while it trains, from its own thread', async () => {
    fs.writeFileSync(path.join(dir, 'long.json'), JSON.stringify(tinyConfig({ runner: { type: 'EpochBasedRunner', maxEpochs: 60 } })));
    const work = path.join(dir, 'trained');
    const child = spawn(process.execPath, [CLI, 'train', 'long.json', '--work-dir', work, '--dashboard', '--port', '0', '--no-progress'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOOKFLOW_BACKEND: 'wasm' } });
    let code: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve((code = c))));
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    try {
      while (!/hookflow dashboard: (\S+)/.test(out)) {
        if (code !== undefined) throw new Error(`train exited ${code} before serving: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /hookflow dashboard: (\S+)/.exec(out)![1]!;
      let run: Record<string, unknown> = {};
      while (!((run.iter as number) > 0)) run = ((await (await fetch(`${url}api/runs`)).json()) as Record<string, unknown>[])[0]!;
      expect(run).to.include({ id: 'trained', workDir: work, status: 'live', maxEpochs: 60 });
      expect(run.iter as number).to.be.below(run.maxIters as number);
    } finally {
      expect(await exited).to.equal(0);
    }
    expect(out.match(/hookflow dashboard: /g)).to.have.length(1);
  });
});
