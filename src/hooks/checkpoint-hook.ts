import fs from 'node:fs';
import path from 'node:path';
import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { TOKENS } from '../core/di.js';
import { ConfigError } from '../core/errors.js';
import { Hook } from '../core/hook.js';
import { RegisterHook } from '../core/hooks-registry.js';
import type { ProcessGroup } from '../core/services.js';
import type { HookRunner } from '../runner/hook-runner.js';
import { CHECKPOINT_NAME_RULE, defaultFilenameTmpl, isUsableCheckpointName, formatCheckpointName, type CheckpointIO } from '../training/checkpoint/checkpoint-io.js';
import { averageBuffersAcrossRanks } from '../training/model/buffers.js';
import { parseOptions } from '../config/parse-options.js';

const minusOneOrPositive = (what: string) => z.number().int().refine((v) => v === -1 || v > 0, `must be -1 (${what}) or a positive integer`);

/** Options of {@link CheckpointHook} (MMCV `checkpoint_config`). */
export const CheckpointHookOptions = z.object({
  /** Save every this many epochs (`byEpoch`) or iterations; -1: no periodic checkpoints. */
  interval: minusOneOrPositive('no periodic checkpoints').optional(),
  /** Count epochs (saving after train epochs) or iterations (saving after train iterations). */
  byEpoch: z.boolean().optional(),
  /** Store the optimizer state(s) too. */
  saveOptimizer: z.boolean().optional(),
  /** Save to `<outDir>/<basename(workDir)>` instead of the work dir. */
  outDir: z.string().min(1).nullish(),
  /** Keep only the newest this many periodic checkpoints; -1 keeps all. */
  maxKeepCkpts: minusOneOrPositive('keep all').optional(),
  /** Also save at the end of training (the last epoch or iteration, or where a stop request ended it). */
  saveLast: z.boolean().optional(),
  /** Average the non-trainable weights (batch-norm statistics) across ranks before saving. */
  syncBuffer: z.boolean().optional(),
  /** Name template (`{}` becomes the count); default `epoch_{}` or `iter_{}` by `byEpoch`. */
  filenameTmpl: z.string().min(1).optional(),
  /** Point `latest` at each new checkpoint. */
  createSymlink: z.boolean().optional(),
  /** Extra meta stored in every checkpoint. */
  meta: z.record(z.string(), z.unknown()).nullish(),
}).strict();
export type CheckpointHookOptions = z.input<typeof CheckpointHookOptions>;

/**
 * Saves checkpoints periodically and at the end of training (MMCV `CheckpointHook`), on rank 0,
 * as `epoch_N` / `iter_N` directories plus `latest`. A checkpoint is written once the stage is
 * over, so it holds the state of every hook after that stage (a lower-priority early-stopping
 * hook included); `runner.meta.hookMsgs.lastCkpt` then names it, and with `maxKeepCkpts` the
 * older checkpoints of the template are removed (from a listing of the save dir, see `prune`).
 */
@RegisterHook()
@injectable()
export class CheckpointHook extends Hook<HookRunner> {
  readonly interval: number;
  readonly byEpoch: boolean;
  readonly saveOptimizer: boolean;
  readonly outDir: string | null;
  readonly maxKeepCkpts: number;
  readonly saveLast: boolean;
  readonly syncBuffer: boolean;
  readonly filenameTmpl: string;
  readonly createSymlink: boolean;
  readonly meta: Record<string, unknown> | null;
  /** Where the checkpoints go: the work dir, or `<outDir>/<basename(workDir)>` (set in beforeRun). */
  saveDir: string | null = null;
  private readonly processGroup: ProcessGroup | undefined;
  private readonly checkpointIO: CheckpointIO | undefined;
  /** Event seq of the state last saved (an interrupt need not save it again). */
  private savedSeq: number | undefined;

  constructor(
    @inject(TOKENS.HookOptions) @optional() options: CheckpointHookOptions = {},
    @inject(TOKENS.ProcessGroup) @optional() processGroup?: ProcessGroup,
    @inject(TOKENS.CheckpointIO) @optional() checkpointIO?: CheckpointIO,
  ) {
    super();
    const opts = parseOptions(CheckpointHookOptions, options, 'CheckpointHook');
    this.interval = opts.interval ?? -1;
    this.byEpoch = opts.byEpoch ?? true;
    this.saveOptimizer = opts.saveOptimizer ?? true;
    this.outDir = opts.outDir ?? null;
    this.maxKeepCkpts = opts.maxKeepCkpts ?? -1;
    this.saveLast = opts.saveLast ?? true;
    this.syncBuffer = opts.syncBuffer ?? false;
    this.filenameTmpl = opts.filenameTmpl ?? defaultFilenameTmpl(this.byEpoch);
    this.createSymlink = opts.createSymlink ?? true;
    this.meta = opts.meta ?? null;
    // Checked now, not at the first save after a whole interval of training.
    const sample = formatCheckpointName(this.filenameTmpl, 1);
    if (!isUsableCheckpointName(sample)) {
      throw new ConfigError('CheckpointHook.filenameTmpl', `'${this.filenameTmpl}' gives names like '${sample}'; a checkpoint name must be ${CHECKPOINT_NAME_RULE}`);
    }
    if (this.maxKeepCkpts > 0 && !this.filenameTmpl.includes('{}')) {
      // Old checkpoints are found by number; without one, pruning would remove the newest.
      throw new ConfigError('CheckpointHook.filenameTmpl', `must contain '{}' when maxKeepCkpts is set; got '${this.filenameTmpl}'`);
    }
    this.processGroup = processGroup;
    this.checkpointIO = checkpointIO;
  }

  override beforeRun(runner: HookRunner): void {
    if (this.outDir) {
      this.saveDir = runner.workDir ? path.join(path.resolve(this.outDir), path.basename(runner.workDir)) : path.resolve(this.outDir);
    } else if (runner.workDir) {
      this.saveDir = runner.workDir;
    } else {
      throw new ConfigError('CheckpointHook.outDir', 'is required when the runner has no workDir');
    }
    runner.logger.info(`Checkpoints will be saved to ${this.saveDir}.`);
    // A run killed during its last save or prune leaves scratch entries or an extra checkpoint;
    // a resumed run that has nothing left to save must still clear them.
    if (runner.rank === 0 && fs.existsSync(this.saveDir)) {
      (this.checkpointIO ?? runner.checkpointIO).tidy?.(this.saveDir);
      if (this.maxKeepCkpts > 0 && this.interval > 0) this.prune(runner, this.saveDir);
    }
  }

  override afterTrainEpoch(runner: HookRunner): void {
    if (!this.byEpoch) return;
    const due = this.everyNEpochs(runner, this.interval) || (this.saveLast && this.isLastEpoch(runner));
    this.schedule(runner, due, `${runner.epoch + 1} epochs`);
  }

  override afterTrainIter(runner: HookRunner): void {
    if (this.byEpoch) return;
    const due = this.everyNIters(runner, this.interval) || (this.saveLast && this.isLastIter(runner));
    this.schedule(runner, due, `${runner.iter + 1} iterations`);
  }

  /** Saves once the stage is over: when due, or (saveLast) when a hook asked the run to stop. */
  private schedule(runner: HookRunner, due: boolean, at: string): void {
    if (!due && !this.saveLast) return;
    runner.deferUntilStageEnd(async () => {
      if (!due && !runner.stopRequested) return;
      runner.logger.info(`Saving checkpoint at ${at}`);
      await this.save(runner);
    });
  }

  /**
   * Saves the point an interrupted run reached (`runner.interrupt`, e.g. on SIGTERM), unless the
   * last checkpoint already holds it. Inside an epoch a by-epoch hook saves `iter_N` (the
   * epoch's number would name the previous, complete one).
   */
  async saveOnInterrupt(runner: HookRunner): Promise<void> {
    if (this.savedSeq === runner.seq) return;
    const last = runner.lastStage;
    const inEpoch = last === 'beforeTrainEpoch' || last === 'beforeTrainIter' || last === 'afterTrainIter';
    const byEpoch = this.byEpoch && runner.byEpoch && !inEpoch;
    const filenameTmpl = byEpoch || !this.byEpoch ? this.filenameTmpl : defaultFilenameTmpl(false);
    runner.logger.info(`Saving checkpoint at ${byEpoch ? `${runner.epoch} epochs` : `${runner.iter} iterations`} (${runner.stopRequested?.reason ?? 'interrupted'})`);
    await this.save(runner, { filenameTmpl, byEpoch, prune: false });
  }

  private async save(runner: HookRunner, how = { filenameTmpl: this.filenameTmpl, byEpoch: this.byEpoch, prune: true }): Promise<void> {
    if (this.syncBuffer) await averageBuffersAcrossRanks(runner.model, this.processGroup ?? runner.processGroup);
    if (runner.rank !== 0) return;
    const saveDir = this.saveDir;
    if (saveDir === null) throw new Error('CheckpointHook: beforeRun has not run (register the hook before run())');
    // Recorded before saving, so the checkpoint's meta names itself (what a resumed run saved last).
    if (runner.meta) {
      const msgs = (runner.meta.hookMsgs ??= {}) as Record<string, unknown>;
      msgs.lastCkpt = path.join(saveDir, formatCheckpointName(how.filenameTmpl, how.byEpoch ? runner.epoch : runner.iter));
    }
    const stop = runner.stopRequested;
    await runner.saveCheckpoint(saveDir, {
      filenameTmpl: how.filenameTmpl,
      byEpoch: how.byEpoch,
      saveOptimizer: this.saveOptimizer,
      createSymlink: this.createSymlink,
      meta: stop ? { ...this.meta, stop: { reason: stop.reason, source: stop.source ?? null } } : this.meta,
    });
    this.savedSeq = runner.seq;
    if (how.prune && this.maxKeepCkpts > 0 && this.interval > 0) this.prune(runner, saveDir);
  }

  /** Completed epochs or iterations, once the stage is over: the number in the checkpoint's name. */
  private count(runner: HookRunner): number {
    return this.byEpoch ? runner.epoch : runner.iter;
  }

  /**
   * Removes all but the newest `maxKeepCkpts` checkpoints named by the template with a count up
   * to the current one, as listed in the save dir. Unlike MMCV's walk (which stops at the first
   * gap), a checkpoint left behind by a kill during an earlier prune is removed by the next one.
   * Higher counts (a previous, longer run in the same dir) are left alone.
   */
  private prune(runner: HookRunner, saveDir: string): void {
    const io = this.checkpointIO ?? runner.checkpointIO;
    const escaped = this.filenameTmpl.split('{}').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const pattern = new RegExp(`^${escaped.join('(\\d+)')}$`);
    const current = this.count(runner);
    const counts = fs.readdirSync(saveDir)
      .map((name) => ({ name, match: pattern.exec(name) }))
      // The name this count would get (every '{}' the same number, no leading zeros).
      .filter(({ name, match }) => match && formatCheckpointName(this.filenameTmpl, Number(match[1])) === name)
      .map(({ match }) => Number(match![1]))
      .filter((n) => n <= current)
      .sort((a, b) => b - a);
    for (const old of counts.slice(this.maxKeepCkpts)) io.remove(path.join(saveDir, formatCheckpointName(this.filenameTmpl, old)));
  }
}
