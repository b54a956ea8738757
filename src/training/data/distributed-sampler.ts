import { ConfigError } from '../../core/errors.js';
import { EpochSampler } from './data-loader.js';

/** Options of {@link DistributedSampler}. */
export interface DistributedSamplerOptions {
  rank: number;
  worldSize: number;
  shuffle?: boolean;
  /** The permutation of epoch e is the one a single-process loader with this seed uses. */
  seed?: number;
}

/**
 * One rank's share of a dataset (MMCV's `DistributedSampler`): every rank computes the same
 * order of the epoch (a seeded permutation of `seed` and the epoch, told by `setEpoch`, or
 * 0..n-1 without shuffle), pads it to a multiple of `worldSize` by repeating it from the start,
 * and takes every `worldSize`-th index from its rank on (`indices[rank::worldSize]`). So batch
 * b of rank r holds the samples batch b of one process with a `worldSize` times larger batch
 * would hold, and every rank has `ceil(n / worldSize)` samples.
 */
export class DistributedSampler {
  readonly rank: number;
  readonly worldSize: number;
  /** Samples this rank yields per epoch: `ceil(datasetLength / worldSize)`. */
  readonly length: number;
  private readonly global: EpochSampler;

  constructor(readonly datasetLength: number, options: DistributedSamplerOptions) {
    const { rank, worldSize, shuffle = false, seed = 0 } = options;
    if (!(Number.isInteger(worldSize) && worldSize >= 1)) throw new ConfigError('DistributedSampler.worldSize', `must be a positive integer; got ${worldSize}`);
    if (!(Number.isInteger(rank) && rank >= 0 && rank < worldSize)) throw new ConfigError('DistributedSampler.rank', `must be an integer in 0..${worldSize - 1}; got ${rank}`);
    if (datasetLength < 1) throw new ConfigError('DistributedSampler', 'the dataset is empty');
    this.rank = rank;
    this.worldSize = worldSize;
    this.length = Math.ceil(datasetLength / worldSize);
    this.global = new EpochSampler(datasetLength, shuffle, seed);
  }

  get shuffle(): boolean { return this.global.shuffle; }
  get seed(): number { return this.global.seed; }
  get epoch(): number { return this.global.epoch; }

  /** Sets the epoch whose order the next pass uses (DistSamplerSeedHook, IterLoader). */
  setEpoch(epoch: number): void {
    this.global.setEpoch(epoch);
  }

  /** This rank's sample indices for the current epoch. */
  order(): Int32Array {
    const all = this.global.order();
    const out = new Int32Array(this.length);
    // Index i of this rank is position rank + i·worldSize of the padded order, which wraps around.
    for (let i = 0, at = this.rank; i < this.length; i++, at += this.worldSize) out[i] = all[at % all.length]!;
    return out;
  }
}
