#!/usr/bin/env bash
# The one test command: everything CI runs, in order, failing fast.
#
#   scripts/test.sh
#
# Steps: setup, formatting, clippy, host tests, no_std builds for both Cortex-M targets,
# property tests under QEMU user mode (armv7, aarch64), the simd-check, hello, mnist,
# finetune, sine and anomaly firmware under QEMU on the Cortex-M4F and the Cortex-M55, a
# corrupted model rejected on the device, the end-to-end test (train → export → firmware →
# QEMU, bit-exact with the host), and a self-test of the harness (firmware that fails,
# panics, faults or hangs must make the runner fail).
#
# Ends with `N passed, 0 failed`, or with the failing step and its exit status (and exits
# with that status).
#
# Environment:
#   MOTE_SKIP_SETUP=1  skip scripts/setup.sh (quicker local runs once it has run)
#   MOTE_CACHE         cache of QEMU and defmt-print (default $HOME/.cache/mote)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fw="$root/firmware-examples"
logs="$root/target/mote-test"
mkdir -p "$logs"
cd "$root"

passed=0
total_start=$EPOCHREALTIME

elapsed() { # start → seconds with one decimal
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# step NAME FUNCTION: runs FUNCTION with errexit on; stops the script on failure.
step() {
    local name="$1" fn="$2" start rc
    printf '\n==> %s\n' "$name"
    start=$EPOCHREALTIME
    set +e
    (
        set -euo pipefail
        "$fn"
    )
    rc=$?
    set -e
    if [ "$rc" -ne 0 ]; then
        printf '<== %s: FAILED (exit %s) after %s s\n' "$name" "$rc" "$(elapsed "$start")"
        printf '\n%s passed, 1 failed: %s (exit %s), total %s s\n' \
            "$passed" "$name" "$rc" "$(elapsed "$total_start")"
        exit "$rc"
    fi
    passed=$((passed + 1))
    printf '<== %s: ok in %s s\n' "$name" "$(elapsed "$start")"
}

# Runs a command, showing its output and keeping a copy in $logs/NAME.log.
logged() {
    local name="$1"
    shift
    "$@" 2>&1 | tee "$logs/$name.log"
}

setup() { bash "$root/scripts/setup.sh"; }

fmt_root() { cargo fmt --all --check; }
# Members only: mote-core (a path dependency) is checked by the root step.
fmt_firmware() { cd "$fw" && cargo fmt --check; }

clippy_root() {
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy -p mote-kernels --all-targets --features fast-math -- -D warnings
}
clippy_firmware() {
    cd "$fw"
    cargo clippy --release --workspace -- -D warnings
    cargo clippy --release --workspace --target thumbv8m.main-none-eabihf -- -D warnings
}

# A hanging test must fail CI, not stall it: every test run has a generous time limit.
limit() { timeout --kill-after=30 "$@"; }

host_tests() {
    limit 1200 cargo test --workspace
    # The fast-math feature swaps in approximations whose error bounds are asserted.
    limit 600 cargo test -p mote-kernels --features fast-math
}

# The GPU feature builds and lints on a machine without CUDA (cudarc loads the driver
# and libraries at run time); its tests skip the GPU half with a message where there is
# none, and check `--device cuda` / `auto` without one.
cuda_feature() {
    cargo clippy -p mote-trainer --all-targets --features cuda -- -D warnings
    limit 600 cargo test -p mote-trainer --features cuda --test gpu --test cli_errors
}

nostd_m4() {
    cargo build -p mote-core -p mote-simd -p mote-kernels --target thumbv7em-none-eabihf
    cargo build -p mote-core --features mote-core/defmt --target thumbv7em-none-eabihf
    cargo build -p mote-kernels --features defmt,fast-math --target thumbv7em-none-eabihf
}
nostd_m55() {
    cargo build -p mote-core -p mote-simd -p mote-kernels --target thumbv8m.main-none-eabihf
    # mote-simd's DSP and Helium paths, with the Cortex-M55 flags of firmware-examples/
    # (a path dependency there, so its clippy step does not lint them); own target dir,
    # so the flags do not invalidate the plain build above.
    RUSTFLAGS="-C target-feature=+dsp,+mve.fp" cargo clippy -p mote-simd \
        --target thumbv8m.main-none-eabihf --target-dir target/helium -- -D warnings
}

# Under qemu-user every instruction is emulated: run a quarter of the property cases
# (MOTE_PROPTEST_SCALE, read by mote_tests::config), unless the caller chose a scale.
qemu_user() {
    MOTE_PROPTEST_SCALE="${MOTE_PROPTEST_SCALE:-0.25}" limit 1500 \
        cargo test -p mote-core -p mote-simd -p mote-kernels -p mote-tests --target "$1"
}
qemu_user_armv7() { qemu_user armv7-unknown-linux-gnueabihf; }
qemu_user_aarch64() { qemu_user aarch64-unknown-linux-gnu; }
# The SDOT path exists only when the dot-product extension is compiled in: the SIMD
# tests again with it (own target directory, so the default build stays cached).
qemu_user_aarch64_dotprod() {
    MOTE_PROPTEST_SCALE="${MOTE_PROPTEST_SCALE:-0.25}" CARGO_TARGET_DIR=target/dotprod \
        RUSTFLAGS="-C target-feature=+dotprod" limit 900 \
        cargo test -p mote-simd -p mote-tests --target aarch64-unknown-linux-gnu \
        --lib --test simd_int8_dot --test simd_paths
}

# firmware_on BIN TARGET: the firmware example BIN must exit 0 on TARGET and log
# `BIN: PASS` (its log is kept as $logs/BIN-<m4|m55>.log). What each checks:
#   hello     mote-core computes on the device what the host computed at build time;
#   mnist     the bundled MNIST model, executor and generated module, bit-exact with the
#             host executor;
#   sine      the sine regression from generated Rust: int8 bit-exact with the host
#             executor, f32 within 1e-5 of the host's float model;
#   anomaly   the dense autoencoder in f32: outputs within 1e-5 of the host's, precision
#             and recall at the firmware's bars;
#   finetune  a fresh head trained on the device on the frozen int8 MNIST body: the loss
#             falls and the held-out accuracy reaches the firmware's bar;
#   simd-check  every mote-simd micro-kernel on every compiled path (M4F: DSP; M55: DSP
#             and Helium) against the scalar path on generated cases, and instructions
#             per MAC per path.
firmware_on() {
    local bin="$1" target="$2" log
    case "$target" in
        thumbv7em-none-eabihf) log="$bin-m4" ;;
        *) log="$bin-m55" ;;
    esac
    cd "$fw"
    logged "$log" cargo run --release --bin "$bin" --target "$target"
    grep -q "$bin: PASS" "$logs/$log.log" || {
        echo "$bin exited 0 but never logged '$bin: PASS'" >&2
        return 1
    }
}
m4=thumbv7em-none-eabihf
m55=thumbv8m.main-none-eabihf
hello_m4() { firmware_on hello "$m4"; }
hello_m55() { firmware_on hello "$m55"; }
mnist_m4() { firmware_on mnist "$m4"; }
mnist_m55() { firmware_on mnist "$m55"; }
sine_m4() { firmware_on sine "$m4"; }
sine_m55() { firmware_on sine "$m55"; }
anomaly_m4() { firmware_on anomaly "$m4"; }
anomaly_m55() { firmware_on anomaly "$m55"; }
finetune_m4() { firmware_on finetune "$m4"; }
finetune_m55() { firmware_on finetune "$m55"; }
simd_check_m4() { firmware_on simd-check "$m4"; }
simd_check_m55() { firmware_on simd-check "$m55"; }
# kernel-bench: the CMSIS-NN comparison shapes on the scalar and the best path; it fails
# unless both give the same outputs (and its digest matches).
kernel_bench_m4() { firmware_on kernel-bench "$m4"; }
kernel_bench_m55() { firmware_on kernel-bench "$m55"; }

# A corrupted model must be rejected by the reader on the device: exit 1 with its error.
mnist_corrupt() {
    cd "$fw"
    local rc
    set +e
    cargo run -q --release --bin mnist-corrupt >"$logs/mnist-corrupt.log" 2>&1
    rc=$?
    set -e
    sed 's/^/    /' "$logs/mnist-corrupt.log"
    [ "$rc" -eq 1 ] || {
        echo "mnist-corrupt exited $rc, not 1" >&2
        return 1
    }
    grep -q 'the reader rejected the corrupted model' "$logs/mnist-corrupt.log" || {
        echo "mnist-corrupt failed without the reader's error in its log" >&2
        return 1
    }
}

# Train, export, build the firmware with the new model, run it on both cores.
e2e_mnist() { limit 1500 bash "$root/tests/e2e/mnist.sh" "$logs/e2e-mnist"; }
e2e_lstm() {
    SPEC=tests/e2e/mnist-lstm-small.toml limit 1500 bash "$root/tests/e2e/mnist.sh" "$logs/e2e-lstm"
}

# Every harness-check firmware must fail, and say why in its log.
harness_self_test() {
    cd "$fw"
    cargo build --release -p harness-check
    local bin expect rc bad=0
    for bin in exit_failure panic hard_fault hang; do
        case "$bin" in
            exit_failure) expect='reporting failure on purpose' ;;
            panic) expect='deliberate panic' ;;
            hard_fault) expect='HardFault at pc=' ;;
            hang) expect='timed out after 10 s' ;;
        esac
        set +e
        MOTE_QEMU_TIMEOUT=10 cargo run -q --release --bin "$bin" >"$logs/harness-$bin.log" 2>&1
        rc=$?
        set -e
        sed 's/^/    /' "$logs/harness-$bin.log"
        if [ "$rc" -eq 0 ]; then
            echo "harness-check $bin exited 0: the harness let a failing firmware pass" >&2
            bad=1
        elif ! grep -q "$expect" "$logs/harness-$bin.log"; then
            echo "harness-check $bin failed (exit $rc) but its log lacks '$expect'" >&2
            bad=1
        else
            echo "  $bin: failed as it must (exit $rc)"
        fi
    done
    return "$bad"
}

if [ "${MOTE_SKIP_SETUP:-0}" != 1 ]; then
    step "setup" setup
fi
step "fmt (root workspace)" fmt_root
step "fmt (firmware-examples)" fmt_firmware
step "clippy (root workspace)" clippy_root
step "clippy (firmware-examples, both targets)" clippy_firmware
step "host tests" host_tests
step "GPU feature (cuda): clippy and tests without a GPU" cuda_feature
step "no_std build (thumbv7em-none-eabihf)" nostd_m4
step "no_std build (thumbv8m.main-none-eabihf)" nostd_m55
step "property tests under qemu-arm (armv7-unknown-linux-gnueabihf)" qemu_user_armv7
step "property tests under qemu-aarch64 (aarch64-unknown-linux-gnu)" qemu_user_aarch64
step "SIMD tests under qemu-aarch64 with the dot-product extension (SDOT path)" qemu_user_aarch64_dotprod
step "firmware simd-check (scalar vs DSP) on Cortex-M4F" simd_check_m4
step "firmware simd-check (scalar vs DSP vs Helium) on Cortex-M55" simd_check_m55
step "firmware kernel-bench (int8 kernels, scalar vs DSP) on Cortex-M4F" kernel_bench_m4
step "firmware kernel-bench (int8 kernels, scalar vs best path) on Cortex-M55" kernel_bench_m55
step "firmware hello on Cortex-M4F (QEMU mps2-an386)" hello_m4
step "firmware hello on Cortex-M55 (QEMU mps3-an547)" hello_m55
step "firmware mnist (bundled model) on Cortex-M4F" mnist_m4
step "firmware mnist (bundled model) on Cortex-M55" mnist_m55
step "firmware finetune (train a head on the device) on Cortex-M4F" finetune_m4
step "firmware finetune (train a head on the device) on Cortex-M55" finetune_m55
step "firmware mnist-corrupt (a corrupted model is rejected)" mnist_corrupt
step "firmware sine (int8 and f32) on Cortex-M4F" sine_m4
step "firmware sine (int8 and f32) on Cortex-M55" sine_m55
step "firmware anomaly (autoencoder, f32) on Cortex-M4F" anomaly_m4
step "firmware anomaly (autoencoder, f32) on Cortex-M55" anomaly_m55
step "end to end: train, export, run on both cores bit-exact" e2e_mnist
step "end to end: the same with an LSTM" e2e_lstm
step "harness self-test (failing firmware must fail)" harness_self_test

printf '\ntotal %s s\n%s passed, 0 failed\n' "$(elapsed "$total_start")" "$passed"
