//! Gated recurrent unit over whole sequences, 16×8: int16 input, hidden state and
//! output, int8 weights, int64 biases, int16 gates. The arithmetic, layouts and types
//! are those of [`crate::int8::gru`], whose code this scheme shares; the gate products
//! are int64 sums requantised with TFLite's reduced-multiplier form, as in the 16×8
//! LSTM.

pub use crate::int8::gru::{GATES, GateQuant, Params, Quant, Weights, scratch_len};
use crate::int8::lstm::Activation;
use mote_core::Result;

/// The zero state: every element of `h` at `quant.hidden_zero_point` (the real 0),
/// saturated to int16.
pub fn reset(quant: &Quant, h: &mut [i16]) {
    h.fill(<i16 as Activation>::saturate(quant.hidden_zero_point));
}

/// The s16 GRU over whole sequences: `output` gets every step's hidden state, `h` holds
/// the last on return (see [`crate::int8::gru`]).
///
/// Errors: as for [`crate::int8::gru::forward`], the zero points being checked against
/// the int16 range.
pub fn forward(
    params: &Params,
    quant: &Quant,
    input: &[i16],
    weights: &Weights<'_, i64>,
    h: &mut [i16],
    output: &mut [i16],
    scratch: &mut [i16],
) -> Result<()> {
    crate::int8::gru::forward_any(params, quant, input, weights, h, output, scratch)
}
