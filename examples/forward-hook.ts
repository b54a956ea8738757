/**
 * The seed document's first listing, with hookflow on tfjs: a forward hook on a one-unit dense
 * layer over 3 inputs (PyTorch's `nn.Linear(3, 1)`) whose weights `constantInit(fc, 1)` set to
 * ones, called on `[[0, 1, 2]]`.
 *
 *   node dist/examples/forward-hook.js
 *
 * prints the weight `[[1],[1],[1]]` (tfjs keeps a dense kernel as `[in, out]`, PyTorch as
 * `[out, in]`), the bias `[0]`, the input `[[0,1,2]]` and the output `[[3]]`.
 */
import * as tf from '../src/backend/tfjs.js';
import { selectBackend } from '../src/backend/index.js';
import { constantInit, registerForwardHook, type ForwardHook } from '../src/nn/index.js';

// The hook's arguments are fixed by the caller (their names are free): the layer, its inputs
// (a list, like PyTorch's input tuple) and its output. Reading values here is synchronous.
const forwardHookFn: ForwardHook = (layer, inputs, output) => {
  const [weight, bias] = layer.getWeights();
  console.log('weight', JSON.stringify(weight!.arraySync()));
  console.log('bias', JSON.stringify(bias!.arraySync()));
  console.log('input', JSON.stringify(inputs.map((t) => t.arraySync())));
  console.log('output', JSON.stringify((output as tf.Tensor).arraySync()));
};

class Model {
  readonly fc = tf.layers.dense({ units: 1, inputShape: [3], name: 'fc' });
  private readonly net = tf.sequential({ layers: [this.fc] });

  constructor() {
    registerForwardHook(this.fc, forwardHookFn);
    constantInit(this.fc, 1);
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.net.predict(x) as tf.Tensor;
  }
}

await selectBackend('wasm');
const model = new Model();
const x = tf.tensor([[0, 1, 2]]);
const y = model.forward(x);
console.log('y', JSON.stringify(y.arraySync()));
tf.dispose([x, y]);
