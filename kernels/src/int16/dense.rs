//! Fully connected (dense) layer, 16×8: int16 activations, int8 weights, int64 bias —
//! TFLite's `FULLY_CONNECTED` 16x8 kernel (CMSIS-NN's `arm_fully_connected_s16`),
//! bit-exact.
//!
//! ```text
//! acc     = bias[o] + Σ_k (x[b][k] − input_zero_point) · (w[o][k] − weights_zero_point)
//! y[b][o] = clamp(requant64(acc, M_o) + output_zero_point, act_min, act_max)
//! ```
//!
//! The accumulator is int64 and `requant64` is TFLite's reduced-multiplier form
//! ([`QuantizedMultiplier::apply_i64`](mote_core::quant::QuantizedMultiplier::apply_i64)).
//! TFLite's 16×8 models have all zero points 0; other values are accepted and used as
//! the formula says. Layouts and [`Params`] / [`Quant`] as in [`crate::int8::dense`].
//! No scratch.

use crate::int8::dense::dense_core;
pub use crate::int8::dense::{Params, Quant};
use mote_core::Result;
use mote_core::error::check_len;

/// Forward pass: `output ← clamp(requant64(input·weightsᵀ + bias) + ozp)`, with the
/// zero points subtracted; `output` is overwritten.
///
/// Errors: as for [`crate::int8::dense::forward`], the input and output zero points and
/// clamp being checked against the int16 range.
pub fn forward(
    params: &Params,
    quant: &Quant<'_>,
    input: &[i16],
    weights: &[i8],
    bias: Option<&[i64]>,
    output: &mut [i16],
) -> Result<()> {
    let (x_len, w_len, y_len) = params.lens([
        "fully_connected_s16: batch",
        "fully_connected_s16: inputs",
        "fully_connected_s16: outputs",
        "fully_connected_s16: size",
    ])?;
    check_len("fully_connected_s16: input", x_len, input.len())?;
    check_len("fully_connected_s16: weights", w_len, weights.len())?;
    if let Some(b) = bias {
        check_len("fully_connected_s16: bias", params.outputs, b.len())?;
    }
    check_len("fully_connected_s16: output", y_len, output.len())?;
    const I16: (i32, i32) = (i16::MIN as i32, i16::MAX as i32);
    quant.check(
        params.outputs,
        I16,
        I16,
        [
            "fully_connected_s16: multipliers",
            "fully_connected_s16: input_zero_point",
            "fully_connected_s16: weights_zero_point",
            "fully_connected_s16: output_zero_point",
            "fully_connected_s16: act_min",
            "fully_connected_s16: act_max",
        ],
    )?;
    dense_core(
        params.inputs,
        params.outputs,
        input,
        weights,
        quant,
        output,
        |o, sum| {
            let b = bias.and_then(|b| b.get(o)).copied().unwrap_or(0);
            quant.finish(quant.multiplier(o).apply_i64(sum.wrapping_add(b))) as i16
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::quant::QuantizedMultiplier;

    #[test]
    fn invalid_arguments_are_errors() {
        let m = [QuantizedMultiplier::from_real(0.5).unwrap()];
        let q = Quant::new(0, 0, 0, &m, -32768, 32767);
        let p = Params::new(2, 2, 1);
        let w = [1i8; 2];
        let mut y = [0i16; 2];
        forward(&p, &q, &[100, 200, -3, -4], &w, Some(&[1]), &mut y).unwrap();
        assert_eq!(y, [151, -3]);
        assert!(forward(&p, &q, &[0; 3], &w, None, &mut y).is_err());
        assert!(forward(&p, &q, &[0; 4], &w[..1], None, &mut y).is_err());
        assert!(forward(&p, &q, &[0; 4], &w, Some(&[0, 0]), &mut y).is_err());
        assert!(forward(&p, &q, &[0; 4], &w, None, &mut y[..1]).is_err());
        let bad = Quant::new(0, 0, 0, &m, -40000, 32767);
        assert!(forward(&p, &bad, &[0; 4], &w, None, &mut y).is_err());
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let m = [QuantizedMultiplier::new(i32::MAX, 30).unwrap()];
        let q = Quant::new(-32768, -128, 32767, &m, -32768, 32767);
        let mut y = [0i16; 1];
        let p = Params::new(1, 2, 1);
        forward(
            &p,
            &q,
            &[32767; 2],
            &[127; 2],
            Some(&[i64::MAX / 2]),
            &mut y,
        )
        .unwrap();
        assert_eq!(y, [32767]);
    }
}
