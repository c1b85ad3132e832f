//! The shared harness of mote's property, golden-vector and end-to-end tests.
//!
//! - [`config`]: the proptest configuration every property uses, with the case count
//!   overridable through `MOTE_PROPTEST_CASES` (CI and qemu-user runs may lower it);
//! - [`golden`]: loading the integer reference vectors in `tests/data/golden`;
//! - [`check`]: f32-vs-f64 comparisons and finite-difference gradient checks;
//! - [`strategy`]: shared proptest strategies (value vectors, tie-free inputs);
//! - [`paths`]: running a check on every instruction-set path of mote-simd in turn.

pub mod check;
pub mod golden;
pub mod paths;
pub mod reference;
pub mod strategy;

use proptest::test_runner::Config;

/// A proptest configuration running `default_cases` cases, or `MOTE_PROPTEST_CASES`
/// when that variable is set. Failure persistence is off so that runs under qemu-user
/// and on read-only checkouts write nothing.
pub fn config(default_cases: u32) -> Config {
    let cases = std::env::var("MOTE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Case count of the integer-arithmetic properties (cheap; the issue asks for 10,000).
pub const ARITH_CASES: u32 = 10_000;
