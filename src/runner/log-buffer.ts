/**
 * Accumulates per-iteration scalars and averages them on demand (MMCV `LogBuffer`).
 * Averages are weighted by the count each value was recorded with (the batch size).
 */
export class LogBuffer {
  readonly valHistory = new Map<string, number[]>();
  readonly nHistory = new Map<string, number[]>();
  /** Averaged values, plus values put here directly (evaluation metrics). */
  readonly output = new Map<string, unknown>();
  ready = false;

  /** Appends each value of `vars` with weight `count`. */
  update(vars: Record<string, number>, count = 1): void {
    for (const key in vars) {
      let values = this.valHistory.get(key);
      let counts = this.nHistory.get(key);
      if (!values || !counts) {
        values = [];
        counts = [];
        this.valHistory.set(key, values);
        this.nHistory.set(key, counts);
      }
      values.push(vars[key]!);
      counts.push(count);
    }
  }

  /** Weighted mean of the last `n` values of every key (`n = 0`: all of them) into `output`. */
  average(n = 0): void {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`LogBuffer.average: n must be an integer >= 0; got ${n}`);
    for (const [key, values] of this.valHistory) {
      const counts = this.nHistory.get(key)!;
      const from = n === 0 ? 0 : Math.max(0, values.length - n);
      let sum = 0;
      let total = 0;
      for (let i = from; i < values.length; i++) {
        sum += values[i]! * counts[i]!;
        total += counts[i]!;
      }
      this.output.set(key, sum / total);
    }
    this.ready = true;
  }

  /** Empties `output` and clears `ready`. */
  clearOutput(): void {
    // The last logger clears after every iteration: Map#clear allocates a new table even when empty.
    if (this.output.size > 0) this.output.clear();
    this.ready = false;
  }

  /** Empties the histories and the output. */
  clear(): void {
    this.valHistory.clear();
    this.nHistory.clear();
    this.clearOutput();
  }
}
