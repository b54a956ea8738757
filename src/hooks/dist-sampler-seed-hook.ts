import { z } from 'zod';
import { Hook } from '../core/hook.js';
import { RegisterHook } from '../core/hooks-registry.js';
import type { HookRunner } from '../runner/hook-runner.js';
import { parseOptions } from '../config/parse-options.js';

const DistSamplerSeedHookOptions = z.object({}).strict();

interface Seedable {
  setEpoch?: unknown;
}

/** The loader shapes whose sampler can be told the epoch (MMCV: `sampler`, or `batch_sampler.sampler`). */
interface LoaderWithSampler {
  sampler?: Seedable;
  batchSampler?: { sampler?: Seedable };
}

/**
 * Tells the data loader's sampler the epoch before every epoch (MMCV `DistSamplerSeedHook`),
 * so a seeded shuffle gives each epoch its own order, the same in every run and after resume.
 * IterBasedRunner's loader does this itself at each wrap-around.
 */
@RegisterHook()
export class DistSamplerSeedHook extends Hook<HookRunner> {
  constructor(options: Record<string, never> = {}) {
    super();
    parseOptions(DistSamplerSeedHookOptions, options, 'DistSamplerSeedHook');
  }

  override beforeEpoch(runner: HookRunner): void {
    const loader = runner.dataLoader as LoaderWithSampler | null;
    const sampler = typeof loader?.sampler?.setEpoch === 'function' ? loader.sampler : loader?.batchSampler?.sampler;
    if (typeof sampler?.setEpoch === 'function') (sampler as { setEpoch(epoch: number): void }).setEpoch(runner.epoch);
  }
}
