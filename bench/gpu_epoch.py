"""Time per training epoch on a GPU against the CPU (issue: trivariate-sparse, N=2000, MNIST).

Run:  .venv/bin/python bench/gpu_epoch.py [--hidden 2000] [--preset trivariate-sparse]
          [--data-dir DIR] [--cpu-steps 3] [--gpu-steps 20] [--json out.json]

The training step of the trainer (forward, local losses, backward, Adam), timed on batches of
the training set: a median over ``--gpu-steps`` steps on CUDA, over ``--cpu-steps`` on the CPU
(a CPU epoch at N = 2000 takes minutes, so it is the median step times the steps per epoch).
Reads MNIST from ``--data-dir`` (default ../shared/data/mnist) when it is there, else uses
MNIST-shaped random inputs (48k x 784, 10 classes; the step's cost hardly depends on pixel
values). Prints seconds per epoch on each device and the CPU / GPU ratio; without CUDA only
the CPU line.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from _timing import machine, run_script, write_json

from inspector.allocator import keep_freed_memory
from training.config import make_config
from training.data import DEFAULT_MNIST_DIR
from training.trainer import _optimizers, build_model, train_step


def _data(data_dir) -> tuple[torch.Tensor, torch.Tensor, str]:
    try:
        from training.data import load_dataset

        splits = load_dataset("mnist", data_dir)
        x, y = (torch.as_tensor(a) for a in splits.train)
        return x, y, "MNIST"
    except Exception as err:  # a timing bench: any data of the right shape will do
        gen = torch.Generator().manual_seed(0)
        print(f"# MNIST not readable ({err}); MNIST-shaped random inputs instead")
        return (torch.randn(48_000, 784, generator=gen),
                torch.randint(0, 10, (48_000,), generator=gen), "random 48k x 784")


def step_seconds(preset: str, hidden: int, device: str, x, y, steps: int) -> float:
    """Median seconds of one training step on ``device`` (after two warm-up steps)."""
    config = make_config({"preset": preset, "hidden": hidden, "data": "mnist", "device": device})
    dev = torch.device(device)
    model = build_model(config, x.shape[1], 10, dev, torch.Generator().manual_seed(0))
    optimizers = _optimizers(model, config)
    gen = torch.Generator(device=dev).manual_seed(0)
    batch = config.batch_size
    x, y = x.to(dev), y.to(dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def step(i: int) -> None:
        sl = slice((i * batch) % (len(x) - batch), (i * batch) % (len(x) - batch) + batch)
        train_step(model, optimizers, x[sl], y[sl], gen)

    times = []
    for i in range(steps + 2):
        sync()
        start = time.perf_counter()
        step(i)
        sync()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=2000)
    parser.add_argument("--preset", default="trivariate-sparse")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cpu-steps", type=int, default=3)
    parser.add_argument("--gpu-steps", type=int, default=20)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    x, y, what = _data(args.data_dir or DEFAULT_MNIST_DIR)
    steps_per_epoch = math.ceil(len(x) / 1024)
    print(f"# {args.preset}, N={args.hidden}, batch 1024, {what}: {steps_per_epoch} steps/epoch")
    print(f"# {machine()}")
    rows = []
    devices = (["cuda"] if torch.cuda.is_available() else []) + ["cpu"]
    for device in devices:
        steps = args.gpu_steps if device == "cuda" else args.cpu_steps
        seconds = step_seconds(args.preset, args.hidden, device, x, y, steps)
        name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
        print(f"{device:<5} {name:<28} {seconds * 1e3:9.1f} ms/step "
              f"{seconds * steps_per_epoch:8.1f} s/epoch")
        rows.append({"device": device, "name": name, "ms_per_step": seconds * 1e3,
                     "s_per_epoch": seconds * steps_per_epoch})
    if len(rows) == 2:
        print(f"CPU / GPU: {rows[1]['ms_per_step'] / rows[0]['ms_per_step']:.1f}x")
    write_json(args.json, "gpu_epoch", rows)


if __name__ == "__main__":
    run_script(main)
