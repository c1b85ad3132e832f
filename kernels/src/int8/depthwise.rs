//! Depthwise 2-D convolution, int8 activations × int8 weights → int8 (TFLite's
//! `DepthwiseConv2D` int8 per-channel reference kernel, bit-exact).
//!
//! Output channel `o = c·multiplier + m` filters input channel `c = o / multiplier`:
//!
//! ```text
//! acc = bias[o] + Σ_{kh,kw} (x[n][ih][iw][c] − input_zero_point) · w[kh][kw][o]
//! y[n][oh][ow][o] = clamp(requant(acc, multipliers[o]) + output_zero_point, act_min, act_max)
//! ```
//!
//! with `ih = oh·stride_h − pad_h + kh·dilation_h`, `iw = ow·stride_w − pad_w +
//! kw·dilation_w`; taps outside the input are skipped (padding adds 0, i.e. it holds the
//! input zero point). Weights are symmetric (zero point 0), as TFLite requires for int8
//! per-channel convolutions. The accumulator is int32 (wrapping, like CMSIS-NN, where
//! TFLite's C++ would overflow) and is requantised by
//! [`QuantizedMultiplier::apply`] with the [`Quant::rounding`] asked for.
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | `[batch][in_h][in_w][in_c]` | [`Params::input_len`] |
//! | weights | `[1][kernel_h][kernel_w][in_c·multiplier]` (TFLite's) | [`Params::weights_len`] |
//! | bias | `[in_c·multiplier]` (or none) | [`Params::out_c`] |
//! | multipliers | `[in_c·multiplier]` | [`Params::out_c`] |
//! | output | `[batch][out_h][out_w][in_c·multiplier]` | [`Params::output_len`] |
//!
//! The output size and the padding before the first row/column are given explicitly
//! (as TFLite's `padding_values` and output tensor give them), so every padding scheme
//! maps onto [`Params`]. No scratch (the sums of part of an output row, 2 KiB, are on the
//! stack). With channel multiplier 1 each output pixel's window is summed for every
//! channel at once by [`mote_simd::int8::depthwise_run`] (four channels per word on the
//! Arm DSP path; on Helium 16 per block, one tap table per run; on the scalar path of
//! other 32-bit cores four channels' sums in registers over a tap table): the interior of
//! an output row, whose windows all have the same taps, in one call, the pixels clipped
//! by the padding one by one; then the output stage, two pixels per call. Other
//! multipliers take direct loops.

use mote_core::error::{check_len, check_nonzero};
use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_core::{Error, ErrorKind, Result};

/// Geometry of an integer depthwise convolution (shared by the int8 and int16 kernels).
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
    /// Output channels per input channel (the channel multiplier).
    pub multiplier: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Padding rows before the first input row.
    pub pad_h: usize,
    /// Padding columns before the first input column.
    pub pad_w: usize,
}

/// Validated lengths of a [`Params`].
#[derive(Clone, Copy)]
pub(crate) struct Lens {
    pub out_c: usize,
    pub input: usize,
    pub weights: usize,
    pub output: usize,
}

fn product(at: &'static str, dims: &[usize]) -> Result<usize> {
    dims.iter().try_fold(1usize, |acc, &d| {
        acc.checked_mul(d)
            .ok_or(Error::new(ErrorKind::Overflow, at))
    })
}

impl Params {
    /// Validates the geometry and returns its lengths.
    ///
    /// Errors: `Zero` for a zero size, kernel, stride or dilation; `Overflow` when a
    /// length or coordinate overflows `usize`.
    pub(crate) fn lens(&self) -> Result<Lens> {
        for (at, v) in [
            ("depthwise int: batch", self.batch),
            ("depthwise int: in_h", self.in_h),
            ("depthwise int: in_w", self.in_w),
            ("depthwise int: in_c", self.in_c),
            ("depthwise int: multiplier", self.multiplier),
            ("depthwise int: out_h", self.out_h),
            ("depthwise int: out_w", self.out_w),
            ("depthwise int: kernel_h", self.kernel_h),
            ("depthwise int: kernel_w", self.kernel_w),
            ("depthwise int: stride_h", self.stride_h),
            ("depthwise int: stride_w", self.stride_w),
            ("depthwise int: dilation_h", self.dilation_h),
            ("depthwise int: dilation_w", self.dilation_w),
        ] {
            check_nonzero(at, v)?;
        }
        const AT: &str = "depthwise int: size";
        // The largest coordinate the loops form, `(out − 1)·stride + (k − 1)·dilation`,
        // must not overflow.
        for (o, s, k, d) in [
            (self.out_h, self.stride_h, self.kernel_h, self.dilation_h),
            (self.out_w, self.stride_w, self.kernel_w, self.dilation_w),
        ] {
            product(AT, &[o - 1, s])?
                .checked_add(product(AT, &[k - 1, d])?)
                .ok_or(Error::new(ErrorKind::Overflow, AT))?;
        }
        let out_c = product(AT, &[self.in_c, self.multiplier])?;
        Ok(Lens {
            out_c,
            input: product(AT, &[self.batch, self.in_h, self.in_w, self.in_c])?,
            weights: product(AT, &[self.kernel_h, self.kernel_w, out_c])?,
            output: product(AT, &[self.batch, self.out_h, self.out_w, out_c])?,
        })
    }

    /// Output channels, `in_c·multiplier` (the length of bias and multipliers).
    pub fn out_c(&self) -> Result<usize> {
        Ok(self.lens()?.out_c)
    }

    /// Elements of the input, `batch·in_h·in_w·in_c`.
    pub fn input_len(&self) -> Result<usize> {
        Ok(self.lens()?.input)
    }

    /// Elements of the weights, `kernel_h·kernel_w·in_c·multiplier`.
    pub fn weights_len(&self) -> Result<usize> {
        Ok(self.lens()?.weights)
    }

    /// Elements of the output, `batch·out_h·out_w·in_c·multiplier`.
    pub fn output_len(&self) -> Result<usize> {
        Ok(self.lens()?.output)
    }
}

/// Quantisation of an int8 depthwise convolution (per-channel multipliers are passed
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

/// Checks a zero point and the clamp range against the output type `[lo, hi]`.
pub(crate) fn check_quant(
    at_zp: [&'static str; 2],
    at_act: &'static str,
    zps: [i32; 2],
    act: (i32, i32),
    lo: i32,
    hi: i32,
) -> Result<()> {
    for (at, zp) in at_zp.into_iter().zip(zps) {
        if !(lo..=hi).contains(&zp) {
            return Err(Error::out_of_range(at, zp as i64, lo as i64, hi as i64));
        }
    }
    let (min, max) = act;
    if !(lo..=hi).contains(&min) {
        return Err(Error::out_of_range(
            at_act, min as i64, lo as i64, hi as i64,
        ));
    }
    if !(min..=hi).contains(&max) {
        return Err(Error::out_of_range(
            at_act, max as i64, min as i64, hi as i64,
        ));
    }
    Ok(())
}

/// The shared loop nest. `input` and `weights` are validated by the caller to the
/// lengths in `lens`; `x` reads input element `i` (minus the zero point), `finish`
/// turns `(accumulator, output channel)` into the clamped output value.
pub(crate) fn run<X: Copy, Y>(
    p: &Params,
    lens: Lens,
    input: &[X],
    weights: &[i8],
    output: &mut [Y],
    x: impl Fn(X) -> i64,
    finish: impl Fn(i64, usize) -> Y,
) {
    let out_c = lens.out_c;
    let mut out = output.iter_mut();
    for n in 0..p.batch {
        for oh in 0..p.out_h {
            for ow in 0..p.out_w {
                for o in 0..out_c {
                    let c = o / p.multiplier;
                    let mut acc = 0i64;
                    for kh in 0..p.kernel_h {
                        let ih = (oh * p.stride_h + kh * p.dilation_h).checked_sub(p.pad_h);
                        let Some(ih) = ih.filter(|&ih| ih < p.in_h) else {
                            continue;
                        };
                        for kw in 0..p.kernel_w {
                            let iw = (ow * p.stride_w + kw * p.dilation_w).checked_sub(p.pad_w);
                            let Some(iw) = iw.filter(|&iw| iw < p.in_w) else {
                                continue;
                            };
                            let xi = ((n * p.in_h + ih) * p.in_w + iw) * p.in_c + c;
                            let wi = (kh * p.kernel_w + kw) * out_c + o;
                            if let (Some(&xv), Some(&wv)) = (input.get(xi), weights.get(wi)) {
                                acc += x(xv) * wv as i64;
                            }
                        }
                    }
                    if let Some(y) = out.next() {
                        *y = finish(acc, o);
                    }
                }
            }
        }
    }
}

/// Int8 depthwise convolution, TFLite's per-channel reference kernel.
///
/// `bias` is `None` for no bias (the same as all zeros); `multipliers[o]` is output
/// channel `o`'s requantisation multiplier.
///
/// Errors: those of [`Params::out_c`]; `LengthMismatch` naming the argument when a
/// buffer has the wrong length; `OutOfRange` when a zero point or the clamp range is
/// outside int8 (or `act_min > act_max`).
pub fn forward(
    params: &Params,
    quant: &Quant,
    multipliers: &[QuantizedMultiplier],
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    let lens = params.lens()?;
    check_len("depthwise_s8: input", lens.input, input.len())?;
    check_len("depthwise_s8: weights", lens.weights, weights.len())?;
    check_len("depthwise_s8: multipliers", lens.out_c, multipliers.len())?;
    if let Some(b) = bias {
        check_len("depthwise_s8: bias", lens.out_c, b.len())?;
    }
    check_len("depthwise_s8: output", lens.output, output.len())?;
    check_quant(
        [
            "depthwise_s8: input_zero_point",
            "depthwise_s8: output_zero_point",
        ],
        "depthwise_s8: act range",
        [quant.input_zero_point, quant.output_zero_point],
        (quant.act_min, quant.act_max),
        i8::MIN as i32,
        i8::MAX as i32,
    )?;
    let q = *quant;
    let finish = |acc: i32, o: usize| {
        let b = bias.and_then(|b| b.get(o)).copied().unwrap_or(0);
        // int32 accumulation, wrapping as CMSIS-NN does.
        let acc = acc.wrapping_add(b);
        let m = multipliers.get(o).copied().unwrap_or_default();
        let y = crate::int8::dense::requant(m, acc, q.rounding).saturating_add(q.output_zero_point);
        y.clamp(q.act_min, q.act_max) as i8
    };
    if params.multiplier == 1 {
        channels(
            params,
            lens,
            input,
            weights,
            output,
            quant,
            multipliers,
            bias,
        );
        return Ok(());
    }
    let zp = quant.input_zero_point as i64;
    run(
        params,
        lens,
        input,
        weights,
        output,
        |v| v as i64 - zp,
        |acc, o| finish(acc as i32, o),
    );
    Ok(())
}

use crate::int8::dense::{BLOCK, Block, Stage};

/// The int8 loop with channel multiplier 1: for each output pixel, the taps inside the
/// input form a `rows × cols` rectangle, and [`mote_simd::int8::depthwise_run`] sums
/// every channel over it, `BLOCK` channels and a run of pixels with the same taps (the
/// row's interior) per call (four channels per word on the Arm DSP path). The same int32
/// sums (mod 2^32) as [`run`], so bit-exact with it. Lengths must have been checked.
#[allow(clippy::too_many_arguments)]
fn channels(
    p: &Params,
    lens: Lens,
    input: &[i8],
    weights: &[i8],
    output: &mut [i8],
    quant: &Quant,
    multipliers: &[QuantizedMultiplier],
    bias: Option<&[i32]>,
) {
    use mote_simd::int8::{Taps, depthwise_run};
    let c = p.in_c;
    let x_offset = -quant.input_zero_point;
    let stage = Stage {
        multipliers,
        bias,
        zero_point: quant.output_zero_point,
        act: (quant.act_min, quant.act_max),
        rounding: quant.rounding,
    };
    // The taps `k` (of `kernel`) whose position `o·stride + k·dilation − pad` lies in
    // `0..input`: a range, as the position grows with `k`; empty when none does.
    let taps =
        |o: usize, stride: usize, dilation: usize, pad: usize, kernel: usize, input: usize| {
            let at = |k: usize| {
                (o * stride + k * dilation)
                    .checked_sub(pad)
                    .filter(|&i| i < input)
            };
            let k0 = (0..kernel).find(|&k| at(k).is_some()).unwrap_or(kernel);
            let k1 = (k0..kernel).find(|&k| at(k).is_none()).unwrap_or(kernel);
            (k0, k1, at(k0).unwrap_or(0))
        };
    let mut acc = [0i32; RUN];
    let mut block = Block::<BLOCK>::new();
    // The output columns whose windows lie wholly inside the input along x: a range
    // (empty when none does), whose pixels share one set of taps per output row.
    let full = |ow: usize| {
        let (k0, k1, _) = taps(ow, p.stride_w, p.dilation_w, p.pad_w, p.kernel_w, p.in_w);
        k1 - k0 == p.kernel_w
    };
    let ow0 = (0..p.out_w).find(|&ow| full(ow)).unwrap_or(p.out_w);
    let ow1 = (ow0..p.out_w).find(|&ow| !full(ow)).unwrap_or(p.out_w);
    let row_len = p.out_w * lens.out_c;
    let mut rows = output.chunks_exact_mut(row_len);
    for n in 0..p.batch {
        for oh in 0..p.out_h {
            let Some(y_row) = rows.next() else { return };
            let (ky0, ky1, iy0) = taps(oh, p.stride_h, p.dilation_h, p.pad_h, p.kernel_h, p.in_h);
            let step = p.stride_w * c;
            // Each block of channels over up to RUN / width pixels of the row at a time:
            // their sums first (the interior as one run, the others one by one), then
            // their output stage, two pixels per call.
            let mut c0 = 0;
            while c0 < c {
                let width = (c - c0).min(BLOCK);
                let per = (RUN / width).max(1);
                let mut p0 = 0;
                while p0 < p.out_w {
                    let p1 = (p0 + per).min(p.out_w);
                    let mut ow = p0;
                    while ow < p1 {
                        let count = if (ow0..ow1).contains(&ow) {
                            ow1.min(p1) - ow
                        } else {
                            1
                        };
                        // The interior's windows are whole: every tap from the first.
                        let (kx0, kx1, ix0) = if count > 1 {
                            (0, p.kernel_w, ow * p.stride_w - p.pad_w)
                        } else {
                            taps(ow, p.stride_w, p.dilation_w, p.pad_w, p.kernel_w, p.in_w)
                        };
                        let xt = Taps::new(
                            ky1 - ky0,
                            kx1 - kx0,
                            p.dilation_h * p.in_w * c,
                            p.dilation_w * c,
                        );
                        let wt = Taps::new(ky1 - ky0, kx1 - kx0, p.kernel_w * c, c);
                        let x_at = ((n * p.in_h + iy0) * p.in_w + ix0) * c + c0;
                        let w_at = (ky0 * p.kernel_w + kx0) * c + c0;
                        let j = ow - p0;
                        let Some(a) = acc.get_mut(j * width..(j + count) * width) else {
                            return;
                        };
                        let (xs, ws) = (
                            input.get(x_at..).unwrap_or(&[]),
                            weights.get(w_at..).unwrap_or(&[]),
                        );
                        if depthwise_run(a, width, xs, xt, x_offset, step, ws, wt).is_err() {
                            a.fill(0);
                        }
                        ow += count;
                    }
                    let mut sums = acc
                        .get(..(p1 - p0) * width)
                        .unwrap_or(&[])
                        .chunks_exact(width);
                    let mut ow = p0;
                    while let Some(s0) = sums.next() {
                        let at = ow * c + c0;
                        match sums.next() {
                            Some(s1) => {
                                let Some(y) = y_row.get_mut(at..at + c + width) else {
                                    return;
                                };
                                let (y0, rest) = y.split_at_mut(width);
                                let y1 = rest.get_mut(c - width..).unwrap_or(&mut []);
                                stage.store2([y0, y1], [s0, s1], c0, &mut block);
                                ow += 2;
                            }
                            None => {
                                if let Some(y) = y_row.get_mut(at..at + width) {
                                    stage.store(y, s0, c0, &mut block);
                                }
                                ow += 1;
                            }
                        }
                    }
                    p0 = p1;
                }
                c0 += width;
            }
        }
    }
}

/// Sums of one block of channels over part of an output row (on the stack, 2 KiB): at
/// least eight pixels of a full [`BLOCK`] of channels.
const RUN: usize = 8 * BLOCK;

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            batch: 1,
            in_h: 3,
            in_w: 3,
            in_c: 2,
            multiplier: 2,
            out_h: 2,
            out_w: 2,
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

    fn quant() -> Quant {
        Quant {
            input_zero_point: 0,
            output_zero_point: 0,
            act_min: -128,
            act_max: 127,
            rounding: Rounding::Double,
        }
    }

    #[test]
    fn small_case_by_hand() {
        let p = params();
        let m = [QuantizedMultiplier::from_real(0.5).unwrap(); 4];
        let x: [i8; 18] = core::array::from_fn(|i| i as i8);
        let w = [1i8; 16];
        let mut y = [0i8; 16];
        forward(&p, &quant(), &m, &x, &w, Some(&[2, 0, 0, 0]), &mut y).unwrap();
        // Output (0,0), channel 0 reads input channel 0 at (0,0),(0,1),(1,0),(1,1):
        // 0 + 2 + 6 + 8 = 16, + bias 2 = 18, · 0.5 = 9.
        assert_eq!(y[0], 9);
        assert_eq!(y[1], 8);
        // Channel 2 reads input channel 1: 1 + 3 + 7 + 9 = 20 → 10.
        assert_eq!(y[2], 10);
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let p = params();
        let m = [QuantizedMultiplier::from_real(0.5).unwrap(); 4];
        let x = [0i8; 18];
        let w = [0i8; 16];
        let mut y = [0i8; 16];
        let q = quant();
        assert!(forward(&p, &q, &m, &x[..17], &w, None, &mut y).is_err());
        assert!(forward(&p, &q, &m, &x, &w[..15], None, &mut y).is_err());
        assert!(forward(&p, &q, &m[..3], &x, &w, None, &mut y).is_err());
        assert!(forward(&p, &q, &m, &x, &w, Some(&[0; 3]), &mut y).is_err());
        assert!(forward(&p, &q, &m, &x, &w, None, &mut y[..15]).is_err());
        let bad = Quant {
            act_min: 10,
            act_max: 5,
            ..q
        };
        assert!(forward(&p, &bad, &m, &x, &w, None, &mut y).is_err());
        let bad = Quant {
            input_zero_point: 200,
            ..q
        };
        assert!(forward(&p, &bad, &m, &x, &w, None, &mut y).is_err());
        let zero = Params { stride_h: 0, ..p };
        assert!(forward(&zero, &q, &m, &x, &w, None, &mut y).is_err());
        let huge = Params {
            out_h: usize::MAX,
            stride_h: 2,
            ..p
        };
        assert!(forward(&huge, &q, &m, &x, &w, None, &mut y).is_err());
        assert!(forward(&p, &q, &m, &x, &w, None, &mut y).is_ok());
    }
}
