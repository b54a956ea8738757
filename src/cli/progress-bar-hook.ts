import readline from 'node:readline';
import cliProgress from 'cli-progress';
import { Hook } from '../core/hook.js';
import { consoleLogger, type Logger } from '../core/services.js';
import type { HookRunner } from '../runner/hook-runner.js';

/** When `hookflow train` shows a progress bar. */
export interface ProgressBarConditions {
  /** `false` with `--no-progress`. */
  progress?: boolean;
  /** Whether stdout is a terminal. */
  isTTY: boolean;
  /** The environment (CI systems set `CI`). */
  env: NodeJS.ProcessEnv;
}

/** A bar only on an interactive terminal, outside CI, unless `--no-progress` (ranks other than 0 never draw one). */
export function wantsProgressBar({ progress, isTTY, env }: ProgressBarConditions): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
  return progress !== false && isTTY && !ci;
}

/**
 * A one-line progress bar on stdout: the phase (epoch and its count, or val), the iteration in
 * the epoch (or in the run for an IterBasedRunner), the ETA and the latest loss. Log lines go
 * through {@link ProgressBarHook.logger}: the bar line is cleared, the message printed, and the
 * bar drawn again below it, at once (no timer involved), so no log line is ever overwritten.
 * Between log lines cli-progress redraws from its timer, which fires because the runner yields
 * to the event loop (`yieldEvery`). Only rank 0 draws; the CLI leaves the hook out where
 * {@link wantsProgressBar} says no.
 */
export class ProgressBarHook extends Hook<HookRunner> {
  private readonly bars: cliProgress.MultiBar;
  private bar: cliProgress.SingleBar | undefined;
  private loss = '-';

  /** A logger that prints above the bar. */
  readonly logger: Logger = {
    info: (m) => this.print(() => consoleLogger.info(m)),
    warn: (m) => this.print(() => consoleLogger.warn(m)),
    error: (m) => this.print(() => consoleLogger.error(m)),
  };

  /** `stream`: the terminal the bar is drawn on, where the console's log lines go too (default stdout). */
  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    super();
    this.bars = new cliProgress.MultiBar({
      format: ' {phase} [{bar}] {percentage}% | iter {value}/{total} | eta {eta_formatted} | loss {loss}',
      stream,
      hideCursor: true,
      clearOnComplete: true,
      forceRedraw: true,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
  }

  /** Whether the bar is on screen. */
  get drawing(): boolean {
    return this.bar !== undefined;
  }

  private print(write: () => void): void {
    if (!this.bar) {
      write();
      return;
    }
    readline.cursorTo(this.stream, 0);
    readline.clearLine(this.stream, 0);
    write();
    this.bars.update();
  }

  /** Restarts the bar (its ETA too) for a new phase; the first call creates it. */
  private start(total: number, phase: string, value = 0): void {
    const payload = { phase, loss: this.loss };
    if (this.bar) this.bar.start(total, value, payload);
    else this.bar = this.bars.create(total, value, payload);
    this.bars.update();
  }

  private advance(runner: HookRunner): void {
    const loss = runner.outputs?.logVars.loss;
    if (typeof loss === 'number') this.loss = loss.toFixed(4);
    this.bar?.increment(1, { loss: this.loss });
  }

  override beforeRun(runner: HookRunner): void {
    if (runner.rank !== 0) return;
    if (!runner.byEpoch && runner.maxIters) this.start(runner.maxIters, 'train', runner.iter);
  }

  override beforeTrainEpoch(runner: HookRunner): void {
    if (runner.rank === 0) this.start(runner.dataLoader?.length ?? 0, `epoch ${runner.epoch + 1}/${runner.maxEpochs ?? '?'}`);
  }

  override beforeValEpoch(runner: HookRunner): void {
    if (runner.rank === 0 && runner.byEpoch) this.start(runner.dataLoader?.length ?? 0, `val ${runner.epoch}/${runner.maxEpochs ?? '?'}`);
  }

  override afterTrainIter(runner: HookRunner): void {
    this.advance(runner);
  }

  override afterValIter(runner: HookRunner): void {
    if (runner.byEpoch) this.advance(runner);
  }

  override afterRun(): void {
    this.stop();
  }

  /** Clears the bar and gives the cursor back (also after a failed run). Idempotent. */
  stop(): void {
    if (!this.bar) return;
    this.bars.stop();
    this.bar = undefined;
  }
}
