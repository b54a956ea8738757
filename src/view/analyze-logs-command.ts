/** `hookflow analyze-logs TASK LOG...`: MMCV's `analyze_logs.py` tasks other than plotting. */
import fs from 'node:fs';
import { ConfigError } from '../core/errors.js';
import { checkRunInputs, findLogJson, readLogRecords } from './run-scalars.js';
import { formatTrainTime, trainTime } from './train-time.js';

/** Runs `task` (only `cal-train-time`) on each log (a `.log.json` or a work dir's newest). */
export function analyzeLogsCommand(task: string, logs: string[], options: { includeOutliers?: boolean }): void {
  if (task !== 'cal-train-time') throw new ConfigError('analyze-logs', `unknown task '${task}'; the tasks are: cal-train-time (use hookflow plot for curves)`);
  for (const input of checkRunInputs(logs, 'analyze-logs')) {
    const file = fs.statSync(input).isDirectory() ? findLogJson(input) : input;
    if (!file) throw new ConfigError('analyze-logs', `${input} has no .log.json`);
    console.log(formatTrainTime(file, trainTime(readLogRecords(file), options.includeOutliers)));
  }
}
