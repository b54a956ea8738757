/** A complete, tiny, valid config on synthetic data. */
export function tinyConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { type: 'MLPClassifier', inputShape: [4], hiddenUnits: [8], numClasses: 3 },
    data: {
      train: { dataset: { type: 'Synthetic', numSamples: 24, inputShape: [4], numClasses: 3 }, batchSize: 8, shuffle: true },
      val: { dataset: { type: 'Synthetic', numSamples: 12, inputShape: [4], numClasses: 3, seed: 1 }, batchSize: 6 },
    },
    optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9 },
    optimizerConfig: {},
    logConfig: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] },
    runner: { type: 'EpochBasedRunner', maxEpochs: 2 },
    workflow: [['train', 1], ['val', 1]],
    ...overrides,
  };
}

