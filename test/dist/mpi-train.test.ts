import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../helpers/tiny.js';
import { tinyConfig } from '../helpers/tiny-config.js';
import { CLI, hookflowCli, mpiMissing, runToEnd } from '../helpers/mpirun.js';

const INDEX = path.resolve(path.dirname(CLI), '../index.js');

/** A plugin hook that misbehaves on one rank at one iteration: throws, or blocks its thread. */
const PLUGIN = `
import { Hook, RegisterHook } from ${JSON.stringify(INDEX)};
class MisbehaveHook extends Hook {
  constructor(options = {}) { super(); this.rank = options.rank; this.iter = options.iter; this.how = options.how; }
  afterTrainIter(runner) {
    if (runner.rank !== this.rank || runner.iter !== this.iter) return;
    if (this.how === 'throw') throw new Error('plugin failed on purpose');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
}
RegisterHook()(MisbehaveHook);
`;

describe('hookflow train --nproc / --launcher mpi', function () {
  this.timeout(180000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  function writeConfig(extra: Record<string, unknown> = {}): void {
    fs.writeFileSync(path.join(dir, 'misbehave.mjs'), PLUGIN);
    fs.writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify(tinyConfig({ customImports: ['./misbehave.mjs'], ...extra })));
  }

  it('rejects a bad --launcher, --nproc or --dist-timeout before training (exit 2)', async () => {
    writeConfig();
    for (const [args, message] of [
      [['--launcher', 'torch'], "--launcher: must be one of none, mpi, slurm, not 'torch'"],
      [['--nproc', '0'], "--nproc: must be a whole number of processes >= 1, not '0'"],
      [['--dist-timeout', 'soon'], "--dist-timeout: must be a positive number of seconds, not 'soon'"],
      // Checked once, before mpirun starts any rank.
      [['--nproc', '2', '--cfg-options', 'runner.maxEpochs=0'], 'config.runner.maxEpochs: Too small'],
    ] as const) {
      const run = await hookflowCli(['train', 'tiny.json', ...args], dir);
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.contain(`hookflow: config error: ${message}`);
      expect(run.stderr).to.not.contain('rank');
    }
  });

  it('fails at once (exit 2) naming the Debian packages and the rebuild command where the binding is missing', () => {
    // A copy of the compiled package without native/: what a machine without MPI has.
    const pkg = path.join(dir, 'pkg');
    fs.cpSync(path.resolve(path.dirname(CLI), '../../..', 'dist'), path.join(pkg, 'dist'), { recursive: true });
    fs.copyFileSync(path.resolve(path.dirname(CLI), '../../..', 'package.json'), path.join(pkg, 'package.json'));
    fs.symlinkSync(path.resolve(path.dirname(CLI), '../../../node_modules'), path.join(pkg, 'node_modules'));
    writeConfig();
    for (const args of [['--launcher', 'mpi'], ['--nproc', '2']]) {
      const run = spawnSync(process.execPath, [path.join(pkg, 'dist/src/cli/main.js'), 'train', 'tiny.json', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, HOOKFLOW_BACKEND: 'wasm' } });
      expect(run.status, run.stderr).to.equal(2);
      expect(run.stderr).to.contain("the native addon 'mpi' is not available");
      expect(run.stderr).to.contain('apt-get install openmpi-bin libopenmpi-dev');
      expect(run.stderr).to.contain('npm run build:native -- mpi');
      expect(run.stdout).to.not.contain('Epoch');
    }
  });

  describe('under mpirun', () => {
    const missing = mpiMissing();
    before(function () {
      if (missing) {
        console.log(`      skipped (real MPI tests): ${missing}`);
        this.skip();
      }
    });

    it('trains with 2 ranks: rank 0 logs as one process would, rank 1 is quiet', async () => {
      writeConfig();
      const run = await hookflowCli(['train', 'tiny.json', '--work-dir', 'work', '--nproc', '2', '--timeout', '100', '--dist-timeout', '60'], dir);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stdout.match(/Start running/g)).to.have.length(1);
      expect(run.stdout).to.contain('Processes: Open MPI, 2 ranks on one machine, all-reduce through shared memory');
      // hookflow's own stdout is a pipe here: no progress bar, though each rank's stdout is mpirun's pty.
      expect(run.stdout).to.not.contain('\x1b[');
      expect(run.stdout).to.contain('Epoch(val) [2]');
      expect(run.stdout + run.stderr).to.not.contain('rank 1:');
      expect(fs.readdirSync(path.join(dir, 'work')).filter((f) => f.endsWith('.log'))).to.have.length(1);
    });

    it('--launcher slurm fails at once (exit 2), before MPI starts, when srun started tasks without PMIx (no --mpi=pmix)', async () => {
      writeConfig();
      const run = await runToEnd(process.execPath, [CLI, 'train', 'tiny.json', '--launcher', 'slurm'], { cwd: dir, env: { SLURM_PROCID: '0', SLURM_NTASKS: '4', SLURM_LOCALID: '0' } });
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.contain("hookflow: config error: --launcher: 'slurm': srun started 4 tasks without PMIx (PMIX_RANK is not set), so MPI cannot join them into one job; start it with `srun --mpi=pmix`");
      expect(run.stdout).to.not.contain('Epoch');
    });

    it('a plugin that throws on rank 1 ends the whole job non-zero within 30 s, naming rank 1', async () => {
      writeConfig({ customHooks: [{ type: 'MisbehaveHook', rank: 1, iter: 2, how: 'throw' }] });
      const run = await hookflowCli(['train', 'tiny.json', '--work-dir', 'work', '--nproc', '2', '--cfg-options', 'runner.maxEpochs=100'], dir, 60000);
      expect(run.code).to.not.equal(0);
      expect(run.code).to.not.equal(null);
      expect(run.seconds).to.be.below(30);
      expect(run.stderr).to.match(/rank 1: hookflow: error: .*plugin failed on purpose/);
    });

    it('SIGTERM to hookflow --nproc 2 ends every rank: no process is left behind', async () => {
      writeConfig();
      const child = spawn(process.execPath, [CLI, 'train', 'tiny.json', '--work-dir', 'work', '--nproc', '2', '--no-progress', '--cfg-options', 'runner.maxEpochs=100000'],
        { cwd: dir, env: { ...process.env, HOOKFLOW_BACKEND: 'wasm' } });
      let stdout = '';
      const training = new Promise<void>((resolve) => child.stdout.on('data', (d) => { stdout += d; if (stdout.includes('Epoch [2]')) resolve(); }));
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      const killer = setTimeout(() => child.kill('SIGKILL'), 150000);
      await Promise.race([training, exited]);
      /** Processes whose command line mentions this test's directory (the launcher, mpirun, the ranks). */
      const ours = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir) || fs.readlinkSync(`/proc/${p}/cwd`) === dir; } catch { return false; }
      });
      expect(ours().length).to.be.at.least(3);
      child.kill('SIGTERM');
      const code = await exited;
      clearTimeout(killer);
      expect(code).to.not.equal(0);
      const deadline = Date.now() + 10000;
      while (ours().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(ours()).to.deep.equal([]);
    });

    it('--dist-timeout ends the job when a rank stops making progress, even with its JS thread blocked', async () => {
      writeConfig({ customHooks: [{ type: 'MisbehaveHook', rank: 1, iter: 1, how: 'block' }] });
      const run = await hookflowCli(['train', 'tiny.json', '--nproc', '2', '--dist-timeout', '3', '--cfg-options', 'runner.maxEpochs=100000'], dir, 60000);
      expect(run.code).to.equal(124);
      // Rank 0 waits for rank 1 in a collective, so either watchdog may fire first.
      expect(run.stderr).to.match(/rank [01]: no iteration finished in 3 s \(--dist-timeout\); aborting the job/);
      expect(run.seconds).to.be.below(50);
    });
  });
});
