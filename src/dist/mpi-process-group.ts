import v8 from 'node:v8';
import type { ProcessGroup, ReduceOp } from '../core/services.js';
import type { MpiAllreduce, MpiBinding } from './mpi-binding.js';

/**
 * The {@link ProcessGroup} of an MPI job (one process per rank, started by `mpirun`, `srun` or
 * `hookflow train --nproc N`). Collectives run one at a time in call order, because MPI matches
 * them by order on every rank and the binding is initialised `MPI_THREAD_SERIALIZED`. Several
 * arrays are coalesced into one flat buffer that is allocated once and reused (first-touch memory
 * is slow); objects travel as `node:v8` serialisations (what `structuredClone` accepts).
 */
export class MpiProcessGroup implements ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  /** How the job's all-reduces travel, for the startup log. */
  readonly transport: string;
  readonly inlineBytes: number;
  private tail: Promise<unknown> = Promise.resolve();
  private flat = new Float32Array(0);
  private readonly length = new Float64Array(1);

  /**
   * `allreduce`: `auto` sums through a shared-memory window among the ranks of each machine (see
   * native/mpi/node-allreduce.cc), and through MPI between machines; `mpi` always uses
   * MPI_Allreduce over all ranks.
   */
  constructor(private readonly mpi: MpiBinding, allreduce: MpiAllreduce = 'auto') {
    const world = mpi.init({ nodeAllreduce: allreduce === 'auto' });
    this.rank = world.rank;
    this.worldSize = world.size;
    this.localRank = world.localRank;
    const hosts = world.localSize === world.size ? 'on one machine' : `on several machines (${world.localSize} here)`;
    this.transport = `Open MPI, ${world.size} ranks ${hosts}, all-reduce through ${describeAllreduce(world.allreduce)}`;
    this.inlineBytes = world.inlineBytes;
  }

  allReduce(values: Float32Array[], op: ReduceOp = 'sum'): Promise<Float32Array[]> {
    return this.enqueue(async () => {
      await this.coalesced(values, (flat) => this.mpi.allreduce(flat, op));
      return values;
    });
  }

  allReduceViews(views: () => Float32Array[], op: ReduceOp = 'sum'): Promise<void> {
    // No await between taking the views and the binding's inline call: nothing can move them.
    return this.enqueue(() => this.mpi.allreduceParts(views(), op));
  }

  allReduceMean(values: Float32Array[]): Promise<Float32Array[]> {
    return this.allReduce(values, 'mean');
  }

  broadcast(values: Float32Array[], root = 0): Promise<Float32Array[]> {
    this.checkRoot(root);
    return this.enqueue(async () => {
      await this.coalesced(values, (flat) => this.mpi.bcast(flat, root));
      return values;
    });
  }

  broadcastObject<T>(value: T, root = 0): Promise<T> {
    this.checkRoot(root);
    return this.enqueue(async () => {
      const bytes = this.rank === root ? v8.serialize(value) : undefined;
      this.length[0] = bytes?.byteLength ?? 0;
      await this.mpi.bcast(this.length, root);
      const received = bytes ?? new Uint8Array(this.length[0]!);
      await this.mpi.bcast(received, root);
      return this.rank === root ? value : (v8.deserialize(received) as T);
    });
  }

  allGather<T>(value: T): Promise<T[]> {
    return this.enqueue(async () => {
      const parts = await this.mpi.allgatherv(v8.serialize(value));
      return parts.map((part) => v8.deserialize(part) as T);
    });
  }

  gather<T>(value: T, root = 0): Promise<T[] | undefined> {
    this.checkRoot(root);
    return this.enqueue(async () => {
      const parts = await this.mpi.gatherv(v8.serialize(value), root);
      return parts?.map((part) => v8.deserialize(part) as T);
    });
  }

  barrier(): Promise<void> {
    return this.enqueue(() => this.mpi.barrier());
  }

  /** Runs `collective` after every collective called before it has settled. */
  private enqueue<T>(collective: () => Promise<T>): Promise<T> {
    const result = this.tail.then(collective, collective);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** One collective over all `values`: in place for a single array, else through the reused flat buffer. */
  private async coalesced(values: Float32Array[], collective: (flat: Float32Array) => Promise<void>): Promise<void> {
    if (values.length === 0) return;
    if (values.length === 1) return collective(values[0]!);
    const total = values.reduce((sum, v) => sum + v.length, 0);
    if (this.flat.length < total) this.flat = new Float32Array(total);
    const flat = this.flat.subarray(0, total);
    let offset = 0;
    for (const v of values) { flat.set(v, offset); offset += v.length; }
    await collective(flat);
    offset = 0;
    for (const v of values) { v.set(flat.subarray(offset, offset + v.length)); offset += v.length; }
  }

  private checkRoot(root: number): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) throw new RangeError(`root must be a rank in 0..${this.worldSize - 1}, got ${root}`);
  }
}

/** The startup log's words for the binding's all-reduce path. */
function describeAllreduce(path: string): string {
  if (path === 'shared-memory') return 'shared memory';
  if (path === 'hierarchical') return 'shared memory within each machine and MPI between machines';
  return `MPI_Allreduce${path.slice('mpi'.length)}`;
}
