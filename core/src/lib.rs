//! # mote-core
//!
//! The `no_std`, allocation-free foundation of mote. Everything above it — the
//! SIMD micro-kernels, the layer kernels, the host trainer and the firmware — agrees on
//! the types and the integer arithmetic defined here, so that what the host evaluates is
//! what the device computes, bit for bit.
//!
//! | module | what it holds |
//! |---|---|
//! | [`error`] | the typed [`Error`] every fallible function returns |
//! | [`shape`] | [`Shape`] (rank ≤ 4, NHWC helpers) |
//! | [`padding`] | output sizes and padding amounts of convolution / pooling windows |
//! | [`tensor`] | borrowed tensor views that check length against shape |
//! | [`dtype`] | [`DType`], the element types a model stores |
//! | [`quant`] | quantisation parameters, quantised multipliers, requantisation, fused activation ranges |
//! | [`fixed`] | TFLite / gemmlowp fixed-point primitives and transcendental functions |
//! | [`rng`] | a small seeded PRNG that gives the same stream on every target |
//! | [`format`] | the `.mote` model file: zero-copy validating reader, writer (feature `alloc`) |
//! | `plan` | the arena memory planner: greedy offsets with in-place reuse (feature `alloc`) |
//! | [`conformance`] | a digest of the arithmetic, to prove a target computes what the host does |
//!
//! ## Example: requantising an int8 convolution output
//!
//! ```
//! use mote_core::quant::{FusedActivation, QuantParams, QuantizedMultiplier, Rounding};
//!
//! // Input scale 0.02, weight scale 0.005, output scale 0.1 with zero point −3.
//! let output = QuantParams::new(0.1, -3)?;
//! let m = QuantizedMultiplier::for_conv(0.02, 0.005, output.scale())?;
//! let (lo, hi) = FusedActivation::Relu.range_quantized(output, -128, 127)?;
//!
//! let acc: i32 = 12_345; // Σ (x − zx)·w + bias, in units of 0.02 · 0.005
//! let y = (m.apply(acc, Rounding::Double) + output.zero_point()).clamp(lo, hi);
//! assert_eq!(y, 9); // 12.345 · 0.001 / 0.1 → 12, plus the zero point
//! # Ok::<(), mote_core::Error>(())
//! ```
//!
//! ## Features
//!
//! - `defmt`: derives `defmt::Format` for the public types, for logging on a device.
//! - `alloc`: the `.mote` writer and the arena planner (used at export, on the host).
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod conformance;
pub mod dtype;
pub mod error;
pub mod fixed;
pub mod format;
pub mod padding;
#[cfg(feature = "alloc")]
pub mod plan;
pub mod quant;
pub mod rng;
pub mod shape;
pub mod tensor;

pub use dtype::DType;
pub use error::{Error, ErrorKind, Result};
pub use shape::Shape;
