/**
 * Picks the tfjs backend once, before the first tensor exists.
 *
 * `auto` prefers `tensorflow` (native libtensorflow through @tensorflow/tfjs-node) when that
 * optional package loads, then `wasm`, then the pure-JS `cpu` backend.
 */
import * as tf from './tfjs.js';

/** Backends hookflow knows how to choose. */
export const BACKEND_NAMES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What {@link selectBackend} settled on, and why. */
export interface BackendChoice {
  requested: BackendName;
  active: Exclude<BackendName, 'auto'>;
  /** Why a preferred backend was skipped (empty when the first choice worked). */
  fallbacks: string[];
}

let chosen: BackendChoice | undefined;
let pending: Promise<BackendChoice> | undefined;

/** Listeners that install extra kernels when a backend becomes active (see src/backend/kernels). */
const activationHooks: Array<(backend: Exclude<BackendName, 'auto'>) => void | Promise<void>> = [];

/** Runs `fn` whenever {@link selectBackend} activates a backend (and at once if one is active). */
export async function onBackendActivated(fn: (backend: Exclude<BackendName, 'auto'>) => void | Promise<void>): Promise<void> {
  activationHooks.push(fn);
  if (chosen) await fn(chosen.active);
}

/** Resolves `auto` and the `HOOKFLOW_BACKEND` environment variable into a concrete request. */
export function resolveBackendRequest(requested?: string): BackendName {
  const value = (requested ?? process.env.HOOKFLOW_BACKEND ?? 'auto').trim().toLowerCase();
  if (!(BACKEND_NAMES as readonly string[]).includes(value)) {
    throw new Error(`backend: '${value}' is not a backend; allowed values are ${BACKEND_NAMES.join(', ')}`);
  }
  return value as BackendName;
}

async function tryTensorflow(): Promise<boolean> {
  try {
    // A computed specifier keeps TypeScript from requiring the optional package's types.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

async function activate(requested: BackendName): Promise<BackendChoice> {
  tf.enableProdMode();
  const fallbacks: string[] = [];
  const order: Array<Exclude<BackendName, 'auto'>> =
    requested === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [requested];
  for (const name of order) {
    let ok = false;
    if (name === 'tensorflow') ok = await tryTensorflow();
    else if (name === 'wasm') ok = await tryWasm();
    else ok = await tf.setBackend('cpu');
    if (ok) {
      await tf.ready();
      const choice: BackendChoice = { requested, active: name, fallbacks };
      for (const fn of activationHooks) await fn(name);
      return choice;
    }
    fallbacks.push(name === 'tensorflow' ? '@tensorflow/tfjs-node is not installed or failed to load' : `${name} backend failed to initialise`);
  }
  throw new Error(`backend: '${requested}' could not be initialised (${fallbacks.join('; ')})`);
}

/**
 * Chooses and initialises the backend. Call it once, before creating any tensor; later calls
 * return the first choice (asking for a different backend afterwards is an error, since tensors
 * may already live on the first one).
 */
export async function selectBackend(requested?: string): Promise<BackendChoice> {
  const want = resolveBackendRequest(requested);
  if (chosen) {
    if (want !== 'auto' && want !== chosen.requested && want !== chosen.active) {
      throw new Error(`backend: '${chosen.active}' is already active; '${want}' must be chosen before the first tensor`);
    }
    return chosen;
  }
  pending ??= activate(want).then((c) => (chosen = c));
  return pending;
}

/** The active choice, or undefined before {@link selectBackend} ran. */
export function currentBackend(): BackendChoice | undefined {
  return chosen;
}
