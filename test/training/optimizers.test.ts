import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors.js';
import { MLPClassifier } from '../../src/training/model/models.js';
import { Adagrad } from '../../src/training/optim/adagrad.js';
import { Adam, AdamW } from '../../src/training/optim/adam.js';
import { buildOptimizers, isSingleOptimizer } from '../../src/training/optim/build-optimizer.js';
import { clipGradNorm } from '../../src/training/optim/clip-grad.js';
import type { ParamGroupOptimizer } from '../../src/training/optim/param-group-optimizer.js';
import { RMSProp } from '../../src/training/optim/rmsprop.js';
import { SGD } from '../../src/training/optim/sgd.js';

type Values = Record<string, number[]>;
type Hyper = Record<string, any>;
/** PyTorch's update of one scalar parameter; `s` is that scalar's optimizer state. */
type Rule = (p: number, g: number, s: Record<string, number>, h: Hyper, step: number) => number;
type OptimizerClass = new (params: Map<string, tf.Variable>, options: any) => ParamGroupOptimizer;

const SHAPES: Record<string, number[]> = { 'layer/kernel': [2, 2], 'layer/bias': [3] };
// Magnitudes stay above 1 over the steps, so a relative tolerance is meaningful everywhere.
const INIT: Values = { 'layer/kernel': [1.5, -2.25, 3, 1.75], 'layer/bias': [1.3, -1.6, 2.1] };
const STEPS = 5;

/** Gradients of step t (1-based); the bias gets none at step 2. */
function gradsAt(t: number): Values {
  const out: Values = {};
  Object.entries(INIT).forEach(([key, values], k) => {
    if (key === 'layer/bias' && t === 2) return;
    out[key] = values.map((_, i) => Math.fround(Math.sin(t * 1.7 + i * 0.9 + k) * (1 + 0.3 * t)));
  });
  return out;
}

function makeParams(values: Values = INIT): Map<string, tf.Variable> {
  return new Map(Object.entries(values).map(([key, v]) => [key, tf.tidy(() => tf.variable(tf.tensor(v, SHAPES[key]), true))]));
}

function read(params: Map<string, tf.Variable>): Values {
  return Object.fromEntries([...params].map(([key, v]) => [key, Array.from(v.dataSync())]));
}

function disposeAll(params: Map<string, tf.Variable>): void {
  for (const v of params.values()) v.dispose();
}

/** One optimizer step with `grads` as fresh tensors, disposed afterwards. */
function step(opt: ParamGroupOptimizer, grads: Values): void {
  const tensors = new Map(Object.entries(grads).map(([key, g]) => [key, tf.tensor(g, SHAPES[key])]));
  opt.step(tensors);
  for (const t of tensors.values()) t.dispose();
}

function expectClose(actual: Values, expected: Values, what: string): void {
  for (const key of Object.keys(expected)) {
    expected[key]!.forEach((e, i) => {
      const a = actual[key]![i]!;
      expect(Math.abs(a - e), `${what} ${key}[${i}]: ${a} vs ${e}`).to.be.at.most(1e-5 * Math.abs(e));
    });
  }
}

/** Runs `rule` in double precision from the float32 initial values, per-parameter step counts. */
function reference(rule: Rule, start: Hyper, changes: Record<number, Hyper>): Values[] {
  const hyper = structuredClone(start);
  const params: Values = Object.fromEntries(Object.entries(INIT).map(([k, v]) => [k, v.map(Math.fround)]));
  const state: Record<string, Array<Record<string, number>>> = Object.fromEntries(Object.entries(INIT).map(([k, v]) => [k, v.map(() => ({}))]));
  const steps: Record<string, number> = {};
  const history: Values[] = [];
  for (let t = 1; t <= STEPS; t++) {
    Object.assign(hyper, structuredClone(changes[t] ?? {}));
    for (const [key, grads] of Object.entries(gradsAt(t))) {
      steps[key] = (steps[key] ?? 0) + 1;
      params[key] = params[key]!.map((p, i) => rule(p, grads[i]!, state[key]![i]!, hyper, steps[key]!));
    }
    history.push(structuredClone(params));
  }
  return history;
}

// PyTorch's update rules (torch/optim/*.py, single-tensor paths), written out for one scalar.
const sgdRule: Rule = (p, g, s, h) => {
  let d = g + h.weightDecay * p;
  if (h.momentum !== 0) {
    s.buf = s.buf === undefined ? d : h.momentum * s.buf + (1 - h.dampening) * d;
    d = h.nesterov ? d + h.momentum * s.buf : s.buf;
  }
  return p - h.lr * d;
};
const adamRule = (decoupled: boolean): Rule => (p, g, s, h, t) => {
  const [b1, b2] = h.betas as [number, number];
  if (decoupled) p *= 1 - h.lr * h.weightDecay;
  else g += h.weightDecay * p;
  s.m = b1 * (s.m ?? 0) + (1 - b1) * g;
  s.v = b2 * (s.v ?? 0) + (1 - b2) * g * g;
  const denom = Math.sqrt(s.v) / Math.sqrt(1 - b2 ** t) + h.eps;
  return p - (h.lr / (1 - b1 ** t)) * (s.m / denom);
};
const rmspropRule: Rule = (p, g, s, h) => {
  g += h.weightDecay * p;
  s.sq = h.alpha * (s.sq ?? 0) + (1 - h.alpha) * g * g;
  let avg: number;
  if (h.centered) {
    s.ga = h.alpha * (s.ga ?? 0) + (1 - h.alpha) * g;
    avg = Math.sqrt(s.sq - s.ga * s.ga) + h.eps;
  } else {
    avg = Math.sqrt(s.sq) + h.eps;
  }
  if (h.momentum > 0) {
    s.buf = h.momentum * (s.buf ?? 0) + g / avg;
    return p - h.lr * s.buf;
  }
  return p - h.lr * (g / avg);
};
const adagradRule: Rule = (p, g, s, h, t) => {
  g += h.weightDecay * p;
  const clr = h.lr / (1 + (t - 1) * h.lrDecay);
  s.sum = (s.sum ?? h.initialAccumulatorValue) + g * g;
  return p - clr * (g / (Math.sqrt(s.sum) + h.eps));
};

interface Case {
  name: string;
  Cls: OptimizerClass;
  options: Record<string, unknown>;
  rule: Rule;
  /** Param-group changes applied before step t (as LR/momentum hooks do between iterations). */
  changes: Record<number, Hyper>;
}

const CASES: Case[] = [
  { name: 'SGD', Cls: SGD, options: { lr: 0.1 }, rule: sgdRule, changes: { 3: { lr: 0.05 } } },
  { name: 'SGD momentum', Cls: SGD, options: { lr: 0.1, momentum: 0.9 }, rule: sgdRule, changes: { 3: { momentum: 0.5 }, 4: { lr: 0.02 } } },
  { name: 'SGD dampening', Cls: SGD, options: { lr: 0.1, momentum: 0.9, dampening: 0.3 }, rule: sgdRule, changes: { 4: { dampening: 0.6, lr: 0.03 } } },
  { name: 'SGD nesterov', Cls: SGD, options: { lr: 0.05, momentum: 0.9, nesterov: true }, rule: sgdRule, changes: { 3: { momentum: 0.8 }, 5: { lr: 0.1 } } },
  { name: 'SGD weightDecay', Cls: SGD, options: { lr: 0.1, momentum: 0.9, weightDecay: 0.05 }, rule: sgdRule, changes: { 3: { weightDecay: 0.1, lr: 0.05 } } },
  { name: 'Adam', Cls: Adam, options: { lr: 0.05 }, rule: adamRule(false), changes: { 3: { betas: [0.8, 0.99] }, 4: { lr: 0.02 } } },
  { name: 'Adam eps weightDecay', Cls: Adam, options: { lr: 0.05, betas: [0.85, 0.995], eps: 0.01, weightDecay: 0.1 }, rule: adamRule(false), changes: { 4: { lr: 0.1 } } },
  { name: 'AdamW', Cls: AdamW, options: { lr: 0.05 }, rule: adamRule(true), changes: { 3: { lr: 0.03, betas: [0.7, 0.9] } } },
  { name: 'AdamW weightDecay eps', Cls: AdamW, options: { lr: 0.05, weightDecay: 0.2, eps: 0.01 }, rule: adamRule(true), changes: { 4: { weightDecay: 0.05 } } },
  { name: 'RMSProp', Cls: RMSProp, options: { lr: 0.01 }, rule: rmspropRule, changes: { 3: { lr: 0.005, alpha: 0.9 } } },
  { name: 'RMSProp centered', Cls: RMSProp, options: { lr: 0.01, centered: true, eps: 0.01 }, rule: rmspropRule, changes: { 4: { lr: 0.02 } } },
  { name: 'RMSProp momentum', Cls: RMSProp, options: { lr: 0.01, momentum: 0.9, weightDecay: 0.01 }, rule: rmspropRule, changes: { 3: { momentum: 0.5 }, 4: { lr: 0.003 } } },
  { name: 'RMSProp centered momentum', Cls: RMSProp, options: { lr: 0.01, alpha: 0.9, centered: true, momentum: 0.8 }, rule: rmspropRule, changes: { 3: { alpha: 0.95 } } },
  { name: 'Adagrad', Cls: Adagrad, options: { lr: 0.1 }, rule: adagradRule, changes: { 3: { lr: 0.05 } } },
  { name: 'Adagrad lrDecay initialAccumulatorValue', Cls: Adagrad, options: { lr: 0.1, lrDecay: 0.05, initialAccumulatorValue: 0.1, weightDecay: 0.01, eps: 0.001 }, rule: adagradRule, changes: { 4: { lrDecay: 0.2, lr: 0.3 } } },
];

/** The hyper-parameters of group 0 without the parameter keys. */
function hyperOf(opt: ParamGroupOptimizer): Hyper {
  const { params: _params, ...rest } = opt.paramGroups[0]!;
  return structuredClone(rest);
}

describe('optimizers against PyTorch\'s update rules', () => {
  for (const c of CASES) {
    it(`${c.name}: ${STEPS} steps with param-group changes in between`, () => {
      const params = makeParams();
      const opt = new c.Cls(params, c.options);
      const expected = reference(c.rule, hyperOf(opt), c.changes);
      try {
        for (let t = 1; t <= STEPS; t++) {
          Object.assign(opt.paramGroups[0]!, structuredClone(c.changes[t] ?? {}));
          step(opt, gradsAt(t));
          expectClose(read(params), expected[t - 1]!, `step ${t}`);
        }
        // Changes take effect: without them the end point would differ.
        const unchanged = reference(c.rule, hyperOf(new c.Cls(makeParams(), c.options)), {});
        expect(JSON.stringify(unchanged.at(-1))).to.not.equal(JSON.stringify(expected.at(-1)));
      } finally {
        opt.dispose();
        disposeAll(params);
      }
    });
  }

  it('uses PyTorch\'s defaults', () => {
    const params = makeParams();
    const groups = [SGD, Adam, AdamW, RMSProp, Adagrad].map((Cls) => hyperOf(new Cls(params, { lr: 0.1 })));
    expect(groups).to.deep.equal([
      { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 },
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 },
      { lr: 0.1, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false, weightDecay: 0 },
      { lr: 0.1, lrDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, weightDecay: 0 },
    ]);
    disposeAll(params);
  });

  it('leaves parameters without a gradient untouched', () => {
    for (const c of CASES) {
      const params = makeParams();
      const opt = new c.Cls(params, c.options);
      step(opt, { 'layer/kernel': [0.5, -0.5, 1, -1] });
      step(opt, { 'layer/kernel': [0.2, 0.3, -0.1, 0.4] });
      const after = read(params);
      expect(after['layer/bias'], c.name).to.deep.equal(INIT['layer/bias']!.map(Math.fround));
      expect(after['layer/kernel'], c.name).to.not.deep.equal(INIT['layer/kernel']!.map(Math.fround));
      // No state was created for it either: its first step is a first step.
      const stateKeys = Object.keys(opt.stateDict().steps);
      expect(stateKeys, c.name).to.deep.equal(['layer/kernel']);
      opt.dispose();
      disposeAll(params);
    }
  });

  it('stateDict()/loadStateDict() continue exactly where the optimizer was', () => {
    for (const c of CASES) {
      const paramsA = makeParams();
      const a = new c.Cls(paramsA, c.options);
      for (let t = 1; t <= 3; t++) {
        Object.assign(a.paramGroups[0]!, structuredClone(c.changes[t] ?? {}));
        step(a, gradsAt(t));
      }
      const state = a.stateDict();
      const paramsB = makeParams(read(paramsA));
      const b = new c.Cls(paramsB, c.options);
      b.loadStateDict(state);
      const paramsC = makeParams(read(paramsA));
      const fresh = new c.Cls(paramsC, c.options);
      Object.assign(fresh.paramGroups[0]!, hyperOf(a));
      // The loaded copy owns its tensors: disposing the state dict's must not matter.
      for (const t of Object.values(state.slots)) t.dispose();
      expect(b.paramGroups).to.deep.equal(a.paramGroups);
      for (let t = 4; t <= STEPS; t++) {
        for (const opt of [a, b, fresh]) {
          Object.assign(opt.paramGroups[0]!, structuredClone(c.changes[t] ?? {}));
          step(opt, gradsAt(t));
        }
      }
      expect(read(paramsB), c.name).to.deep.equal(read(paramsA));
      // Plain SGD has no state; for the others a fresh optimizer would go elsewhere.
      if (c.name !== 'SGD') expect(read(paramsC), `${c.name} (fresh optimizer)`).to.not.deep.equal(read(paramsA));
      for (const opt of [a, b, fresh]) opt.dispose();
      [paramsA, paramsB, paramsC].forEach(disposeAll);
    }
  });

  it('stateDict is a snapshot: later steps and changes do not alter it', () => {
    const params = makeParams();
    const opt = new SGD(params, { lr: 0.1, momentum: 0.9 });
    step(opt, gradsAt(1));
    const state = opt.stateDict();
    const slot = Array.from(state.slots['layer/kernel/momentumBuffer']!.dataSync());
    opt.paramGroups[0]!.lr = 0.5;
    step(opt, gradsAt(3));
    expect(state.paramGroups[0]!.lr).to.equal(0.1);
    expect(state.steps).to.deep.equal({ 'layer/kernel': 1, 'layer/bias': 1 });
    expect(Array.from(state.slots['layer/kernel/momentumBuffer']!.dataSync())).to.deep.equal(slot);
    expect(Object.keys(state.slots).sort()).to.deep.equal(['layer/bias/momentumBuffer', 'layer/kernel/momentumBuffer']);
    for (const t of Object.values(state.slots)) t.dispose();
    opt.dispose();
    disposeAll(params);
  });

  it('refuses state of another optimizer type or group count', () => {
    const params = makeParams();
    const sgd = new SGD(params, { lr: 0.1 });
    const adam = new Adam(params, { lr: 0.1 });
    expect(() => adam.loadStateDict(sgd.stateDict())).to.throw(Error).with.property('message', 'optimizer state is for SGD, this optimizer is Adam');
    const twoGroups = { ...sgd.stateDict(), paramGroups: [...sgd.paramGroups, ...sgd.paramGroups] };
    expect(() => sgd.loadStateDict(twoGroups)).to.throw(Error).with.property('message', 'optimizer state has 2 param groups, this optimizer has 1');
    disposeAll(params);
  });

  it('keeps the tensor count flat over many steps and state round trips', () => {
    const start = tf.memory().numTensors;
    for (const c of CASES) {
      const params = makeParams();
      const opt = new c.Cls(params, c.options);
      step(opt, gradsAt(1));
      const afterFirst = tf.memory().numTensors;
      for (let t = 0; t < 30; t++) step(opt, gradsAt(1 + (t % STEPS)));
      expect(tf.memory().numTensors, c.name).to.equal(afterFirst);
      for (let k = 0; k < 3; k++) {
        const state = opt.stateDict();
        opt.loadStateDict(state);
        for (const t of Object.values(state.slots)) t.dispose();
      }
      step(opt, gradsAt(2));
      expect(tf.memory().numTensors, `${c.name} after state round trips`).to.equal(afterFirst);
      opt.dispose();
      disposeAll(params);
      expect(tf.memory().numTensors, `${c.name} after dispose`).to.equal(start);
    }
  });
});

describe('optimizer validation', () => {
  const params = makeParams();
  after(() => disposeAll(params));

  const cases: Array<[string, () => unknown, string]> = [
    ['negative lr', () => new SGD(params, { lr: -1 }), 'optimizer.lr: must be a finite number >= 0; got -1'],
    ['missing lr', () => new Adam(params, {} as never), 'optimizer.lr: must be a finite number >= 0; got nothing'],
    ['infinite lr', () => new RMSProp(params, { lr: Infinity }), 'optimizer.lr: must be a finite number >= 0; got Infinity'],
    ['negative weightDecay', () => new AdamW(params, { lr: 0.1, weightDecay: -0.1 }), 'optimizer.weightDecay: must be a number >= 0; got -0.1'],
    ['betas out of range', () => new Adam(params, { lr: 0.1, betas: [0.9, 1] }), 'optimizer.betas: must be two numbers in [0, 1); got [0.9,1]'],
    ['one beta', () => new AdamW(params, { lr: 0.1, betas: [0.9] as never }), 'optimizer.betas: must be two numbers in [0, 1); got [0.9]'],
    ['nesterov without momentum', () => new SGD(params, { lr: 0.1, nesterov: true }), 'optimizer.nesterov: needs momentum > 0 and dampening 0'],
    ['nesterov with dampening', () => new SGD(params, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), 'optimizer.nesterov: needs momentum > 0 and dampening 0'],
    ['negative momentum', () => new SGD(params, { lr: 0.1, momentum: -0.5 }), 'optimizer.momentum: must be >= 0; got -0.5'],
    ['negative RMSProp momentum', () => new RMSProp(params, { lr: 0.1, momentum: -1 }), 'optimizer.momentum: must be >= 0; got -1'],
    ['negative alpha', () => new RMSProp(params, { lr: 0.1, alpha: -0.1 }), 'optimizer.alpha: must be >= 0; got -0.1'],
    ['negative lrDecay', () => new Adagrad(params, { lr: 0.1, lrDecay: -1 }), 'optimizer.lrDecay: must be >= 0; got -1'],
    ['negative initialAccumulatorValue', () => new Adagrad(params, { lr: 0.1, initialAccumulatorValue: -1 }), 'optimizer.initialAccumulatorValue: must be >= 0; got -1'],
    ['negative eps', () => new Adam(params, { lr: 0.1, eps: -1e-8 }), 'optimizer.eps: must be a number >= 0; got -1e-8'],
    ['negative Adagrad eps', () => new Adagrad(params, { lr: 0.1, eps: -1 }), 'optimizer.eps: must be a number >= 0; got -1'],
    ['a misspelt option', () => new SGD(params, { lr: 0.1, momentun: 0.9 } as never),
      "optimizer: unknown option 'momentun' (did you mean 'momentum'?); allowed options: lr, momentum, dampening, nesterov, weightDecay"],
    ['an option of another optimizer', () => new Adam(params, { lr: 0.1, momentum: 0.9 } as never),
      "optimizer: unknown option 'momentum'; allowed options: lr, betas, eps, weightDecay"],
    ['no parameters', () => new SGD(new Map(), { lr: 0.1 }), 'optimizer.params: selects no trainable parameter'],
    ['a momentum given as a string', () => new SGD(params, { lr: 0.1, momentum: '0.9' as never }), 'optimizer.momentum: must be a finite number; got the string "0.9"'],
    ['a switch given as a string', () => new RMSProp(params, { lr: 0.1, centered: 'yes' as never }), 'optimizer.centered: must be true or false; got the string "yes"'],
    ['a NaN alpha', () => new RMSProp(params, { lr: 0.1, alpha: NaN }), 'optimizer.alpha: must be >= 0; got NaN'],
  ];
  for (const [what, build, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(build).to.throw(ConfigError).with.property('message', message);
    });
  }
});

describe('buildOptimizers', () => {
  const model = MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3 });
  const params = model.params();

  it('builds one optimizer over every parameter from a config with a type', () => {
    const opt = buildOptimizers({ type: 'Adam', lr: 0.01, betas: [0.8, 0.9] }, params);
    expect(isSingleOptimizer(opt)).to.equal(true);
    const single = opt as ParamGroupOptimizer;
    expect(single).to.be.instanceOf(Adam);
    expect(single.paramKeys()).to.deep.equal(['fc1/kernel', 'fc1/bias', 'logits/kernel', 'logits/bias']);
    expect(single.paramGroups[0]!.betas).to.deep.equal([0.8, 0.9]);
  });

  it('builds a map of named optimizers, each over the parameters its layer prefix selects', () => {
    const opts = buildOptimizers({
      body: { type: 'SGD', lr: 0.1, momentum: 0.9, params: 'fc1' },
      head: { type: 'RMSProp', lr: 0.01, params: 'logits/k' },
    }, params);
    expect(isSingleOptimizer(opts)).to.equal(false);
    const map = opts as Record<string, ParamGroupOptimizer>;
    expect(Object.keys(map)).to.deep.equal(['body', 'head']);
    expect(map.body).to.be.instanceOf(SGD);
    expect(map.body!.paramKeys()).to.deep.equal(['fc1/kernel', 'fc1/bias']);
    expect(map.body!.paramGroups[0]).to.deep.include({ lr: 0.1, momentum: 0.9 });
    expect(map.head).to.be.instanceOf(RMSProp);
    expect(map.head!.paramKeys()).to.deep.equal(['logits/kernel']);
    expect(map.head!.param('logits/kernel')).to.equal(params.get('logits/kernel'));
  });

  it('steps each named optimizer on its own parameters only', () => {
    const fresh = MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3 }).params();
    const opts = buildOptimizers({ body: { type: 'SGD', lr: 0.1, params: 'fc1' } }, fresh) as Record<string, ParamGroupOptimizer>;
    const before = new Map([...fresh].map(([k, v]) => [k, Array.from(v.dataSync())]));
    const grads = new Map([...fresh].map(([k, v]) => [k, tf.onesLike(v)]));
    opts.body!.step(grads);
    grads.forEach((g) => g.dispose());
    for (const [key, v] of fresh) {
      const moved = Array.from(v.dataSync()).some((x, i) => x !== before.get(key)![i]);
      expect(moved, key).to.equal(key.startsWith('fc1'));
    }
  });

  const errors: Array<[string, unknown, string]> = [
    ['a prefix that selects nothing', { body: { type: 'SGD', lr: 0.1, params: 'conv' } },
      "optimizer.body.params: 'conv' selects no parameter; parameter keys start with fc1, logits"],
    ['a params selector that is not a string', { body: { type: 'SGD', lr: 0.1, params: ['fc1'] } },
      'optimizer.body.params: must be a layer-name prefix string'],
    ['a named entry without a type', { body: { lr: 0.1, params: 'fc1' } },
      "optimizer.body: must be an optimizer config with a 'type' (one of SGD, Adam, AdamW, RMSProp, Adagrad)"],
    ['an empty map', {}, 'optimizer: the map of optimizers is empty'],
    ['a non-object', [], 'optimizer: must be an object: { type, lr, ... } or a map of named optimizers'],
    ['an unknown type', { type: 'Sgd', lr: 0.1 },
      "optimizer: 'Sgd' is not in the optimizer registry. Did you mean 'SGD'? Registered: SGD, Adam, AdamW, RMSProp, Adagrad"],
    ['an unknown type in a map', { head: { type: 'Adamm', lr: 0.1, params: 'logits' } },
      "optimizer.head: 'Adamm' is not in the optimizer registry. Did you mean 'Adam', 'AdamW'? Registered: SGD, Adam, AdamW, RMSProp, Adagrad"],
    ['a bad option of a named optimizer', { head: { type: 'SGD', lr: -1, params: 'logits' } },
      'optimizer.head.lr: must be a finite number >= 0; got -1'],
    ['a misspelt option of a named optimizer', { head: { type: 'Adam', lr: 0.1, beta: [0.9, 0.99], params: 'logits' } },
      "optimizer.head: unknown option 'beta' (did you mean 'betas'?); allowed options: lr, betas, eps, weightDecay"],
  ];
  for (const [what, cfg, message] of errors) {
    it(`explains ${what}`, () => {
      expect(() => buildOptimizers(cfg, params)).to.throw(ConfigError).with.property('message', message);
    });
  }
});

describe('clipGradNorm', () => {
  const VALUES: Values = { a: [3, -4], b: [1, 2, -2, 0] };
  const grads = () => new Map<string, tf.Tensor>([['a', tf.tensor1d(VALUES.a!)], ['b', tf.tensor2d(VALUES.b!, [2, 2])]]);
  const flat = Object.values(VALUES).flat();

  const norms: Array<[number, number]> = [[2, Math.sqrt(flat.reduce((s, v) => s + v * v, 0))], [1, 12], [Infinity, 4], [3, Math.cbrt(flat.reduce((s, v) => s + Math.abs(v) ** 3, 0))]];
  for (const [p, norm] of norms) {
    it(`p=${p}: returns the pre-clip norm and scales by maxNorm / (norm + 1e-6) when above maxNorm`, () => {
      const start = tf.memory().numTensors;
      const g = grads();
      const originals = [...g.values()];
      const maxNorm = norm / 2;
      const total = clipGradNorm(g, { maxNorm, normType: p });
      expect(Math.abs(total - norm)).to.be.at.most(1e-6 * norm);
      const coef = maxNorm / (total + 1e-6);
      const clipped = [...g.values()].flatMap((t) => Array.from(t.dataSync()));
      clipped.forEach((v, i) => expect(Math.abs(v - flat[i]! * coef), `element ${i}`).to.be.at.most(1e-6));
      expect(g.get('b')!.shape).to.deep.equal([2, 2]);
      expect(originals.every((t) => t.isDisposed)).to.equal(true);
      g.forEach((t) => t.dispose());
      expect(tf.memory().numTensors).to.equal(start);
    });

    it(`p=${p}: leaves gradients alone when the norm is within maxNorm`, () => {
      const g = grads();
      const originals = [...g.values()];
      expect(Math.abs(clipGradNorm(g, { maxNorm: norm * 1.01, normType: p }) - norm)).to.be.at.most(1e-6 * norm);
      expect([...g.values()]).to.deep.equal(originals);
      expect([...g.values()].flatMap((t) => Array.from(t.dataSync()))).to.deep.equal(flat);
      g.forEach((t) => t.dispose());
    });
  }

  it('defaults to the 2-norm and returns 0 for no gradients', () => {
    const g = grads();
    expect(Math.abs(clipGradNorm(g, { maxNorm: 100 }) - Math.sqrt(34))).to.be.at.most(1e-5);
    g.forEach((t) => t.dispose());
    expect(clipGradNorm(new Map(), { maxNorm: 1 })).to.equal(0);
  });
});
