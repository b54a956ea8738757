/**
 * PyTorch-style forward hooks (`register_forward_hook`, `register_forward_pre_hook`) for tfjs
 * layers.
 *
 * Both run wherever the layer computes on concrete tensors: `model.predict`, `model.apply`,
 * `layer.apply(tensor)`, and training (`model.fit`, `tf.variableGrads`, a Classifier's
 * `trainStep`). They do not run while a model is being built on symbolic tensors. A hook on a
 * whole LayersModel runs when the model is called as a layer (`model.apply`, or nested in
 * another model), not for `model.predict`, which runs the inner layers directly: hook those.
 *
 * Rules for hook functions:
 * - They are synchronous, like a layer's `call`. Reading a value (`dataSync`, `arraySync`)
 *   blocks until the backend has computed it, also inside training.
 * - The tensors they receive belong to the computation: never dispose them.
 * - Each hook runs inside `tf.tidy`: tensors it creates are freed when it returns, unless it
 *   returns them (a pre-hook's replacement inputs) or `tf.keep`s them (then it disposes them).
 * - During training, tensor ops in a hook are recorded for the gradient like the layer's own.
 */
import * as tf from '../backend/tfjs.js';

/** The layer class hooks attach to (every tfjs layer and model). */
export type Layer = tf.layers.Layer;

/** The keyword arguments tfjs passes to `Layer.call` (e.g. `{ training: true }`). */
export type LayerKwargs = Record<string, unknown>;

/**
 * Called after the layer computed `output` from `inputs` (always a list, like PyTorch's input
 * tuple; the inputs after any pre-hook replaced them).
 */
export type ForwardHook<L extends Layer = Layer> = (layer: L, inputs: tf.Tensor[], output: tf.Tensor | tf.Tensor[], kwargs: LayerKwargs) => void;

/**
 * Called before the layer computes. Returning tensors replaces the inputs (a single tensor
 * or a list); returning nothing keeps them.
 */
export type ForwardPreHook<L extends Layer = Layer> = (layer: L, inputs: tf.Tensor[], kwargs: LayerKwargs) => tf.Tensor | tf.Tensor[] | void;

/** What the register functions return. */
export interface RemovableHandle {
  /** Detaches the hook; once a layer has no hook left, its original `call` is back. Idempotent. */
  remove(): void;
}

type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: LayerKwargs) => tf.Tensor | tf.Tensor[];

interface HookedLayer {
  /** The layer's own `call` property before patching (normally none: `call` lives on the prototype). */
  ownCall: PropertyDescriptor | undefined;
  original: CallFn;
  pre: Array<ForwardPreHook<any>>;
  post: Array<ForwardHook<any>>;
}

const hooked = new WeakMap<Layer, HookedLayer>();

function attach(layer: Layer, caller: string): HookedLayer {
  if (!(layer instanceof tf.layers.Layer)) throw new TypeError(`${caller}: expected a tfjs layer (tf.layers.Layer); got ${layer === null ? 'null' : typeof layer}`);
  const existing = hooked.get(layer);
  if (existing) return existing;
  const state: HookedLayer = {
    ownCall: Object.getOwnPropertyDescriptor(layer, 'call'),
    original: (layer.call as CallFn).bind(layer),
    pre: [],
    post: [],
  };
  // An own property shadows the prototype's call for this instance only.
  Object.defineProperty(layer, 'call', {
    value: (inputs: tf.Tensor | tf.Tensor[], kwargs: LayerKwargs) => callWithHooks(layer, state, inputs, kwargs ?? {}),
    writable: true,
    configurable: true,
  });
  hooked.set(layer, state);
  return state;
}

function detachIfUnused(layer: Layer, state: HookedLayer): void {
  if (state.pre.length > 0 || state.post.length > 0) return;
  if (state.ownCall) Object.defineProperty(layer, 'call', state.ownCall);
  else delete (layer as { call?: unknown }).call;
  hooked.delete(layer);
}

function callWithHooks(layer: Layer, state: HookedLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: LayerKwargs): tf.Tensor | tf.Tensor[] {
  // Snapshots: a hook that removes itself (or registers another) affects the next call only.
  const pre = state.pre.slice();
  const post = state.post.slice();
  // One tidy around the whole call: replacement inputs and hook temporaries are freed; the
  // output is returned, so it survives.
  return tf.tidy(() => {
    let args = inputs;
    for (const hook of pre) {
      const replaced = hook(layer, asList(args), kwargs);
      if (replaced !== undefined) args = inSameForm(replaced, inputs, layer);
    }
    const output = state.original(args, kwargs);
    for (const hook of post) hook(layer, asList(args), output, kwargs);
    return output;
  });
}

function asList(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(inputs) ? inputs : [inputs];
}

/** A pre-hook's replacement, shaped like what the layer was called with (a tensor or a list). */
function inSameForm(replaced: unknown, original: tf.Tensor | tf.Tensor[], layer: Layer): tf.Tensor | tf.Tensor[] {
  const list = Array.isArray(replaced) ? replaced : [replaced];
  if (list.length === 0 || !list.every((t) => t instanceof tf.Tensor)) {
    throw new TypeError(`forward pre-hook of layer '${layer.name}' must return a tensor, a list of tensors, or nothing`);
  }
  if (Array.isArray(original)) return list as tf.Tensor[];
  if (list.length !== 1) throw new TypeError(`forward pre-hook of layer '${layer.name}' returned ${list.length} tensors for a layer called with one`);
  return list[0] as tf.Tensor;
}

function register<F>(layer: Layer, fn: F, caller: string, listOf: (s: HookedLayer) => F[]): RemovableHandle {
  if (typeof fn !== 'function') throw new TypeError(`${caller}: the hook must be a function; got ${fn === null ? 'null' : typeof fn}`);
  const state = attach(layer, caller);
  // Wrapped so that the same function registered twice gets two independent handles.
  const entry = ((...args: unknown[]) => (fn as (...a: unknown[]) => unknown)(...args)) as F;
  listOf(state).push(entry);
  let removed = false;
  return {
    remove() {
      if (removed) return;
      removed = true;
      const list = listOf(state);
      list.splice(list.indexOf(entry), 1);
      detachIfUnused(layer, state);
    },
  };
}

/**
 * Runs `hook(layer, inputs, output, kwargs)` every time `layer` computes (PyTorch
 * `register_forward_hook`). Hooks of one layer run in registration order.
 */
export function registerForwardHook<L extends Layer>(layer: L, hook: ForwardHook<L>): RemovableHandle {
  return register(layer, hook, 'registerForwardHook', (s) => s.post as Array<ForwardHook<L>>);
}

/**
 * Runs `hook(layer, inputs, kwargs)` before `layer` computes, letting it replace the inputs
 * (PyTorch `register_forward_pre_hook`). Hooks of one layer run in registration order, each
 * seeing the inputs the previous one returned.
 */
export function registerForwardPreHook<L extends Layer>(layer: L, hook: ForwardPreHook<L>): RemovableHandle {
  return register(layer, hook, 'registerForwardPreHook', (s) => s.pre as Array<ForwardPreHook<L>>);
}
