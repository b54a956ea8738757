/** A run's timestamp, local time `YYYYMMDD_HHMMSS` (MMCV's `%Y%m%d_%H%M%S`); it names the run's log files. */
export function timestampOf(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}_${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}
