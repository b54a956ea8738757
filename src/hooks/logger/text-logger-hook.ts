import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { LoggerHook, LoggerHookOptions } from './logger-hook.js';
import { AppendFile } from '../../runner/append-file.js';
import type { RecordedRunner } from '../../runner/hook-runner.js';
import { pyExp, pyFixed, pyRound, pyTimedelta } from './py-format.js';

/** Options of {@link TextLoggerHook}. */
export const TextLoggerHookOptions = LoggerHookOptions.extend({
  /** Print `Exp name: <meta.expName>` every this many iterations (and at each epoch end). */
  intervalExpName: z.number().int().positive().optional(),
  /** Also copy the logs to `<outDir>/<basename(workDir)>` after the run. */
  outDir: z.string().nullish(),
  /** Which work-dir files count as logs for `outDir`. */
  outSuffix: z.union([z.string(), z.array(z.string())]).optional(),
  /** Keep the local copies after copying them to `outDir`. */
  keepLocal: z.boolean().optional(),
});
export type TextLoggerHookOptions = z.input<typeof TextLoggerHookOptions>;

/** Keys the text line prints in its own way (or not at all). */
const LINE_SKIP = new Set(['mode', 'Epoch', 'iter', 'lr', 'momentum', 'time', 'dataTime', 'memory', 'epoch']);

/**
 * Logs to the runner's logger and to `<workDir>/<timestamp>.log.json` (MMCV `TextLoggerHook`):
 * `Epoch [1][10/100]\tlr: 2.000e-02, eta: 0:08:15, time: 0.500, dataTime: 0.010, loss: 0.6931`,
 * and one JSON object per record with `mode, epoch, iter, lr, momentum`, the timings and the
 * log vars (floats rounded to 5 decimals).
 */
@RegisterHook()
export class TextLoggerHook extends LoggerHook {
  readonly intervalExpName: number;
  readonly keepLocal: boolean;
  readonly outSuffix: string[];
  outDir: string | null;
  jsonLogPath: string | null = null;
  private startIter = 0;
  private timeSecTot = 0;
  /** The json log of the run in progress (kept open: one write per record). */
  private jsonLog: AppendFile | undefined;

  constructor(options: TextLoggerHookOptions = {}) {
    super(options, TextLoggerHookOptions, 'TextLoggerHook');
    const opts = options;
    this.intervalExpName = opts.intervalExpName ?? 1000;
    this.outDir = opts.outDir ?? null;
    const suffix = opts.outSuffix ?? ['.log.json', '.log', '.py'];
    this.outSuffix = typeof suffix === 'string' ? [suffix] : suffix;
    this.keepLocal = opts.keepLocal ?? true;
  }

  override beforeRun(runner: RecordedRunner): void {
    super.beforeRun(runner);
    if (this.outDir && runner.workDir) this.outDir = path.join(this.outDir, path.basename(runner.workDir));
    this.startIter = runner.iter;
    this.timeSecTot = 0;
    if (runner.workDir && runner.rank === 0) {
      this.jsonLogPath = path.join(runner.workDir, `${runner.timestamp}.log.json`);
      this.jsonLog?.close();
      this.jsonLog = new AppendFile(this.jsonLogPath);
      if (runner.meta) this.jsonLog.write(`${JSON.stringify(runner.meta)}\n`);
    }
  }

  protected log(runner: RecordedRunner): Record<string, unknown> {
    const output = runner.logBuffer.output;
    const record: Record<string, unknown> = { mode: this.getMode(runner), epoch: this.getEpoch(runner) };
    // evalIterNum stays in the output (MMCV pops it): later loggers read it to label the results 'val'.
    record.iter = output.has('evalIterNum') ? output.get('evalIterNum') : this.getIter(runner, true);
    record.lr = runner.lrForLog();
    record.momentum = runner.momentumForLog();
    for (const [k, v] of output) if (k !== 'evalIterNum') record[k] = v;
    this.logText(record, runner);
    this.logJson(record, runner);
    return record;
  }

  private logText(record: Record<string, unknown>, runner: RecordedRunner): void {
    const expName = runner.meta?.expName;
    if (typeof expName === 'string' && (this.everyNIters(runner, this.intervalExpName) || (this.byEpoch && runner.dataLoader && this.endOfEpoch(runner)))) {
      runner.logger.info(`Exp name: ${expName}`);
    }
    let line: string;
    if (record.mode === 'train') {
      const lr = record.lr as number | Record<string, number>;
      const lrText = typeof lr === 'number'
        ? `lr: ${pyExp(lr, 3)}`
        : Object.entries(lr).map(([name, v]) => `lr_${name}: ${pyExp(v, 3)}`).join(' ');
      line = this.byEpoch
        ? `Epoch [${record.epoch}][${record.iter}/${runner.dataLoader?.length ?? '?'}]\t`
        : `Iter [${record.iter}/${runner.maxIters ?? '?'}]\t`;
      line += `${lrText}, `;
      if (typeof record.time === 'number') {
        this.timeSecTot += record.time * this.interval;
        const average = this.timeSecTot / (runner.iter - this.startIter + 1);
        const eta = average * ((runner.maxIters ?? runner.iter + 1) - runner.iter - 1);
        line += `eta: ${pyTimedelta(eta)}, time: ${pyFixed(record.time, 3)}, dataTime: ${pyFixed(Number(record.dataTime ?? 0), 3)}, `;
      }
    } else {
      line = this.byEpoch ? `Epoch(val) [${record.epoch}][${record.iter}]\t` : `Iter(val) [${record.iter}]\t`;
    }
    const items: string[] = [];
    for (const [name, value] of Object.entries(record)) {
      if (LINE_SKIP.has(name)) continue;
      // Counters are skipped above; what is left are log vars, floats in MMCV (so `0.0000`, not `0`).
      items.push(`${name}: ${typeof value === 'number' ? pyFixed(value, 4) : String(value)}`);
    }
    runner.logger.info(line + items.join(', '));
  }

  private logJson(record: Record<string, unknown>, runner: RecordedRunner): void {
    if (!this.jsonLog || runner.rank !== 0) return;
    const rounded: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      rounded[k] = typeof v === 'number' ? pyRound(v, 5) : Array.isArray(v) ? v.map((x) => (typeof x === 'number' ? pyRound(x, 5) : x)) : v;
    }
    this.jsonLog.write(`${JSON.stringify(rounded)}\n`);
  }

  /** A failed run leaves its records on disk and no open descriptor behind. */
  override onException(): void {
    this.jsonLog?.close();
  }

  override afterRun(runner: RecordedRunner): void {
    this.jsonLog?.close();
    // Rank 0 wrote the logs, so it alone copies them.
    if (!this.outDir || !runner.workDir || runner.rank !== 0) return;
    fs.mkdirSync(this.outDir, { recursive: true });
    for (const entry of fs.readdirSync(runner.workDir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !this.outSuffix.some((s) => entry.name.endsWith(s))) continue;
      const from = path.join(entry.parentPath, entry.name);
      const to = path.join(this.outDir, path.relative(runner.workDir, from));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
      runner.logger.info(`The file ${from} has been uploaded to ${to}.`);
      if (!this.keepLocal) fs.rmSync(from);
    }
  }
}
