//! Quantisation: the parameters of a quantised tensor, the fixed-point multipliers that
//! rescale accumulators, and the clamp ranges of fused activations.
//!
//! The scheme is TFLite's: a real value `r` is stored as an integer `q` with
//! `r = scale · (q − zero_point)`; int8 activations are asymmetric, weights symmetric per
//! output channel (zero point 0), biases int32 (int64 for 16×8) with scale
//! `input_scale · weight_scale`. An int32 accumulator is brought to the output scale by
//! multiplying with `input_scale · weight_scale / output_scale`, represented as a
//! [`QuantizedMultiplier`] (a Q0.31 significand and a power-of-two shift) and applied
//! with [`QuantizedMultiplier::apply`] in TFLite's double- or single-rounding form.

pub mod activation;
pub mod lstm;
pub mod multiplier;
pub mod params;
pub mod softmax;

pub use activation::FusedActivation;
pub use lstm::LSTM_CELL_SCALE_POWER_RANGE;
pub use multiplier::{QuantizedMultiplier, Rounding};
pub use params::{PerChannelQuant, QuantParams, Quantization};
pub use softmax::{SoftmaxScaling, calculate_input_radius, softmax_scaling};
