//! Long short-term memory over whole sequences, 16×8: int16 input, hidden state and
//! output, int8 weights, int64 bias — TFLite Micro's `UNIDIRECTIONAL_SEQUENCE_LSTM`
//! 16×8 kernel (CMSIS-NN's `arm_lstm_unidirectional_s16`), bit-exact.
//!
//! The arithmetic, layouts, state and scratch are those of [`crate::int8::lstm`], whose
//! code this scheme shares; only the gate products differ: int64 sums requantised with
//! TFLite's reduced-multiplier form ([`QuantizedMultiplier::apply_i64`]). TFLite's
//! 16×8 models have all zero points 0; other values are accepted and used as the
//! formulas say.
//!
//! [`QuantizedMultiplier::apply_i64`]: mote_core::quant::QuantizedMultiplier::apply_i64

pub use crate::int8::lstm::{
    CELL_SCALE_POWER_RANGE, GATES, GateQuant, Params, Quant, State, Weights, scratch_len,
};
use mote_core::Result;

/// The s16 LSTM over whole sequences: `output` gets every step's hidden state, `state`
/// holds the last `h` and `c` on return (see [`crate::int8::lstm`]).
///
/// `state` is read as the initial state ([`State::reset`] for TFLM's); `output` is
/// overwritten, or empty when only the last hidden state (`state.h`) is wanted;
/// `scratch` needs at least [`scratch_len`] elements, its contents on entry
/// do not matter.
///
/// Errors: as for [`crate::int8::lstm::forward`], the zero points being checked against
/// the int16 range.
pub fn forward(
    params: &Params,
    quant: &Quant,
    input: &[i16],
    weights: &Weights<'_, i64>,
    state: &mut State<'_, i16>,
    output: &mut [i16],
    scratch: &mut [i16],
) -> Result<()> {
    crate::int8::lstm::forward_any(params, quant, input, weights, state, output, scratch)
}
