// SIGKILL a real training child at random points of checkpoint I/O (file writes, the rename into
// place, prunes, the `latest` swap) and at random iterations, auto-resume it, and compare the whole
// training history and the final weights and optimizer state, byte for byte, with an
// uninterrupted run. The points are drawn from a seed (HOOKFLOW_FAULT_SEED to replay a failure).
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { scanCheckpoints } from '../../src/training/checkpoint/find-latest-checkpoint.js';
import { SeededRandom } from '../../src/training/data/rng.js';
import { faultConfig, finalState, leftovers, runChild, trainingHistory, type ChildResult } from '../helpers/fault-injection.js';
import { tempDir } from '../helpers/tiny.js';

const SEED = Number(process.env.HOOKFLOW_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MAX_ITERS = 12;

describe(`fault injection: SIGKILL a training child, then --auto-resume (seed ${SEED})`, function () {
  this.timeout(600000);
  let dir: string;
  let cleanup: () => void;
  let config: string;
  let reference: { history: unknown[]; final: ReturnType<typeof finalState>; points: string[] };
  const rng = new SeededRandom(SEED);
  const pick = <T>(items: T[]): T => items[Math.floor(rng.next() * items.length)]!;

  before(() => {
    ({ dir, cleanup } = tempDir());
    config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify(faultConfig(MAX_ITERS)));
    const work = path.join(dir, 'reference');
    const run = runChild(config, work, 'none');
    reference = { history: trainingHistory(work), final: finalState(work), points: run.points! };
  });
  after(() => cleanup());

  /** Kills a fresh run at each spec in turn (each later process resumes), then lets one finish. */
  function lineage(name: string, kills: string[]): { killedAt: string[]; work: string } {
    const work = path.join(dir, name);
    const killedAt: string[] = [];
    for (const spec of kills) {
      const r: ChildResult = runChild(config, work, spec);
      expect(r.killed, `${spec} (seed ${SEED}) was not killed: ${r.stderr}`).to.equal(true);
      killedAt.push(r.killedAt!);
      // Atomic writes: a kill never leaves a broken checkpoint under a checkpoint's name.
      expect(scanCheckpoints(work).skipped, `after a kill at ${r.killedAt} (seed ${SEED})`).to.deep.equal([]);
    }
    const done = runChild(config, work, 'none');
    expect(done.killed).to.equal(false);
    const where = `killed at ${killedAt.join(', then ')} (seed ${SEED})`;
    expect(trainingHistory(work), where).to.deep.equal(reference.history);
    expect(finalState(work), where).to.deep.equal(reference.final);
    expect(leftovers(work), where).to.deep.equal([]);
    expect(done.warnings, where).to.deep.equal([]);
    return { killedAt, work };
  }

  it('the reference run passes through checkpoint writes, prunes and latest swaps', () => {
    expect(reference.history).to.have.length(MAX_ITERS);
    expect(reference.final.checkpoints).to.deep.equal(['iter_10', 'iter_12']);
    const phases = new Set(reference.points.map((p) => p.split(' ')[0]));
    expect([...phases].sort()).to.deep.equal(['latest', 'prune', 'write']);
  });

  const categories: Array<[string, (label: string) => boolean]> = [
    ['while writing a checkpoint file (meta.json or manifest.json included)', (l) => l.startsWith('write ') && l.includes(': write ')],
    ['while renaming a finished checkpoint into place', (l) => l.startsWith('write ') && l.includes('rename .tmp-*')],
    ['during the latest swap', (l) => l.startsWith('latest ')],
    ['during a prune', (l) => l.startsWith('prune ')],
    ['at any I/O point', () => true],
  ];
  for (const [what, matches] of categories) {
    it(`resumes exactly after a SIGKILL ${what}`, () => {
      const candidates = reference.points.map((label, i) => [label, i + 1] as const).filter(([label]) => matches(label));
      expect(candidates).to.not.be.empty;
      const [, point] = pick(candidates);
      lineage(`point-${point}-${what.split(' ').slice(-1)[0]}`, [`point:${point}`]);
    });
  }

  it('clears what a kill during the last prune left, though the resumed run has nothing left to save', () => {
    const prunes = reference.points.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('prune ') && l.includes(': after rename'));
    const [, last] = prunes.at(-1)!;
    expect(reference.points[last]).to.equal('prune iter_8: after rename iter_8 to .trash-*');
    lineage('last-prune', [`point:${last + 1}`]);
  });

  it('resumes exactly after two SIGKILLs at random iterations of one lineage', () => {
    const first = 1 + Math.floor(rng.next() * (MAX_ITERS - 3));
    const second = first + 2 + Math.floor(rng.next() * (MAX_ITERS - first - 2));
    const { killedAt } = lineage('iterations', [`iter:${first}`, `iter:${second}`]);
    expect(killedAt).to.deep.equal([first, second].map((n) => `iteration ${n} (afterTrainIter, before the optimizer step)`));
  });
});
