//! The shared harness of the instruction-set paths: runs a check once per path of
//! mote-simd this CPU can run, each forced in turn with
//! [`mote_simd::isa::set_limit`], so one test covers the scalar reference and every
//! SIMD path (on x86-64: scalar, AVX2, AVX-512 where present; under qemu-arm: scalar,
//! DSP; under qemu-aarch64: scalar, NEON…).
//!
//! The limit is global, so the runs hold one lock: tests that force paths never
//! interleave (tests that do not force paths run beside them on the best path, which
//! gives them the same integers and f32 within the documented tolerance anyway).

use mote_simd::isa::{self, Isa};
use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

/// The paths this CPU can run, lowest first.
pub fn available() -> Vec<Isa> {
    isa::compiled()
        .iter()
        .copied()
        .filter(|&i| isa::available(i))
        .collect()
}

/// Runs `check` once per available path (forced with `set_limit`, then the limit is
/// cleared), printing which paths ran; a failure names the path it happened on.
pub fn for_each_path(mut check: impl FnMut(Isa)) {
    let _guard: MutexGuard<'_, ()> = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let paths = available();
    println!(
        "paths: {}",
        paths
            .iter()
            .map(|i| i.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for path in paths {
        isa::set_limit(path);
        assert_eq!(
            isa::active(),
            path,
            "could not force the {} path",
            path.name()
        );
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(path)));
        isa::clear_limit();
        if let Err(e) = outcome {
            eprintln!("failed on the {} path", path.name());
            std::panic::resume_unwind(e);
        }
    }
}
