import { Registry } from '../../core/registry.js';

/**
 * An in-memory classification dataset: `length` samples of `sampleShape` floats in one flat
 * array, with integer labels.
 */
export interface ArrayDataset {
  readonly length: number;
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  /** `length * prod(sampleShape)` values, sample after sample. */
  readonly features: Float32Array;
  readonly labels: Int32Array;
}

/** Registry of dataset factories (`{ type: 'MNIST', split: 'train' }`). */
export const DATASETS = new Registry<ArrayDataset>('dataset');

/** Number of floats in one sample. */
export function sampleSize(dataset: Pick<ArrayDataset, 'sampleShape'>): number {
  return dataset.sampleShape.reduce((a, b) => a * b, 1);
}
