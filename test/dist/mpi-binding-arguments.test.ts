import { expect } from 'chai';
import { loadMpiBinding } from '../../src/dist/mpi-binding.js';

// The binding checks its arguments before any collective, so this needs neither mpirun nor init.
describe('native/mpi: bad arguments to the all-reduces', () => {
  const { addon, reason } = loadMpiBinding();

  before(function () {
    if (!addon) {
      console.log(`      skipped (the MPI binding): ${reason}`);
      this.skip();
    }
  });

  it('allreduceParts takes an array of Float32Arrays, and says so', () => {
    const parts = addon!.allreduceParts as (parts: unknown, op: unknown) => Promise<void>;
    expect(() => parts(new Float32Array(2), 'sum')).to.throw(TypeError, 'hookflow mpi: allreduceParts takes an array of Float32Arrays');
    expect(() => parts([new Float32Array(2), new Float64Array(2)], 'sum')).to.throw(TypeError, 'hookflow mpi: allreduceParts takes an array of Float32Arrays');
  });

  it('both name the operations they know when given another', () => {
    expect(() => addon!.allreduceParts([new Float32Array(2)], 'avg' as 'mean')).to.throw(TypeError, "hookflow mpi: allreduce op must be sum, mean, max or min, not 'avg'");
    expect(() => addon!.allreduce(new Float32Array(2), 'avg' as 'mean')).to.throw(TypeError, "hookflow mpi: allreduce op must be sum, mean, max or min, not 'avg'");
  });

  it('refuse to run before init', () => {
    expect(() => addon!.allreduceParts([new Float32Array(2)], 'sum')).to.throw('hookflow mpi: init() was not called');
    expect(() => addon!.allreduce(new Float32Array(2), 'sum')).to.throw('hookflow mpi: init() was not called');
  });
});
