//! Transposed 2-D convolution, int8 activations × int8 weights → int8 (TFLite's
//! `TRANSPOSE_CONV` int8 per-channel reference kernel, bit-exact).
//!
//! Input pixel `(ih, iw)` scatters through tap `(kh, kw)` onto output pixel
//! `oh = ih·stride_h − pad_h + kh`, `ow = iw·stride_w − pad_w + kw` (dilation 1, as in
//! TFLite); contributions landing outside the output are dropped:
//!
//! ```text
//! acc[n][oh][ow][o] = Σ (x[n][ih][iw][c] − input_zero_point) · w[o][kh][kw][c]
//! y[n][oh][ow][o]   = clamp(requant(acc + bias[o], multipliers[o]) + output_zero_point, act_min, act_max)
//! ```
//!
//! `pad_h` / `pad_w` are TFLite's `padding_values.height/width` (the floor half of the
//! total padding); the output size is given, since it cannot be derived uniquely from
//! the input size. Weights are symmetric (zero point 0).
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | `[batch][in_h][in_w][in_c]` | [`Params::input_len`] |
//! | weights | OHWI `[out_c][kernel_h][kernel_w][in_c]` | [`Params::weights_len`] |
//! | bias | `[out_c]` (or none) | `out_c` |
//! | multipliers | `[out_c]` | `out_c` |
//! | output | `[batch][out_h][out_w][out_c]` | [`Params::output_len`] |
//!
//! TFLite scatters into an int32 scratch image; this scalar reference gathers instead
//! (for each output pixel, the taps with `oh + pad_h − kh` a multiple of the stride), so
//! it needs no scratch. Integer sums do not depend on order (int32 arithmetic wraps, as
//! in CMSIS-NN, where TFLite's C++ would overflow), so the result is the same bit for
//! bit.

use mote_core::error::{check_len, check_nonzero};
use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_core::{Error, ErrorKind, Result};

/// Parameters of an int8 transposed convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Images in the batch.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Output channels.
    pub out_c: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Rows cropped from the top of the full output (TFLite's `padding_values.height`).
    pub pad_h: usize,
    /// Columns cropped from the left (TFLite's `padding_values.width`).
    pub pad_w: usize,
}

/// Validated lengths.
struct Lens {
    input: usize,
    weights: usize,
    output: usize,
}

fn product(at: &'static str, dims: &[usize]) -> Result<usize> {
    dims.iter().try_fold(1usize, |acc, &d| {
        acc.checked_mul(d)
            .ok_or(Error::new(ErrorKind::Overflow, at))
    })
}

impl Params {
    /// Errors: `Zero` for a zero size, kernel or stride; `Overflow` when a length or
    /// coordinate overflows `usize`.
    fn lens(&self) -> Result<Lens> {
        for (at, v) in [
            ("conv_transpose_s8: batch", self.batch),
            ("conv_transpose_s8: in_h", self.in_h),
            ("conv_transpose_s8: in_w", self.in_w),
            ("conv_transpose_s8: in_c", self.in_c),
            ("conv_transpose_s8: out_h", self.out_h),
            ("conv_transpose_s8: out_w", self.out_w),
            ("conv_transpose_s8: out_c", self.out_c),
            ("conv_transpose_s8: kernel_h", self.kernel_h),
            ("conv_transpose_s8: kernel_w", self.kernel_w),
            ("conv_transpose_s8: stride_h", self.stride_h),
            ("conv_transpose_s8: stride_w", self.stride_w),
        ] {
            check_nonzero(at, v)?;
        }
        const AT: &str = "conv_transpose_s8: size";
        // The loops form `out + pad` and `in·stride`.
        for (o, p, i, s) in [
            (self.out_h, self.pad_h, self.in_h, self.stride_h),
            (self.out_w, self.pad_w, self.in_w, self.stride_w),
        ] {
            o.checked_add(p)
                .ok_or(Error::new(ErrorKind::Overflow, AT))?;
            product(AT, &[i, s])?;
        }
        Ok(Lens {
            input: product(AT, &[self.batch, self.in_h, self.in_w, self.in_c])?,
            weights: product(AT, &[self.out_c, self.kernel_h, self.kernel_w, self.in_c])?,
            output: product(AT, &[self.batch, self.out_h, self.out_w, self.out_c])?,
        })
    }

    /// Elements of the input, `batch·in_h·in_w·in_c`.
    pub fn input_len(&self) -> Result<usize> {
        Ok(self.lens()?.input)
    }

    /// Elements of the weights, `out_c·kernel_h·kernel_w·in_c`.
    pub fn weights_len(&self) -> Result<usize> {
        Ok(self.lens()?.weights)
    }

    /// Elements of the output, `batch·out_h·out_w·out_c`.
    pub fn output_len(&self) -> Result<usize> {
        Ok(self.lens()?.output)
    }
}

/// Quantisation of an int8 transposed convolution (per-channel multipliers are passed
/// separately, one per output channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Quant {
    /// TFLite zero point of the input, in `[-128, 127]`.
    pub input_zero_point: i32,
    /// TFLite zero point of the output, in `[-128, 127]`.
    pub output_zero_point: i32,
    /// Lower clamp of the output (fused activation), in `[-128, act_max]`.
    pub act_min: i32,
    /// Upper clamp of the output (fused activation), in `[act_min, 127]`.
    pub act_max: i32,
    /// How the requantisation rounds (TFLite's default is [`Rounding::Double`]).
    pub rounding: Rounding,
}

/// The input positions along one axis that reach output `o` through tap `k`:
/// `i` with `i·stride = o + pad − k`, `i < input`.
#[inline]
fn source(o: usize, pad: usize, k: usize, stride: usize, input: usize) -> Option<usize> {
    let t = (o + pad).checked_sub(k)?;
    (t % stride == 0)
        .then_some(t / stride)
        .filter(|&i| i < input)
}

/// Int8 transposed convolution, TFLite's per-channel reference kernel.
///
/// `bias` is `None` for no bias (the same as all zeros); `multipliers[o]` is output
/// channel `o`'s requantisation multiplier.
///
/// Errors: `Zero` / `Overflow` for invalid [`Params`]; `LengthMismatch` naming the
/// argument when a buffer has the wrong length; `OutOfRange` when a zero point or the
/// clamp range is outside int8 (or `act_min > act_max`).
pub fn forward(
    params: &Params,
    quant: &Quant,
    multipliers: &[QuantizedMultiplier],
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    let p = *params;
    let lens = p.lens()?;
    check_len("conv_transpose_s8: input", lens.input, input.len())?;
    check_len("conv_transpose_s8: weights", lens.weights, weights.len())?;
    check_len("conv_transpose_s8: multipliers", p.out_c, multipliers.len())?;
    if let Some(b) = bias {
        check_len("conv_transpose_s8: bias", p.out_c, b.len())?;
    }
    check_len("conv_transpose_s8: output", lens.output, output.len())?;
    crate::int8::depthwise::check_quant(
        [
            "conv_transpose_s8: input_zero_point",
            "conv_transpose_s8: output_zero_point",
        ],
        "conv_transpose_s8: act range",
        [quant.input_zero_point, quant.output_zero_point],
        (quant.act_min, quant.act_max),
        i8::MIN as i32,
        i8::MAX as i32,
    )?;
    let zp = quant.input_zero_point;
    let mut out = output.iter_mut();
    for n in 0..p.batch {
        for oh in 0..p.out_h {
            for ow in 0..p.out_w {
                for o in 0..p.out_c {
                    let mut acc = bias.and_then(|b| b.get(o)).copied().unwrap_or(0);
                    for kh in 0..p.kernel_h {
                        let Some(ih) = source(oh, p.pad_h, kh, p.stride_h, p.in_h) else {
                            continue;
                        };
                        for kw in 0..p.kernel_w {
                            let Some(iw) = source(ow, p.pad_w, kw, p.stride_w, p.in_w) else {
                                continue;
                            };
                            let x_at = ((n * p.in_h + ih) * p.in_w + iw) * p.in_c;
                            let w_at = ((o * p.kernel_h + kh) * p.kernel_w + kw) * p.in_c;
                            let xs = input.get(x_at..x_at + p.in_c).unwrap_or_default();
                            let ws = weights.get(w_at..w_at + p.in_c).unwrap_or_default();
                            for (&x, &w) in xs.iter().zip(ws) {
                                acc = acc.wrapping_add((x as i32 - zp) * w as i32);
                            }
                        }
                    }
                    let m = multipliers.get(o).copied().unwrap_or_default();
                    let y = m
                        .apply(acc, quant.rounding)
                        .saturating_add(quant.output_zero_point);
                    if let Some(out) = out.next() {
                        *out = y.clamp(quant.act_min, quant.act_max) as i8;
                    }
                }
            }
        }
    }
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
            out_h: 4,
            out_w: 4,
            out_c: 1,
            kernel_h: 2,
            kernel_w: 2,
            stride_h: 2,
            stride_w: 2,
            pad_h: 0,
            pad_w: 0,
        }
    }

    const Q: Quant = Quant {
        input_zero_point: 0,
        output_zero_point: 0,
        act_min: -128,
        act_max: 127,
        rounding: Rounding::Double,
    };

    #[test]
    fn stride_two_upsamples() {
        // A 2×2 kernel with stride 2 pastes a scaled copy of the kernel per input pixel.
        let m = [QuantizedMultiplier::from_real(1.0).unwrap()];
        let x = [1i8, 2, 3, 4];
        let w = [1i8, 2, 3, 4];
        let mut y = [0i8; 16];
        forward(&params(), &Q, &m, &x, &w, None, &mut y).unwrap();
        assert_eq!(y, [1, 2, 2, 4, 3, 4, 6, 8, 3, 6, 4, 8, 9, 12, 12, 16]);
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let p = params();
        let m = [QuantizedMultiplier::from_real(1.0).unwrap()];
        let x = [0i8; 4];
        let w = [0i8; 4];
        let mut y = [0i8; 16];
        assert!(forward(&p, &Q, &m, &x[..3], &w, None, &mut y).is_err());
        assert!(forward(&p, &Q, &m, &x, &w[..3], None, &mut y).is_err());
        assert!(forward(&p, &Q, &[], &x, &w, None, &mut y).is_err());
        assert!(forward(&p, &Q, &m, &x, &w, Some(&[0, 0]), &mut y).is_err());
        assert!(forward(&p, &Q, &m, &x, &w, None, &mut y[..15]).is_err());
        let bad = Quant {
            output_zero_point: -129,
            ..Q
        };
        assert!(forward(&p, &bad, &m, &x, &w, None, &mut y).is_err());
        let zero = Params { stride_w: 0, ..p };
        assert!(forward(&zero, &Q, &m, &x, &w, None, &mut y).is_err());
        let huge = Params {
            out_h: usize::MAX,
            pad_h: 1,
            ..p
        };
        assert!(forward(&huge, &Q, &m, &x, &w, None, &mut y).is_err());
        assert!(forward(&p, &Q, &m, &x, &w, None, &mut y).is_ok());
    }
}
