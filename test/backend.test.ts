import { expect } from 'chai';
import * as tf from '../src/backend/tfjs.js';
import { currentBackend, resolveBackendRequest, selectBackend } from '../src/backend/select-backend.js';

describe('backend selection', () => {
  it('has chosen one backend before the first test tensor', () => {
    const choice = currentBackend();
    expect(choice).to.not.equal(undefined);
    expect(tf.getBackend()).to.equal(choice!.active);
  });

  it('rejects an unknown backend with the allowed values', () => {
    expect(() => resolveBackendRequest('gpu')).to.throw("backend: 'gpu' is not a backend; allowed values are auto, tensorflow, wasm, cpu");
  });

  it('refuses to switch once a backend is active', async () => {
    const other = tf.getBackend() === 'cpu' ? 'wasm' : 'cpu';
    let error: unknown;
    try { await selectBackend(other); } catch (e) { error = e; }
    expect(String(error)).to.contain('must be chosen before the first tensor');
  });
});
