import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { tempDir } from '../helpers/tiny.js';
import { mpiMissing, mpirunNode, readRankFiles } from '../helpers/mpirun.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.resolve(here, '../fixtures/mpi-collectives-child.js');

describe('MpiProcessGroup under mpirun -np 2', function () {
  this.timeout(120000);
  const missing = mpiMissing();
  let ranks: Array<Record<string, any>>;
  let cleanup: () => void = () => undefined;

  before(async function () {
    if (missing) {
      console.log(`      skipped (real MPI tests): ${missing}`);
      this.skip();
    }
    const temp = tempDir();
    cleanup = temp.cleanup;
    const run = await mpirunNode(2, CHILD, [temp.dir], { timeoutMs: 90000 });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    ranks = readRankFiles(temp.dir, 2);
  });
  after(() => cleanup());

  it('knows each rank, the world size and the local rank', () => {
    expect(ranks.map((g) => [g.rank, g.worldSize, g.localRank])).to.deep.equal([[0, 2, 0], [1, 2, 1]]);
  });

  it('all-reduces several arrays in place with sum, max, min and mean, the same on both ranks', () => {
    for (const g of ranks) {
      expect(g.sum).to.deep.equal([[3, -3, 0.5], [10]]);
      expect(g.max).to.deep.equal([[2, -1, 0.5], [7]]);
      expect(g.min).to.deep.equal([[1, -2, 0], [3]]);
      expect(g.mean).to.deep.equal([[1.5, -1.5, 0.25], [5]]);
      expect(g.mean1).to.deep.equal([1.5, 15, -0.5]);
    }
  });

  it('all-reduces 1e6 floats in place (off the JS thread)', () => {
    for (const g of ranks) expect(g.big).to.deep.equal({ sameArray: true, checked: true });
  });

  it("broadcasts the root's arrays and objects to every rank", () => {
    for (const g of ranks) {
      expect(g.broadcast).to.deep.equal([[1, 1, 1], [1.25, 1.25, 1.25, 1.25, 1.25]]);
      expect(g.broadcastObject).to.deep.equal({ from: 0, map: { Map: [['a', 1]] } });
      expect(g.broadcastObject1.from).to.equal(1);
      expect(g.broadcastObject1.text).to.equal('é'.repeat(100_000));
    }
  });

  it('gathers objects of different sizes in rank order, on every rank or on the root only', () => {
    for (const g of ranks) {
      expect(g.allGather).to.deep.equal([[0, 1], [1, 100_001]]);
      expect(g.gatherEmpty).to.deep.equal(['', null]);
    }
    expect(ranks[0]!.gather0).to.deep.equal([[0, ''], [1, 'r']]);
    expect(ranks[1]!.gather0).to.equal('undefined');
    expect(ranks[0]!.gather1).to.equal('undefined');
    expect(ranks[1]!.gather1).to.deep.equal([0, 2]);
  });

  it('runs collectives issued without awaiting in call order', () => {
    for (const g of ranks) expect(g.queued).to.deep.equal([['a0', 'a1'], [1], ['b0', 'b1']]);
  });
});
