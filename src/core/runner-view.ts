import type { Mode } from './stages.js';

/**
 * What the core needs to know about a runner: the counters and limits the hook predicates
 * read. Hooks see the runners as `HookRunner` (src/runner/hook-runner.ts), which extends this;
 * a journal replay offers its part `RecordedRunner`.
 */
export interface RunnerView {
  readonly epoch: number;
  readonly iter: number;
  readonly innerIter: number;
  // `| undefined` spelled out: runners that declare `maxEpochs: number | undefined` must fit
  // under a user's `exactOptionalPropertyTypes`.
  readonly maxEpochs?: number | undefined;
  readonly maxIters?: number | undefined;
  readonly mode: Mode | null;
  /** The loader of the current epoch; only its length matters here. */
  readonly dataLoader?: { readonly length: number } | null | undefined;
}
