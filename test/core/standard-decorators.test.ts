import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { ConfigError } from '../../src/core/errors.js';
import type { Hook } from '../../src/core/hook.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import { expectHookCalls, stageEvent } from '../../src/testing/index.js';
import { tinyRunner } from '../helpers/tiny.js';

// The repo compiles with experimentalDecorators, so these classes are compiled here by
// TypeScript itself with its standard (TC39) decorators, the `tsc --init` default, and imported.
const core = (file: string) => pathToFileURL(join(import.meta.dirname, '../../src/core', file)).href;
const HEADER = `
import { Hook } from '${core('hook.js')}';
import { On } from '${core('on.js')}';
import { RegisterHook } from '${core('hooks-registry.js')}';
import { TOKENS } from '${core('di.js')}';
`;

/** Compiles `source` (TypeScript, standard decorators) and imports it. */
async function importStandard(source: string): Promise<Record<string, any>> {
  const { outputText, diagnostics } = ts.transpileModule(HEADER + source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, experimentalDecorators: false },
    reportDiagnostics: true,
  });
  expect(diagnostics ?? []).to.deep.equal([]);
  const dir = mkdtempSync(join(tmpdir(), 'hookflow-tc39-'));
  try {
    const file = join(dir, 'hooks.mjs');
    writeFileSync(file, outputText);
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('standard (TC39) decorators', () => {
  let mod: Record<string, any>;
  before(async () => {
    mod = await importStandard(`
      @RegisterHook()
      export class Tc39CountingHook extends Hook {
        static inject = [TOKENS.HookOptions, TOKENS.Clock];
        seen = [];
        constructor(options = {}, clock) { super(); this.options = options; this.clock = clock; }
        @On('afterTrainIter', { every: 2 })
        even(runner, event) { this.seen.push(event.iter); }
        @On('afterTrainEpoch')
        @On('beforeRun')
        edges() {}
      }
      /** Inherits the list and the subscriptions; redecorates one method. */
      @RegisterHook('Tc39Child')
      export class Tc39ChildHook extends Tc39CountingHook {
        @On('afterTrainIter', { once: 1 })
        even(runner, event) { this.seen.push(-event.iter); }
      }
    `);
  });

  it('@RegisterHook registers the class under its name or the given one', () => {
    expect(HOOKS.get('Tc39CountingHook')).to.equal(mod.Tc39CountingHook);
    expect(HOOKS.get('Tc39Child')).to.equal(mod.Tc39ChildHook);
  });

  it('@On subscribes methods in written order, with filters; subclasses inherit and redecorate', () => {
    const hook = new mod.Tc39CountingHook() as Hook;
    expect(hook.getSubscriptions().map((s) => `${s.stage}:${s.label}${s.filterText ? ` (${s.filterText})` : ''}`)).to.deep.equal([
      'afterTrainIter:even (every 2 iter)', 'afterTrainEpoch:edges', 'beforeRun:edges',
    ]);
    const v = Object.fromEntries('abcd'.split('').map((k, iter) => [k, stageEvent('afterTrainIter', { iter })]));
    expectHookCalls(hook, 'abcd|', v, '-b-d|', { label: 'even' });
    const child = new mod.Tc39ChildHook() as Hook;
    expect(child.getSubscriptions().map((s) => `${s.stage}:${s.label}`)).to.deep.equal(['afterTrainIter:even', 'afterTrainEpoch:edges', 'beforeRun:edges']);
    expectHookCalls(child, 'abcd|', v, 'a---|', { label: 'even' });
  });

  it('a static inject list gives the constructor its options and the runner\'s services', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1, numSamples: 16, batchSize: 4 });
    const hook = runner.registerHookFromConfig({ type: 'Tc39CountingHook', label: 'x' }) as any;
    expect(hook.options).to.deep.equal({ label: 'x' });
    expect(hook.clock).to.equal(runner.clock);
    await runner.run([train], [['train', 1]]);
    expect(hook.seen).to.deep.equal([1, 3]);
    const child = tinyRunner().runner.registerHookFromConfig({ type: 'Tc39Child', n: 1 }) as any;
    expect([child.constructor, child.options]).to.deep.equal([mod.Tc39ChildHook, { n: 1 }]);
  });

  it('names the method and the mistake when the class is defined', async () => {
    const fails = async (member: string) => {
      try {
        await importStandard(`export class Bad extends Hook { ${member} }`);
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error(`${member} was accepted`);
    };
    expect(await fails(`@On('afterTrainIter') static tick() {}`)).to.equal('tick: @On decorates instance methods, not static ones');
    expect(await fails(`@On('afterTrainIter') tick = () => {};`)).to.equal('tick: @On decorates methods; this member is a field');
    expect(await fails(`@On('afterTrainIter') #tick() {}`)).to.equal('#tick: @On needs a public method with a string name');
    expect(await fails(`@On('afterTrainIters') tick() {}`)).to.equal("tick: @On stage 'afterTrainIters' is not a stage; did you mean 'afterTrainIter'?");
    expect(await fails(`@On('afterTrainIter', { every: 0 }) tick() {}`)).to.equal('tick: @On filter every must be a positive integer; got 0');
  });

  it('@On still subscribes when a decorator applied after it wraps the method', async () => {
    const { Wrapped } = await importStandard(`
      const wrap = (method) => function (...args) { this.wrapped += 1; return method.apply(this, args); };
      export class Wrapped extends Hook {
        wrapped = 0;
        calls = 0;
        @wrap
        @On('afterTrainIter')
        tick() { this.calls += 1; }
      }
    `);
    const hook = new Wrapped() as Hook & { wrapped: number; calls: number };
    const v = { a: stageEvent('afterTrainIter', { iter: 0 }) };
    expectHookCalls(hook, 'a|', v, 'a|', { label: 'tick' });
    expect([hook.wrapped, hook.calls]).to.deep.equal([1, 1]);
  });

  it('a static inject list that is not a list of tokens is refused, naming the class', async () => {
    const { Tc39BadList } = await importStandard(`export class Tc39BadList extends Hook { static inject = 'clock'; }`);
    expect(() => tinyRunner().runner.registerHookFromConfig({ type: Tc39BadList })).to.throw(TypeError, 'Tc39BadList.inject must be a list of injection tokens');
  });
});
