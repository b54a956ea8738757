import * as tf from '../../backend/tfjs.js';
import { adamUpdate } from '../../backend/kernels/adam-update.js';
import { ConfigError } from '../../core/errors.js';
import { ParamGroupOptimizer, withWeightDecay, type OptimizerOptions, type ParamGroup } from './param-group-optimizer.js';

/** Options of {@link Adam} and {@link AdamW}. */
export interface AdamOptions extends OptimizerOptions {
  betas?: [number, number];
  eps?: number;
}

function checkBetas(betas: unknown): [number, number] {
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b < 1)) {
    throw new ConfigError('optimizer.betas', `must be two numbers in [0, 1); got ${JSON.stringify(betas)}`);
  }
  return [betas[0], betas[1]];
}

/**
 * Adam as PyTorch computes it; `decoupled` switches to AdamW's decoupled weight decay.
 * `betas[0]` acts as the momentum that momentum updaters schedule.
 */
abstract class AdamBase extends ParamGroupOptimizer {
  protected abstract readonly decoupled: boolean;

  constructor(params: Map<string, tf.Variable>, options: AdamOptions, defaultWeightDecay: number) {
    const { lr, betas = [0.9, 0.999], eps = 1e-8, weightDecay = defaultWeightDecay } = options;
    super(params, { lr, betas: checkBetas(betas), eps, weightDecay }, options);
  }

  protected update(key: string, param: tf.Variable, grad: tf.Tensor, group: ParamGroup, step: number): void {
    const [beta1, beta2] = group.betas!;
    const lr = group.lr;
    const m = this.slot(key, 'expAvg', () => tf.zerosLike(param)).value;
    const v = this.slot(key, 'expAvgSq', () => tf.zerosLike(param)).value;
    // One fused kernel per parameter where the backend has it (wasm, cpu); the ops below otherwise.
    const fused = adamUpdate(param, grad, m, v, { lr, beta1, beta2, eps: group.eps as number, weightDecay: group.weightDecay, decoupled: this.decoupled, step });
    if (fused) {
      m.assign(fused.expAvg);
      v.assign(fused.expAvgSq);
      param.assign(fused.param);
      return;
    }
    let g = grad;
    if (this.decoupled) {
      if (group.weightDecay !== 0) param.assign(param.mul(1 - lr * group.weightDecay));
    } else {
      g = withWeightDecay(grad, param, group.weightDecay);
    }
    m.assign(m.mul(beta1).add(g.mul(1 - beta1)));
    v.assign(v.mul(beta2).add(g.square().mul(1 - beta2)));
    const bias1 = 1 - beta1 ** step;
    const bias2 = 1 - beta2 ** step;
    const denom = v.sqrt().div(Math.sqrt(bias2)).add(group.eps as number);
    param.assign(param.sub(m.div(denom).mul(lr / bias1)));
  }
}

/** Adam with coupled (L2) weight decay, default 0. */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: Map<string, tf.Variable>, options: AdamOptions) {
    super(params, options, 0);
  }
}

/** AdamW: decoupled weight decay, default 0.01 as in PyTorch. */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: Map<string, tf.Variable>, options: AdamOptions) {
    super(params, options, 0.01);
  }
}
