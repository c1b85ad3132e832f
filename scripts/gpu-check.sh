#!/usr/bin/env bash
# GPU verification for `mote train --device cuda` (cargo feature `cuda`), to run on a
# machine with an NVIDIA GPU; everything it finds goes under $OUT (default
# target/gpu-check). See docs/training.md ("Training on a GPU").
#
#   OUT=/tmp/gpu scripts/gpu-check.sh
#
# It builds with `--features cuda`, records the device (nvidia-smi) and the probe, runs the
# GPU tests (cuBLAS against the CPU), and times the MNIST CNN's epochs on the CPU and with
# `--device cuda`. cuBLAS and NVRTC come from a CUDA toolkit on LD_LIBRARY_PATH or, when
# there is none, from PyTorch's pip wheels (site-packages/nvidia/*/lib), which this script
# adds. A step that fails is recorded and the script goes on.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-target/gpu-check}"
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

libs=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
dirs = set()
for sp in site.getsitepackages():
    for lib in ("libcublas.so*", "libnvrtc.so*"):
        for p in glob.glob(os.path.join(sp, "nvidia", "**", lib), recursive=True):
            dirs.add(os.path.dirname(p))
print(":".join(sorted(dirs)))
PY
)
if [ -n "$libs" ]; then
    export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    note "libraries from pip wheels: $libs"
fi

if command -v nvidia-smi >/dev/null; then
    nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
    note "device: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -n 1)"
else
    note "device: nvidia-smi not found"
fi

if cargo build --release -p mote-trainer --features cuda >"$OUT/build.log" 2>&1; then
    note "build --features cuda: ok"
else
    note "build --features cuda: FAILED (see build.log)"
    exit 1
fi

if cargo test --release -p mote-trainer --features cuda --test gpu -- --nocapture \
    >"$OUT/gpu-test.log" 2>&1; then
    note "GPU tests: ok ($(grep -m1 -E '^GPU:|skipped' "$OUT/gpu-test.log" || true))"
else
    note "GPU tests: FAILED (see gpu-test.log)"
fi

# Epoch times, CPU then GPU, on the bundled MNIST CNN (2 epochs each).
for device in cpu cuda; do
    run="$OUT/mnist-cnn-$device"
    rm -rf "$run"
    if target/release/mote train examples/mnist-cnn.toml --epochs 2 --device "$device" \
        --quiet --out "$run" >"$run.log" 2>&1; then
        note "mnist-cnn --device $device: $(python3 -c "import json,sys; m=json.load(open('$run/metrics.json')); print(f\"median {m['median_epoch_seconds']:.3f} s/epoch, test accuracy {m['test_accuracy']}\")")"
    else
        note "mnist-cnn --device $device: $(tail -n 1 "$run.log")"
    fi
done
note "done: results in $OUT"
