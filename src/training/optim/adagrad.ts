import * as tf from '../../backend/tfjs.js';
import { adagradUpdate } from '../../backend/kernels/adagrad-update.js';
import { ConfigError } from '../../core/errors.js';
import { ParamGroupOptimizer, withWeightDecay, type OptimizerOptions, type ParamGroup } from './param-group-optimizer.js';

/** Options of {@link Adagrad} (PyTorch's `torch.optim.Adagrad`). */
export interface AdagradOptions extends OptimizerOptions {
  lrDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
}

/** Adagrad with PyTorch's lr decay, initial accumulator and eps. */
export class Adagrad extends ParamGroupOptimizer {
  constructor(params: Map<string, tf.Variable>, options: AdagradOptions) {
    const { lr, lrDecay = 0, initialAccumulatorValue = 0, eps = 1e-10, weightDecay = 0 } = options;
    if (!(lrDecay >= 0)) throw new ConfigError('optimizer.lrDecay', `must be >= 0; got ${lrDecay}`);
    if (!(initialAccumulatorValue >= 0)) throw new ConfigError('optimizer.initialAccumulatorValue', `must be >= 0; got ${initialAccumulatorValue}`);
    super(params, { lr, lrDecay, initialAccumulatorValue, eps, weightDecay }, options);
  }

  protected update(key: string, param: tf.Variable, grad: tf.Tensor, group: ParamGroup, step: number): void {
    const sum = this.slot(key, 'sum', () => tf.fill(param.shape, group.initialAccumulatorValue as number)).value;
    // One fused kernel per parameter where the backend has it (wasm, cpu); the ops below otherwise.
    const fused = adagradUpdate(param, grad, sum, { lr: group.lr, lrDecay: group.lrDecay as number, eps: group.eps as number, weightDecay: group.weightDecay, step });
    if (fused) {
      sum.assign(fused.sum);
      param.assign(fused.param);
      return;
    }
    const g = withWeightDecay(grad, param, group.weightDecay);
    const clr = group.lr / (1 + (step - 1) * (group.lrDecay as number));
    sum.assign(sum.add(g.square()));
    param.assign(param.sub(g.div(sum.sqrt().add(group.eps as number)).mul(clr)));
  }
}
