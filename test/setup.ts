// Mocha root hooks: decorator metadata first, then one backend for the whole run.
import 'reflect-metadata';
import { selectBackend } from '../src/backend/index.js';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await selectBackend(process.env.HOOKFLOW_BACKEND ?? 'wasm');
  },
};
