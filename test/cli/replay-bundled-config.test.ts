import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runHookflow } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/tiny.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BUNDLED = path.resolve(here, '../../../configs/mnist_mlp.json');

const hookflow = (args: string[], cwd: string) => runHookflow(args, cwd);

describe('replaying the bundled config', function () {
  this.timeout(180000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it("reproduces its .log.json byte for byte (gradNorm, lr, times and eval results all come from the journal), and says what it wrote where", () => {
    const work = path.join(dir, 'work');
    const train = hookflow(['train', BUNDLED, '--work-dir', work, '--cfg-options', 'runner.maxEpochs=2', 'checkpointConfig=null'], dir);
    expect(train.code, train.stderr).to.equal(0);
    const json = fs.readdirSync(work).find((f) => f.endsWith('.log.json'))!;
    const live = fs.readFileSync(path.join(work, json), 'utf8');
    expect(live).to.contain('"gradNorm":');
    expect(live).to.contain('"mode":"val"');

    const out = path.join(dir, 'replayed');
    const replay = hookflow(['replay', path.join(work, 'events.jsonl'), '--hook', '{"type":"TextLoggerHook","interval":50}', '--work-dir', out], dir);
    expect(replay.code, replay.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(out, json), 'utf8')).to.equal(live);
    const said = replay.stdout.slice(replay.stdout.indexOf('hookflow replay: ')).trimEnd().split('\n');
    expect(said).to.deep.equal([`hookflow replay: wrote into ${out}:`, `  ${json.replace(/\.json$/, '')}`, `  ${json}`]);
  });
});
