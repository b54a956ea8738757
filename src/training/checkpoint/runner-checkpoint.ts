import path from 'node:path';
import * as tf from '../../backend/tfjs.js';
import { hookName } from '../../core/dispatcher.js';
import type { RunState } from '../../core/run-state.js';
import type { EventStage } from '../../core/stages.js';
import type { BaseRunner } from '../../runner/base-runner.js';
import { isSingleOptimizer } from '../optim/build-optimizer.js';
import type { OptimizerState, ParamGroupOptimizer } from '../optim/param-group-optimizer.js';
import { CheckpointError, defaultFilenameTmpl, formatCheckpointName, type CheckpointMeta, type LoadedCheckpoint, type OptimizerStates } from './checkpoint-io.js';
import { findLatestCheckpoint } from './find-latest-checkpoint.js';
import { hookflowVersion } from './hookflow-version.js';

/** Options of `runner.saveCheckpoint` (MMCV `save_checkpoint`). */
export interface SaveCheckpointOptions {
  /** Name template; `{}` becomes the epoch or iteration count. Default `epoch_{}` / `iter_{}`. */
  filenameTmpl?: string;
  /** Store the optimizer state(s) too (default true). */
  saveOptimizer?: boolean;
  /** Extra meta; `runner.meta` wins on shared keys, the snapshot fields always win. */
  meta?: Record<string, unknown> | null;
  /** Point `<outDir>/latest` at the checkpoint (default true). */
  createSymlink?: boolean;
  /**
   * Count epochs (true) or iterations (false) in the name and the default template; default:
   * the runner's own unit. CheckpointHook passes its `byEpoch`, so by-iteration checkpoints of
   * an EpochBasedRunner are `iter_N`.
   */
  byEpoch?: boolean;
}

/** Options of `runner.loadCheckpoint`. */
export interface LoadCheckpointOptions {
  /** Fail when the checkpoint's weights and the model's differ in keys or shapes (default false: warn). */
  strict?: boolean;
}

/** Options of `runner.resume`. */
export interface ResumeOptions {
  /** Restore the optimizer state(s) (default true). */
  resumeOptimizer?: boolean;
}

/** What a checkpoint captures of the run: the counters after `stage` (the fold up to it). */
export interface RunSnapshot {
  state: RunState;
  stage: EventStage | null;
}

/** Meta keys that describe the snapshot itself and are applied on resume, not merged into `runner.meta`. */
export const SNAPSHOT_ONLY_KEYS = ['runState', 'hookStates', 'stage', 'stop'] as const;

function collectHookStates(runner: BaseRunner): Record<string, unknown> {
  const states: Record<string, unknown> = {};
  for (const hook of runner.hooks) {
    if (typeof hook.stateDict !== 'function') continue;
    const state = hook.stateDict();
    if (state !== undefined) states[hookName(hook)] = state;
  }
  return states;
}

function optimizerStates(runner: BaseRunner): OptimizerStates | null {
  const opt = runner.optimizer;
  if (!opt) return null;
  if (isSingleOptimizer(opt)) return { kind: 'single', state: opt.stateDict() };
  return { kind: 'named', states: Object.fromEntries(Object.entries(opt).map(([name, o]) => [name, o.stateDict()])) };
}

function disposeOptimizerStates(states: OptimizerStates | null): void {
  if (!states) return;
  for (const s of states.kind === 'single' ? [states.state] : Object.values(states.states)) tf.dispose(s.slots);
}

/** Keys of the weights holding NaN or Infinity. */
function nonFiniteWeights(weights: Map<string, tf.Tensor>): string[] {
  const bad: string[] = [];
  for (const [key, tensor] of weights) {
    if (tensor.dtype !== 'float32') continue;
    const values = tensor.dataSync() as Float32Array;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        bad.push(key);
        break;
      }
    }
  }
  return bad;
}

/**
 * A diverged model must never become `latest` (an auto-resume would continue from garbage):
 * the save is refused, naming the last good checkpoint and the hook that stops such runs early.
 */
function refuseNonFinite(runner: BaseRunner, outDir: string, name: string, state: RunState): void {
  const bad = nonFiniteWeights(runner.model.namedWeights());
  if (!bad.length) return;
  const lastGood = findLatestCheckpoint(outDir);
  throw new CheckpointError(path.resolve(outDir, name), [
    `not saved: the model weights are not finite (NaN or Infinity in ${firstOf(bad, ', ')}) after epoch ${state.epoch}, iter ${state.iter}; the training diverged.`,
    lastGood ? `The last good checkpoint is ${lastGood} (resume with --resume-from ${lastGood}, with a lower lr).` : 'There is no earlier good checkpoint.',
    'Add CheckInvalidLossHook (customHooks: [{ "type": "CheckInvalidLossHook" }]) to stop at the first non-finite loss.',
  ].join(' '));
}

/**
 * Writes a checkpoint of `runner` as `snapshot` describes it: named after the completed epochs
 * or iterations, with meta = caller meta < runner.meta < the snapshot fields.
 */
export async function saveRunnerCheckpoint(runner: BaseRunner, outDir: string, snapshot: RunSnapshot, options: SaveCheckpointOptions): Promise<string> {
  const { saveOptimizer = true, meta = null, createSymlink = true, byEpoch = runner.byEpoch } = options;
  if (meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) {
    throw new TypeError(`saveCheckpoint: meta must be an object or null; got ${Array.isArray(meta) ? 'an array' : typeof meta}`);
  }
  const { state, stage } = snapshot;
  const name = formatCheckpointName(options.filenameTmpl ?? defaultFilenameTmpl(byEpoch), byEpoch ? state.epoch : state.iter);
  refuseNonFinite(runner, outDir, name, state);
  const fullMeta: CheckpointMeta = {
    ...meta,
    ...runner.meta,
    epoch: state.epoch,
    iter: state.iter,
    seq: state.seq,
    stage,
    runState: { ...state },
    hookStates: collectHookStates(runner),
    hookflowVersion: hookflowVersion(),
    time: new Date(runner.clock.now()).toISOString(),
  };
  const optimizer = saveOptimizer ? optimizerStates(runner) : null;
  try {
    return await runner.checkpointIO.write(outDir, name, {
      weights: Object.fromEntries(runner.model.namedWeights()),
      modelTopology: runner.model.net ? (runner.model.net.toJSON(null, false) as object) : null,
      optimizer,
      meta: fullMeta,
    }, { createSymlink });
  } finally {
    disposeOptimizerStates(optimizer);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

// Long key lists are cut here: the first differences say enough to recognise the wrong model.
const SHOWN = 5;

function firstOf(items: string[], join: string): string {
  const more = items.length > SHOWN ? `${join}(and ${items.length - SHOWN} more)` : '';
  return items.slice(0, SHOWN).join(join) + more;
}

/**
 * How a strict load reports a model mismatch: `strict: true` throws a plain Error (MMCV's
 * `load_checkpoint`), `'resume'` a {@link CheckpointError} saying the checkpoint belongs to a
 * different model (resume takes counters, optimizer and hook states from it, so it must match).
 */
export type WeightsStrictness = boolean | 'resume';

/**
 * Copies the checkpoint's weights into the model by key. Missing and unexpected keys and shape
 * or dtype mismatches (the first few of each) are reported as MMCV does: an error when `strict`
 * (nothing is changed then), else a warning on rank 0 and every matching weight is loaded.
 */
export function loadModelWeights(runner: BaseRunner, checkpoint: LoadedCheckpoint, strict: WeightsStrictness): void {
  const own = runner.model.namedWeights();
  const saved = checkpoint.weights;
  const unexpected = Object.keys(saved).filter((k) => !own.has(k));
  const missing = [...own.keys()].filter((k) => !(k in saved));
  const mismatched: string[] = [];
  const loadable: Array<[tf.Variable, tf.Tensor]> = [];
  for (const [key, variable] of own) {
    const tensor = saved[key];
    if (!tensor) continue;
    if (!sameShape(tensor.shape, variable.shape)) {
      mismatched.push(`size mismatch for ${key}: copying a param with shape [${tensor.shape}] from checkpoint, the shape in current model is [${variable.shape}].`);
    } else if (tensor.dtype !== variable.dtype) {
      mismatched.push(`dtype mismatch for ${key}: the checkpoint has ${tensor.dtype}, the current model has ${variable.dtype}.`);
    } else {
      loadable.push([variable, tensor]);
    }
  }
  const problems = [
    ...(unexpected.length ? [`unexpected key in source state_dict: ${firstOf(unexpected, ', ')}`] : []),
    ...(missing.length ? [`missing keys in source state_dict: ${firstOf(missing, ', ')}`] : []),
    ...(mismatched.length ? [firstOf(mismatched, '\n')] : []),
  ];
  if (problems.length) {
    if (strict === 'resume') {
      throw new CheckpointError(checkpoint.path, [
        'was saved from a different model; resume needs every weight to match, so nothing was loaded. First differences:',
        ...problems,
        'To start from its matching weights only (fine-tuning), use loadFrom instead of resumeFrom.',
      ].join('\n'));
    }
    const message = [`The model and loaded state dict do not match exactly (checkpoint ${checkpoint.path})`, ...problems].join('\n');
    if (strict) throw new Error(message);
    if (runner.rank === 0) runner.logger.warn(message);
  }
  for (const [variable, tensor] of loadable) variable.assign(tensor);
}

/** Loads the checkpoint's optimizer state(s) into the runner's optimizer(s), by name for a map. */
export function restoreOptimizers(runner: BaseRunner, checkpoint: LoadedCheckpoint): void {
  const saved = checkpoint.optimizer;
  const where = `resume: checkpoint ${checkpoint.path}`;
  if (!saved) {
    runner.logger.warn(`${where} has no optimizer state; the optimizer starts fresh`);
    return;
  }
  const opt = runner.optimizer;
  if (!opt) throw new Error(`${where} has optimizer state but the runner has no optimizer (pass resumeOptimizer: false to skip it)`);
  const describe = (names: string[]) => (names.length ? `named optimizers (${names.join(', ')})` : 'a single optimizer');
  const savedNames = saved.kind === 'single' ? [] : Object.keys(saved.states);
  const mismatch = () => new Error(`${where} holds the state of ${describe(savedNames)}, but the runner has ${describe(isSingleOptimizer(opt) ? [] : Object.keys(opt))}`);
  const load = (name: string, optimizer: ParamGroupOptimizer, state: OptimizerState) => {
    try {
      optimizer.loadStateDict(state);
    } catch (error) {
      throw new Error(`${where}: ${name ? `optimizer '${name}': ` : ''}${(error as Error).message}`);
    }
  };
  if (saved.kind === 'single') {
    if (!isSingleOptimizer(opt)) throw mismatch();
    load('', opt, saved.state);
    return;
  }
  if (isSingleOptimizer(opt)) throw mismatch();
  for (const [name, optimizer] of Object.entries(opt)) {
    const state = saved.states[name];
    if (!state) throw new Error(`${where} has no state for optimizer '${name}' (it has ${savedNames.join(', ')})`);
    load(name, optimizer, state);
  }
}

/** Gives every registered hook its saved state (by hook id); warns about states no hook takes. */
export function restoreHookStates(runner: BaseRunner, checkpoint: LoadedCheckpoint): void {
  const byId = new Map(runner.hooks.map((h) => [hookName(h), h]));
  for (const [id, state] of Object.entries(checkpoint.meta.hookStates)) {
    const hook = byId.get(id);
    if (!hook || typeof hook.loadStateDict !== 'function') {
      runner.logger.warn(`resume: checkpoint ${checkpoint.path} has state for hook '${id}', but no registered hook with that id can load it`);
      continue;
    }
    try {
      hook.loadStateDict(state);
    } catch (error) {
      throw new Error(`resume: hook ${id} could not load its state from checkpoint ${checkpoint.path}: ${(error as Error).message}`, { cause: error });
    }
  }
}
