import type { ReducedLogVars } from '../dist/collective-agreement.js';
import type { StepOutputs } from '../training/model/trainable-model.js';
import type { HookRunner } from './hook-runner.js';

/**
 * A hook that averages a training step's gradients across ranks where PyTorch DDP does, at the
 * end of the model step (before `afterTrainIter`), together with the step's log vars: one
 * collective per gradient bucket, the log vars riding in the last one, instead of an extra
 * all-reduce for the log vars. With several ranks the runner offers it every training step.
 */
export interface StepAverager {
  /**
   * Averages `outputs.grads` and `outputs.logVars` across the runner's ranks and resolves with
   * the averaged log vars; returns undefined to decline (the hook averages its gradients
   * elsewhere, e.g. once per accumulation window), and the runner averages the log vars alone.
   */
  averageStep(runner: HookRunner, outputs: StepOutputs): Promise<ReducedLogVars> | undefined;
}

/** Whether `hook` offers {@link StepAverager.averageStep}. */
export function isStepAverager(hook: object): hook is StepAverager {
  return typeof (hook as Partial<StepAverager>).averageStep === 'function';
}
