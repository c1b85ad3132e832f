#!/usr/bin/env python3
"""Chooses the anomaly firmware's detection threshold and writes what it embeds besides
the `mote export` bundle.

    scripts/anomaly-threshold.py CHECKPOINT BUNDLE_DIR [--mote BIN]

The threshold is the largest reconstruction error (mean squared error over the 32
samples of a window) of the float model on the 200 held-out NORMAL windows of
data/anomaly/normal_x.npy, which neither training nor validation saw. No anomalous
window and no test label is used to choose it. Writes:

  BUNDLE_DIR/threshold.txt       the threshold, one decimal f32
  BUNDLE_DIR/anomaly_labels.bin  one byte per embedded test window (0 normal,
                                 1 anomalous): the first SAMPLES of test_labels.npy,
                                 SAMPLES = the windows in BUNDLE_DIR/inputs_f32.bin

and prints, for comparison with the device, the host's precision and recall at that
threshold on the embedded test windows. Pure Python; runs `mote predict` (default
target/release/mote)."""
import argparse
import ast
import struct
import subprocess
import tempfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent
data = root / "data" / "anomaly"
N = 32


def read_npy(path):
    raw = path.read_bytes()
    assert raw[:6] == b"\x93NUMPY", f"{path}: not an NPY file"
    if raw[6] == 1:
        (hlen,), start = struct.unpack("<H", raw[8:10]), 10
    else:
        (hlen,), start = struct.unpack("<I", raw[8:12]), 12
    header = ast.literal_eval(raw[start : start + hlen].decode("latin1"))
    body = raw[start + hlen :]
    fmt = {"<f4": "f", "|u1": "B", "|i1": "b"}[header["descr"]]
    count = 1
    for d in header["shape"]:
        count *= d
    return list(struct.unpack(f"<{count}{fmt}", body[: count * struct.calcsize(fmt)]))


def errors(mote, ckpt, stem):
    """Per-window reconstruction MSE of the float model on data/anomaly/<stem>_x.npy."""
    x = read_npy(data / f"{stem}_x.npy")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "y.npy"
        subprocess.run(
            [mote, "predict", str(ckpt), str(data / f"{stem}_x.npy"), "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        y = read_npy(out)
    return [
        sum((y[i + t] - x[i + t]) ** 2 for t in range(N)) / N for i in range(0, len(x), N)
    ]


args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
args.add_argument("checkpoint", type=Path)
args.add_argument("bundle", type=Path)
args.add_argument("--mote", default=str(root / "target" / "release" / "mote"))
args = args.parse_args()

normal = sorted(errors(args.mote, args.checkpoint, "normal"))
threshold = normal[-1]
print(
    f"held-out normal windows: {len(normal)}, reconstruction MSE median "
    f"{normal[len(normal) // 2]:.6f}, 99th percentile {normal[int(0.99 * (len(normal) - 1))]:.6f}, "
    f"largest {threshold:.6f}"
)
print(f"threshold (largest normal error): {threshold:.6f}")

samples = (args.bundle / "inputs_f32.bin").stat().st_size // (4 * N)
labels = read_npy(data / "test_labels.npy")[:samples]
(args.bundle / "threshold.txt").write_text(f"{threshold:.9g}\n")
(args.bundle / "anomaly_labels.bin").write_bytes(bytes(labels))
print(f"wrote {args.bundle}/threshold.txt and anomaly_labels.bin ({samples} labels)")

test = errors(args.mote, args.checkpoint, "test")[:samples]
tp = sum(1 for e, l in zip(test, labels) if e > threshold and l)
fp = sum(1 for e, l in zip(test, labels) if e > threshold and not l)
fn = sum(1 for e, l in zip(test, labels) if e <= threshold and l)
kinds = read_npy(data / "test_kinds.npy")[:samples]
for k, name in enumerate(["spikes", "frequency", "dropout", "noise"]):
    of = [e for e, kk in zip(test, kinds) if kk == k]
    print(
        f"  {name:<9} {sum(e > threshold for e in of)}/{len(of)} flagged, "
        f"smallest error {min(of):.6f}"
    )
normal_test = [e for e, l in zip(test, labels) if not l]
anomalous_test = [e for e, l in zip(test, labels) if l]
print(
    f"mean reconstruction MSE on the test windows: normal {sum(normal_test) / len(normal_test):.6f}, "
    f"anomalous {sum(anomalous_test) / len(anomalous_test):.6f}"
)
print(
    f"host, {samples} test windows: tp {tp} fp {fp} fn {fn} tn {samples - tp - fp - fn}; "
    f"precision {tp / max(tp + fp, 1):.3f} recall {tp / max(tp + fn, 1):.3f}; "
    f"largest normal test error {max(normal_test):.6f}"
)
