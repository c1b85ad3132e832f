#!/usr/bin/env python3
"""Writes data/series/{train,test}.csv: an hourly series with a daily and a weekly cycle,
a slow trend and AR(1) noise (a load- or temperature-like signal), for one-step
forecasting with a sliding window (examples/series-lstm.toml). Columns: the hour of day
as a point on the unit circle (hour_sin, hour_cos) and the value. The test file
continues the training series in time (hours 3,000–3,599). Also prints the test MSE of
the persistence forecast (next value = last value), the baseline a model must beat.
Seeded; rerunning gives the same files."""
import math
import random
from pathlib import Path

out = Path(__file__).resolve().parent.parent / "data" / "series"
out.mkdir(parents=True, exist_ok=True)
rng = random.Random(7)
noise = 0.0
values = []
for t in range(3600):
    noise = 0.7 * noise + rng.gauss(0.0, 0.4)
    day = 3.0 * math.sin(2 * math.pi * t / 24 - 1.0)
    week = 1.5 * math.sin(2 * math.pi * t / 168)
    values.append(10.0 + day + week + 0.002 * t + noise)
for name, lo, hi in [("train", 0, 3000), ("test", 3000, 3600)]:
    with open(out / f"{name}.csv", "w") as f:
        f.write("hour_sin,hour_cos,value\n")
        for t in range(lo, hi):
            a = 2 * math.pi * (t % 24) / 24
            f.write(f"{math.sin(a):.6f},{math.cos(a):.6f},{values[t]:.6f}\n")
window = 24
test = values[3000:3600]
errs = [(test[i + window] - test[i + window - 1]) ** 2 for i in range(len(test) - window)]
print(f"persistence forecast, test MSE {sum(errs) / len(errs):.4f} over {len(errs)} windows")
