import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors.js';
import { mpiAllreduceFromEnv } from '../../src/dist/init-dist.js';
import { parseLauncher, rankFromEnv, unwiredLaunch } from '../../src/dist/launcher.js';
import { mpirunCommand, parseNproc, parseSeconds, rankArguments } from '../../src/dist/mpirun-command.js';

describe('distributed launch: arguments and environment', () => {
  it('checks --launcher, naming the allowed values', () => {
    expect(parseLauncher(undefined)).to.equal('none');
    expect(parseLauncher('slurm')).to.equal('slurm');
    expect(() => parseLauncher('pytorch')).to.throw(ConfigError, "--launcher: must be one of none, mpi, slurm, not 'pytorch'");
  });

  it('reads HOOKFLOW_MPI_ALLREDUCE (auto unless set), naming the allowed values', () => {
    expect(mpiAllreduceFromEnv({})).to.equal('auto');
    expect(mpiAllreduceFromEnv({ HOOKFLOW_MPI_ALLREDUCE: 'mpi' })).to.equal('mpi');
    expect(() => mpiAllreduceFromEnv({ HOOKFLOW_MPI_ALLREDUCE: 'shm' })).to.throw(ConfigError, "HOOKFLOW_MPI_ALLREDUCE: must be one of auto, mpi, not 'shm'");
  });

  it('checks --nproc and the timeouts', () => {
    expect(parseNproc('4')).to.equal(4);
    for (const bad of ['0', '-1', '1.5', 'two']) expect(() => parseNproc(bad)).to.throw(ConfigError, `--nproc: must be a whole number of processes >= 1, not '${bad}'`);
    expect(parseSeconds('--dist-timeout', '2.5')).to.equal(2.5);
    expect(() => parseSeconds('--timeout', '0')).to.throw(ConfigError, "--timeout: must be a positive number of seconds, not '0'");
  });

  it('gives each rank the train arguments without the launch-only ones, plus --launcher mpi', () => {
    expect(rankArguments(['cfg.json', '--nproc', '2', '--work-dir', 'w', '--timeout=30', '--launcher', 'none', '--seed', '3', '--nproc=4', '--dist-timeout', '9'], true))
      .to.deep.equal(['cfg.json', '--work-dir', 'w', '--seed', '3', '--dist-timeout', '9', '--launcher', 'mpi']);
    expect(rankArguments([], true)).to.deep.equal(['--launcher', 'mpi']);
  });

  it('turns the ranks\' progress bar off when the launcher does not write to a terminal (every rank sees a pty)', () => {
    expect(rankArguments(['cfg.json'], false)).to.deep.equal(['cfg.json', '--launcher', 'mpi', '--no-progress']);
    expect(rankArguments(['cfg.json', '--no-progress'], false)).to.deep.equal(['cfg.json', '--no-progress', '--launcher', 'mpi']);
  });

  it('adds --allow-run-as-root as root, --oversubscribe beyond the cores, --bind-to none below them, and --timeout when asked', () => {
    const command = ['node', 'main.js', 'train', '--launcher', 'mpi'];
    expect(mpirunCommand({ nproc: 2, isRoot: false, cores: 2 }, command)).to.deep.equal({ file: 'mpirun', args: ['-np', '2', ...command] });
    expect(mpirunCommand({ nproc: 3, isRoot: true, cores: 2, timeout: 29.5 }, command).args)
      .to.deep.equal(['-np', '3', '--allow-run-as-root', '--oversubscribe', '--timeout', '30', ...command]);
    expect(mpirunCommand({ nproc: 1, isRoot: false, cores: 2 }, command).args).to.deep.equal(['-np', '1', '--bind-to', 'none', ...command]);
  });

  it('reads rank, world size and local rank from Open MPI, PMI and Slurm variables', () => {
    const ompi = { OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '8', OMPI_COMM_WORLD_LOCAL_RANK: '1' };
    expect(rankFromEnv('mpi', ompi)).to.deep.include({ rank: 3, worldSize: 8, localRank: 1 });
    expect(rankFromEnv('mpi', { PMI_RANK: '2', PMI_SIZE: '4' })).to.deep.include({ rank: 2, worldSize: 4, localRank: 0 });
    expect(rankFromEnv('slurm', { SLURM_PROCID: '5', SLURM_NTASKS: '6', SLURM_LOCALID: '2', ...ompi })).to.deep.include({ rank: 5, worldSize: 6, localRank: 2 });
    expect(rankFromEnv('slurm', ompi)).to.equal(undefined);
    expect(rankFromEnv('mpi', { OMPI_COMM_WORLD_RANK: 'x', OMPI_COMM_WORLD_SIZE: '2' })).to.equal(undefined);
    expect(rankFromEnv('none', ompi)).to.equal(undefined);
  });

  it('refuses an srun of several tasks without PMIx before MPI starts, naming srun --mpi=pmix', () => {
    const slurm = { SLURM_PROCID: '0', SLURM_NTASKS: '2', SLURM_LOCALID: '0' };
    expect(unwiredLaunch('slurm', slurm)).to.match(/^'slurm': srun started 2 tasks without PMIx .*`srun --mpi=pmix`/);
    expect(unwiredLaunch('slurm', { ...slurm, PMIX_RANK: '0' })).to.equal(undefined);
    expect(unwiredLaunch('slurm', { ...slurm, SLURM_NTASKS: '1' })).to.equal(undefined);
    expect(unwiredLaunch('mpi', slurm)).to.equal(undefined);
  });
});
