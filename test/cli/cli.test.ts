import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runHookflow } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const INDEX = path.resolve(here, '../../src/index.js');

const hookflow = (args: string[], cwd: string) => runHookflow(args, cwd);

describe('hookflow CLI', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  /** A plain-JS plugin (no decorator syntax), loaded through customImports relative to the config. */
  function writePlugin(): void {
    fs.writeFileSync(path.join(dir, 'count-hook.mjs'), `
import fs from 'node:fs';
import { Hook, RegisterHook } from ${JSON.stringify(INDEX)};
class CountItersHook extends Hook {
  constructor(options = {}) { super(); this.file = options.file; this.count = 0; }
  afterTrainIter() { this.count++; }
  afterRun() { fs.writeFileSync(this.file, String(this.count)); }
}
RegisterHook()(CountItersHook);
`);
  }

  it('trains a tiny synthetic config end to end, with a plugin from customImports', () => {
    writePlugin();
    const counted = path.join(dir, 'count.txt');
    fs.writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify(tinyConfig({
      customImports: ['./count-hook.mjs'],
      customHooks: [{ type: 'CountItersHook', file: counted, priority: 'LOW' }],
    })));
    const work = path.join(dir, 'work');
    const { code, stdout, stderr } = hookflow(['train', 'tiny.json', '--work-dir', work, '--cfg-options', 'runner.maxEpochs=3', '--seed', '1'], dir);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain('Backend: wasm');
    expect(stdout).to.match(/Epoch \[3\]\[3\/3\]\tlr: 1\.000e-01/);
    expect(stdout).to.contain('Epoch(val) [3][2]');
    expect(fs.readFileSync(counted, 'utf8')).to.equal('9');
    const files = fs.readdirSync(work);
    expect(files.some((f) => /^\d{8}_\d{6}\.log$/.test(f))).to.equal(true);
    expect(files.some((f) => /^\d{8}_\d{6}\.log\.json$/.test(f))).to.equal(true);
  });

  it('journals the run, resumes it with --auto-resume, and replays the journal into TensorBoard files', () => {
    fs.writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify(tinyConfig({ checkpointConfig: { interval: 1 } })));
    const work = path.join(dir, 'work');
    let run = hookflow(['train', 'tiny.json', '--work-dir', work], dir);
    expect(run.code, run.stderr).to.equal(0);
    expect(fs.readdirSync(work)).to.include.members(['events.jsonl', 'epoch_1', 'epoch_2', 'latest']);
    run = hookflow(['train', 'tiny.json', '--work-dir', work, '--auto-resume', '--cfg-options', 'runner.maxEpochs=3'], dir);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('resumed epoch 2, iter 6');
    expect(run.stdout).to.not.contain('Epoch [2]');
    expect(run.stdout).to.contain('Epoch [3][3/3]');
    const lines = fs.readFileSync(path.join(work, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'resume')).to.have.length(1);
    const replay = hookflow(['replay', path.join(work, 'events.jsonl'), '--hook', '{"type":"TensorboardLoggerHook","interval":1}'], dir);
    expect(replay.code, replay.stderr).to.equal(0);
    // One event file per recorded session (the first run and the resumed one), as live.
    expect(fs.readdirSync(path.join(work, 'replay', 'tf_logs')).filter((f) => f.startsWith('events.out.tfevents.'))).to.have.length(2);
    const bad = hookflow(['replay', path.join(work, 'events.jsonl'), '--hook', '{type'], dir);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^hookflow: config error: --hook\[0\]: is not JSON/);
  });

  it('prints the hook plan with priorities', () => {
    writePlugin();
    fs.writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify(tinyConfig({ customImports: ['./count-hook.mjs'], customHooks: [{ type: 'CountItersHook', priority: 89 }] })));
    const { code, stdout, stderr } = hookflow(['hooks', 'tiny.json'], dir);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain([
      'afterTrainIter:',
      '(ABOVE_NORMAL) OptimizerHook                      ',
      '(LOW         ) IterTimerHook                      ',
      '(89          ) CountItersHook                     ',
      '(VERY_LOW    ) TextLoggerHook                     ',
      ' -------------------- ',
    ].join('\n'));
  });

  it('prints the merged config', () => {
    fs.writeFileSync(path.join(dir, 'base.json'), JSON.stringify(tinyConfig()));
    fs.writeFileSync(path.join(dir, 'exp.yaml'), '_base_: ./base.json\nrunner:\n  maxEpochs: 9\n');
    const { code, stdout } = hookflow(['print-config', 'exp.yaml', '--cfg-options', 'seed=4'], dir);
    expect(code).to.equal(0);
    const cfg = JSON.parse(stdout);
    expect(cfg.runner).to.deep.equal({ type: 'EpochBasedRunner', maxEpochs: 9 });
    expect(cfg.seed).to.equal(4);
    expect(cfg.workDir).to.equal(path.join('work_dirs', 'exp'));
  });

  it('exits with code 2 and a message naming the key on a bad config', () => {
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(tinyConfig({ optimizer: { type: 'SGD', lr: -1 } })));
    const { code, stderr, stdout } = hookflow(['train', 'bad.json', '--work-dir', path.join(dir, 'w')], dir);
    expect(code).to.equal(2);
    expect(stderr.trim()).to.equal('hookflow: config error: optimizer.lr: must be a finite number >= 0; got -1');
    expect(stdout).to.not.contain('Epoch [');
  });
});
