import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';
import { CLI, hookflowCli, mpiMissing, runToEnd } from '../helpers/mpirun.js';

/** The one-node cluster of scripts/slurm-one-node.sh (started by .ci/run), unless SLURM_CONF names another. */
const SLURM_CONF = process.env.SLURM_CONF ?? '/tmp/hookflow-slurm/slurm.conf';

/** Why `srun` cannot run a job here, or undefined. */
function slurmMissing(): string | undefined {
  const mpi = mpiMissing();
  if (mpi) return mpi;
  if (!fs.existsSync(SLURM_CONF)) return `no Slurm cluster: ${SLURM_CONF} is missing (start one with \`bash scripts/slurm-one-node.sh start\` as root)`;
  const info = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', env: { ...process.env, SLURM_CONF } });
  if (info.error || info.status !== 0 || !/idle|mixed|allocated/.test(info.stdout)) return `the Slurm cluster of ${SLURM_CONF} has no usable node (sinfo: ${(info.stderr || info.stdout || String(info.error)).trim()})`;
  return undefined;
}

/** `srun -n 2 [--mpi=...] hookflow train cfg.json --launcher slurm ...` in `cwd`. */
function srunTrain(cwd: string, mpi: string[], workDir: string) {
  return runToEnd('srun', ['-n', '2', ...mpi, process.execPath, CLI, 'train', 'cfg.json', '--launcher', 'slurm', '--work-dir', workDir, '--no-progress'], { cwd, timeoutMs: 180000, env: { SLURM_CONF } });
}

/** The logged train losses of a work dir's .log.json, in order. */
function trainLosses(workDir: string): number[] {
  const file = fs.readdirSync(workDir).find((f) => f.endsWith('.log.json'))!;
  return fs.readFileSync(path.join(workDir, file), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l)).filter((e) => e.mode === 'train').map((e) => e.loss);
}

describe('--launcher slurm on a real one-node Slurm cluster', function () {
  this.timeout(300000);
  const missing = slurmMissing();
  let dir: string;
  let cleanup: (() => void) | undefined;
  before(function () {
    if (missing) {
      console.log(`      (skipped: ${missing})`);
      this.skip();
    }
    ({ dir, cleanup } = tempDir());
    fs.writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify(tinyConfig({
      data: { train: { dataset: { type: 'Synthetic', numSamples: 40, inputShape: [4], numClasses: 3 }, batchSize: 4, shuffle: true } },
      customHooks: [{ type: 'DistSamplerSeedHook' }],
      workflow: [['train', 1]],
    })));
  });
  after(() => cleanup?.());

  it('srun --mpi=pmix trains 2 ranks as one job: rank 0 writes one set of outputs, and the losses equal --nproc 2', async () => {
    const run = await srunTrain(dir, ['--mpi=pmix'], 'slurm');
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const files = fs.readdirSync(path.join(dir, 'slurm'));
    expect(files.filter((f) => f.endsWith('.log.json'))).to.have.length(1);
    expect(files.filter((f) => f.startsWith('events'))).to.deep.equal(['events.jsonl']);
    const journal = fs.readFileSync(path.join(dir, 'slurm', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // 40 samples over 2 ranks at batch 4: 5 iterations an epoch, 2 epochs.
    expect(journal.filter((e) => e.stage === 'afterTrainIter')).to.have.length(10);

    const mpirun = await hookflowCli(['train', 'cfg.json', '--work-dir', 'mpirun', '--nproc', '2', '--no-progress'], dir, 180000);
    expect(mpirun.code, mpirun.stdout + mpirun.stderr).to.equal(0);
    const losses = trainLosses(path.join(dir, 'slurm'));
    expect(losses).to.have.length(10);
    expect(losses).to.deep.equal(trainLosses(path.join(dir, 'mpirun')));
  });

  it('srun without PMIx stops every task with exit 2 before MPI starts, naming srun --mpi=pmix', async () => {
    const run = await srunTrain(dir, ['--mpi=none'], 'unwired');
    expect(run.code).to.not.equal(0);
    const refusals = run.stderr.split('\n').filter((l) => l.includes("config error: --launcher: 'slurm': srun started 2 tasks without PMIx"));
    expect(refusals, run.stderr).to.have.length(2);
    expect(refusals[0]).to.include('`srun --mpi=pmix`');
    expect(run.stderr).to.include('Exited with exit code 2');
    expect(fs.existsSync(path.join(dir, 'unwired'))).to.equal(false);
  });
});
