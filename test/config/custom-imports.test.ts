import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { buildFromConfig } from '../../src/config/build-from-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { MemoryLogger } from '../../src/core/services.js';
import { rejection } from '../helpers/errors.js';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';

describe('customImports errors', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('asks whether a module is missing from customImports when a hook type is not registered, then gives the nearest names', async () => {
    const error = await rejection(buildFromConfig(tinyConfig({ customHooks: [{ type: 'CountItersHook' }] }), { logger: new MemoryLogger() }));
    expect(error.message).to.match(/^customHooks\[0\]: 'CountItersHook' is not in the hook registry: is it registered by a module you forgot to list in customImports\? (Did you mean [^?]+\? )?Registered: /);
  });

  it('asks the same for models and datasets', async () => {
    const model = await rejection(buildFromConfig(tinyConfig({ model: { type: 'MyNet' } }), { logger: new MemoryLogger() }));
    expect(model.message).to.contain("'MyNet' is not in the model registry: is it registered by a module you forgot to list in customImports?");
  });

  it('tells how to use a TypeScript file listed in customImports', async () => {
    fs.writeFileSync(path.join(dir, 'my-hook.ts'), 'export class MyHook { private x: number = 1; }\n');
    fs.writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify(tinyConfig({ customImports: ['./my-hook.ts'] })));
    const error = await rejection(loadConfig(path.join(dir, 'cfg.json')).then((raw) => buildFromConfig(raw, { logger: new MemoryLogger() })));
    expect(error.message).to.match(/^customImports\[0\]: cannot import '.*my-hook\.ts': .*; hookflow imports JavaScript: compile the TypeScript file \(e\.g\. with tsc\) and list the \.js it emits$/s);
  });
});
