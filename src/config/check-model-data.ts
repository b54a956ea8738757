import { ConfigError } from '../core/errors.js';
import type { ArrayDataset } from '../training/data/dataset.js';
import type { TrainableModel } from '../training/model/trainable-model.js';

function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks that the model takes the dataset's samples and has a logit for each of its labels, so
 * a mismatch is a config error naming both keys and both values, not a tfjs shape error at the
 * first iteration. Models without a tfjs LayersModel (`net`) are not checked.
 */
export function checkModelFitsData(model: TrainableModel, dataset: ArrayDataset, split: string): void {
  const net = model.net;
  if (!net) return;
  const where = `config.data.${split}.dataset`;
  const input = net.inputs[0]?.shape.slice(1);
  if (input && (input.length !== dataset.sampleShape.length || input.some((d, i) => d !== null && d !== dataset.sampleShape[i]))) {
    throw new ConfigError('config.model.inputShape', `is ${shapeText(input)}, but ${where} gives samples of shape ${shapeText(dataset.sampleShape)} (its inputShape); make them equal`);
  }
  const outputs = net.outputs[0]?.shape;
  const logits = outputs?.[outputs.length - 1];
  if (typeof logits !== 'number' || dataset.length === 0) return;
  let maxLabel = -1;
  for (const label of dataset.labels) if (label > maxLabel) maxLabel = label;
  if (maxLabel >= logits) {
    throw new ConfigError('config.model.numClasses', `is ${logits}, but ${where} has labels up to ${maxLabel} (numClasses ${dataset.numClasses}); set model.numClasses to at least ${maxLabel + 1}`);
  }
}
