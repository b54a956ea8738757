#!/usr/bin/env node
// Builds hookflow's optional native addons (native/<name>/binding.gyp) with the node-gyp that
// ships with npm, against the Node headers already on the machine, so nothing is downloaded.
// It never fails the install: an addon that cannot be built (no compiler, no library) is
// reported in one line and hookflow runs without it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');

function nodeGypScript() {
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const npmCli = process.env.npm_execpath;
  const candidates = [
    npmCli && path.join(path.dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && fs.existsSync(c));
}

/** Headers of the running Node: npm's nodedir setting, or the distribution's /usr/include/node. */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  return fs.existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined;
}

const wanted = process.argv.slice(2);
const addons = fs.existsSync(nativeDir)
  ? fs.readdirSync(nativeDir).filter((name) => fs.existsSync(path.join(nativeDir, name, 'binding.gyp')) && (wanted.length === 0 || wanted.includes(name)))
  : [];

if (process.env.HOOKFLOW_SKIP_NATIVE) {
  console.log('hookflow: HOOKFLOW_SKIP_NATIVE is set, native addons not built');
  process.exit(0);
}
const gyp = nodeGypScript();
for (const name of addons) {
  const cwd = path.join(nativeDir, name);
  if (!gyp) {
    console.log(`hookflow: native addon '${name}' not built (node-gyp not found); hookflow works without it`);
    continue;
  }
  const dir = nodeDir();
  const args = [gyp, 'rebuild', '--loglevel=error', ...(dir ? [`--nodedir=${dir}`] : [])];
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  if (result.status === 0) {
    console.log(`hookflow: built native addon '${name}' in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } else {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n');
    const reason = output.find((line) => /error|not found|No such file/i.test(line)) ?? output.at(-1) ?? 'unknown';
    console.log(`hookflow: native addon '${name}' not built (${reason.trim()}); hookflow works without it. See native/${name}/README.md`);
    fs.writeFileSync(path.join(cwd, 'build-error.log'), output.join('\n'));
  }
}
