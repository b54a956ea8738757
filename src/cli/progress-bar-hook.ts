import cliProgress from 'cli-progress';
import { Hook } from '../core/hook.js';
import { consoleLogger, type Logger } from '../core/services.js';
import type { BaseRunner } from '../runner/base-runner.js';

/**
 * A terminal progress bar over each training epoch (or over all iterations of an
 * IterBasedRunner). Log lines go through {@link ProgressBarHook.logger} so they print above the
 * bar instead of through it. Only for interactive terminals; the CLI leaves it out otherwise.
 */
export class ProgressBarHook extends Hook<BaseRunner> {
  private readonly bars = new cliProgress.MultiBar({
    format: ' {phase} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted} | loss {loss}',
    hideCursor: true,
    clearOnComplete: true,
    stopOnComplete: false,
    etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  private bar: cliProgress.SingleBar | undefined;

  /** A logger that prints above the bar. */
  readonly logger: Logger = {
    info: (m) => this.print(m, consoleLogger.info),
    warn: (m) => this.print(m, consoleLogger.warn),
    error: (m) => this.print(m, consoleLogger.error),
  };

  private print(message: string, fallback: (m: string) => void): void {
    if (this.bar) this.bars.log(`${message}\n`);
    else fallback(message);
  }

  private start(total: number, phase: string, value = 0): void {
    this.finish();
    this.bar = this.bars.create(total, value, { phase, loss: '-' });
  }

  private finish(): void {
    if (!this.bar) return;
    this.bars.remove(this.bar);
    this.bar = undefined;
  }

  override beforeRun(runner: BaseRunner): void {
    if (!runner.byEpoch && runner.maxIters) this.start(runner.maxIters, 'train', runner.iter);
  }

  override beforeTrainEpoch(runner: BaseRunner): void {
    this.start(runner.dataLoader?.length ?? 0, `epoch ${runner.epoch + 1}/${runner.maxEpochs ?? '?'}`);
  }

  override afterTrainIter(runner: BaseRunner): void {
    const loss = runner.outputs?.logVars.loss;
    this.bar?.increment(1, { loss: typeof loss === 'number' ? loss.toFixed(4) : '-' });
  }

  override afterTrainEpoch(): void {
    this.finish();
  }

  override afterRun(): void {
    this.finish();
    this.bars.stop();
  }
}
