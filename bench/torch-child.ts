/**
 * What the benches need to start PyTorch beside hookflow: Debian's python3-torch through
 * `/usr/bin/python3`, one thread, OpenBLAS preloaded (Debian's torch links the reference BLAS
 * through libblas.so.3, ~20x slower, and no PyTorch user runs that), and the MNIST samples in a
 * file both sides read. The benches install nothing; `torchMissing` says how to get it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MNIST } from '../src/training/data/mnist.js';

export const PYTHON = '/usr/bin/python3';
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3';
const INSTALL = "install Debian's python3-torch and python3-numpy: apt-get install python3-torch python3-numpy";

/** The environment of a torch child: one thread, OpenBLAS preloaded when Debian has it. */
export function torchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
  if (fs.existsSync(OPENBLAS)) env.LD_PRELOAD = OPENBLAS;
  return env;
}

let probed: { missing: string | undefined } | undefined;

/**
 * Why torch cannot run here (with how to install it), or undefined when `import torch` works.
 * Probed once per process: importing torch takes a second or two.
 */
export function torchMissing(): string | undefined {
  probed ??= { missing: probeTorch() };
  return probed.missing;
}

function probeTorch(): string | undefined {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found; ${INSTALL}`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { env: torchEnv(), encoding: 'utf8' });
  return probe.status === 0 ? undefined : `${PYTHON} cannot import torch (${probe.stderr.trim().split('\n').at(-1) ?? ''}); ${INSTALL}`;
}

/** Writes `count` MNIST samples (features, then labels as float32) to a temp file for the torch side. */
export function writeTorchData(mnist: MNIST, count: number): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-peer-data-')), 'mnist.bin');
  const out = new Float32Array(count * 785);
  out.set(mnist.features.subarray(0, count * 784));
  for (let i = 0; i < count; i++) out[count * 784 + i] = mnist.labels[i]!;
  fs.writeFileSync(file, out);
  return file;
}
