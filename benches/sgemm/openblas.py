"""OpenBLAS SGEMM (through numpy) on one thread: C = A·B, square float32 matrices.

Prints one line per size: `n median_seconds gflops`, the median of 9 timed rounds
(each round repeats the product to last ~0.1 s). Run by benches/sgemm/run.sh.
"""
import os
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402  (after the thread settings, which numpy reads on import)

sizes = [int(s) for s in sys.argv[1:]] or [256, 512, 1024]
rng = np.random.default_rng(1)
for n in sizes:
    a = rng.random((n, n), dtype=np.float32) - 0.5
    b = rng.random((n, n), dtype=np.float32) - 0.5
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    reps = max(1, int(0.1 / (2 * n**3 / 60e9)))
    rounds = []
    for _ in range(9):
        t = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=c)
        rounds.append((time.perf_counter() - t) / reps)
    rounds.sort()
    med = rounds[len(rounds) // 2]
    print(f"{n} {med:.6e} {2 * n**3 / med / 1e9:.2f}")
