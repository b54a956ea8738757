import { loadNativeAddon, type NativeAddonLoad } from '../native/load-native-addon.js';

/** What `native/mpi` exports (see native/mpi/mpi.cc). Every collective works on MPI_COMM_WORLD. */
export interface MpiBinding {
  /**
   * MPI_Init_thread (serialized) once; the world and this process's place in it. `mallopt: false`
   * leaves glibc's allocator as it is; collectives on fewer than `asyncBytes` bytes (default 1 MiB)
   * run inline on the JS thread, larger ones on the thread pool (both options for benchmarks).
   * `nodeAllreduce` (default true): when every rank shares this machine, all-reduces go through
   * a shared-memory window instead of MPI_Allreduce; across machines with several ranks on one,
   * they reduce in shared memory within each machine and through MPI between one rank per
   * machine. `allreduce` in the answer says which path is active (`shared-memory`,
   * `hierarchical`, or `mpi` with the reason in parentheses). `ranksPerNode` treats each run of
   * that many consecutive ranks as one machine instead of asking the OS (to exercise the
   * multi-machine paths on one machine).
   */
  init(options?: { mallopt?: boolean; asyncBytes?: number; nodeAllreduce?: boolean; ranksPerNode?: number }): MpiWorld;
  /** In-place element-wise reduction; `mean` divides the sum by the world size. */
  allreduce(values: Float32Array, op: 'sum' | 'mean' | 'max' | 'min'): Promise<void>;
  /**
   * `allreduce` of the parts' concatenation, in place, always on the JS thread (settled when it
   * returns): the parts may view memory that moves once JS runs again (the wasm heap). Through
   * shared memory the parts are read and written where they are, with no packing.
   */
  allreduceParts(parts: Float32Array[], op: 'sum' | 'mean' | 'max' | 'min'): Promise<void>;
  /** The root's bytes copied in place into every rank's array. */
  bcast(values: ArrayBufferView, root: number): Promise<void>;
  /** Every rank's bytes, in rank order, on every rank. */
  allgatherv(bytes: Uint8Array): Promise<Uint8Array[]>;
  /** Every rank's bytes, in rank order, on the root; `undefined` elsewhere. */
  gatherv(bytes: Uint8Array, root: number): Promise<Uint8Array[] | undefined>;
  barrier(): Promise<void>;
  /** MPI_Abort: ends every rank of the job; never returns. */
  abort(code: number): never;
  finalize(): void;
}

/** What {@link MpiBinding.init} answers. */
export interface MpiWorld {
  rank: number;
  size: number;
  localRank: number;
  localSize: number;
  threadLevel: number;
  allreduce: string;
  /** Collectives on fewer bytes run on the JS thread (`asyncBytes`). */
  inlineBytes: number;
}

/** How all-reduces travel: `auto` (shared memory among the ranks of each machine) or `mpi` (always MPI_Allreduce over all ranks). */
export type MpiAllreduce = 'auto' | 'mpi';

/** The Debian packages that provide Open MPI and its headers. */
export const MPI_PACKAGES = 'openmpi-bin libopenmpi-dev';

/** Loads the binding, or says why it is not there and how to get it. */
export function loadMpiBinding(): NativeAddonLoad<MpiBinding> {
  const loaded = loadNativeAddon<MpiBinding>('mpi');
  if (loaded.addon) return loaded;
  return { reason: `${loaded.reason}. It needs Open MPI: on Debian/Ubuntu \`sudo apt-get install ${MPI_PACKAGES}\`, then \`npm run build:native -- mpi\`` };
}
