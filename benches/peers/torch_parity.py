#!/usr/bin/env python3
"""PyTorch peer of mote's parity models: trains one on the bundled MNIST split and
prints one JSON line with its accuracy, per-epoch training time and peak memory, so
benches/peers/run.sh can set mote's figures beside PyTorch's from the same run.

    python3 benches/peers/torch_parity.py --model mlp|cnn|lstm [--epochs 10] [--seed 0]
                                          [--threads 2] [--data data/mnist]

Models (PyTorch default initialisation), Adam lr 1e-3, batch 64, cross-entropy,
training set reshuffled every epoch from --seed:
  mlp: Flatten, Linear(784,128), ReLU, Linear(128,64), ReLU, Linear(64,10)
  cnn: Conv2d(1,8,3), ReLU, MaxPool2d(2), Conv2d(8,16,3), ReLU, MaxPool2d(2),
       Flatten, Linear(16*5*5,10)
  lstm: each image as 28 rows of 28 pixels, LSTM(28, 64, batch_first), the last
        hidden state into Linear(64, 10)

Only the training loop of each epoch is timed (shuffle, forward, backward, step); loading
the data and evaluating are not. test_accuracy is a fraction in [0, 1]; peak_rss_mb is
ru_maxrss / 1024 (Linux reports KiB), so it includes the Python and PyTorch runtime.
On a shared machine set OMP_WAIT_POLICY=PASSIVE (run.sh does): spinning OpenMP threads
that lose their core make epoch times swing by 50x.
"""

import argparse
import gzip
import json
import os
import resource
import statistics
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]

# IDX type codes (third byte of the magic number) -> big-endian numpy dtypes.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """The array in an IDX file (gzip), with its shape from the header."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        sys.exit(f"{path}: not an IDX file (magic {raw[:4].hex()})")
    dtype, ndim = IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        sys.exit(f"{path}: header truncated")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        sys.exit(f"{path}: {len(raw) - header} data bytes, shape {shape} needs "
                 f"{count * dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def load_split(data, split):
    """Images as float32 N×1×28×28 in [0, 1] and labels as int64, for 'train' or 'test'."""
    images = read_idx(data / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(data / f"{split}-labels-idx1-ubyte.gz")
    if images.shape[0] != labels.shape[0]:
        sys.exit(f"{data}: {split} has {images.shape[0]} images, {labels.shape[0]} labels")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def build(model):
    """The parity model named `model`, with PyTorch's default initialisation."""
    if model == "lstm":
        return LastStep()
    if model == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 128), nn.ReLU(),
            nn.Linear(128, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 10),
    )


class LastStep(nn.Module):
    """An LSTM over the image's rows whose last hidden state feeds a linear layer."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 64, batch_first=True)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        seq, _ = self.lstm(x.reshape(x.shape[0], 28, 28))
        return self.out(seq[:, -1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["mlp", "cnn", "lstm"], required=True)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--data", type=Path, default=REPO / "data" / "mnist")
    args = p.parse_args()
    if args.epochs < 1 or args.threads < 1 or args.batch < 1:
        sys.exit("--epochs, --threads and --batch must be at least 1")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "test")

    model = build(args.model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(args.seed)
    n = x_train.shape[0]

    epoch_seconds = []
    for _ in range(args.epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(n, generator=shuffle)
        for i in range(0, n, args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
        epoch_seconds.append(time.perf_counter() - start)

    model.eval()
    with torch.no_grad():
        logits = model(x_test)
        test_loss = loss_fn(logits, y_test).item()
        test_accuracy = (logits.argmax(1) == y_test).float().mean().item()

    print(json.dumps({
        "framework": "pytorch",
        "model": args.model,
        "test_accuracy": round(test_accuracy, 6),
        "test_loss": round(test_loss, 6),
        "epoch_seconds": [round(s, 6) for s in epoch_seconds],
        "median_epoch_seconds": round(statistics.median(epoch_seconds), 6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "epochs": args.epochs,
        "seed": args.seed,
        "threads": args.threads,
        "torch_version": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
    }))


if __name__ == "__main__":
    main()
