import * as tf from '../../../src/backend/tfjs.js';
import { expect } from 'chai';
import { ConfigError } from '../../../src/core/errors.js';
import { METRICS, accuracy, buildMetric, loss, topKAccuracy, type EvalResults } from '../../../plugins/eval/metrics.js';
import { DEFAULT_GREATER_KEYS, DEFAULT_LESS_KEYS, inferRule, isImprovement } from '../../../plugins/eval/rule.js';

/** 4 samples, 3 classes: a right guess, a wrong one, a tie (first maximum wins), a right one. */
const results: EvalResults = {
  outputs: Float32Array.from([2, 1, 0, 0, 3, 1, 1, 1, 0, 0, 0, 5]),
  numOutputs: 3,
  labels: Int32Array.from([0, 2, 1, 2]),
  numSamples: 4,
};

describe('metrics', () => {
  it('accuracy takes the first maximum as the prediction, like argMax', () => {
    expect(accuracy()(results)).to.deep.equal({ accuracy: 0.5 });
  });

  it('topKAccuracy counts labels among the k best outputs, named top<k>Accuracy', () => {
    expect(topKAccuracy({ k: 1 })(results)).to.deep.equal({ top1Accuracy: 0.5 });
    expect(topKAccuracy({ k: 2 })(results)).to.deep.equal({ top2Accuracy: 1 });
    expect(() => topKAccuracy()(results)).to.throw('top5Accuracy: k = 5 exceeds the number of classes (3)');
  });

  it('loss is the mean softmax cross-entropy of the outputs as logits', () => {
    const rows = [[2, 1, 0], [0, 3, 1], [1, 1, 0], [0, 0, 5]];
    const labels = [0, 2, 1, 2];
    const expected = rows.reduce((sum, row, i) => sum + Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[labels[i]!]!, 0) / 4;
    const { loss: value } = loss()(results);
    expect(value).to.be.closeTo(expected, 1e-12);
    const viaTf = tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), tf.tensor2d(rows)).dataSync()[0]!);
    expect(value).to.be.closeTo(viaTf, 1e-6);
  });

  it('validates metric options and builds metrics by name, config or function', () => {
    expect(() => topKAccuracy({ k: 0 })).to.throw(ConfigError, 'topKAccuracy.k: must be a positive integer; got 0');
    expect(() => accuracy({ k: 2 } as never)).to.throw(ConfigError, "accuracy: unknown option 'k'; it takes no options");
    expect(buildMetric('accuracy', 'm')(results)).to.deep.equal({ accuracy: 0.5 });
    expect(buildMetric({ type: 'topKAccuracy', k: 2 }, 'm')(results)).to.deep.equal({ top2Accuracy: 1 });
    const own = () => ({ seven: 7 });
    expect(buildMetric(own, 'm')).to.equal(own);
    expect(() => buildMetric('acuracy', 'EvalHook.metrics[0]')).to.throw(ConfigError,
      "EvalHook.metrics[0]: 'acuracy' is not in the metric registry. Did you mean 'accuracy'");
    expect(() => buildMetric({ type: 'topKAccuracy', k: -1 }, 'EvalHook.metrics[1]')).to.throw(ConfigError,
      'EvalHook.metrics[1].topKAccuracy.k: must be a positive integer; got -1');
  });

  it('takes user metrics registered in METRICS', () => {
    const name = 'metricsTestMedianLabel';
    METRICS.register(() => (r: EvalResults) => ({ medianLabel: [...r.labels].sort()[r.numSamples >> 1]! }), name);
    expect(buildMetric(name, 'm')(results)).to.deep.equal({ medianLabel: 2 });
  });
});

describe('rule inference', () => {
  const table: Array<[string, 'greater' | 'less']> = [
    ['acc', 'greater'], ['accuracy', 'greater'], ['ACCURACY', 'greater'], ['top2Accuracy', 'greater'],
    ['mAP', 'greater'], ['map', 'greater'], ['bbox_mAP', 'greater'], ['AR@100', 'greater'], ['auc', 'greater'],
    ['precision', 'greater'], ['mIoU', 'greater'], ['loss', 'less'], ['LOSS', 'less'], ['val_loss', 'less'],
    // Containment of a greater key is checked before containment of a less key.
    ['loss_top', 'greater'],
  ];
  for (const [key, rule] of table) {
    it(`${key} -> ${rule}`, () => expect(inferRule(key)).to.equal(rule));
  }

  it('checks exact matches before containment, with the given key lists', () => {
    expect(inferRule('loss_top', DEFAULT_GREATER_KEYS, ['loss_top'])).to.equal('less');
    expect(inferRule('recall', ['recall'], [])).to.equal('greater');
    expect(inferRule('error', [], ['err'])).to.equal('less');
  });

  it('asks for a rule when it cannot infer one', () => {
    expect(() => inferRule('recall', DEFAULT_GREATER_KEYS, DEFAULT_LESS_KEYS, 'EvalHook.saveBest')).to.throw(ConfigError,
      "EvalHook.saveBest: cannot infer whether a greater or a less 'recall' is better; set rule to 'greater' or 'less' "
      + '(greater keys: acc, top, AR@, auc, precision, mAP, mDice, mIoU, mAcc, aAcc; less keys: loss)');
  });

  it('compares strictly, by more than minDelta', () => {
    expect(isImprovement('greater', 1, 1)).to.equal(false);
    expect(isImprovement('greater', 1.5, 1)).to.equal(true);
    expect(isImprovement('greater', 0, -Infinity)).to.equal(true);
    expect(isImprovement('less', 1, 1)).to.equal(false);
    expect(isImprovement('less', 0, Infinity)).to.equal(true);
    expect(isImprovement('greater', 1.05, 1, 0.1)).to.equal(false);
    expect(isImprovement('less', 0.85, 1, 0.1)).to.equal(true);
    expect(isImprovement('less', 0.95, 1, 0.1)).to.equal(false);
    expect(isImprovement('greater', Number.NaN, -Infinity)).to.equal(false);
  });
});
