"""PyTorch side of bench/dist-scaling.ts: the same MNIST model trained by one process or by
`world` processes with DistributedDataParallel on gloo (MMCV's CPU path), for a fixed number of
steps per process.

    /usr/bin/python3 bench/dist_scaling_torch.py <data.bin> <mlp|cnn> <batch> <lr> <world> <steps>

`batch` is per process, as in hookflow's `--nproc`. Each step is what MMCV's runner does under
MMDistributedDataParallel: forward, backward (DDP averages the gradients in buckets during it),
an all_reduce of the logged loss (MMCV's `_parse_losses`), grad-norm clip 10, SGD momentum 0.9,
weight decay 1e-4. Each process runs one thread. Rank 0 prints one JSON line: the mean step time
of the second half of the steps in ms and the samples per second of all processes.
"""
import json
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from peer_torch import build, load_mnist


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def train(rank, world, port, data_file, config, batch, lr, steps):
    torch.set_num_threads(1)
    if world > 1:
        os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
        dist.init_process_group('gloo', rank=rank, world_size=world)
    x, y = load_mnist(data_file)
    batches = y.numel() // (batch * world)
    torch.manual_seed(0)
    model = build(config)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for step in range(steps):
        start = time.perf_counter()
        # The global batch's slice for this rank, as a DistributedSampler without shuffle gives it.
        first = ((step % batches) * world + rank) * batch
        xb, yb = x[first:first + batch], y[first:first + batch]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        logged = loss.detach().clone()
        if world > 1:
            dist.all_reduce(logged.div_(world))
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        logged.item()
        times.append(time.perf_counter() - start)
    if rank == 0:
        half = times[len(times) // 2:]
        step_ms = sum(half) / len(half) * 1e3
        print(json.dumps({'stepMs': step_ms, 'samplesPerSecond': batch * world / step_ms * 1e3, 'world': world}), flush=True)
    if world > 1:
        dist.destroy_process_group()


def main():
    data_file, config, batch, lr, world, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    if world == 1:
        train(0, 1, 0, data_file, config, batch, lr, steps)
    else:
        mp.spawn(train, args=(world, free_port(), data_file, config, batch, lr, steps), nprocs=world)


if __name__ == '__main__':
    main()
