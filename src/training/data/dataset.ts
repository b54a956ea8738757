import { CUSTOM_IMPORTS_HINT, Registry } from '../../core/registry.js';

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
export const DATASETS = new Registry<ArrayDataset>('dataset', { unknownNameHint: CUSTOM_IMPORTS_HINT });

/** Number of floats in one sample. */
export function sampleSize(dataset: Pick<ArrayDataset, 'sampleShape'>): number {
  return dataset.sampleShape.reduce((a, b) => a * b, 1);
}

/** Samples `[start, end)` of `dataset`, sharing its storage (e.g. a held-out split of one distribution). */
export function sliceDataset(dataset: ArrayDataset, start: number, end: number): ArrayDataset {
  const size = sampleSize(dataset);
  return {
    length: end - start,
    sampleShape: dataset.sampleShape,
    numClasses: dataset.numClasses,
    features: dataset.features.subarray(start * size, end * size),
    labels: dataset.labels.subarray(start, end),
  };
}
