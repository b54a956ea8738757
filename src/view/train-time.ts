/**
 * `hookflow analyze-logs cal-train-time`: MMCV's `cal_train_time`. Per epoch, the mean of the
 * logged iteration times (without each epoch's first record, which carries warm-up, unless
 * outliers are included); then the slowest and fastest epoch, the std over epochs and the
 * mean iteration time.
 */

/** Train time statistics of one log. */
export interface TrainTime {
  /** Mean iteration time of each epoch (seconds), epoch 1 first. */
  epochMeans: number[];
  slowestEpoch: number;
  fastestEpoch: number;
  /** Population std of the epoch means (numpy's default). */
  stdOverEpochs: number;
  /** Mean of every iteration time counted. */
  meanIterTime: number;
}

/** Computes {@link TrainTime} from the train records of a `.log.json`; undefined without timings. */
export function trainTime(records: Record<string, unknown>[], includeOutliers = false): TrainTime | undefined {
  const perEpoch = new Map<number, number[]>();
  for (const r of records) {
    if (r.mode !== 'train' || typeof r.time !== 'number') continue;
    const times = perEpoch.get(Number(r.epoch)) ?? [];
    times.push(r.time);
    perEpoch.set(Number(r.epoch), times);
  }
  const counted = [...perEpoch.entries()].sort(([a], [b]) => a - b)
    .map(([, times]) => (includeOutliers || times.length === 1 ? times : times.slice(1)));
  if (counted.length === 0) return undefined;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const epochMeans = counted.map(mean);
  const average = mean(epochMeans);
  const slowest = epochMeans.indexOf(Math.max(...epochMeans));
  const fastest = epochMeans.indexOf(Math.min(...epochMeans));
  return {
    epochMeans,
    slowestEpoch: slowest + 1,
    fastestEpoch: fastest + 1,
    stdOverEpochs: Math.sqrt(mean(epochMeans.map((m) => (m - average) ** 2))),
    meanIterTime: mean(counted.flat()),
  };
}

/** MMCV's report for one log. */
export function formatTrainTime(file: string, stats: TrainTime | undefined): string {
  const lines = [`-----Analyze train time of ${file}-----`];
  if (!stats) return [...lines, 'no train records with a time'].join('\n');
  lines.push(`slowest epoch ${stats.slowestEpoch}, average time is ${stats.epochMeans[stats.slowestEpoch - 1]!.toFixed(4)}`);
  lines.push(`fastest epoch ${stats.fastestEpoch}, average time is ${stats.epochMeans[stats.fastestEpoch - 1]!.toFixed(4)}`);
  lines.push(`time std over epochs is ${stats.stdOverEpochs.toFixed(4)}`);
  lines.push(`average iter time: ${stats.meanIterTime.toFixed(4)} s/iter`);
  return lines.join('\n');
}
