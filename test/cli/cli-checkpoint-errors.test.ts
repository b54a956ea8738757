import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '../../src/cli/main.js');
const INDEX = path.resolve(here, '../../src/index.js');

function hookflow(args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, HOOKFLOW_BACKEND: 'wasm', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file under `dir`, recursively, as [relative path, content]. */
function allFiles(dir: string): Array<[string, string]> {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((rel) => fs.statSync(path.join(dir, rel)).isFile())
    .map((rel) => [rel, fs.readFileSync(path.join(dir, rel), 'latin1')]);
}

describe('hookflow CLI: checkpoints, resume and errors before training', function () {
  this.timeout(240000);
  let dir: string;
  let cleanup: () => void;
  let work: string;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    work = path.join(dir, 'work');
  });
  afterEach(() => cleanup());

  function writeConfig(name: string, overrides: Record<string, unknown> = {}): string {
    fs.writeFileSync(path.join(dir, name), JSON.stringify(tinyConfig({ checkpointConfig: { interval: 1 }, ...overrides })));
    return name;
  }

  it('--auto-resume warns for every broken checkpoint it skips; with none valid it exits 2 and says how to start over', () => {
    const config = writeConfig('tiny.json');
    expect(hookflow(['train', config, '--work-dir', work, '--cfg-options', 'runner.maxEpochs=2'], dir).code).to.equal(0);
    // The newest is corrupt: resume from the one before, naming the skipped one.
    fs.writeFileSync(path.join(work, 'epoch_2', 'weights.bin'), 'garbage');
    let r = hookflow(['train', config, '--work-dir', work, '--cfg-options', 'runner.maxEpochs=2', '--auto-resume'], dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout + r.stderr).to.contain(`autoResume: skipping checkpoint ${path.join(work, 'epoch_2')}: weights.bin has 7 bytes; manifest.json records`);
    expect(r.stdout).to.contain('resumed epoch 1, iter 3');
    // Now all of them broken: refuse to train over them.
    fs.writeFileSync(path.join(work, 'epoch_1', 'meta.json'), '{}');
    fs.writeFileSync(path.join(work, 'epoch_2', 'weights.bin'), 'garbage');
    r = hookflow(['train', config, '--work-dir', work, '--cfg-options', 'runner.maxEpochs=2', '--auto-resume'], dir);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.contain(`config error: config.autoResume: ${work} holds no valid checkpoint, only 2 broken one(s):`);
    expect(r.stderr).to.contain(`${path.join(work, 'epoch_1')}: meta.json has 2 bytes; manifest.json records`);
    expect(r.stderr).to.contain('To start over, pass --no-resume (checkpoints of the same names are then overwritten) or use a new work dir (--work-dir).');
    expect(r.stdout).to.not.contain('Epoch [1]');
    // --no-resume starts over.
    r = hookflow(['train', config, '--work-dir', work, '--cfg-options', 'runner.maxEpochs=1', '--auto-resume', '--no-resume'], dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('Epoch [1][3/3]');
  });

  it('--resume-from a regular file or a missing path is a usage error (exit 2)', () => {
    const config = writeConfig('tiny.json');
    const file = path.join(dir, 'notes.txt');
    fs.writeFileSync(file, 'epoch_1\n');
    let r = hookflow(['train', config, '--work-dir', work, '--resume-from', file], dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain(`${file} is a file, not a checkpoint directory or a latest pointer`);
    r = hookflow(['train', config, '--work-dir', work, '--resume-from', path.join(dir, 'nope')], dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain(`config error: config.resumeFrom: checkpoint ${path.join(dir, 'nope')}: does not exist`);
  });

  it('--resume-from a checkpoint of another model is refused before anything changes, naming the first differences', () => {
    const config = writeConfig('tiny.json');
    expect(hookflow(['train', config, '--work-dir', work, '--cfg-options', 'runner.maxEpochs=1'], dir).code).to.equal(0);
    const other = path.join(dir, 'other');
    const r = hookflow(['train', config, '--work-dir', other, '--resume-from', path.join(work, 'latest'), '--cfg-options', 'model.hiddenUnits=[16]'], dir);
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.contain(`config error: config.resumeFrom: checkpoint ${path.join(work, 'epoch_1')}: was saved from a different model; resume needs every weight to match, so nothing was loaded. First differences:`);
    expect(r.stderr).to.contain('size mismatch for fc1/kernel: copying a param with shape [4,8] from checkpoint, the shape in current model is [4,16].');
    expect(r.stderr).to.contain('use loadFrom instead of resumeFrom');
    expect(fs.readdirSync(other).filter((f) => !f.endsWith('.log'))).to.deep.equal([]);
  });

  it('a filenameTmpl that leaves the work dir is a config error before training, and leaves no log file', () => {
    const config = writeConfig('tiny.json', { checkpointConfig: { interval: 1, filenameTmpl: '../escape_{}' } });
    const r = hookflow(['train', config, '--work-dir', work], dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("config error: checkpointConfig: CheckpointHook.filenameTmpl: '../escape_{}' gives names like '../escape_1'");
    expect(r.stdout).to.not.contain('Epoch [1]');
    expect(fs.existsSync(path.join(dir, 'escape_1'))).to.equal(false);
    expect(fs.readdirSync(work)).to.deep.equal([]);
  });

  it('reports a bad workDir in the config even when --work-dir is given; unknown flags exit 2', () => {
    const config = writeConfig('tiny.json', { workDir: 7 });
    let r = hookflow(['train', config, '--work-dir', work], dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('config error: config.workDir: must be a non-empty string (a directory); got 7');
    r = hookflow(['train', config, '--wrok-dir', work], dir);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("unknown option '--wrok-dir'");
  });

  it('resolves {"$env": NAME} references for the run and writes <redacted:NAME> in every artefact and print-config', () => {
    const secret = 's3cr3t-t0ken-value';
    fs.writeFileSync(path.join(dir, 'token-hook.mjs'), `
import fs from 'node:fs';
import { Hook, RegisterHook } from ${JSON.stringify(INDEX)};
class TokenHook extends Hook {
  constructor(options = {}) { super(); this.token = options.token; this.file = options.file; }
  afterRun() { fs.writeFileSync(this.file, this.token); }
}
RegisterHook()(TokenHook);
`);
    const seen = path.join(dir, 'seen.txt');
    const config = writeConfig('secret.json', {
      customImports: ['./token-hook.mjs'],
      customHooks: [{ type: 'TokenHook', token: { $env: 'HOOKFLOW_TEST_TOKEN' }, file: seen }],
      runner: { type: 'EpochBasedRunner', maxEpochs: 1 },
    });
    const env = { HOOKFLOW_TEST_TOKEN: secret };
    let r = hookflow(['train', config, '--work-dir', work], dir, env);
    expect(r.code, r.stderr).to.equal(0);
    expect(fs.readFileSync(seen, 'utf8')).to.equal(secret);
    const files = allFiles(work);
    expect(files.map(([rel]) => rel)).to.include.members([path.join('epoch_1', 'meta.json'), 'events.jsonl']);
    expect(files.some(([rel]) => rel.endsWith('.log'))).to.equal(true);
    for (const [rel, content] of files) expect(content, rel).to.not.contain(secret);
    const redacted = '"token":"<redacted:HOOKFLOW_TEST_TOKEN>"';
    for (const rel of ['events.jsonl', files.find(([f]) => f.endsWith('.log.json'))![0]]) {
      expect(fs.readFileSync(path.join(work, rel), 'utf8'), rel).to.contain(redacted);
    }
    expect(fs.readFileSync(path.join(work, 'epoch_1', 'meta.json'), 'utf8')).to.contain('"token": "<redacted:HOOKFLOW_TEST_TOKEN>"');
    r = hookflow(['print-config', config], dir, env);
    expect(r.stdout).to.contain('"token": "<redacted:HOOKFLOW_TEST_TOKEN>"').and.not.contain(secret);
    const unset = { ...process.env };
    delete unset.HOOKFLOW_TEST_TOKEN;
    const missing = spawnSync(process.execPath, [CLI, 'train', config, '--work-dir', path.join(dir, 'w3')], { cwd: dir, encoding: 'utf8', env: { ...unset, HOOKFLOW_BACKEND: 'wasm' } });
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.contain('config error: config.customHooks.0.token: refers to the environment variable HOOKFLOW_TEST_TOKEN, which is not set');
  });
});
