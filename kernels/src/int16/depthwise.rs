//! Depthwise 2-D convolution, int16 activations × int8 weights → int16 (TFLite's
//! "16x8" `DepthwiseConv2D` per-channel reference kernel, bit-exact).
//!
//! The same geometry and formula as [`crate::int8::depthwise`] (whose [`Params`] this
//! module shares), with an int64 accumulator and int64 bias, and the 16x8
//! requantisation [`QuantizedMultiplier::apply_i64`] (the multiplier reduced to 16
//! bits, one rounding shift):
//!
//! ```text
//! acc = bias[o] + Σ_{kh,kw} (x[n][ih][iw][o / multiplier] − input_zero_point) · w[kh][kw][o]
//! y[n][oh][ow][o] = clamp(apply_i64(acc, multipliers[o]) + output_zero_point, act_min, act_max)
//! ```
//!
//! TFLite requires both zero points to be 0 for 16x8; they are accepted here (within
//! int16) so the formula stays general, and 0 reproduces TFLite exactly.
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | `[batch][in_h][in_w][in_c]` | [`Params::input_len`] |
//! | weights | `[1][kernel_h][kernel_w][in_c·multiplier]` | [`Params::weights_len`] |
//! | bias | `[in_c·multiplier]` int64 (or none) | [`Params::out_c`] |
//! | multipliers | `[in_c·multiplier]` | [`Params::out_c`] |
//! | output | `[batch][out_h][out_w][in_c·multiplier]` | [`Params::output_len`] |

pub use crate::int8::depthwise::Params;
use crate::int8::depthwise::{check_quant, run};
use mote_core::Result;
use mote_core::error::check_len;
use mote_core::quant::QuantizedMultiplier;

/// Quantisation of an int16 depthwise convolution (per-channel multipliers are passed
/// separately, one per output channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Quant {
    /// Zero point of the input, in int16 (TFLite: 0).
    pub input_zero_point: i32,
    /// Zero point of the output, in int16 (TFLite: 0).
    pub output_zero_point: i32,
    /// Lower clamp of the output (fused activation), in `[-32768, act_max]`.
    pub act_min: i32,
    /// Upper clamp of the output (fused activation), in `[act_min, 32767]`.
    pub act_max: i32,
}

/// Int16 × int8 depthwise convolution with int64 bias, TFLite's 16x8 reference kernel.
///
/// `bias` is `None` for no bias (the same as all zeros); `multipliers[o]` is output
/// channel `o`'s requantisation multiplier.
///
/// Errors: those of [`Params::out_c`]; `LengthMismatch` naming the argument when a
/// buffer has the wrong length; `OutOfRange` when a zero point or the clamp range is
/// outside int16 (or `act_min > act_max`).
pub fn forward(
    params: &Params,
    quant: &Quant,
    multipliers: &[QuantizedMultiplier],
    input: &[i16],
    weights: &[i8],
    bias: Option<&[i64]>,
    output: &mut [i16],
) -> Result<()> {
    let lens = params.lens()?;
    check_len("depthwise_s16: input", lens.input, input.len())?;
    check_len("depthwise_s16: weights", lens.weights, weights.len())?;
    check_len("depthwise_s16: multipliers", lens.out_c, multipliers.len())?;
    if let Some(b) = bias {
        check_len("depthwise_s16: bias", lens.out_c, b.len())?;
    }
    check_len("depthwise_s16: output", lens.output, output.len())?;
    check_quant(
        [
            "depthwise_s16: input_zero_point",
            "depthwise_s16: output_zero_point",
        ],
        "depthwise_s16: act range",
        [quant.input_zero_point, quant.output_zero_point],
        (quant.act_min, quant.act_max),
        i16::MIN as i32,
        i16::MAX as i32,
    )?;
    let zp = quant.input_zero_point as i64;
    let q = *quant;
    run(
        params,
        lens,
        input,
        weights,
        output,
        |v| v as i64 - zp,
        |acc, o| {
            let b = bias.and_then(|b| b.get(o)).copied().unwrap_or(0);
            let m = multipliers.get(o).copied().unwrap_or_default();
            let y = m
                .apply_i64(acc.saturating_add(b))
                .saturating_add(q.output_zero_point);
            y.clamp(q.act_min, q.act_max) as i16
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            batch: 1,
            in_h: 2,
            in_w: 2,
            in_c: 1,
            multiplier: 2,
            out_h: 1,
            out_w: 1,
            kernel_h: 2,
            kernel_w: 2,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            pad_h: 0,
            pad_w: 0,
        }
    }

    const Q: Quant = Quant {
        input_zero_point: 0,
        output_zero_point: 0,
        act_min: -32768,
        act_max: 32767,
    };

    #[test]
    fn small_case_by_hand() {
        let m = [QuantizedMultiplier::from_real(0.25).unwrap(); 2];
        let x = [1000i16, 2000, 3000, 4000];
        let w = [1i8, -1, 1, -1, 1, -1, 1, -1];
        let mut y = [0i16; 2];
        forward(&params(), &Q, &m, &x, &w, Some(&[4, 0]), &mut y).unwrap();
        assert_eq!(y, [2501, -2500]);
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let p = params();
        let m = [QuantizedMultiplier::from_real(0.25).unwrap(); 2];
        let x = [0i16; 4];
        let w = [0i8; 8];
        let mut y = [0i16; 2];
        assert!(forward(&p, &Q, &m, &x[..3], &w, None, &mut y).is_err());
        assert!(forward(&p, &Q, &m, &x, &w[..7], None, &mut y).is_err());
        assert!(forward(&p, &Q, &m[..1], &x, &w, None, &mut y).is_err());
        assert!(forward(&p, &Q, &m, &x, &w, Some(&[0; 3]), &mut y).is_err());
        assert!(forward(&p, &Q, &m, &x, &w, None, &mut y[..1]).is_err());
        let bad = Quant {
            act_max: 40000,
            ..Q
        };
        assert!(forward(&p, &bad, &m, &x, &w, None, &mut y).is_err());
        let zero = Params { in_c: 0, ..p };
        assert!(forward(&zero, &Q, &m, &x, &w, None, &mut y).is_err());
        assert!(forward(&p, &Q, &m, &x, &w, None, &mut y).is_ok());
    }
}
