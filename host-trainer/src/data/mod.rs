//! Data sets: readers for the file formats mote trains from.
//!
//! - [`idx`]: the IDX format of MNIST (raw or gzip);
//! - [`mnist`]: an MNIST-style split (images + labels) as normalised f32 samples.

pub mod dataset;
pub mod idx;
pub mod mnist;

pub use dataset::{Dataset, Targets};
