import * as tf from '../../backend/tfjs.js';
import { copiesOnCreate, ownedFloat32View, readFloat32 } from '../../backend/tensor-memory.js';
import type { ProcessGroup } from '../../core/services.js';

/** PyTorch DistributedDataParallel's default bucket cap (`bucket_cap_mb=25`). */
export const DEFAULT_BUCKET_SIZE_MB = 25;

/** One coalesced bucket: consecutive gradients laid out in one flat array, allocated once. */
interface Bucket {
  keys: string[];
  sizes: number[];
  flat: Float32Array;
}

/** A gradient read back to the host: its values are averaged in place. */
export interface HostGradient {
  key: string;
  values: Float32Array;
}

/**
 * Averages gradients across the ranks of a process group the way PyTorch DDP does: the
 * gradients, in the order given (the model's parameter order, the same on every rank), are
 * packed into flat float32 buckets of at most `bucketSizeMb` megabytes (a larger gradient gets
 * a bucket of its own; `-1`: one bucket for all), and each bucket is averaged with one
 * all-reduce. The buckets are allocated once per set of gradient shapes and reused, because
 * memory touched for the first time is slow and MPI registers it.
 */
export class GradientBuckets {
  private buckets: Bucket[] = [];
  private layoutKey = '';

  /** `bucketSizeMb`: the cap in MB (1 MB = 2^20 bytes); -1: no cap. */
  constructor(readonly group: ProcessGroup, readonly bucketSizeMb = DEFAULT_BUCKET_SIZE_MB) {
    if (!(bucketSizeMb === -1 || (Number.isFinite(bucketSizeMb) && bucketSizeMb >= 0))) {
      throw new RangeError(`bucketSizeMb must be -1 (one bucket) or a number >= 0; got ${bucketSizeMb}`);
    }
  }

  /** The current bucket layout: the gradient keys of each bucket (for tests and diagnostics). */
  get layout(): string[][] {
    return this.buckets.map((b) => [...b.keys]);
  }

  /**
   * Replaces the values of every tensor of `grads` by their average over the ranks. On the wasm
   * backend a gradient that owns its memory is averaged in place on the wasm heap: where the
   * group offers {@link ProcessGroup.allReduceViews} and the bucket is small enough, straight
   * from and into the heap; otherwise packed into the bucket and written back. Any other
   * gradient is replaced in the map by a new tensor (the old one is disposed; the new one
   * belongs to the map like the old one did). `rider` values (a step's log vars) travel at the
   * end of the last bucket and are averaged in place too, so they cost no collective of their own.
   */
  async averageTensors(grads: Map<string, tf.Tensor>, rider?: Float32Array): Promise<void> {
    const entries = [...grads];
    this.prepare(entries.map(([key, g]) => [key, g.size]), rider?.length ?? 0);
    // The bucket is overwritten next step: a backend that keeps the array gets a copy.
    const copy = !copiesOnCreate();
    let at = 0;
    for (const bucket of this.buckets) {
      const members = entries.slice(at, at + bucket.keys.length);
      at += bucket.keys.length;
      const riding = rider && bucket === this.buckets.at(-1) ? rider : undefined;
      if (this.canAverageViews(bucket, members)) {
        await this.group.allReduceViews!(() => [...members.map(([key, g]) => ownedView(key, g)), ...(riding ? [riding] : [])], 'mean');
        continue;
      }
      // One read per gradient: on wasm, concatenating on the device first costs more than it saves.
      let offset = 0;
      for (const [, g] of members) {
        bucket.flat.set(readFloat32(g), offset);
        offset += g.size;
      }
      if (riding) bucket.flat.set(riding, offset);
      await this.group.allReduce([bucket.flat], 'mean');
      if (riding) riding.set(bucket.flat.subarray(offset));
      offset = 0;
      for (const [key, old] of members) {
        const values = bucket.flat.subarray(offset, offset + old.size);
        offset += old.size;
        // Views are taken after the await: an allocation meanwhile may have moved the heap.
        const own = ownedFloat32View(old);
        if (own) {
          own.set(values);
        } else {
          grads.set(key, tf.tensor(copy ? values.slice() : values, old.shape, 'float32'));
          old.dispose();
        }
      }
    }
  }

  /**
   * Whether `bucket` can be averaged as views of its gradients' own memory: the group offers it
   * for the bucket's size, and every gradient owns its memory on the wasm heap.
   */
  private canAverageViews(bucket: Bucket, members: Array<[string, tf.Tensor]>): boolean {
    const inlineBytes = this.group.inlineBytes ?? 0;
    return this.group.allReduceViews !== undefined && 4 * bucket.flat.length < inlineBytes && members.every(([, g]) => ownedFloat32View(g) !== undefined);
  }

  /** Averages host gradients in place (the fp16 hook's binary16 values). */
  async averageHost(grads: HostGradient[]): Promise<void> {
    this.prepare(grads.map(({ key, values }) => [key, values.length]), 0);
    let at = 0;
    for (const bucket of this.buckets) {
      const members = grads.slice(at, at + bucket.keys.length);
      at += bucket.keys.length;
      let offset = 0;
      for (const { values } of members) { bucket.flat.set(values, offset); offset += values.length; }
      await this.group.allReduce([bucket.flat], 'mean');
      offset = 0;
      for (const { values } of members) { values.set(bucket.flat.subarray(offset, offset + values.length)); offset += values.length; }
    }
  }

  /**
   * Lays out the buckets for these (key, size) pairs plus `riderLength` floats at the end of the
   * last bucket (a bucket of their own when there is no gradient), unless the current layout fits.
   */
  private prepare(entries: Array<[string, number]>, riderLength: number): void {
    const key = `${entries.map(([k, n]) => `${k}:${n}`).join('|')}+${riderLength}`;
    if (key === this.layoutKey) return;
    const capBytes = this.bucketSizeMb === -1 ? Infinity : this.bucketSizeMb * 2 ** 20;
    const buckets: Array<{ keys: string[]; sizes: number[] }> = [];
    let bytes = 0;
    for (const [k, n] of entries) {
      const last = buckets.at(-1);
      if (!last || bytes + 4 * n > capBytes) {
        buckets.push({ keys: [k], sizes: [n] });
        bytes = 4 * n;
      } else {
        last.keys.push(k);
        last.sizes.push(n);
        bytes += 4 * n;
      }
    }
    if (riderLength > 0 && buckets.length === 0) buckets.push({ keys: [], sizes: [] });
    this.buckets = buckets.map((b, i) => {
      const extra = i === buckets.length - 1 ? riderLength : 0;
      return { ...b, flat: new Float32Array(b.sizes.reduce((a, c) => a + c, 0) + extra) };
    });
    this.layoutKey = key;
  }
}

/** The view of a gradient's own memory, which {@link GradientBuckets.canAverageViews} checked it has. */
function ownedView(key: string, g: tf.Tensor): Float32Array {
  const view = ownedFloat32View(g);
  if (!view) throw new Error(`gradient ${key} no longer owns its memory while its bucket is averaged`);
  return view;
}
