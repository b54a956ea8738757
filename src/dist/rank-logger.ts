import { consoleLogger, type Logger } from '../core/services.js';

/**
 * The console logger of one rank: rank 0 prints everything as a single process would; the
 * other ranks print only warnings and errors, prefixed `rank N: ` so interleaved output says
 * where it came from (MMCV leaves those ranks' loggers at ERROR level).
 */
export function rankLogger(rank: number, sink: Logger = consoleLogger): Logger {
  if (rank === 0) return sink;
  return {
    info: () => undefined,
    warn: (m) => sink.warn(`rank ${rank}: ${m}`),
    error: (m) => sink.error(`rank ${rank}: ${m}`),
  };
}
