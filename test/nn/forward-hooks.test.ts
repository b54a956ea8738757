import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { constantInit } from '../../src/nn/initializers.js';
import { registerForwardHook, registerForwardPreHook, type LayerKwargs } from '../../src/nn/forward-hooks.js';
import { tinyRunner } from '../helpers/tiny.js';

/** The seed's model: a one-unit dense layer on 3 inputs. */
function seedModel() {
  const fc = tf.layers.dense({ units: 1, inputShape: [3], name: 'fc' });
  const net = tf.sequential({ layers: [fc] });
  return { fc, net };
}

const hasOwnCall = (layer: tf.layers.Layer) => Object.hasOwn(layer, 'call');

describe('forward hooks', () => {
  it("reproduces the seed's listing: after constantInit(fc, 1) the hook sees weight [[1],[1],[1]], bias [0], input [[0,1,2]], output [[3]]", () => {
    const { fc, net } = seedModel();
    const seen: Record<string, unknown> = {};
    registerForwardHook(fc, (layer, inputs, output) => {
      const [weight, bias] = layer.getWeights();
      seen.weight = weight!.arraySync();
      seen.bias = bias!.arraySync();
      seen.input = inputs.map((t) => t.arraySync());
      seen.output = (output as tf.Tensor).arraySync();
      seen.layer = layer;
    });
    constantInit(fc, 1);
    const x = tf.tensor([[0, 1, 2]]);
    const y = net.predict(x) as tf.Tensor;
    expect(seen).to.deep.equal({ weight: [[1], [1], [1]], bias: [0], input: [[[0, 1, 2]]], output: [[3]], layer: fc });
    expect(y.arraySync()).to.deep.equal([[3]]);
    tf.dispose([x, y]);
  });

  it('examples/forward-hook.js prints the same', function () {
    this.timeout(60000);
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'forward-hook.js');
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8' });
    expect(out.trim().split('\n')).to.deep.equal(['weight [[1],[1],[1]]', 'bias [0]', 'input [[[0,1,2]]]', 'output [[3]]', 'y [[3]]']);
  });

  it('runs hooks in registration order; pre-hooks replace inputs in turn; removing restores the layer completely', () => {
    const { fc, net } = seedModel();
    constantInit(fc, 1);
    const calls: string[] = [];
    const double = registerForwardPreHook(fc, (_l, [x]) => { calls.push(`pre1 ${x!.arraySync()}`); return x!.mul(2); });
    const plusOne = registerForwardPreHook(fc, (_l, [x]) => { calls.push(`pre2 ${x!.arraySync()}`); return [x!.add(1)]; });
    const post1 = registerForwardHook(fc, (_l, [x], out) => { calls.push(`post1 ${x!.arraySync()} -> ${(out as tf.Tensor).arraySync()}`); });
    const post2 = registerForwardHook(fc, () => { calls.push('post2'); });
    expect(hasOwnCall(fc)).to.equal(true);
    const x = tf.tensor([[0, 1, 2]]);
    const run = () => tf.tidy(() => (net.predict(x) as tf.Tensor).arraySync());
    const before = tf.memory().numTensors;
    expect(run()).to.deep.equal([[9]]); // (0+1) + (2+1) + (4+1)
    expect(tf.memory().numTensors).to.equal(before);
    expect(calls).to.deep.equal(['pre1 0,1,2', 'pre2 0,2,4', 'post1 1,3,5 -> 9', 'post2']);

    calls.length = 0;
    double.remove();
    double.remove(); // idempotent
    post2.remove();
    expect(run()).to.deep.equal([[6]]);
    expect(calls).to.deep.equal(['pre2 0,1,2', 'post1 1,2,3 -> 6']);

    calls.length = 0;
    plusOne.remove();
    post1.remove();
    expect(hasOwnCall(fc)).to.equal(false);
    expect(fc.call).to.equal(Object.getPrototypeOf(fc).call);
    expect(run()).to.deep.equal([[3]]);
    expect(calls).to.deep.equal([]);
    x.dispose();
  });

  it('keeps a call the layer instance already had, and gives each registration of one function its own handle', () => {
    const { fc } = seedModel();
    constantInit(fc, 1);
    const own = function (this: tf.layers.Layer, inputs: tf.Tensor | tf.Tensor[], kwargs: LayerKwargs) {
      return tf.tidy(() => (Object.getPrototypeOf(fc).call.call(this, inputs, kwargs) as tf.Tensor).neg());
    };
    (fc as unknown as { call: unknown }).call = own;
    let count = 0;
    const hook = () => { count++; };
    const a = registerForwardHook(fc, hook);
    registerForwardHook(fc, hook).remove();
    const x = tf.tensor([[0, 1, 2]]);
    const y = fc.apply(x) as tf.Tensor;
    expect([y.arraySync(), count]).to.deep.equal([[[-3]], 1]);
    a.remove();
    expect(fc.call).to.equal(own);
    tf.dispose([x, y]);
  });

  it('fires on a layer that builds on its first call, and via model.apply', () => {
    const dense = tf.layers.dense({ units: 2, kernelInitializer: 'ones' });
    const shapes: number[][] = [];
    registerForwardHook(dense, (layer, _inputs, output) => { shapes.push([layer.getWeights()[0]!.shape[0]!, ...(output as tf.Tensor).shape]); });
    const x = tf.ones([1, 3]);
    const y = dense.apply(x) as tf.Tensor;
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    const inner = model.layers[0]!;
    let kwargsSeen: LayerKwargs | undefined;
    registerForwardHook(inner, (_l, _i, _o, kwargs) => { kwargsSeen = kwargs; });
    const z = model.apply(x, { training: true }) as tf.Tensor;
    expect(shapes).to.deep.equal([[3, 1, 2]]);
    expect(kwargsSeen).to.deep.include({ training: true });
    tf.dispose([x, y, z]);
  });

  it('fires in training (inside tf.variableGrads) and in validation of a real run, without leaking tensors', async () => {
    const { runner, train, val, model } = tinyRunner({ maxEpochs: 2 });
    const fc1 = model.net.getLayer('fc1');
    const modes: boolean[] = [];
    const means: number[] = [];
    registerForwardPreHook(fc1, (_l, [x]) => x!.mul(1)); // a replacement built with an op, inside the gradient tape
    registerForwardHook(fc1, (_l, _inputs, output, kwargs) => {
      modes.push(kwargs.training === true);
      means.push((output as tf.Tensor).mean().dataSync()[0]!); // a synchronous read
    });
    runner.registerTrainingHooks({ optimizerConfig: {} });
    const tensorsAfterIter: number[] = [];
    runner.addEventListener((e) => { if (e.stage === 'afterTrainIter') tensorsAfterIter.push(tf.memory().numTensors); });
    await runner.run([train, val], [['train', 1], ['val', 1]]);
    const epoch = (training: boolean) => Array<boolean>(3).fill(training);
    expect(modes).to.deep.equal([...epoch(true), ...epoch(false), ...epoch(true), ...epoch(false)]);
    expect(means.every(Number.isFinite)).to.equal(true);
    expect(new Set(tensorsAfterIter).size).to.equal(1);
  });

  it('rejects what is not a layer or not a function, and pre-hook results that are not tensors', () => {
    const { fc, net } = seedModel();
    expect(() => registerForwardHook({} as never, () => {})).to.throw('registerForwardHook: expected a tfjs layer (tf.layers.Layer); got object');
    expect(() => registerForwardPreHook(fc, 'hook' as never)).to.throw('registerForwardPreHook: the hook must be a function; got string');
    expect(hasOwnCall(fc)).to.equal(false);
    const bad = registerForwardPreHook(fc, () => 42 as never);
    const x = tf.tensor([[0, 1, 2]]);
    const before = tf.memory().numTensors;
    expect(() => net.predict(x)).to.throw("forward pre-hook of layer 'fc' must return a tensor, a list of tensors, or nothing");
    bad.remove();
    const two = registerForwardPreHook(fc, (_l, [t]) => [t!, t!]);
    expect(() => fc.apply(x)).to.throw("forward pre-hook of layer 'fc' returned 2 tensors for a layer called with one");
    two.remove();
    expect(tf.memory().numTensors).to.equal(before);
    x.dispose();
  });
});
