import * as tf from '../../backend/tfjs.js';
import { sgdUpdate } from '../../backend/kernels/sgd-update.js';
import { ConfigError } from '../../core/errors.js';
import { ParamGroupOptimizer, withWeightDecay, type OptimizerOptions, type ParamGroup } from './param-group-optimizer.js';

/** Options of {@link SGD} (PyTorch's `torch.optim.SGD`). */
export interface SGDOptions extends OptimizerOptions {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
}

/** Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and weight decay. */
export class SGD extends ParamGroupOptimizer {
  constructor(params: Map<string, tf.Variable>, options: SGDOptions) {
    const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = options;
    if (!(momentum >= 0)) throw new ConfigError('optimizer.momentum', `must be >= 0; got ${momentum}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new ConfigError('optimizer.nesterov', 'needs momentum > 0 and dampening 0');
    }
    super(params, { lr, momentum, dampening, nesterov, weightDecay }, options);
  }

  protected update(key: string, param: tf.Variable, grad: tf.Tensor, group: ParamGroup): void {
    const momentum = group.momentum ?? 0;
    const buffer = momentum !== 0 ? this.findSlot(key, 'momentumBuffer') : undefined;
    // One fused kernel per parameter where the backend has it (wasm, cpu); the ops below otherwise.
    const fused = sgdUpdate(param, grad, buffer, {
      lr: group.lr, momentum, dampening: group.dampening as number, weightDecay: group.weightDecay, nesterov: group.nesterov as boolean,
    });
    if (fused) {
      if (fused.buffer) {
        if (buffer) buffer.assign(fused.buffer);
        else this.slot(key, 'momentumBuffer', () => fused.buffer!);
      }
      param.assign(fused.param);
      return;
    }
    let d = withWeightDecay(grad, param, group.weightDecay);
    if (momentum !== 0) {
      const { value: buf, created } = this.slot(key, 'momentumBuffer', () => d);
      if (!created) buf.assign(buf.mul(momentum).add(d.mul(1 - (group.dampening as number))));
      d = group.nesterov ? d.add(buf.mul(momentum)) : buf;
    }
    param.assign(param.sub(d.mul(group.lr)));
  }
}
