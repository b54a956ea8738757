import { ConfigError } from '../core/errors.js';
import type { HookConfig } from '../core/hook-registration.js';
import { readJournal } from '../core/journal/journal-reader.js';
import { ReplayRunner, type ReplayRunnerOptions } from './replay-runner.js';

/**
 * What `hookflow replay JOURNAL --hook '{"type":"TextLoggerHook"}'` does: builds the hooks from
 * their configs (HOOKS, so the hook modules must have been imported) and drives them from the
 * journal's history, e.g. to regenerate the text logs or TensorBoard files of a run into
 * `workDir`. Replaying into the run's own work dir appends to its logs (same timestamps);
 * use another directory. `skipInvalid` salvages a damaged journal (see `ReadJournalOptions`). Returns the replay runner (its hooks, log buffer, counters).
 */
export async function replayJournal(journalPath: string, hookConfigs: readonly HookConfig[], options: ReplayRunnerOptions & { skipInvalid?: boolean } = {}): Promise<ReplayRunner> {
  const { skipInvalid, ...runnerOptions } = options;
  const journal = readJournal(journalPath, { logger: options.logger, skipInvalid });
  const runner = new ReplayRunner(runnerOptions);
  hookConfigs.forEach((cfg, i) => {
    try {
      runner.registerHookFromConfig(cfg);
    } catch (error) {
      if (error instanceof ConfigError) throw error.under(`hooks[${i}]`);
      throw error;
    }
  });
  await runner.run(journal);
  return runner;
}
