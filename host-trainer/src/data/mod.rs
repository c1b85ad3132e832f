//! Data sets: readers for the file formats mote trains from, and operations on the
//! in-memory [`Dataset`] they all produce.
//!
//! - [`dataset`]: the [`Dataset`] type (samples of one shape and their [`Targets`]);
//! - [`idx`]: the IDX format of MNIST (raw or gzip);
//! - [`mnist`]: an MNIST-style split (images + labels) as normalised f32 samples;
//! - [`csv`]: numeric CSV files (optional header, label column by index or name);
//! - [`npy`]: NumPy `.npy` arrays (read any numeric dtype, write `<f4`);
//! - [`split`]: subsets, a seeded train/validation split, truncation, batch gathering;
//! - [`normalise`]: input scaling and per-channel standardisation, stored in checkpoints;
//! - [`augment`]: seeded per-batch image augmentation (shift, flip, rotate, crop, noise);
//! - [`window`]: sliding windows over a time series (forecasting).

pub mod augment;
pub mod csv;
pub mod dataset;
pub mod idx;
pub mod mnist;
pub mod normalise;
pub mod npy;
pub mod split;
pub mod window;

pub use dataset::{Dataset, Targets};
