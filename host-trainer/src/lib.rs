//! # mote-trainer
//!
//! The host side of mote: model specs, data loading, training, evaluation,
//! quantisation and export, and the `mote` binary. It runs the same kernels the
//! device runs (mote-kernels), so what it evaluates is what the device computes.
//!
//! Today it reads data sets ([`data`]: IDX/MNIST) and the binary reports the arithmetic
//! digest a device must reproduce; training and export arrive with their issues.

pub mod cli;
pub mod codegen;
pub mod data;
pub mod device;
pub mod early_stop;
pub mod error;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod quant;
pub mod report;
pub mod schedule;
pub mod train;

pub use error::{Error, Result};

/// The version of this crate, as the `mote` binary reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
