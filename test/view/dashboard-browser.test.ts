import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Hook } from '../../src/core/hook.js';
import { startDashboard, type Dashboard } from '../../src/view/dashboard-server.js';
import { tempDir } from '../helpers/tiny.js';
import { buildTinyRun, trainTinyRun } from './tiny-run.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const here = path.dirname(fileURLToPath(import.meta.url));
/** `HOOKFLOW_UPDATE_SCREENSHOT=1` refreshes the README's screenshot; otherwise it goes to the temp dir. */
const README_SCREENSHOT = path.resolve(here, '../../../docs/dashboard.png');
/** Flags that keep Chromium quiet on a closed network and independent of any profile. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Holds the run at the end of every train epoch until the test lets it go on. */
class EpochGate extends Hook {
  private release?: () => void;
  private reached?: () => void;
  private arrival = this.nextArrival();

  private nextArrival(): Promise<void> {
    return new Promise((resolve) => (this.reached = resolve));
  }

  /** Resolves once the run waits at the end of an epoch. */
  waiting(): Promise<void> {
    return this.arrival;
  }

  /** Lets the waiting run go on to its next epoch end. */
  open(): void {
    this.arrival = this.nextArrival();
    this.release?.();
  }

  override afterTrainEpoch(): Promise<void> {
    return new Promise((resolve) => {
      this.release = resolve;
      this.reached?.();
    });
  }
}

/** The page's globals, as the functions evaluated in the page use them. */
declare const document: { querySelector(selector: string): { textContent: string | null; getAttribute(name: string): string | null } | null; getElementById(id: string): { textContent: string | null } | null };

const describeWithChromium = fs.existsSync(CHROMIUM) ? describe : describe.skip;
const reason = fs.existsSync(CHROMIUM) ? '' : ` (skipped: no Chromium at ${CHROMIUM}; set CHROMIUM_PATH)`;

describeWithChromium(`hookflow dashboard in headless Chromium${reason}`, function () {
  this.timeout(180000);
  let dir: string;
  let cleanup: () => void;
  let dashboard: Dashboard;
  let browser: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const gate = new EpochGate();
  let liveRun: Promise<void>;
  const data = { numSamples: 96, batchSize: 8 };
  const config = (seed: number, lr: number) => ({
    seed,
    optimizer: { type: 'SGD', lr, momentum: 0.9 },
    data: {
      train: { dataset: { type: 'Synthetic', numSamples: data.numSamples, inputShape: [4], numClasses: 3 }, batchSize: data.batchSize, shuffle: true },
      val: { dataset: { type: 'Synthetic', numSamples: 48, inputShape: [4], numClasses: 3, seed: 1 }, batchSize: 16 },
    },
  });

  before(async () => {
    ({ dir, cleanup } = tempDir());
    const finished = path.join(dir, 'mlp_lr0.1');
    await trainTinyRun(finished, { ...config(0, 0.1), runner: { type: 'EpochBasedRunner', maxEpochs: 5 } });
    const live = path.join(dir, 'mlp_lr0.02');
    const built = await buildTinyRun(live, { ...config(1, 0.02), runner: { type: 'EpochBasedRunner', maxEpochs: 5 } });
    built.runner.registerHook(gate, 'LOWEST');
    liveRun = built.runner.run(built.dataLoaders, built.workflow);
    await gate.waiting();
    dashboard = await startDashboard([finished, live], { port: 0 });
    browser = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), { executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
    page = await browser.newPage();
    page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
    page.on('pageerror', (error) => problems.push(error.message));
  });
  after(async () => {
    await browser?.close();
    gate.open(); // a failed test leaves the run waiting
    await dashboard?.close();
    cleanup();
  });

  /** Points the API holds for `mode/key`, summed over the runs. */
  async function apiPoints(mode: 'train' | 'val', key: string): Promise<number> {
    let total = 0;
    for (const id of ['mlp_lr0-1', 'mlp_lr0-02']) {
      const scalars = await (await fetch(`${dashboard.url}api/runs/${id}/scalars`)).json() as Record<string, Record<string, unknown[]>>;
      total += scalars[mode]![key]?.length ?? 0;
    }
    return total;
  }

  /** Waits until the chart of `chartKey` has drawn `points` rows; returns its drawn symbols. */
  async function chartDraws(chartKey: string, points: number): Promise<number> {
    const selector = `[data-key="${chartKey}"]`;
    await page.waitForFunction(([s, n]) => document.querySelector(s as string)?.getAttribute('data-points') === String(n), [selector, points], { timeout: 20000 });
    return page.locator(`${selector} .mark-symbol.role-mark path`).count();
  }

  it('draws every logged point of a finished and a live run, and the runs\' state', async () => {
    await page.goto(dashboard.url);
    const loss = await apiPoints('train', 'loss');
    expect(loss).to.equal(60 + 12);
    expect(await chartDraws('train/loss', loss)).to.equal(loss);
    expect(await chartDraws('val/accuracy', await apiPoints('val', 'accuracy'))).to.equal(5 + 1);
    expect(await page.locator('#run-mlp_lr0-1 .badge').textContent()).to.equal('finished');
    expect(await page.locator('#run-mlp_lr0-02 .badge').textContent()).to.equal('live');
    expect(await page.locator('#run-mlp_lr0-02 .facts').textContent()).to.contain('epoch1 / 5');
    expect(await page.locator('#run-mlp_lr0-1 .facts').textContent()).to.contain('bestaccuracy');
    expect(await page.locator('#hooks').textContent()).to.contain('OptimizerHook');
  });

  it('updates the charts as the live run advances, then shows it finished', async () => {
    gate.open();
    await gate.waiting();
    const loss = await apiPoints('train', 'loss');
    expect(loss).to.equal(60 + 24);
    expect(await chartDraws('train/loss', loss)).to.equal(loss);
    await page.waitForFunction(() => document.querySelector('#run-mlp_lr0-02 .facts')?.textContent?.includes('epoch2 / 5'), undefined, { timeout: 20000 });
    const screenshot = process.env.HOOKFLOW_UPDATE_SCREENSHOT ? README_SCREENSHOT : path.join(dir, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(fs.statSync(screenshot).size).to.be.greaterThan(10000);
    for (let epoch = 3; epoch <= 5; epoch++) {
      gate.open();
      await gate.waiting();
    }
    gate.open();
    await liveRun;
    await page.waitForFunction(() => document.querySelector('#run-mlp_lr0-02 .badge')?.textContent === 'finished', undefined, { timeout: 20000 });
    expect(await chartDraws('train/loss', 120)).to.equal(120);
  });

  it('redraws on the epoch axis and with smoothing, without a console error', async () => {
    await page.selectOption('#x-axis', 'epoch');
    expect(await chartDraws('train/loss', 120)).to.equal(120);
    const xTitle = await page.locator('[data-key="train/loss"] .role-axis-title text').first().textContent();
    expect(xTitle).to.equal('epoch');
    await page.locator('#smoothing').fill('0.9');
    await page.waitForFunction(() => document.getElementById('smoothing-value')?.textContent === '0.9');
    expect(problems).to.deep.equal([]);
  });
});
