#!/usr/bin/env bash
# The main job: trains the CNN of examples/mnist-cnn.toml on the bundled MNIST split
# (8,000 training / 2,000 test images; about a minute on two cores), evaluates it,
# quantises it to an int8 .mote model (runs/mnist-cnn/model.mote, with its report in
# model.mote.json) and evaluates that with the integer executor the device runs, then
# runs the hello firmware on the emulated Cortex-M4F (QEMU mps2-an386) and Cortex-M55
# (QEMU mps3-an547) — mote-core computes there, bit for bit, what the host computed — and
# finally the exported model itself on the emulated Cortex-M4F: the mnist firmware
# classifies 100 test digits with the .mote executor and with the generated Rust module,
# checks every output against the host's, and reports instructions per inference.
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
    export runs/mnist-cnn/best.ckpt --out runs/mnist-cnn/model.mote --calib data/mnist \
    --firmware runs/mnist-cnn/firmware
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
printf '\n=== the exported model on Cortex-M4F (QEMU mps2-an386) ===\n'
MOTE_FIRMWARE_BUNDLE="$root/runs/mnist-cnn/firmware" \
    cargo run --quiet --release --bin mnist --target thumbv7em-none-eabihf
printf '\ndemo: every run passed\n'
