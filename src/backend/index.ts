/**
 * Backend entry point: backend selection plus the kernels hookflow adds to tfjs.
 *
 * Importing this module arranges for {@link registerWasmTrainingKernels} to run whenever the
 * wasm backend is activated, so conv, depthwise/separable conv and embedding layers can train on
 * wasm. Import it (rather than select-backend.js directly) wherever the backend is chosen.
 */
import { onBackendActivated } from './select-backend.js';
import { registerWasmTrainingKernels } from './kernels/index.js';

export * from './select-backend.js';
export * from './kernels/index.js';

// Not awaited: it runs the hook at once only if a backend is already active; otherwise
// selectBackend awaits it (and surfaces any error) when it activates one.
void onBackendActivated((backend) => {
  if (backend === 'wasm') registerWasmTrainingKernels();
});
