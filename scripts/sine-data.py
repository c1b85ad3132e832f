#!/usr/bin/env python3
"""Writes data/sine/{train,test}.csv: x uniform in [0, 2π), y = sin(x) + N(0, 0.05²) noise
for training (the TensorFlow Lite Micro "hello world" data set) and noiseless y for
testing. Seeded; rerunning gives the same files."""
import math
import random
from pathlib import Path

out = Path(__file__).resolve().parent.parent / "data" / "sine"
out.mkdir(parents=True, exist_ok=True)
rng = random.Random(1)
for name, n, noise in [("train", 1000, 0.05), ("test", 200, 0.0)]:
    with open(out / f"{name}.csv", "w") as f:
        f.write("x,y\n")
        for _ in range(n):
            x = rng.uniform(0.0, 2.0 * math.pi)
            y = math.sin(x) + rng.gauss(0.0, noise) if noise else math.sin(x)
            f.write(f"{x:.6f},{y:.6f}\n")
