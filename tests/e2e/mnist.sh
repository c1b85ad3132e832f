#!/usr/bin/env bash
# End to end, host to device: trains tests/e2e/mnist-small.toml on the bundled MNIST for
# two epochs, exports it to int8 with a firmware bundle (the .mote file, the generated
# Rust module and 100 quantised test digits), builds the mnist firmware with that bundle
# and runs it on the emulated Cortex-M4F (QEMU mps2-an386) and Cortex-M55 (mps3-an547).
# The firmware compares every output of the .mote executor and of the generated module
# with the host executor's (computed when it was built), bit for bit, and exits 1 on any
# difference; this script also requires its `mnist: PASS` line.
#
#   tests/e2e/mnist.sh [WORK_DIR]      (default target/mote-test/e2e-mnist)
#
# SPEC names another spec to train (tests/e2e/mnist-lstm-small.toml: an LSTM, whose
# state the integer model keeps in a scratch tensor of the arena).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${1:-$root/target/mote-test/e2e-mnist}"
rm -rf "$work"
mkdir -p "$work"
cd "$root"
mote() { cargo run --quiet --release -p mote-trainer --bin mote -- "$@"; }

mote train "${SPEC:-tests/e2e/mnist-small.toml}" --out "$work/run" --quiet
mote export "$work/run/best.ckpt" --out "$work/model.mote" --calib data/mnist \
    --firmware "$work/bundle" --report-samples 20

cd "$root/firmware-examples"
for target in thumbv7em-none-eabihf thumbv8m.main-none-eabihf; do
    printf '\n--- mnist firmware with the freshly trained model, %s ---\n' "$target"
    MOTE_FIRMWARE_BUNDLE="$work/bundle" cargo run --quiet --release --bin mnist \
        --target "$target" 2>&1 | tee "$work/$target.log"
    grep -q 'mnist: PASS' "$work/$target.log" || {
        echo "e2e: the firmware exited 0 but never logged 'mnist: PASS'" >&2
        exit 1
    }
done
printf '\ne2e: the device reproduced the host executor bit for bit on both cores\n'
