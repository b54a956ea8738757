import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ALLREDUCE_OPS as OPS, allreduceInput, ALLREDUCE_LENGTHS } from '../helpers/allreduce-input.js';
import { tempDir } from '../helpers/tiny.js';
import { mpiMissing, mpirunNode, readRankFiles } from '../helpers/mpirun.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.resolve(here, '../fixtures/node-allreduce-child.js');

interface RankResult {
  transport: string;
  results: Record<string, { sha256: string; head: number[] }>;
}

/**
 * Every rank's results of the child under `mpirun -np np` with HOOKFLOW_MPI_ALLREDUCE=allreduce,
 * with every `ranksPerNode` consecutive ranks as one pretend machine when given.
 */
async function runRanks(np: number, allreduce: 'auto' | 'mpi', ranksPerNode?: number): Promise<RankResult[]> {
  const temp = tempDir();
  try {
    const env: Record<string, string> = { HOOKFLOW_MPI_ALLREDUCE: allreduce, ...(ranksPerNode ? { RANKS_PER_NODE: String(ranksPerNode) } : {}) };
    const run = await mpirunNode(np, CHILD, [temp.dir], { timeoutMs: 120000, env });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    return readRankFiles<RankResult>(temp.dir, np);
  } finally {
    temp.cleanup();
  }
}

/** `arrays` combined element by element, in order, in float32 (`mean` sums: the caller divides). */
function combineInOrder(arrays: Float32Array[], op: (typeof OPS)[number]): Float32Array {
  const out = Float32Array.from(arrays[0]!);
  for (const input of arrays.slice(1)) {
    for (let i = 0; i < out.length; i++) {
      const v = input[i]!;
      // The inputs hold no NaN and no -0, where Math.max/min and C's comparisons could differ.
      if (op === 'max') out[i] = Math.max(v, out[i]!);
      else if (op === 'min') out[i] = Math.min(v, out[i]!);
      else out[i] = out[i]! + v;
    }
  }
  return out;
}

/**
 * The reduction of every rank's input as the shared-memory paths define it, in float32: each
 * machine's ranks (`ranksPerNode` consecutive ones; all of them by default) in rank order, then
 * the machines in order (two machines: MPI_Allreduce adds a+b, the same bits either way).
 */
function reducedInRankOrder(np: number, length: number, op: (typeof OPS)[number], ranksPerNode = np): Float32Array {
  const inputs = Array.from({ length: np }, (_, r) => allreduceInput(r, length));
  const machines: Float32Array[] = [];
  for (let first = 0; first < np; first += ranksPerNode) machines.push(combineInOrder(inputs.slice(first, first + ranksPerNode), op));
  const out = combineInOrder(machines, op);
  if (op === 'mean') for (let i = 0; i < length; i++) out[i] = out[i]! / np;
  return out;
}

const sha256 = (values: Float32Array) => createHash('sha256').update(values).digest('hex');

/** Every rank's `allReduceViews` results over parts equal its `allReduce` results over whole arrays. */
function expectPartsLikeWhole(ranks: RankResult[]): void {
  for (const rank of ranks) {
    for (const length of ALLREDUCE_LENGTHS) {
      for (const op of OPS) expect(rank.results[`parts ${op} ${length}`]!.sha256, `${op} of ${length} floats in parts`).to.equal(rank.results[`${op} ${length}`]!.sha256);
    }
  }
}

describe('all-reduce through shared memory (every rank on one machine)', function () {
  this.timeout(240000);
  const missing = mpiMissing();
  let shm3: RankResult[];
  let mpi3: RankResult[];

  before(async function () {
    if (missing) {
      console.log(`      skipped (real MPI tests): ${missing}`);
      this.skip();
    }
    [shm3, mpi3] = [await runRanks(3, 'auto'), await runRanks(3, 'mpi')];
  });

  it('is the default on one machine, and HOOKFLOW_MPI_ALLREDUCE=mpi turns it off; the process group says which', () => {
    for (const rank of shm3) expect(rank.transport).to.equal('Open MPI, 3 ranks on one machine, all-reduce through shared memory');
    for (const rank of mpi3) expect(rank.transport).to.equal('Open MPI, 3 ranks on one machine, all-reduce through MPI_Allreduce');
  });

  it('reduces in rank order: every rank gets the same bits, those of a float32 reduction 0, 1, 2 (including several chunks and fewer elements than ranks)', () => {
    for (const length of ALLREDUCE_LENGTHS) {
      for (const op of OPS) {
        const expected = sha256(reducedInRankOrder(3, length, op));
        for (const rank of shm3) expect(rank.results[`${op} ${length}`]!.sha256, `${op} of ${length} floats`).to.equal(expected);
      }
    }
  });

  it('reduces arrays given as views in several parts to the same bits as one array, in place, through either path', () => {
    expectPartsLikeWhole(shm3);
    expectPartsLikeWhole(mpi3);
  });

  it("agrees with MPI_Allreduce's results within float32 rounding", () => {
    for (const length of ALLREDUCE_LENGTHS.filter((n) => n > 0)) {
      for (const op of OPS) {
        const key = `${op} ${length}`;
        // MPI's path reduces on rank 0 and broadcasts: its ranks agree with each other bit for bit too.
        expect(new Set(mpi3.map((rank) => rank.results[key]!.sha256)).size, key).to.equal(1);
        mpi3[0]!.results[key]!.head.forEach((v, i) => expect(shm3[0]!.results[key]!.head[i]).to.be.closeTo(v, 1e-6 * Math.max(1, Math.abs(v))));
      }
    }
  });

  it('gives the same bits as MPI_Allreduce with 2 ranks', async () => {
    const [shm2, mpi2] = [await runRanks(2, 'auto'), await runRanks(2, 'mpi')];
    expect(shm2[0]!.transport).to.contain('shared memory');
    for (const key of Object.keys(mpi2[0]!.results)) {
      for (const r of [0, 1]) expect(shm2[r]!.results[key]!.sha256, key).to.equal(mpi2[0]!.results[key]!.sha256);
    }
  });
});

describe('all-reduce across machines with several ranks each (hierarchical; 2 pretend machines of 2 ranks)', function () {
  this.timeout(240000);
  const missing = mpiMissing();
  let ranks: RankResult[];

  before(async function () {
    if (missing) {
      console.log(`      skipped (real MPI tests): ${missing}`);
      this.skip();
    }
    ranks = await runRanks(4, 'auto', 2);
  });

  it('sums in shared memory within each machine and through MPI between them, and says so', () => {
    for (const rank of ranks) {
      expect(rank.transport).to.equal('Open MPI, 4 ranks on several machines (2 here), all-reduce through shared memory within each machine and MPI between machines');
    }
  });

  it('reduces arrays given as views in several parts to the same bits as one array', () => {
    expectPartsLikeWhole(ranks);
  });

  it('gives every rank the same bits: (x0 + x1) + (x2 + x3) in float32, for every op and length', () => {
    for (const length of ALLREDUCE_LENGTHS) {
      for (const op of OPS) {
        const expected = sha256(reducedInRankOrder(4, length, op, 2));
        for (const rank of ranks) expect(rank.results[`${op} ${length}`]!.sha256, `${op} of ${length} floats`).to.equal(expected);
      }
    }
  });
});
