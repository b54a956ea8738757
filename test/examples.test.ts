import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const here = path.dirname(fileURLToPath(import.meta.url));
const run = (name: string) => spawnSync(process.execPath, [path.resolve(here, '../examples', name)], { encoding: 'utf8', env: { ...process.env, HOOKFLOW_BACKEND: 'wasm' } });

describe('examples', function () {
  this.timeout(60000);

  it('stream-hooks: @On filters and a pipeline with blocking work', () => {
    const { status, stdout, stderr } = run('stream-hooks.js');
    expect(status, stderr).to.equal(0);
    expect(stdout).to.contain('(LOW         ) LossReporter                        report [every 3 iter]');
    expect(stdout.match(/^iter \d+: loss /gm)).to.have.length(6);
    expect(stdout).to.match(/^first epoch done: 6 iterations so far$/m);
    expect(stdout).to.match(/^windowed mean losses: (\d\.\d{4}(, )?){4}/m);
  });
});
