import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runHookflow } from '../helpers/run-cli.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE = JSON.parse(fs.readFileSync(path.resolve(here, '../../../package.json'), 'utf8')) as { version: string };
/** Preloaded before the CLI: prints, at exit, the CommonJS modules of @tensorflow that were loaded (tfjs is CommonJS). */
const WATCH_TFJS = `data:text/javascript,${encodeURIComponent(`import { createRequire } from 'node:module';
const cache = createRequire('${here}/').cache;
process.on('exit', () => process.stderr.write('tfjs modules: ' + Object.keys(cache).filter((k) => k.includes('@tensorflow')).length + '\\n'));`)}`;

const hookflow = (args: string[]) => runHookflow(args, undefined, ['--import', WATCH_TFJS]);

describe('hookflow CLI startup', function () {
  this.timeout(60000);

  it('prints its version from package.json', () => {
    for (const flag of ['--version', '-V']) {
      const { code, stdout } = hookflow([flag]);
      expect(code).to.equal(0);
      expect(stdout.trim()).to.equal(PACKAGE.version);
    }
  });

  it('loads no tfjs for --help, --version, a command help and print-config; loads it to build hooks', () => {
    for (const args of [['--help'], ['--version'], ['train', '--help'], ['print-config']]) {
      const { code, stderr } = hookflow(args);
      expect(code, args.join(' ')).to.equal(0);
      expect(stderr, args.join(' ')).to.contain('tfjs modules: 0');
    }
    const hooks = hookflow(['hooks']);
    expect(hooks.code, hooks.stderr).to.equal(0);
    expect(hooks.stderr).to.match(/tfjs modules: [1-9]/);
  });
});
