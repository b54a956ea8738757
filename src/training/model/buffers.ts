import * as tf from '../../backend/tfjs.js';
import type { ProcessGroup } from '../../core/services.js';
import type { TrainableModel } from './trainable-model.js';

/**
 * The model's buffers: weights that are not trained parameters (batch-norm moving mean and
 * variance), by key, float32 only (the only dtype an average keeps meaningful).
 */
export function modelBuffers(model: TrainableModel<any>): Array<[string, tf.Variable]> {
  const params = model.params();
  return [...model.namedWeights()].filter(([key, v]) => !params.has(key) && v.dtype === 'float32');
}

/**
 * Averages the model's buffers across the ranks of `group` and writes the averages back
 * (MMCV's `allreduce_params` over buffers). A no-op with one rank or no buffers.
 */
export function averageBuffersAcrossRanks(model: TrainableModel<any>, group: ProcessGroup): Promise<void> {
  return exchangeWeights(modelBuffers(model), group, (local) => group.allReduceMean(local));
}

/**
 * Replaces every rank's buffers with rank 0's (MMCV DistEvalHook's `broadcast_bn_buffer`).
 * A no-op with one rank or no buffers.
 */
export function broadcastBuffersFromRankZero(model: TrainableModel<any>, group: ProcessGroup): Promise<void> {
  return exchangeWeights(modelBuffers(model), group, (local) => group.broadcast(local, 0));
}

/**
 * Replaces every rank's weights (parameters and buffers, float32) with rank 0's, as PyTorch
 * DDP does when it wraps a model, so that every rank starts from bitwise-identical weights.
 * A no-op with one rank.
 */
export function broadcastWeightsFromRankZero(model: TrainableModel<any>, group: ProcessGroup): Promise<void> {
  const weights = [...model.namedWeights()].filter(([, v]) => v.dtype === 'float32');
  return exchangeWeights(weights, group, (local) => group.broadcast(local, 0));
}

/** Sends the weights' values through `exchange` (a collective) and writes back what it returns. */
async function exchangeWeights(weights: Array<[string, tf.Variable]>, group: ProcessGroup, exchange: (local: Float32Array[]) => Promise<Float32Array[]>): Promise<void> {
  if (group.worldSize <= 1) return;
  if (weights.length === 0) return;
  // Copies: on the cpu backend dataSync() hands out the tensor's own storage.
  const local = weights.map(([, v]) => new Float32Array(v.dataSync()));
  const received = await exchange(local);
  if (!Array.isArray(received) || received.length !== weights.length) {
    throw new Error(`the process group returned ${Array.isArray(received) ? received.length : typeof received} arrays for ${weights.length} buffers`);
  }
  weights.forEach(([key], i) => {
    if (received[i]!.length !== local[i]!.length) {
      throw new Error(`the process group returned ${received[i]!.length} values for buffer ${key}, which has ${local[i]!.length}`);
    }
  });
  tf.tidy(() => weights.forEach(([, v], i) => v.assign(tf.tensor(received[i]!, v.shape, 'float32'))));
}
