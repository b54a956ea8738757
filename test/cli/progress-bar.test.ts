import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import xterm from '@xterm/headless';
import { Writable } from 'node:stream';
import { ProgressBarHook, wantsProgressBar } from '../../src/cli/progress-bar-hook.js';
import { Hook } from '../../src/core/hook.js';
import { singleProcessGroup } from '../../src/core/services.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { buildToyRunner } from '../../src/testing/toy-runner.js';
import { CLI } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';

const COLS = 200;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `hookflow ARGS` in a real pseudo-terminal (util-linux `script`); returns the raw bytes the terminal received. */
function inPty(args: string[], cwd: string, env: NodeJS.ProcessEnv): { code: number | null; raw: string } {
  const command = `stty cols ${COLS} rows 40; exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`;
  const result = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd, env, encoding: 'utf8' });
  return { code: result.status, raw: result.stdout };
}

/**
 * The screen (scrollback included) after a terminal emulator has processed `raw`, one entry per
 * line written: a line longer than the terminal is wide, wrapped over several rows, is joined.
 */
async function screenOf(raw: string): Promise<string[]> {
  const term = new xterm.Terminal({ cols: COLS, rows: 40, scrollback: 10_000, allowProposedApi: true });
  await new Promise<void>((resolve) => term.write(raw.replace(/\r?\n/g, '\r\n'), resolve));
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < buffer.length; i++) {
    const row = buffer.getLine(i)!;
    const text = row.translateToString(false);
    if (row.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  term.dispose();
  return lines.map((line) => line.trimEnd());
}

/** The messages of a text log (`<date> <time> - hookflow - LEVEL - message`), tabs as a terminal shows them. */
function logMessages(file: string): string[] {
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n')
    .map((line) => line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - hookflow - [A-Z]+ - /, ''))
    .map((line) => line.replace(/[^\t]*\t/g, (cell) => cell.slice(0, -1).padEnd((Math.floor((cell.length - 1) / 8) + 1) * 8)).trimEnd());
}

const FRAME = /epoch (\d)\/3 \[[█░]+\] \d+% \| iter \d+\/3 \| eta \S+ \| loss (-|\d+\.\d{4})/g;

describe('progress bar in a real terminal', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  const env: NodeJS.ProcessEnv = { ...process.env, HOOKFLOW_BACKEND: 'wasm' };
  delete env.CI;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    fs.writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify(tinyConfig({ runner: { type: 'EpochBasedRunner', maxEpochs: 3 } })));
  });
  afterEach(() => cleanup());

  it('draws frames with epoch, iteration, ETA and loss, and leaves every log line visible, in order', async () => {
    const work = path.join(dir, 'work');
    const { code, raw } = inPty(['train', 'tiny.json', '--work-dir', work], dir, env);
    expect(code, raw).to.equal(0);
    const frames = [...raw.matchAll(FRAME)];
    expect(new Set(frames.map((f) => f[1]))).to.deep.equal(new Set(['1', '2', '3']));
    expect(frames.some((f) => f[2] !== '-'), 'a frame shows the latest loss').to.equal(true);
    expect(raw).to.contain('\x1b[?25l').and.to.contain('\x1b[?25h'); // cursor hidden, then given back

    const screen = await screenOf(raw);
    const log = logMessages(path.join(work, fs.readdirSync(work).find((f) => /^\d{8}_\d{6}\.log$/.test(f))!));
    expect(log.filter((l) => l.startsWith('Epoch(val)'))).to.have.length.greaterThan(2);
    const shown = screen.filter((line) => line !== '');
    expect(shown, 'the screen holds exactly the log, in order, and no bar').to.deep.equal(log);
  });

  it('draws nothing with --no-progress or under CI', () => {
    for (const [args, vars] of [[['--no-progress'], env], [[], { ...env, CI: 'true' }]] as const) {
      const { code, raw } = inPty(['train', 'tiny.json', '--work-dir', path.join(dir, 'w'), ...args], dir, vars);
      expect(code, raw).to.equal(0);
      expect(raw).to.contain('Epoch(val) [3][2]');
      expect([...raw.matchAll(FRAME)], args.join(' ') || 'CI').to.have.length(0);
    }
  });

  it('is wanted only on a terminal, outside CI, without --no-progress', () => {
    expect(wantsProgressBar({ isTTY: true, env: {} })).to.equal(true);
    expect(wantsProgressBar({ isTTY: true, env: { CI: 'false' } })).to.equal(true);
    expect(wantsProgressBar({ isTTY: false, env: {} })).to.equal(false);
    expect(wantsProgressBar({ isTTY: true, env: { CI: 'true' } })).to.equal(false);
    expect(wantsProgressBar({ isTTY: true, env: { CI: '1' } })).to.equal(false);
    expect(wantsProgressBar({ progress: false, isTTY: true, env: {} })).to.equal(false);
  });

  it('draws on rank 0 only', async () => {
    for (const rank of [0, 1]) {
      let written = '';
      const terminal = Object.assign(new Writable({ write(chunk, _encoding, done) { written += String(chunk); done(); } }), { isTTY: true, columns: 120 });
      const bar = new ProgressBarHook(terminal as unknown as NodeJS.WriteStream);
      const toy = buildToyRunner({ workDir: false, processGroup: { ...singleProcessGroup, rank, worldSize: 2 } });
      const seen: boolean[] = [];
      toy.runner.registerHook(bar, 'LOWEST');
      toy.runner.registerHook(new (class extends Hook<BaseRunner> {
        override afterTrainIter(): void { seen.push(bar.drawing); }
      })(), 'LOWEST');
      await toy.run();
      toy.cleanup();
      expect(new Set(seen), `rank ${rank}`).to.deep.equal(new Set([rank === 0]));
      expect(/ epoch 1\/2 \[[█░]+\] \d+% \| iter \d\/3 \| eta /.test(written), `rank ${rank}`).to.equal(rank === 0);
      expect(bar.drawing).to.equal(false);
    }
  });
});
