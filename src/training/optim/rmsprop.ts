import * as tf from '../../backend/tfjs.js';
import { rmspropUpdate } from '../../backend/kernels/rmsprop-update.js';
import { ConfigError } from '../../core/errors.js';
import { ParamGroupOptimizer, withWeightDecay, type OptimizerOptions, type ParamGroup } from './param-group-optimizer.js';

/** Options of {@link RMSProp} (PyTorch's `torch.optim.RMSprop`). */
export interface RMSPropOptions extends OptimizerOptions {
  alpha?: number;
  eps?: number;
  momentum?: number;
  centered?: boolean;
}

/** RMSProp with PyTorch's alpha, eps, momentum and centered variants. */
export class RMSProp extends ParamGroupOptimizer {
  constructor(params: Map<string, tf.Variable>, options: RMSPropOptions) {
    const { lr, alpha = 0.99, eps = 1e-8, momentum = 0, centered = false, weightDecay = 0 } = options;
    if (!(alpha >= 0)) throw new ConfigError('optimizer.alpha', `must be >= 0; got ${alpha}`);
    if (!(momentum >= 0)) throw new ConfigError('optimizer.momentum', `must be >= 0; got ${momentum}`);
    super(params, { lr, alpha, eps, momentum, centered, weightDecay }, options);
  }

  protected update(key: string, param: tf.Variable, grad: tf.Tensor, group: ParamGroup): void {
    const alpha = group.alpha as number;
    const momentum = group.momentum ?? 0;
    const centered = group.centered as boolean;
    const sq = this.slot(key, 'squareAvg', () => tf.zerosLike(param)).value;
    const ga = centered ? this.slot(key, 'gradAvg', () => tf.zerosLike(param)).value : undefined;
    const buf = momentum > 0 ? this.slot(key, 'momentumBuffer', () => tf.zerosLike(param)).value : undefined;
    // One fused kernel per parameter where the backend has it (wasm, cpu); the ops below otherwise.
    const fused = rmspropUpdate(param, grad, sq, ga, buf, { lr: group.lr, alpha, eps: group.eps as number, momentum, centered, weightDecay: group.weightDecay });
    if (fused) {
      sq.assign(fused.squareAvg);
      if (ga) ga.assign(fused.gradAvg!);
      if (buf) buf.assign(fused.buffer!);
      param.assign(fused.param);
      return;
    }
    const g = withWeightDecay(grad, param, group.weightDecay);
    sq.assign(sq.mul(alpha).add(g.square().mul(1 - alpha)));
    let avg: tf.Tensor;
    if (ga) {
      ga.assign(ga.mul(alpha).add(g.mul(1 - alpha)));
      avg = sq.sub(ga.square()).sqrt().add(group.eps as number);
    } else {
      avg = sq.sqrt().add(group.eps as number);
    }
    if (buf) {
      buf.assign(buf.mul(momentum).add(g.div(avg)));
      param.assign(param.sub(buf.mul(group.lr)));
    } else {
      param.assign(param.sub(g.div(avg).mul(group.lr)));
    }
  }
}
