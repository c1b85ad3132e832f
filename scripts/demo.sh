#!/usr/bin/env bash
# The main job: runs the hello firmware on the emulated Cortex-M4F (QEMU mps2-an386) and
# Cortex-M55 (QEMU mps3-an547) and prints its decoded defmt log. Each run checks on the
# device that mote-core computes, bit for bit, what the host computed at build time.
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

cd "$root/firmware-examples"
run() {
    printf '\n=== hello on %s ===\n' "$1"
    cargo run --quiet --release --bin hello --target "$2"
}
run "Cortex-M4F (QEMU mps2-an386)" thumbv7em-none-eabihf
run "Cortex-M55 (QEMU mps3-an547)" thumbv8m.main-none-eabihf
printf '\ndemo: both runs passed\n'
