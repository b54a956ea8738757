"""PyTorch side of bench/peer.ts: a plain training loop driven over stdin, one round per request.

Started by peer.ts as `/usr/bin/python3 bench/peer_torch.py <data.bin> <config> <batch> <lr>`
(Debian's python3-torch; the bench installs nothing). peer.ts preloads OpenBLAS (Debian's torch
links the reference BLAS through libblas.so.3, ~20x slower) and this script reports whether it
took effect. Protocol: a line `run <steps>` answers one JSON line {"wall": ms, "cpu": ms}; EOF ends.
"""
import json
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)


def blas_in_use():
    with open('/proc/self/maps') as maps:
        libs = {line.split()[-1] for line in maps if 'blas' in line}
    openblas = any('openblas' in lib for lib in libs)
    a = torch.randn(512, 512)
    torch.mm(a, a)
    start = time.perf_counter()
    for _ in range(10):
        torch.mm(a, a)
    gflops = 10 * 2 * 512 ** 3 / (time.perf_counter() - start) / 1e9
    return {'openblas': openblas, 'libs': sorted(libs), 'sgemm_gflops': round(gflops, 1)}


def build(config):
    if config == 'mlp':
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(8 * 13 * 13, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def load_mnist(data_file):
    """The samples peer.ts wrote: n*784 float32 features, then n labels as float32."""
    raw = np.fromfile(data_file, dtype=np.float32)
    n = raw.size // 785
    x = torch.from_numpy(raw[: n * 784].reshape(n, 1, 28, 28).copy())
    y = torch.from_numpy(raw[n * 784:].astype(np.int64))
    return x, y


def main():
    data_file, config, batch, lr = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    x, y = load_mnist(data_file)
    n = y.numel()
    torch.manual_seed(0)
    model = build(config)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = n // batch
    cursor = 0
    print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(), **blas_in_use()}), flush=True)
    for line in sys.stdin:
        steps = int(line.split()[1])
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            i = cursor % batches
            cursor += 1
            xb, yb = x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            loss.item()  # what a logging loop reads each step
        print(json.dumps({'wall': (time.perf_counter() - wall0) * 1e3, 'cpu': (time.process_time() - cpu0) * 1e3}), flush=True)


if __name__ == '__main__':
    main()
