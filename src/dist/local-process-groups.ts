import type { ProcessGroup, ReduceOp } from '../core/services.js';

/** One rank's side of a collective: what it called and what it contributed. */
interface Contribution {
  /** `allReduce(mean)`, `broadcast(root 0)`...: must be the same on every rank. */
  call: string;
  /** Array lengths (array collectives), checked across ranks. */
  lengths?: number[];
  arrays?: Float32Array[];
  value?: unknown;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** The n-th collective of the world: filled by each rank as it reaches it. */
interface Rendezvous {
  index: number;
  parts: Array<Contribution | undefined>;
  arrived: number;
}

/**
 * The shared state of N in-process ranks: the collectives in progress, by call index (every
 * rank numbers its own calls, so the k-th call of each rank meets the k-th of the others).
 */
class LocalWorld {
  private readonly pending = new Map<number, Rendezvous>();
  private readonly callCounts: number[];
  /** Why a rank left (returned, threw), by rank. */
  private readonly gone: Array<string | undefined>;

  constructor(readonly size: number) {
    this.callCounts = new Array<number>(size).fill(0);
    this.gone = new Array<string | undefined>(size).fill(undefined);
  }

  /** Rank `rank` joins its next collective; the last rank to arrive completes it for all. */
  join<T>(rank: number, part: Omit<Contribution, 'resolve' | 'reject'>, complete: (parts: Contribution[]) => unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const index = this.callCounts[rank]!++;
      const left = this.gone.findIndex((why) => why !== undefined);
      if (left >= 0) {
        reject(new Error(`rank ${rank}: ${part.call} (collective #${index}) cannot complete: rank ${left} ${this.gone[left]}`));
        return;
      }
      let meeting = this.pending.get(index);
      if (!meeting) {
        meeting = { index, parts: new Array(this.size).fill(undefined), arrived: 0 };
        this.pending.set(index, meeting);
      }
      meeting.parts[rank] = { ...part, resolve: resolve as (r: unknown) => void, reject };
      meeting.arrived += 1;
      if (meeting.arrived < this.size) return;
      this.pending.delete(index);
      const parts = meeting.parts as Contribution[];
      const mismatch = describeMismatch(parts);
      if (mismatch) {
        const error = new Error(`collective #${index} does not match across ranks: ${mismatch}`);
        parts.forEach((p) => p.reject(error));
        return;
      }
      let results: unknown[];
      try {
        results = complete(parts);
      } catch (error) {
        parts.forEach((p) => p.reject(error as Error));
        return;
      }
      parts.forEach((p, r) => p.resolve(results[r]));
    });
  }

  /**
   * Rank `rank` will call no more collectives (it returned or threw): the collectives other
   * ranks wait in fail at once, naming it, instead of hanging.
   */
  leave(rank: number, why: string): void {
    if (this.gone[rank] !== undefined) return;
    this.gone[rank] = why;
    for (const [index, meeting] of this.pending) {
      this.pending.delete(index);
      const waiting = meeting.parts.flatMap((p, r) => (p ? [`rank ${r} in ${p.call}`] : []));
      const error = new Error(`collective #${index} cannot complete: rank ${rank} ${why} while ${waiting.join(', ')} waited`);
      meeting.parts.forEach((p) => p?.reject(error));
    }
  }
}

/** Why the ranks' calls differ, or undefined when they agree. */
function describeMismatch(parts: Contribution[]): string | undefined {
  const signature = (p: Contribution) => `${p.call}${p.lengths ? ` of lengths [${p.lengths.join(', ')}]` : ''}`;
  const first = signature(parts[0]!);
  if (parts.every((p) => signature(p) === first)) return undefined;
  return parts.map((p, r) => `rank ${r} called ${signature(p)}`).join('; ');
}

/** Checks a root rank argument. */
function checkRoot(root: number, size: number, call: string): void {
  if (!(Number.isInteger(root) && root >= 0 && root < size)) throw new RangeError(`${call}: root must be a rank in 0..${size - 1}; got ${root}`);
}

const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'max', 'min'];

/**
 * Element-wise reduction of the ranks' arrays, in rank order, in float32 (what MPI_Allreduce of
 * MPI_FLOAT computes, and the same on every rank): `((r0 + r1) + r2) ...`, a mean divides that sum.
 */
function reduceInto(out: Float32Array, inputs: Float32Array[], op: ReduceOp): void {
  out.set(inputs[0]!);
  for (let r = 1; r < inputs.length; r++) {
    const v = inputs[r]!;
    for (let i = 0; i < out.length; i++) {
      const a = out[i]!;
      const b = v[i]!;
      out[i] = op === 'max' ? (a >= b || Number.isNaN(a) ? a : b) : op === 'min' ? (a <= b || Number.isNaN(a) ? a : b) : a + b;
    }
  }
  if (op === 'mean') for (let i = 0; i < out.length; i++) out[i] = out[i]! / inputs.length;
}

/**
 * One rank of a {@link createLocalProcessGroups} world. `leave()` tells the world this rank
 * calls no more collectives ({@link runOnLocalRanks} does it when a rank's function settles).
 */
export interface LocalProcessGroup extends ProcessGroup {
  leave(why?: string): void;
}

/**
 * N ranks of one process group in this process, for tests: rank r's collectives meet the other
 * ranks' calls with the same index, with MPI's semantics. Array collectives work in place and
 * resolve with the arrays passed; reductions run in rank order in float32, so every rank gets
 * the bitwise-same result; object collectives deliver `structuredClone` copies, of any size
 * per rank. Calls that differ across ranks (another collective, op, root or array lengths)
 * reject on every rank with a message naming each rank's call, and a rank that leaves makes
 * the others' pending collectives reject instead of hang. Run the ranks concurrently (e.g.
 * with {@link runOnLocalRanks}): a collective resolves once every rank has called it.
 */
export function createLocalProcessGroups(n: number): LocalProcessGroup[] {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`createLocalProcessGroups: n must be a positive integer; got ${n}`);
  const world = new LocalWorld(n);
  return Array.from({ length: n }, (_, rank): LocalProcessGroup => {
    const arraysOf = (values: Float32Array[], call: string) => {
      if (!Array.isArray(values) || !values.every((v) => v instanceof Float32Array)) {
        throw new TypeError(`rank ${rank}: ${call} takes an array of Float32Arrays`);
      }
      return { arrays: values, lengths: values.map((v) => v.length) };
    };
    const allReduce = async (values: Float32Array[], op: ReduceOp = 'sum'): Promise<Float32Array[]> => {
      if (!REDUCE_OPS.includes(op)) throw new RangeError(`allReduce: op must be one of ${REDUCE_OPS.join(', ')}; got ${String(op)}`);
      const call = `allReduce(${op})`;
      return world.join(rank, { call, ...arraysOf(values, call) }, (parts) => {
        // Computed once into fresh arrays, then copied into every rank's own.
        const reduced = values.map((v, k) => {
          const out = new Float32Array(v.length);
          reduceInto(out, parts.map((p) => p.arrays![k]!), op);
          return out;
        });
        return parts.map((p) => p.arrays!.map((a, k) => { a.set(reduced[k]!); return a; }));
      });
    };
    return {
      rank,
      worldSize: n,
      localRank: rank,
      allReduce,
      allReduceMean: (values) => allReduce(values, 'mean'),
      broadcast: async (values, root = 0) => {
        const call = `broadcast(root ${root})`;
        checkRoot(root, n, call);
        return world.join(rank, { call, ...arraysOf(values, call) }, (parts) => parts.map((p, r) => {
          if (r !== root) p.arrays!.forEach((a, k) => a.set(parts[root]!.arrays![k]!));
          return p.arrays;
        }));
      },
      broadcastObject: async <T>(value: T, root = 0) => {
        const call = `broadcastObject(root ${root})`;
        checkRoot(root, n, call);
        return world.join<T>(rank, { call, value }, (parts) => parts.map((p, r) => (r === root ? p.value : structuredClone(parts[root]!.value))));
      },
      allGather: async <T>(value: T) => world.join<T[]>(rank, { call: 'allGather', value }, (parts) => parts.map(() => parts.map((p) => structuredClone(p.value)))),
      gather: async <T>(value: T, root = 0) => {
        const call = `gather(root ${root})`;
        checkRoot(root, n, call);
        return world.join<T[] | undefined>(rank, { call, value }, (parts) => parts.map((_, r) => (r === root ? parts.map((p) => structuredClone(p.value)) : undefined)));
      },
      barrier: async () => world.join<void>(rank, { call: 'barrier' }, (parts) => parts.map(() => undefined)),
      leave: (why = 'left the group') => world.leave(rank, why),
    };
  });
}

/**
 * Runs `fn` on each of N in-process ranks concurrently and resolves with their results in rank
 * order. When a rank returns or throws, the others' pending collectives fail at once naming it;
 * the first rank's own error (not the errors it caused elsewhere) is the one rethrown.
 */
export async function runOnLocalRanks<T>(n: number, fn: (group: LocalProcessGroup) => Promise<T>): Promise<T[]> {
  const groups = createLocalProcessGroups(n);
  let firstError: { error: unknown } | undefined;
  const settled = await Promise.allSettled(groups.map(async (group) => {
    try {
      const result = await fn(group);
      group.leave('returned');
      return result;
    } catch (error) {
      firstError ??= { error };
      group.leave(`threw: ${(error as Error)?.message ?? String(error)}`);
      throw error;
    }
  }));
  if (firstError) throw firstError.error;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
