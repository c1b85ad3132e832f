//! 2-D convolution, 16×8: int16 activations, int8 weights — TFLite's `CONV_2D` 16x8
//! kernel (CMSIS-NN's `arm_convolve_wrapper_s16`), bit-exact.
//!
//! The sum is [`crate::int8::conv`]'s; the bias decides the accumulator and the
//! requantisation, as in TFLite:
//! - [`Bias::I64`] (the 16x8 default) or no bias: int64 accumulator,
//!   `requant64` = [`QuantizedMultiplier::apply_i64`](mote_core::quant::QuantizedMultiplier::apply_i64);
//! - [`Bias::I32`] (TFLite's int32-bias 16x8 variant): int32 accumulator, `requant32` =
//!   [`QuantizedMultiplier::apply`](mote_core::quant::QuantizedMultiplier::apply) with
//!   [`Quant::rounding`].
//!
//! `y = clamp(requant(acc, M_o) + output_zero_point, act_min, act_max)`. Layouts,
//! [`Params`] and [`Quant`] as in [`crate::int8::conv`]; no scratch.

pub use crate::int8::conv::{Params, Quant};
use crate::int8::conv::{conv_core, geometry};
use mote_core::Result;
use mote_core::error::check_len;

/// The bias of a 16×8 convolution, which also picks the accumulator width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Bias<'a> {
    /// int32 bias: int32 accumulator, 32-bit requantisation.
    I32(&'a [i32]),
    /// int64 bias: int64 accumulator, TFLite's 16x8 reduced-multiplier requantisation.
    I64(&'a [i64]),
}

impl Bias<'_> {
    fn len(&self) -> usize {
        match self {
            Self::I32(b) => b.len(),
            Self::I64(b) => b.len(),
        }
    }
}

/// Forward pass; `output` is overwritten. `bias: None` uses the int64 accumulator.
///
/// Errors: as for [`crate::int8::conv::forward`], the input and output zero points and
/// clamp being checked against the int16 range.
pub fn forward(
    params: &Params,
    quant: &Quant<'_>,
    input: &[i16],
    weights: &[i8],
    bias: Option<Bias<'_>>,
    output: &mut [i16],
) -> Result<()> {
    let g = geometry(params)?;
    check_len("conv2d_s16: input", g.input_len, input.len())?;
    check_len("conv2d_s16: weights", g.weights_len, weights.len())?;
    if let Some(b) = &bias {
        check_len("conv2d_s16: bias", params.out_c, b.len())?;
    }
    check_len("conv2d_s16: output", g.output_len, output.len())?;
    const I16: (i32, i32) = (i16::MIN as i32, i16::MAX as i32);
    quant.check(
        params.out_c,
        I16,
        I16,
        [
            "conv2d_s16: multipliers",
            "conv2d_s16: input_zero_point",
            "conv2d_s16: weights_zero_point",
            "conv2d_s16: output_zero_point",
            "conv2d_s16: act_min",
            "conv2d_s16: act_max",
        ],
    )?;
    conv_core(&g, quant, input, weights, output, |o, sum| {
        let m = quant.multiplier(o);
        let r = match bias {
            Some(Bias::I32(b)) => {
                let acc = (sum as i32).wrapping_add(b.get(o).copied().unwrap_or(0));
                m.apply(acc, quant.rounding)
            }
            Some(Bias::I64(b)) => m.apply_i64(sum.wrapping_add(b.get(o).copied().unwrap_or(0))),
            None => m.apply_i64(sum),
        };
        quant.finish(r) as i16
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::quant::QuantizedMultiplier;

    #[test]
    fn both_accumulators_by_hand() {
        let m = [QuantizedMultiplier::from_real(0.5).unwrap()];
        let q = Quant::new(0, 0, 0, &m, -32768, 32767);
        let p = Params::new(1, 1, 2, 1, 1, 1, 2);
        let mut y = [0i16; 1];
        forward(
            &p,
            &q,
            &[1000, 3000],
            &[2, 1],
            Some(Bias::I64(&[1])),
            &mut y,
        )
        .unwrap();
        assert_eq!(y, [2501]); // 5001 / 2 rounds half up
        forward(
            &p,
            &q,
            &[1000, 3000],
            &[2, 1],
            Some(Bias::I32(&[1])),
            &mut y,
        )
        .unwrap();
        assert_eq!(y, [2501]); // ties away from zero
        forward(&p, &q, &[1000, 3000], &[2, 1], None, &mut y).unwrap();
        assert_eq!(y, [2500]);
    }

    #[test]
    fn invalid_arguments_are_errors() {
        let m = [QuantizedMultiplier::from_real(0.5).unwrap()];
        let q = Quant::new(0, 0, 0, &m, -32768, 32767);
        let p = Params::new(1, 2, 2, 1, 2, 2, 2);
        let (x, w) = ([0i16; 4], [0i8; 8]);
        let mut y = [0i16; 2];
        assert!(forward(&p, &q, &x, &w, None, &mut y).is_ok());
        assert!(forward(&p, &q, &x[..3], &w, None, &mut y).is_err());
        assert!(forward(&p, &q, &x, &w[..7], None, &mut y).is_err());
        assert!(forward(&p, &q, &x, &w, Some(Bias::I64(&[0])), &mut y).is_err());
        assert!(forward(&p, &q, &x, &w, Some(Bias::I32(&[0; 3])), &mut y).is_err());
        assert!(forward(&p, &q, &x, &w, None, &mut y[..1]).is_err());
        let bad = Quant::new(0, 0, 40000, &m, -32768, 32767);
        assert!(forward(&p, &bad, &x, &w, None, &mut y).is_err());
    }
}
