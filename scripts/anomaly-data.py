#!/usr/bin/env python3
"""Writes data/anomaly/: windows of 32 samples of a synthetic vibration sensor, for the
dense autoencoder of examples/anomaly.toml (firmware-examples/anomaly).

A normal window is two sines, the shaft frequency (2 cycles per window) and a harmonic
(5 cycles), each with a random phase and small amplitude and frequency jitter, plus a
little sensor noise. An anomalous window is a normal one with one fault:

  0 spikes       1 to 3 impulses of ±(0.8 to 3) at random positions
  1 frequency    the shaft frequency moved to 2.5 to 4 cycles per window
  2 dropout      a segment of 5 to 16 samples stuck at one value (flat line)
  3 noise        strong broadband noise (sigma 0.15 to 0.6)

Files (all f32 windows are `[n, 32]` '<f4'; the targets equal the inputs: an
autoencoder):
  train_x.npy / train_y.npy    800 normal windows (training, with its validation split)
  normal_x.npy / normal_y.npy  200 held-out normal windows: only for choosing the
                               detection threshold (scripts/anomaly-threshold.py)
  test_x.npy / test_y.npy      200 windows, 100 normal and 100 anomalous, shuffled
  test_labels.npy              [200] u1: 0 normal, 1 anomalous
  test_kinds.npy               [200] i1: -1 normal, else the fault (0 to 3, above)

Seeded; rerunning gives the same files. Pure Python (no numpy needed)."""
import math
import random
import struct
from pathlib import Path

N = 32  # samples per window
out = Path(__file__).resolve().parent.parent / "data" / "anomaly"
rng = random.Random(7)


def normal_window(f1=None):
    f1 = f1 if f1 is not None else 2.0 * rng.uniform(0.95, 1.05)
    f2 = 5.0 * rng.uniform(0.97, 1.03)
    a1 = rng.uniform(0.9, 1.1)
    a2 = rng.uniform(0.35, 0.45)
    p1 = rng.uniform(0.0, 2.0 * math.pi)
    p2 = rng.uniform(0.0, 2.0 * math.pi)
    return [
        a1 * math.sin(2.0 * math.pi * f1 * t / N + p1)
        + a2 * math.sin(2.0 * math.pi * f2 * t / N + p2)
        + rng.gauss(0.0, 0.03)
        for t in range(N)
    ]


def anomalous_window(kind):
    if kind == 1:
        return normal_window(f1=rng.uniform(2.5, 4.0))
    x = normal_window()
    if kind == 0:
        for t in rng.sample(range(N), rng.randint(1, 3)):
            x[t] += rng.choice((-1.0, 1.0)) * rng.uniform(0.8, 3.0)
    elif kind == 2:
        length = rng.randint(5, 16)
        start = rng.randint(0, N - length)
        stuck = x[start]
        for t in range(start, start + length):
            x[t] = stuck
    else:
        sigma = rng.uniform(0.15, 0.6)
        x = [v + rng.gauss(0.0, sigma) for v in x]
    return x


def write_npy(path, descr, shape, values):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr,
        ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else ""),
    )
    # Magic (6) + version (2) + header length (2) + header + '\n', padded to 64 bytes.
    pad = -(10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    fmt = {"<f4": "<%df", "|u1": "<%dB", "|i1": "<%db"}[descr]
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack(fmt % len(values), *values))


def write_windows(stem, windows):
    flat = [v for w in windows for v in w]
    for suffix in ("x", "y"):
        write_npy(out / f"{stem}_{suffix}.npy", "<f4", (len(windows), N), flat)


out.mkdir(parents=True, exist_ok=True)
write_windows("train", [normal_window() for _ in range(800)])
write_windows("normal", [normal_window() for _ in range(200)])
kinds = [-1] * 100 + [k % 4 for k in range(100)]
rng.shuffle(kinds)
test = [normal_window() if k < 0 else anomalous_window(k) for k in kinds]
write_windows("test", test)
write_npy(out / "test_labels.npy", "|u1", (len(kinds),), [int(k >= 0) for k in kinds])
write_npy(out / "test_kinds.npy", "|i1", (len(kinds),), kinds)
