/**
 * Backend entry point: backend selection plus the kernels hookflow adds to tfjs.
 *
 * Importing this module arranges for {@link registerWasmTrainingKernels} to run whenever the
 * wasm backend is activated, so conv, depthwise/separable conv and embedding layers can train on
 * wasm. Import it (rather than select-backend.js directly) wherever the backend is chosen.
 */
import { onBackendActivated, type BackendChoice } from './select-backend.js';
import { nativeBlasStatus, registerWasmTrainingKernels } from './kernels/index.js';

export * from './select-backend.js';
export * from './kernels/index.js';

// Not awaited: it runs the hook at once only if a backend is already active; otherwise
// selectBackend awaits it (and surfaces any error) when it activates one.
void onBackendActivated((backend) => {
  if (backend === 'wasm') registerWasmTrainingKernels();
});

/**
 * The active backend for logs, e.g. `wasm + native BLAS (OpenBLAS, 1 thread)` or
 * `wasm (native BLAS off: ...)`, plus the backends skipped on the way.
 */
export function describeBackend(choice: BackendChoice): string {
  let text: string = choice.active;
  if (choice.active === 'wasm') {
    const blas = nativeBlasStatus();
    text += blas.active ? ` + native BLAS (${blas.library}, ${blas.threads} thread${blas.threads === 1 ? '' : 's'})` : ` (native BLAS off: ${blas.reason})`;
  }
  return choice.fallbacks.length ? `${text} (skipped: ${choice.fallbacks.join('; ')})` : text;
}
