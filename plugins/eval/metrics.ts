import { z } from 'zod';
import { ConfigError } from '../../src/core/errors.js';
import { Registry } from '../../src/core/registry.js';
import { mustBe, parseOptions } from '../../src/config/parse-options.js';
import { logSumExp } from '../../src/backend/log-sum-exp.js';

/**
 * What an evaluation collected over the whole val loader: the model's outputs (logits), one
 * row of `numOutputs` values per sample, and the integer label of each sample.
 */
export interface EvalResults {
  /** Row-major `[numSamples, numOutputs]`. */
  readonly outputs: Float32Array;
  readonly numOutputs: number;
  readonly labels: Int32Array;
  readonly numSamples: number;
}

/** Turns evaluation results into named numbers (`{ accuracy: 0.93 }`). */
export type Metric = (results: EvalResults) => Record<string, number>;

/**
 * Registry of metric factories: `METRICS.build({ type: 'topKAccuracy', k: 5 })` returns a
 * {@link Metric}. User metrics register the same way:
 * `METRICS.register((opts) => (r) => ({ myScore: ... }), 'myScore')`.
 */
export const METRICS = new Registry<Metric>('metric');

/** A metric as EvalHook's `metrics` option takes it: a registered name, a config, or the function itself. */
export type MetricSpec = string | { type: string; [option: string]: unknown } | Metric;

/**
 * How many samples have their label among the `k` best outputs. Ties rank the lower class
 * index first, so k = 1 agrees with arg-max (the first maximum).
 */
function correctInTopK(results: EvalResults, k: number): number {
  const { outputs, numOutputs: c, labels, numSamples } = results;
  let correct = 0;
  for (let i = 0; i < numSamples; i++) {
    const row = i * c;
    const label = labels[i]!;
    const score = outputs[row + label]!;
    let ahead = 0;
    for (let j = 0; j < c && ahead < k; j++) {
      const v = outputs[row + j]!;
      if (v > score || (v === score && j < label)) ahead++;
    }
    if (ahead < k && !Number.isNaN(score)) correct++;
  }
  return correct;
}

function topKMetric(k: number, key: string): Metric {
  return (results) => {
    if (k > results.numOutputs) throw new Error(`${key}: k = ${k} exceeds the number of classes (${results.numOutputs})`);
    return { [key]: results.numSamples === 0 ? 0 : correctInTopK(results, k) / results.numSamples };
  };
}

const NoOptions = z.object({}).strict();
const positiveInt = mustBe('a positive integer');
const TopKOptions = z.object({ k: z.number(positiveInt).int(positiveInt).positive(positiveInt).optional() }).strict();

/** `{ accuracy }`: the fraction of samples whose arg-max output is their label. */
export function accuracy(options: Record<string, never> = {}): Metric {
  parseOptions(NoOptions, options, 'accuracy');
  return topKMetric(1, 'accuracy');
}

/** `{ top<k>Accuracy }`: the fraction of samples whose label is among the `k` best outputs (default k = 5). */
export function topKAccuracy(options: { k?: number } = {}): Metric {
  const { k = 5 } = parseOptions(TopKOptions, options, 'topKAccuracy');
  return topKMetric(k, `top${k}Accuracy`);
}

/** `{ loss }`: mean softmax cross-entropy of the outputs (as logits) against the labels. */
export function loss(options: Record<string, never> = {}): Metric {
  parseOptions(NoOptions, options, 'loss');
  return ({ outputs, numOutputs: c, labels, numSamples }) => {
    let total = 0;
    for (let i = 0; i < numSamples; i++) total += logSumExp(outputs, i * c, c) - outputs[i * c + labels[i]!]!;
    return { loss: numSamples === 0 ? 0 : total / numSamples };
  };
}

METRICS.register(accuracy, 'accuracy');
METRICS.register(topKAccuracy, 'topKAccuracy');
METRICS.register(loss, 'loss');

/**
 * Builds the metric of `spec`; errors are {@link ConfigError}s located at `path` (an unknown
 * name lists the nearest registered ones).
 */
export function buildMetric(spec: MetricSpec, path: string): Metric {
  if (typeof spec === 'function') return spec;
  try {
    return METRICS.build(typeof spec === 'string' ? { type: spec } : spec);
  } catch (error) {
    if (error instanceof ConfigError) throw error.under(path);
    throw new ConfigError(path, (error as Error).message);
  }
}
