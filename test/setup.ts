// Mocha root hooks: decorator metadata first, then one backend for the whole run.
import 'reflect-metadata';
import { selectBackend } from '../src/backend/index.js';

// The test kit chooses the backend when spec files import it: the same one as below.
process.env.HOOKFLOW_BACKEND ??= 'wasm';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await selectBackend(process.env.HOOKFLOW_BACKEND ?? 'wasm');
  },
};
