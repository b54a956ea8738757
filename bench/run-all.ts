/**
 * `npm run bench`: every benchmark, each in its own process (a process chooses its tfjs
 * backend once), one after the other.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const scripts = ['dispatch.js', 'runner-overhead.js', 'wasm-kernels.js', 'optimizer-step.js', 'kernel-ab.js', 'yield-every.js', 'gradient-averaging.js'];
let failed = 0;
for (const script of scripts) {
  const file = path.join(here, script);
  if (!fs.existsSync(file)) continue;
  console.log(`\n=== ${script.replace(/\.js$/, '')} ===`);
  const result = spawnSync(process.execPath, [file, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
