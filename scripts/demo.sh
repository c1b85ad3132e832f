#!/usr/bin/env bash
# The main job: trains the CNN of examples/mnist-cnn.toml on the bundled MNIST split
# (8,000 training / 2,000 test images; about a minute on two cores), evaluates it,
# quantises it to an int8 .mote model (runs/mnist-cnn/model.mote, with its report in
# model.mote.json) and evaluates that with the integer executor the device runs, then
# runs the hello firmware on the emulated Cortex-M4F (QEMU mps2-an386) and Cortex-M55
# (QEMU mps3-an547), which checks on the device that mote-core computes, bit for bit,
# what the host computed at build time. (Running the exported model itself on the
# emulated device is the next step of the roadmap.)
#
#   scripts/demo.sh
#
# Installs what it needs first (Cortex-M targets, QEMU, defmt-print; see scripts/setup.sh).
# Set MOTE_SKIP_SETUP=1 to skip that.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${MOTE_SKIP_SETUP:-0}" != 1 ]; then
    bash "$root/scripts/setup.sh" --firmware
fi

cd "$root"
printf '=== training examples/mnist-cnn.toml (outputs in runs/mnist-cnn) ===\n'
cargo run --quiet --release -p mote-trainer --bin mote -- \
    train examples/mnist-cnn.toml --out runs/mnist-cnn
cargo run --quiet --release -p mote-trainer --bin mote -- \
    eval runs/mnist-cnn/best.ckpt --data data/mnist
printf '\n=== int8 export (runs/mnist-cnn/model.mote) ===\n'
cargo run --quiet --release -p mote-trainer --bin mote -- \
    export runs/mnist-cnn/best.ckpt --out runs/mnist-cnn/model.mote --calib data/mnist
printf '\n=== the int8 model, run by the integer executor ===\n'
cargo run --quiet --release -p mote-trainer --bin mote -- \
    eval runs/mnist-cnn/model.mote --data data/mnist

cd "$root/firmware-examples"
run() {
    printf '\n=== hello on %s ===\n' "$1"
    cargo run --quiet --release --bin hello --target "$2"
}
run "Cortex-M4F (QEMU mps2-an386)" thumbv7em-none-eabihf
run "Cortex-M55 (QEMU mps3-an547)" thumbv8m.main-none-eabihf
printf '\ndemo: both runs passed\n'
