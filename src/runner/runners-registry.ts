import { Registry } from '../core/registry.js';
import type { BaseRunner, RunnerOptions } from './base-runner.js';
import { EpochBasedRunner } from './epoch-based-runner.js';
import { IterBasedRunner } from './iter-based-runner.js';

/** Registry of runner classes (`runner: { type: 'EpochBasedRunner', maxEpochs: 5 }`). */
export const RUNNERS = new Registry<BaseRunner>('runner', {
  buildFunc: (target, args) => new (target as new (o: RunnerOptions) => BaseRunner)(args as unknown as RunnerOptions),
});
RUNNERS.register(EpochBasedRunner);
RUNNERS.register(IterBasedRunner);
