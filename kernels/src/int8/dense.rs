//! Fully connected (dense) layer, int8 activations and weights, int32 bias: TFLite's
//! `FULLY_CONNECTED` int8 kernel (and CMSIS-NN's `arm_fully_connected_s8` /
//! `_per_channel_s8`), bit-exact.
//!
//! ```text
//! acc    = bias[o] + Σ_k (x[b][k] − input_zero_point) · (w[o][k] − weights_zero_point)
//! y[b][o] = clamp(requant32(acc, M_o) + output_zero_point, act_min, act_max)
//! ```
//!
//! `M_o` is the one multiplier of a per-tensor layer or output channel `o`'s multiplier
//! of a per-channel one (see [`Quant`]); `requant32` is
//! [`QuantizedMultiplier::apply`] with the rounding [`Quant::rounding`] asks for
//! (TFLite's default is [`Rounding::Double`]). The accumulator is int32 as in TFLite (it
//! wraps where TFLite's would overflow, which valid models never do).
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | `[batch][inputs]` | `batch·inputs` |
//! | weights | `[outputs][inputs]` | `outputs·inputs` |
//! | bias | `[outputs]` | `outputs` |
//! | output | `[batch][outputs]` | `batch·outputs` |
//!
//! Each output is one [`mote_simd::dot::dot_i8_offset`] over its input and weight rows
//! (offsets `−input_zero_point`, `−weights_zero_point`; the Arm DSP path on
//! Cortex-M4/M7), exact on every path.
//!
//! No scratch. [`Params`] and [`Quant`] are shared with [`crate::int16::dense`].

use mote_core::error::{check_len, check_nonzero};
use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_core::{Error, ErrorKind, Result};

/// Parameters of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Rows of the input and output.
    pub batch: usize,
    /// Features per input row (TFLite's `accum_depth`).
    pub inputs: usize,
    /// Features per output row.
    pub outputs: usize,
}

impl Params {
    /// A dense layer mapping `batch` rows of `inputs` features to `outputs` features.
    pub const fn new(batch: usize, inputs: usize, outputs: usize) -> Self {
        Self {
            batch,
            inputs,
            outputs,
        }
    }

    /// `(batch·inputs, outputs·inputs, batch·outputs)` after checking that no size is
    /// zero and no product overflows; `at` names the kernel's batch, inputs, outputs
    /// and size arguments.
    pub(crate) fn lens(&self, at: [&'static str; 4]) -> Result<(usize, usize, usize)> {
        check_nonzero(at[0], self.batch)?;
        check_nonzero(at[1], self.inputs)?;
        check_nonzero(at[2], self.outputs)?;
        let overflow = Error::new(ErrorKind::Overflow, at[3]);
        let x = self.batch.checked_mul(self.inputs).ok_or(overflow)?;
        let w = self.outputs.checked_mul(self.inputs).ok_or(overflow)?;
        let y = self.batch.checked_mul(self.outputs).ok_or(overflow)?;
        Ok((x, w, y))
    }
}

/// Quantisation of an integer dense or convolution layer: zero points, the
/// requantisation multipliers and the fused-activation clamp.
///
/// Zero points are TFLite's (`real = scale · (q − zero_point)`), not CMSIS-NN's offsets
/// (`input_offset = −input_zero_point`). Shared by the int8 and int16 dense and conv
/// kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Quant<'a> {
    /// Zero point of the input, within the input type's range.
    pub input_zero_point: i32,
    /// Zero point of the weights, within `i8` (0 for TFLite's symmetric weights).
    pub weights_zero_point: i32,
    /// Zero point of the output, within the output type's range.
    pub output_zero_point: i32,
    /// One multiplier (per tensor) or one per output channel (per channel):
    /// `input_scale · weight_scale[o] / output_scale`.
    pub multipliers: &'a [QuantizedMultiplier],
    /// Lower clamp of the output, in output units.
    pub act_min: i32,
    /// Upper clamp of the output, in output units.
    pub act_max: i32,
    /// How int32 accumulators are requantised ([`Rounding::Double`] is TFLite's
    /// default). The int64 accumulators of the 16×8 kernels always use TFLite's
    /// reduced-multiplier form ([`QuantizedMultiplier::apply_i64`]).
    pub rounding: Rounding,
}

impl<'a> Quant<'a> {
    /// Per-tensor or per-channel quantisation with TFLite's double rounding.
    pub const fn new(
        input_zero_point: i32,
        weights_zero_point: i32,
        output_zero_point: i32,
        multipliers: &'a [QuantizedMultiplier],
        act_min: i32,
        act_max: i32,
    ) -> Self {
        Self {
            input_zero_point,
            weights_zero_point,
            output_zero_point,
            multipliers,
            act_min,
            act_max,
            rounding: Rounding::Double,
        }
    }

    /// Checks the fields against `outputs` channels, the input range `x` and the output
    /// range `y`. `at` names the multipliers, input zero point, weights zero point,
    /// output zero point, act_min and act_max of the calling kernel.
    pub(crate) fn check(
        &self,
        outputs: usize,
        x: (i32, i32),
        y: (i32, i32),
        at: [&'static str; 6],
    ) -> Result<()> {
        let n = self.multipliers.len();
        if n != 1 {
            check_len(at[0], outputs, n)?;
        }
        let range = |at, v: i32, (lo, hi): (i32, i32)| {
            if v < lo || v > hi {
                Err(Error::out_of_range(at, v as i64, lo as i64, hi as i64))
            } else {
                Ok(())
            }
        };
        range(at[1], self.input_zero_point, x)?;
        range(at[2], self.weights_zero_point, (-128, 127))?;
        range(at[3], self.output_zero_point, y)?;
        range(at[4], self.act_min, y)?;
        range(at[5], self.act_max, (self.act_min.max(y.0), y.1))
    }

    /// The multiplier of output channel `o` (valid after [`check`](Self::check)).
    #[inline]
    pub(crate) fn multiplier(&self, o: usize) -> QuantizedMultiplier {
        match self.multipliers {
            [m] => *m,
            ms => ms.get(o).copied().unwrap_or(QuantizedMultiplier::ZERO),
        }
    }

    /// `clamp(r + output_zero_point, act_min, act_max)` for a requantised `r`.
    #[inline]
    pub(crate) fn finish(&self, r: i32) -> i32 {
        r.saturating_add(self.output_zero_point)
            .clamp(self.act_min, self.act_max)
    }
}

/// An activation type of the integer dense and conv kernels, with the inner loop over
/// one run of channels.
pub(crate) trait Activation: Copy {
    /// `Σ (x[i] − izp)·(w[i] − wzp)` over the common length.
    ///
    /// For `i16` the exact sum in 64 bits (wrapping), as the 16×8 kernels' int64
    /// accumulators need. For `i8` the sum mod 2^32, sign-extended: the int8 kernels
    /// truncate their sums to the int32 accumulator of TFLite, and a sum of such runs
    /// truncated to 32 bits equals the exact sum truncated (both are the true sum mod
    /// 2^32). The `i8` run is [`mote_simd::dot::dot_i8_offset`] with CMSIS-NN's offsets
    /// `−izp`, `−wzp` (the Arm DSP path on Cortex-M4/M7); the `i16` run is
    /// [`mote_simd::dot::dot_i16_i8`] (SMLALD on the DSP path, VMLALDAVA on Helium).
    fn run(xs: &[Self], ws: &[i8], izp: i64, wzp: i64) -> i64;
}

impl Activation for i8 {
    #[inline]
    fn run(xs: &[i8], ws: &[i8], izp: i64, wzp: i64) -> i64 {
        // The zero points are validated (within i8), so the offsets fit i32; the lengths
        // are equal by construction, so the error branch is never taken.
        mote_simd::dot::dot_i8_offset(xs, -izp as i32, ws, -wzp as i32).unwrap_or(0) as i64
    }
}

impl Activation for i16 {
    #[inline]
    fn run(xs: &[i16], ws: &[i8], izp: i64, wzp: i64) -> i64 {
        // The zero points are validated (within i16 and i8), so the offsets fit i32; the
        // lengths are equal by construction, so the error branch is never taken.
        mote_simd::dot::dot_i16_i8(xs, -izp as i32, ws, -wzp as i32).unwrap_or(0)
    }
}

/// The shared loop of the integer dense kernels: for each `(b, o)`,
/// `sum = Σ_k (x − input_zero_point)·(w − weights_zero_point)` ([`Activation::run`]: in
/// 64 bits for int16, mod 2^32 for int8), then `output[b][o] = f(o, sum)`. Lengths must
/// have been checked.
pub(crate) fn dense_core<X: Activation, Y>(
    inputs: usize,
    outputs: usize,
    input: &[X],
    weights: &[i8],
    quant: &Quant<'_>,
    output: &mut [Y],
    mut f: impl FnMut(usize, i64) -> Y,
) {
    let izp = quant.input_zero_point as i64;
    let wzp = quant.weights_zero_point as i64;
    for (x_row, y_row) in input
        .chunks_exact(inputs)
        .zip(output.chunks_exact_mut(outputs))
    {
        for ((o, w_row), y) in weights.chunks_exact(inputs).enumerate().zip(y_row) {
            *y = f(o, X::run(x_row, w_row, izp, wzp));
        }
    }
}

/// Forward pass: `output ← clamp(requant32(input·(weights − wzp)ᵀ + bias) + ozp)` with
/// the input shifted by its zero point; `output` is overwritten.
///
/// Errors: `Zero` for a zero size; `LengthMismatch` for a buffer of the wrong length or
/// a multiplier slice that is neither 1 nor `outputs` long; `OutOfRange` for a zero
/// point outside its type or an empty/out-of-type clamp; `Overflow` when a length
/// overflows.
///
/// ```
/// use mote_core::quant::QuantizedMultiplier;
/// use mote_kernels::int8::dense::{Params, Quant, forward};
///
/// let half = [QuantizedMultiplier::from_real(0.5)?];
/// let q = Quant::new(-1, 0, 3, &half, -128, 127);
/// let mut y = [0i8; 2];
/// // (1+1)·2 + (3+1)·1 = 8 → 4 + 3; (1+1)·(−1) + 10 = 8 → 4 + 3.
/// forward(&Params::new(1, 2, 2), &q, &[1, 3], &[2, 1, -1, 0], Some(&[0, 10]), &mut y)?;
/// assert_eq!(y, [7, 7]);
/// # Ok::<(), mote_core::Error>(())
/// ```
pub fn forward(
    params: &Params,
    quant: &Quant<'_>,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    let (x_len, w_len, y_len) = params.lens([
        "fully_connected_s8: batch",
        "fully_connected_s8: inputs",
        "fully_connected_s8: outputs",
        "fully_connected_s8: size",
    ])?;
    check_len("fully_connected_s8: input", x_len, input.len())?;
    check_len("fully_connected_s8: weights", w_len, weights.len())?;
    if let Some(b) = bias {
        check_len("fully_connected_s8: bias", params.outputs, b.len())?;
    }
    check_len("fully_connected_s8: output", y_len, output.len())?;
    quant.check(
        params.outputs,
        (-128, 127),
        (-128, 127),
        [
            "fully_connected_s8: multipliers",
            "fully_connected_s8: input_zero_point",
            "fully_connected_s8: weights_zero_point",
            "fully_connected_s8: output_zero_point",
            "fully_connected_s8: act_min",
            "fully_connected_s8: act_max",
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
            // int32 accumulator: wrapping, as TFLite's would on overflow.
            let acc = (sum as i32).wrapping_add(b);
            quant.finish(quant.multiplier(o).apply(acc, quant.rounding)) as i8
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_arguments_are_errors() {
        let m = [QuantizedMultiplier::from_real(0.5).unwrap()];
        let q = Quant::new(0, 0, 0, &m, -128, 127);
        let p = Params::new(1, 2, 2);
        let w = [0i8; 4];
        let mut y = [0i8; 2];
        assert!(forward(&p, &q, &[0; 2], &w, None, &mut y).is_ok());
        assert!(forward(&p, &q, &[0; 3], &w, None, &mut y).is_err());
        assert!(forward(&p, &q, &[0; 2], &w[..3], None, &mut y).is_err());
        assert!(forward(&p, &q, &[0; 2], &w, Some(&[0]), &mut y).is_err());
        assert!(forward(&p, &q, &[0; 2], &w, None, &mut y[..1]).is_err());
        assert!(forward(&Params::new(0, 2, 2), &q, &[], &w, None, &mut y).is_err());
        let m3 = [m[0]; 3];
        let bad = Quant::new(0, 0, 0, &m3, -128, 127);
        assert!(forward(&p, &bad, &[0; 2], &w, None, &mut y).is_err());
        let bad = Quant::new(300, 0, 0, &m, -128, 127);
        assert!(forward(&p, &bad, &[0; 2], &w, None, &mut y).is_err());
        let bad = Quant::new(0, 0, 0, &m, 10, 5);
        assert!(forward(&p, &bad, &[0; 2], &w, None, &mut y).is_err());
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let m = [QuantizedMultiplier::new(i32::MAX, 30).unwrap()];
        let q = Quant::new(127, -128, 127, &m, -128, 127);
        let p = Params::new(1, 3, 1);
        let mut y = [0i8; 1];
        forward(&p, &q, &[-128; 3], &[127; 3], Some(&[i32::MAX]), &mut y).unwrap();
        assert_eq!(y, [127]);
    }
}
