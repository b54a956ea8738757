import { expect } from 'chai';
import { buildFromConfig } from '../../src/config/build-from-config.js';
import { MemoryLogger } from '../../src/core/services.js';
import { tinyConfig } from '../helpers/tiny-config.js';

const WARNING = 'config.optimizer is set but config.optimizerConfig is missing, so no OptimizerHook is registered '
  + 'and the weights will never change; add "optimizerConfig": {} (or an optimizer hook in customHooks)';

async function warningsOf(overrides: Record<string, unknown>): Promise<string[]> {
  const logger = new MemoryLogger();
  await buildFromConfig(tinyConfig(overrides), { logger });
  return logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
}

describe('buildFromConfig: an optimizer that nothing steps', () => {
  it('warns before training when optimizerConfig is missing or null, naming both keys', async () => {
    expect(await warningsOf({ optimizerConfig: undefined })).to.deep.equal([WARNING]);
    expect(await warningsOf({ optimizerConfig: null })).to.deep.equal([WARNING]);
  });

  it('stays quiet with an optimizerConfig, or with an optimizer hook among the custom hooks', async () => {
    expect(await warningsOf({})).to.deep.equal([]);
    expect(await warningsOf({ optimizerConfig: null, customHooks: [{ type: 'GradientCumulativeOptimizerHook', cumulativeIters: 2 }] })).to.deep.equal([]);
  });
});
