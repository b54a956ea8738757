import os from 'node:os';
import { ConfigError } from '../core/errors.js';

// Weights, their gradients and up to two optimizer slots (Adam) live at the same time.
const TRAINING_COPIES = 4;
const FLOAT_BYTES = 4;

const numbers = (value: unknown, fallback: number[]): number[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'number') ? value : fallback;
const number = (value: unknown, fallback: number): number => (typeof value === 'number' ? value : fallback);

function dense(inputs: number, units: number[]): number {
  let params = 0;
  for (const u of units) {
    params += inputs * u + u;
    inputs = u;
  }
  return params;
}

/**
 * Trainable parameters of a built-in model config (`MLPClassifier`, `CNNClassifier`, with their
 * defaults), computed from the config alone; undefined for other models. Garbage in (a
 * non-integer size) gives a number the model's own checks reject later.
 */
export function estimateParameters(model: Record<string, unknown>): number | undefined {
  const numClasses = number(model.numClasses, 10);
  if (model.type === 'MLPClassifier') {
    const inputs = numbers(model.inputShape, [784]).reduce((a, b) => a * b, 1);
    return dense(inputs, [...numbers(model.hiddenUnits, [128]), numClasses]);
  }
  if (model.type === 'CNNClassifier') {
    let [h = 28, w = 28, c = 1] = numbers(model.inputShape, [28, 28, 1]);
    const k = number(model.kernelSize, 3);
    const p = number(model.poolSize, 2);
    let params = 0;
    for (const f of numbers(model.filters, [8])) {
      params += k * k * c * f + f;
      // 'valid' convolution, then 'valid' pooling with stride = pool size.
      h = Math.max(0, Math.floor((h - k + 1 - p) / p) + 1);
      w = Math.max(0, Math.floor((w - k + 1 - p) / p) + 1);
      c = f;
    }
    return params + dense(h * w * c, [...numbers(model.hiddenUnits, [64]), numClasses]);
  }
  return undefined;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toPrecision(3)} GiB`;
}

/**
 * Refuses a model whose training memory (about {@link TRAINING_COPIES} float32 copies of its
 * parameters) exceeds the machine's memory, before anything is allocated: such a size would
 * otherwise hang or crash the backend.
 */
export function checkModelSize(model: Record<string, unknown>, memoryBytes = os.totalmem()): void {
  const params = estimateParameters(model);
  if (params === undefined || !Number.isFinite(params)) return;
  const needed = params * FLOAT_BYTES * TRAINING_COPIES;
  if (needed <= memoryBytes) return;
  throw new ConfigError('config.model', `${model.type} with these sizes has about ${params.toPrecision(3)} parameters (${gib(params * FLOAT_BYTES)} of float32 weights); `
    + `training needs about ${TRAINING_COPIES}x that (${gib(needed)}: weights, gradients, optimizer state), more than this machine's ${gib(memoryBytes)} of memory. Check hiddenUnits, filters and inputShape`);
}
