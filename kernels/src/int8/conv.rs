//! 2-D convolution, int8 activations and weights, int32 bias: TFLite's `CONV_2D` int8
//! kernel (CMSIS-NN's `arm_convolve_wrapper_s8`), bit-exact, with stride, dilation,
//! padding (`VALID`, `SAME`, explicit; see [`mote_core::padding`]) and groups.
//!
//! ```text
//! acc = bias[o] + Σ_{ky,kx,c} (x[b][iy][ix][g·cg + c] − input_zero_point)
//!                             · (w[o][ky][kx][c] − weights_zero_point)
//!       iy = oy·stride_h − pad_top + ky·dilation_h,  ix = ox·stride_w − pad_left + kx·dilation_w
//!       (taps outside the input are skipped: padding contributes 0 in real terms)
//! y[b][oy][ox][o] = clamp(requant32(acc, M_o) + output_zero_point, act_min, act_max)
//! ```
//!
//! with `g = o / (out_c / groups)` and `cg = in_c / groups`; `M_o` as in
//! [`crate::int8::dense`].
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | NHWC `[batch][in_h][in_w][in_c]` | [`Params::input_len`] |
//! | weights | OHWI `[out_c][kernel_h][kernel_w][in_c/groups]` | [`Params::weights_len`] |
//! | bias | `[out_c]` | `out_c` |
//! | output | NHWC `[batch][out_h][out_w][out_c]` | [`Params::output_len`] |
//!
//! A direct loop over each window, no scratch; each tap's run of `in_c / groups`
//! channels is one [`mote_simd::dot::dot_i8_offset`] (the Arm DSP path on Cortex-M4/M7,
//! exact on every path). [`Params`] is shared with [`crate::int16::conv`].

use crate::int8::dense::Activation;
pub use crate::int8::dense::Quant;
use mote_core::error::{check_len, check_nonzero};
use mote_core::padding::{Window, conv_output};
use mote_core::{Error, ErrorKind, Result};

/// The same parameters as the f32 convolution: one description of a convolution's
/// shape for every number type.
pub use crate::f32::conv::Params;

/// Validates the parameters and derives the loop bounds.
///
/// Errors: `Zero` for a zero size, stride, dilation or group count;
/// `ShapeMismatch` when `groups` does not divide both channel counts;
/// `WindowTooLarge` when the window does not fit the padded input; `Overflow` when a
/// length overflows.
pub(crate) fn geometry(p: &Params) -> Result<Geometry> {
    check_nonzero("int conv: batch", p.batch)?;
    check_nonzero("int conv: in_c", p.in_c)?;
    check_nonzero("int conv: out_c", p.out_c)?;
    check_nonzero("int conv: groups", p.groups)?;
    if p.in_c % p.groups != 0 || p.out_c % p.groups != 0 {
        return Err(Error::new(ErrorKind::ShapeMismatch, "int conv: groups"));
    }
    let h = conv_output(p.in_h, p.window_h, p.padding_h)?;
    let w = conv_output(p.in_w, p.window_w, p.padding_w)?;
    let overflow = Error::new(ErrorKind::Overflow, "int conv: size");
    let mul = |dims: &[usize]| {
        dims.iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or(overflow)
    };
    let cg = p.in_c / p.groups;
    // conv_output checked that the padded extents fit in usize, so every tap
    // position oy·stride + ky·dilation (below the padded extent) does too.
    Ok(Geometry {
        in_h: p.in_h,
        in_w: p.in_w,
        in_c: p.in_c,
        out_h: h.len,
        out_w: w.len,
        out_c: p.out_c,
        window_h: p.window_h,
        window_w: p.window_w,
        pad_top: h.pad_before,
        pad_left: w.pad_before,
        cg,
        og: p.out_c / p.groups,
        input_len: mul(&[p.batch, p.in_h, p.in_w, p.in_c])?,
        weights_len: mul(&[p.out_c, p.window_h.size, p.window_w.size, cg])?,
        output_len: mul(&[p.batch, h.len, w.len, p.out_c])?,
    })
}

/// Validated loop bounds of a convolution.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    in_h: usize,
    in_w: usize,
    in_c: usize,
    out_h: usize,
    out_w: usize,
    out_c: usize,
    window_h: Window,
    window_w: Window,
    pad_top: usize,
    pad_left: usize,
    cg: usize,
    og: usize,
    pub(crate) input_len: usize,
    pub(crate) weights_len: usize,
    pub(crate) output_len: usize,
}

/// The shared loop of the integer convolutions: for each output element `(b, oy, ox,
/// o)`, `sum = Σ (x − input_zero_point)·(w − weights_zero_point)` over the taps inside
/// the input (one [`Activation::run`] per tap: in 64 bits for int16, mod 2^32 for int8),
/// then `output[…] = f(o, sum)`. Lengths must have been checked against `g`.
pub(crate) fn conv_core<X: Activation, Y>(
    g: &Geometry,
    quant: &Quant<'_>,
    input: &[X],
    weights: &[i8],
    output: &mut [Y],
    mut f: impl FnMut(usize, i64) -> Y,
) {
    let izp = quant.input_zero_point as i64;
    let wzp = quant.weights_zero_point as i64;
    let (kh, kw) = (g.window_h.size, g.window_w.size);
    let image_len = g.in_h * g.in_w * g.in_c;
    let filter_len = kh * kw * g.cg;
    // With dilation 1 along x and one group, the taps of a window row that lie inside
    // the input are one contiguous run of the image and of the filter: one dot product
    // per row instead of one per tap (the same products, summed in another grouping:
    // exact, the sums are integers).
    let rows_contiguous = g.window_w.dilation == 1 && g.cg == g.in_c;
    let mut out = output.chunks_exact_mut(g.out_c);
    for image in input.chunks_exact(image_len) {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let Some(y_row) = out.next() else { return };
                let ix_of = |kx: usize| {
                    (ox * g.window_w.stride + kx * g.window_w.dilation)
                        .checked_sub(g.pad_left)
                        .filter(|&i| i < g.in_w)
                };
                // The taps inside the input along x: kx0..kx1 (a range, as ix grows with kx).
                let kx0 = (0..kw).find(|&kx| ix_of(kx).is_some()).unwrap_or(kw);
                let kx1 = (kx0..kw).find(|&kx| ix_of(kx).is_none()).unwrap_or(kw);
                let ix0 = ix_of(kx0).unwrap_or(0);
                for ((o, filter), y) in weights.chunks_exact(filter_len).enumerate().zip(y_row) {
                    let c0 = (o / g.og) * g.cg;
                    let mut sum = 0i64;
                    for ky in 0..kh {
                        let py = oy * g.window_h.stride + ky * g.window_h.dilation;
                        let Some(iy) = py.checked_sub(g.pad_top).filter(|&i| i < g.in_h) else {
                            continue;
                        };
                        if rows_contiguous {
                            let n = (kx1 - kx0) * g.cg;
                            let at = (iy * g.in_w + ix0) * g.in_c + c0;
                            let xs = &image[at..at + n];
                            let ws = &filter[(ky * kw + kx0) * g.cg..][..n];
                            sum = sum.wrapping_add(X::run(xs, ws, izp, wzp));
                            continue;
                        }
                        for kx in kx0..kx1 {
                            let Some(ix) = ix_of(kx) else { continue };
                            let at = (iy * g.in_w + ix) * g.in_c + c0;
                            let xs = &image[at..at + g.cg];
                            let ws = &filter[(ky * kw + kx) * g.cg..][..g.cg];
                            sum = sum.wrapping_add(X::run(xs, ws, izp, wzp));
                        }
                    }
                    *y = f(o, sum);
                }
            }
        }
    }
}

/// Forward pass; `output` is overwritten.
///
/// Errors: those of [`Params`]' validation; `LengthMismatch` for a buffer of the wrong
/// length or a multiplier slice that is neither 1 nor `out_c` long; `OutOfRange` for a
/// zero point outside its type or an empty/out-of-type clamp.
pub fn forward(
    params: &Params,
    quant: &Quant<'_>,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    let g = geometry(params)?;
    check_len("conv2d_s8: input", g.input_len, input.len())?;
    check_len("conv2d_s8: weights", g.weights_len, weights.len())?;
    if let Some(b) = bias {
        check_len("conv2d_s8: bias", params.out_c, b.len())?;
    }
    check_len("conv2d_s8: output", g.output_len, output.len())?;
    quant.check(
        params.out_c,
        (-128, 127),
        (-128, 127),
        [
            "conv2d_s8: multipliers",
            "conv2d_s8: input_zero_point",
            "conv2d_s8: weights_zero_point",
            "conv2d_s8: output_zero_point",
            "conv2d_s8: act_min",
            "conv2d_s8: act_max",
        ],
    )?;
    conv_core(&g, quant, input, weights, output, |o, sum| {
        let b = bias.and_then(|b| b.get(o)).copied().unwrap_or(0);
        // int32 accumulator: wrapping, as TFLite's would on overflow.
        let acc = (sum as i32).wrapping_add(b);
        quant.finish(quant.multiplier(o).apply(acc, quant.rounding)) as i8
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::quant::QuantizedMultiplier;

    #[test]
    fn padded_3x3_by_hand() {
        // 1×2×2×1 input of ones (zero point 0), 3×3 filter of ones, SAME: each output
        // sums the 4 inputs; ×0.5 → 2.
        let m = [QuantizedMultiplier::from_real(0.5).unwrap()];
        let q = Quant::new(0, 0, 0, &m, -128, 127);
        let p = Params::new(1, 2, 2, 1, 1, 3, 3).with_paddings(
            mote_core::padding::Padding::Same,
            mote_core::padding::Padding::Same,
        );
        let mut y = [0i8; 4];
        forward(&p, &q, &[1; 4], &[1; 9], None, &mut y).unwrap();
        assert_eq!(y, [2; 4]);
    }

    #[test]
    fn invalid_arguments_are_errors() {
        let m = [QuantizedMultiplier::from_real(0.5).unwrap()];
        let q = Quant::new(0, 0, 0, &m, -128, 127);
        let p = Params::new(1, 3, 3, 2, 2, 2, 2);
        let (x, w) = ([0i8; 18], [0i8; 16]);
        let mut y = [0i8; 8];
        assert!(forward(&p, &q, &x, &w, None, &mut y).is_ok());
        assert!(forward(&p, &q, &x[..17], &w, None, &mut y).is_err());
        assert!(forward(&p, &q, &x, &w[..15], None, &mut y).is_err());
        assert!(forward(&p, &q, &x, &w, Some(&[0; 3]), &mut y).is_err());
        assert!(forward(&p, &q, &x, &w, None, &mut y[..7]).is_err());
        assert!(forward(&p.with_groups(3), &q, &x, &w, None, &mut y).is_err());
        assert!(forward(&p.with_stride(0, 1), &q, &x, &w, None, &mut y).is_err());
        let big = Params::new(1, 3, 3, 2, 2, 4, 4);
        assert!(forward(&big, &q, &x, &w, None, &mut y).is_err());
        let m3 = [m[0]; 3];
        let bad = Quant::new(0, 0, 0, &m3, -128, 127);
        assert!(forward(&p, &bad, &x, &w, None, &mut y).is_err());
        let bad = Quant::new(0, 200, 0, &m, -128, 127);
        assert!(forward(&p, &bad, &x, &w, None, &mut y).is_err());
    }
}
