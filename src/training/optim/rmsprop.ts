import * as tf from '../../backend/tfjs.js';
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
    const g = withWeightDecay(grad, param, group.weightDecay);
    const sq = this.slot(key, 'squareAvg', () => tf.zerosLike(param)).value;
    sq.assign(sq.mul(alpha).add(g.square().mul(1 - alpha)));
    let avg: tf.Tensor;
    if (group.centered) {
      const ga = this.slot(key, 'gradAvg', () => tf.zerosLike(param)).value;
      ga.assign(ga.mul(alpha).add(g.mul(1 - alpha)));
      avg = sq.sub(ga.square()).sqrt().add(group.eps as number);
    } else {
      avg = sq.sqrt().add(group.eps as number);
    }
    const momentum = group.momentum ?? 0;
    if (momentum > 0) {
      const buf = this.slot(key, 'momentumBuffer', () => tf.zerosLike(param)).value;
      buf.assign(buf.mul(momentum).add(g.div(avg)));
      param.assign(param.sub(buf.mul(group.lr)));
    } else {
      param.assign(param.sub(g.div(avg).mul(group.lr)));
    }
  }
}
