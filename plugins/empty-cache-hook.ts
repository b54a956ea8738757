import * as tf from '../src/backend/tfjs.js';
import { z } from 'zod';
import { Hook } from '../src/core/hook.js';
import { RegisterHook } from '../src/core/hooks-registry.js';
import type { EventStage } from '../src/core/stages.js';
import { parseOptions } from '../src/config/parse-options.js';
import type { HookRunner } from '../src/runner/hook-runner.js';

const EmptyCacheHookOptions = z.object({
  /** Release before every train and val epoch. */
  beforeEpoch: z.boolean().optional(),
  /** Release after every train and val epoch. */
  afterEpoch: z.boolean().optional(),
  /** Release after every train and val iteration. */
  afterIter: z.boolean().optional(),
}).strict();
/** Options of {@link EmptyCacheHook} (MMCV `before_epoch`, `after_epoch`, `after_iter`). */
export type EmptyCacheHookOptions = z.input<typeof EmptyCacheHookOptions>;

/** Memory figures of the process and the active tfjs backend at one moment. */
export interface MemorySnapshot {
  /** Live tensors (`tf.memory().numTensors`). */
  numTensors: number;
  /** Bytes held by live tensors (`tf.memory().numBytes`). */
  numBytes: number;
  /** Bytes of JS ArrayBuffers (cpu-backend tensor data and values read back from any backend live here). */
  arrayBuffers: number;
  /** Size of the wasm backend's heap; absent on other backends. */
  wasmHeapBytes?: number;
}

/** What one release did. */
export interface CacheRelease {
  stage: EventStage;
  before: MemorySnapshot;
  after: MemorySnapshot;
  /** Whether a garbage collection ran (only possible when node runs with `--expose-gc`). */
  collectedGarbage: boolean;
}

/** Current memory figures. */
export function memorySnapshot(): MemorySnapshot {
  const { numTensors, numBytes } = tf.memory();
  const snapshot: MemorySnapshot = { numTensors, numBytes, arrayBuffers: process.memoryUsage().arrayBuffers };
  const heap = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
  if (heap) snapshot.wasmHeapBytes = heap.byteLength;
  return snapshot;
}

/**
 * Releases cached memory at the enabled points (MMCV `EmptyCacheHook`, which calls
 * `torch.cuda.empty_cache()`), and logs what it found before and after through the runner's
 * logger, so it never claims more than it did.
 *
 * What tfjs actually caches, per backend:
 * - wasm: nothing beyond live tensors. Disposed tensors go straight back to the module's
 *   allocator, and WebAssembly memory can grow but never shrink, so the heap size is reported,
 *   not reduced.
 * - cpu: tensor data are JS typed arrays, freed by the garbage collector; so are values read
 *   back from any backend. The hook runs a collection when node exposes one (`--expose-gc`).
 * - webgl (browsers): freed textures are pooled inside the backend, with no public API to
 *   drop the pool; set `tf.env().set('WEBGL_DELETE_TEXTURE_THRESHOLD', 0)` to stop pooling.
 * - tensorflow (tfjs-node): memory is freed on dispose; no cache is exposed.
 * Nothing that holds live tensors is touched: `tf.disposeVariables()` or `tf.engine().reset()`
 * would destroy the model, and engine scopes only track tensors, they hold no cache.
 */
@RegisterHook()
export class EmptyCacheHook extends Hook<HookRunner> {
  /** The methods this hook runs at, from its options. */
  readonly points: ReadonlyArray<'beforeEpoch' | 'afterEpoch' | 'afterIter'>;
  /** The latest release, for inspection. */
  lastRelease: CacheRelease | undefined;

  constructor(options: EmptyCacheHookOptions = {}) {
    super();
    const opts = parseOptions(EmptyCacheHookOptions, options, 'EmptyCacheHook');
    const enabled = { beforeEpoch: opts.beforeEpoch ?? false, afterEpoch: opts.afterEpoch ?? true, afterIter: opts.afterIter ?? false };
    this.points = (['beforeEpoch', 'afterEpoch', 'afterIter'] as const).filter((p) => enabled[p]);
    // Only the enabled points: a disabled point costs nothing, and the plan shows the truth.
    for (const point of this.points) this.on(point, (runner) => this.release(runner, point), { label: 'release' });
  }

  /** Releases what can be released now and logs the figures (`method` names the point if no stage is in progress). */
  release(runner: HookRunner, method: EventStage): void {
    const before = memorySnapshot();
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) gc();
    const after = memorySnapshot();
    const stage = runner.event?.stage ?? method;
    this.lastRelease = { stage, before, after, collectedGarbage: gc !== undefined };
    runner.logger.info(describeRelease(this.lastRelease));
  }
}

/** One log line: `EmptyCacheHook afterTrainEpoch: tensors 12 -> 12, tensor bytes ... -> ..., ...`. */
export function describeRelease({ stage, before, after, collectedGarbage }: CacheRelease): string {
  const parts = [
    `tensors ${before.numTensors} -> ${after.numTensors}`,
    `tensor bytes ${before.numBytes} -> ${after.numBytes}`,
    `JS array buffer bytes ${before.arrayBuffers} -> ${after.arrayBuffers} (${collectedGarbage ? 'garbage collected' : 'no garbage collection: run node with --expose-gc'})`,
  ];
  if (after.wasmHeapBytes !== undefined) parts.push(`wasm heap bytes ${after.wasmHeapBytes} (wasm memory never shrinks)`);
  return `EmptyCacheHook ${stage}: ${parts.join(', ')}`;
}
