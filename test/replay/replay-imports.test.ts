import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

/** This file runs from dist/test/replay; the compiled tree is dist/, the sources are beside it. */
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ROOT = path.dirname(DIST);

/** Relative module specifiers of `file`: static imports and re-exports (`import type` too), and dynamic imports. */
function relativeImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?(?:from\s*)?['"]([^'"]+)['"]/g), ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)]
    .map((m) => m[1]!);
  return specifiers.filter((s) => s.startsWith('.'));
}

/** Every module `entry` loads at run time, itself included (the compiled JavaScript's import graph). */
function runtimeGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of relativeImports(file)) visit(path.resolve(path.dirname(file), spec));
  };
  visit(entry);
  return seen;
}

const underHooksOrPlugins = (file: string, base: string) => {
  const rel = path.relative(base, file).split(path.sep).join('/');
  return rel.startsWith('src/hooks/') || rel.startsWith('plugins/');
};

describe('src/replay knows no hook', () => {
  it('no module of src/replay names a module of src/hooks or plugins, not even for a type', () => {
    const dir = path.join(ROOT, 'src/replay');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).to.include.members(['replay-runner.ts', 'payload-replay.ts', 'replay-journal.ts']);
    const offending = files.flatMap((f) => relativeImports(path.join(dir, f))
      .filter((spec) => underHooksOrPlugins(path.resolve(dir, spec), ROOT))
      .map((spec) => `${f} -> ${spec}`));
    expect(offending).to.deep.equal([]);
  });

  it('loading the replay runner loads no hook module (its whole run-time import graph)', () => {
    const graph = runtimeGraph(path.join(DIST, 'src/replay/index.js'));
    expect(graph).to.include(path.join(DIST, 'src/replay/replay-runner.js'));
    expect(graph).to.include(path.join(DIST, 'src/core/hooks-registry.js'));
    expect([...graph].filter((f) => underHooksOrPlugins(f, DIST))).to.deep.equal([]);
    // The walk does find hooks where they are loaded: the replay command registers them all.
    const command = runtimeGraph(path.join(DIST, 'src/cli/replay-command.js'));
    expect(command).to.include(path.join(DIST, 'src/hooks/logger/text-logger-hook.js'));
    expect(command).to.include(path.join(DIST, 'plugins/eval/eval-hook.js'));
  });
});
