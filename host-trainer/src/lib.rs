//! # mote-trainer
//!
//! The host side of mote: model specs, data loading, training, evaluation,
//! quantisation and export, and the `mote` binary. It runs the same kernels the
//! device runs (mote-kernels), so what it evaluates is what the device computes.
//!
//! Training and export arrive with their issues; today the binary reports the
//! arithmetic digest a device must reproduce.

/// The version of this crate, as the `mote` binary reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
