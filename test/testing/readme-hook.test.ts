import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';
import { HOOKS } from '../../src/core/hooks-registry.js';
import { buildToyRunner, driveHook, stageEvents } from '../../src/testing/index.js';
import { tempDir } from '../helpers/tiny.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../../..');
const INDEX = path.resolve(here, '../../src/index.js');

/** The first ```ts block of the README's "Writing a hook" section, compiled as tsconfig.json compiles, importing this checkout. */
function readmeHookModule(dir: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Writing a hook'));
  const source = /```ts\n([\s\S]*?)```/.exec(section)![1]!.replace(`from 'hookflow'`, `from ${JSON.stringify(pathToFileURL(INDEX).href)}`);
  const { config } = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  const js = ts.transpileModule(source, { compilerOptions: { ...options, module: ts.ModuleKind.ESNext, sourceMap: false, declaration: false } }).outputText;
  const file = path.join(dir, 'loss-spike-hook.mjs');
  fs.writeFileSync(file, js);
  return file;
}

describe("the README's example hook", function () {
  this.timeout(60000);
  let exports: Record<string, new (options?: { factor?: number }) => any>;
  let cleanup: () => void;
  before(async () => {
    let dir: string;
    ({ dir, cleanup } = tempDir());
    exports = await import(pathToFileURL(readmeHookModule(dir)).href);
  });
  after(() => cleanup());

  it('is registered and warns on a loss spike when driven by recorded events (driveHook)', async () => {
    expect(HOOKS.get('LossSpikeHook')).to.equal(exports.LossSpikeHook);
    const losses = [1, 1.1, 0.9, 5, 1];
    const events = stageEvents(losses.map((loss, iter) => ['afterTrainIter', { iter, payload: { logVars: { loss }, numSamples: 4 } }] as const));
    const { logger, runner } = await driveHook(new exports.LossSpikeHook!({ factor: 3 }), events);
    expect((logger as unknown as { lines: unknown[] }).lines).to.deep.equal([{ level: 'warn', message: 'loss spike at iter 4: 5' }]);
    expect(runner.outputs).to.deep.equal({ loss: 1, logVars: { loss: 1 }, numSamples: 4 });
  });

  it('runs in a live toy run', async () => {
    const toy = buildToyRunner({ workDir: false });
    toy.runner.registerHook(new exports.LossSpikeHook!(), 'LOW');
    await toy.run();
    expect(toy.logger.lines.filter((l) => l.level !== 'info')).to.deep.equal([]);
    toy.cleanup();
  });
});
