import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled CLI entry (dist/src/cli/main.js). */
export const CLI = path.resolve(here, '../../src/cli/main.js');

/** Runs `hookflow ARGS` in `cwd` on the wasm backend; `nodeArgs` go before the entry. */
export function runHookflow(args: string[], cwd?: string, nodeArgs: string[] = []) {
  const result = spawnSync(process.execPath, [...nodeArgs, CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, HOOKFLOW_BACKEND: 'wasm' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
