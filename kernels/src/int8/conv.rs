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
//! No scratch (the kernel's working buffers, about 8 KiB, are on the stack). With one
//! group and symmetric weights (zero point 0), output pixels go in pairs: both windows
//! are gathered into contiguous columns ([`mote_simd::im2col`], shared with the f32
//! convolution; taps in the padding filled with the input zero point, so that they add
//! nothing) unless they already are runs of the input, prepared once ([`mote_simd::int8::Rows2`]) and run against every output channel two at a time
//! ([`mote_simd::int8::gemm_2xn`], a 2 × 2 register tile: on the Arm DSP path 21
//! instructions per 16 MACs), then requantised 64 channels at a time, both pixels per
//! call. On Helium the input offset's term `x_offset·Σw` is folded into the bias once per
//! layer ([`mote_simd::int8::row_sums`]) and the pairs run
//! [`mote_simd::int8::gemm_2xn_raw`] on the raw windows (0.36 instructions per MAC for a
//! 1×1 convolution of 64 channels, 0.61 for a 3×3 one over 8, QEMU). Other pixels, and
//! other convolutions, take a direct loop over each window: each window row's (or tap's)
//! run of channels is one [`mote_simd::dot::dot_i8_offset`]. Exact on every path.
//! [`Params`] is shared with [`crate::int16::conv`].

use crate::int8::dense::Activation;
pub use crate::int8::dense::Quant;
use mote_core::error::{check_len, check_nonzero};
use mote_core::padding::{Window, conv_output};
use mote_core::{Error, ErrorKind, Result};
use mote_simd::im2col::Im2col;
use mote_simd::int8::{Rows2, rows2_scratch_len};

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
    if !p.in_c.is_multiple_of(p.groups) || !p.out_c.is_multiple_of(p.groups) {
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
    let image_len = g.in_h * g.in_w * g.in_c;
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
                pixel(
                    g,
                    image,
                    weights,
                    (oy, ox),
                    rows_contiguous,
                    y_row,
                    |xs, ws| X::run(xs, ws, izp, wzp),
                    &mut f,
                );
            }
        }
    }
}

/// One output pixel `(oy, ox)` of [`conv_core`]: every output channel's sum over the
/// taps inside the input, one `run` per window row (`rows_contiguous`) or per tap.
#[allow(clippy::too_many_arguments)]
#[inline]
fn pixel<X, Y>(
    g: &Geometry,
    image: &[X],
    weights: &[i8],
    (oy, ox): (usize, usize),
    rows_contiguous: bool,
    y_row: &mut [Y],
    run: impl Fn(&[X], &[i8]) -> i64,
    f: &mut impl FnMut(usize, i64) -> Y,
) {
    let (kh, kw) = (g.window_h.size, g.window_w.size);
    let filter_len = kh * kw * g.cg;
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
                let (Some(xs), Some(ws)) = (
                    image.get(at..at + n),
                    filter
                        .get((ky * kw + kx0) * g.cg..)
                        .and_then(|w| w.get(..n)),
                ) else {
                    continue;
                };
                sum = sum.wrapping_add(run(xs, ws));
                continue;
            }
            for kx in kx0..kx1 {
                let Some(ix) = ix_of(kx) else { continue };
                let at = (iy * g.in_w + ix) * g.in_c + c0;
                let (Some(xs), Some(ws)) = (
                    image.get(at..at + g.cg),
                    filter
                        .get((ky * kw + kx) * g.cg..)
                        .and_then(|w| w.get(..g.cg)),
                ) else {
                    continue;
                };
                sum = sum.wrapping_add(run(xs, ws));
            }
        }
        *y = f(o, sum);
    }
}

/// The largest window (`kernel_h·kernel_w·in_c` bytes) that [`tiles`] copies into a
/// stack buffer; larger windows that are not contiguous in the input take the
/// per-pixel loop.
const WINDOW_MAX: usize = 512;

// The output stage and the pixel-pair loop shared with the dense kernel.
use crate::int8::dense::{BLOCK, Block, FOLD_MAX, Stage, fold_offset, rows_against_weights};

/// The int8 convolution for one group and symmetric weights (zero point 0): output
/// pixels in pairs, two pixels × two output channels per tile (each window gathered once
/// into a contiguous column by [`mote_simd::im2col::im2col`], padding as the input zero
/// point, unless it already is one, and reused for every output channel); windows of
/// more than [`WINDOW_MAX`] bytes that are not runs of the input, and the last pixel of
/// an odd count, through [`pixel`]. The same int32 sums (mod 2^32) as [`conv_core`], so
/// bit-exact with it. Lengths must have been checked. Never inlined: its stack buffers
/// (about 3.5 KiB, see [`WINDOW_MAX`]) are then only reserved on this path.
#[inline(never)]
fn tiles(
    g: &Geometry,
    quant: &Quant<'_>,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
    finish: impl Fn(usize, i32) -> i8,
) {
    // Helium: the input offset folded into the bias once (`fold_offset`, 1 KiB on the
    // stack only here), the pixel pairs against the raw windows.
    let k = g.window_h.size * g.window_w.size * g.in_c;
    if mote_simd::int8::gemm_folds_offset() && k <= WINDOW_MAX && g.out_c <= FOLD_MAX {
        let mut folded = [0i32; FOLD_MAX];
        let xo = -quant.input_zero_point;
        if let Some(f) = folded.get_mut(..g.out_c)
            && fold_offset(bias, weights, k, xo, f)
        {
            tiles_with::<true>(g, quant, input, weights, bias, f, output, finish);
            return;
        }
    }
    tiles_with::<false>(g, quant, input, weights, bias, &[], output, finish);
}

/// [`tiles`] with, for the pixel pairs, the biases that hold the input offset's term
/// (`FOLD`: `folded`, see [`fold_offset`]) or the plain ones (`folded` unused). One
/// instantiation per route, so that the plain one (the Arm DSP path, where
/// [`mote_simd::int8::gemm_folds_offset`] is false at compile time and the other is
/// never built) keeps no state for the other.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn tiles_with<const FOLD: bool>(
    g: &Geometry,
    quant: &Quant<'_>,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    folded: &[i32],
    output: &mut [i8],
    finish: impl Fn(usize, i32) -> i8,
) {
    let stage = Stage {
        multipliers: quant.multipliers,
        bias,
        zero_point: quant.output_zero_point,
        act: (quant.act_min, quant.act_max),
        rounding: quant.rounding,
    };
    let xo = -quant.input_zero_point;
    let (kh, kw) = (g.window_h.size, g.window_w.size);
    let (wh, ww) = (g.window_h, g.window_w);
    let k = kh * kw * g.in_c;
    let image_len = g.in_h * g.in_w * g.in_c;
    let rows_contiguous = ww.dilation == 1;
    // The whole window is one run of the image: one row of taps, or full image rows.
    let window_contiguous = rows_contiguous && (kh == 1 || (kw == g.in_w && wh.dilation == 1));
    // Windows up to WINDOW_MAX bytes are gathered (any stride, dilation or padding: the
    // padding filled with the input zero point, so that x + x_offset = 0 there and the
    // tap adds nothing, as the per-pixel loop's skipped taps).
    let gathered = k <= WINDOW_MAX;
    let inside = |oy: usize, ox: usize| {
        let (y0, x0) = (oy * wh.stride, ox * ww.stride);
        y0 >= g.pad_top
            && x0 >= g.pad_left
            && y0 + (kh - 1) * wh.dilation - g.pad_top < g.in_h
            && x0 + (kw - 1) * ww.dilation - g.pad_left < g.in_w
    };
    // Validated once (it cannot fail on a validated convolution; if it did, every
    // pixel would take the per-pixel loop).
    let im2col = Im2col::new([g.in_h, g.in_w, g.in_c], [g.out_h, g.out_w], [kh, kw])
        .with_stride([wh.stride, ww.stride])
        .with_dilation([wh.dilation, ww.dilation])
        .with_pad([g.pad_top, g.pad_left])
        .plan();
    let gathered = gathered && im2col.is_ok();
    // The caller checked the zero point against the i8 range.
    let pad = quant.input_zero_point as i8;
    let mut cols = [0i8; 2 * WINDOW_MAX];
    let mut lanes = [0u32; rows2_scratch_len(WINDOW_MAX)];
    let mut sums = [[0i32; BLOCK]; 2];
    let mut block = Block::<BLOCK>::new();
    let mut f = |o: usize, sum: i64| finish(o, sum as i32);
    let folded_stage = Stage {
        bias: Some(folded),
        ..stage
    };
    let pair_stage = if FOLD { &folded_stage } else { &stage };
    let run =
        |xs: &[i8], ws: &[i8]| i64::from(mote_simd::dot::dot_i8_offset(xs, xo, ws, 0).unwrap_or(0));
    let pixels = g.out_h * g.out_w;
    for (image, out) in input
        .chunks_exact(image_len)
        .zip(output.chunks_exact_mut(pixels * g.out_c))
    {
        let mut p = 0;
        while p < pixels {
            let (oy, ox) = (p / g.out_w, p % g.out_w);
            let q = p + 1;
            let direct = window_contiguous
                && q < pixels
                && inside(oy, ox)
                && inside(q / g.out_w, q % g.out_w);
            if !(direct || gathered && q < pixels) {
                if let Some(y_row) = out.get_mut(p * g.out_c..q * g.out_c) {
                    pixel(
                        g,
                        image,
                        weights,
                        (oy, ox),
                        rows_contiguous,
                        y_row,
                        run,
                        &mut f,
                    );
                }
                p += 1;
                continue;
            }
            // The two windows as contiguous columns of k bytes: runs of the image, or
            // gathered side by side into `cols` (row by row when both lie inside the
            // image, else through the im2col plan, which fills the padding).
            let at = |oy: usize, ox: usize| {
                ((oy * wh.stride - g.pad_top) * g.in_w + ox * ww.stride - g.pad_left) * g.in_c
            };
            let (c0, c1): (&[i8], &[i8]) = if direct {
                let (a0, a1) = (at(oy, ox), at(q / g.out_w, q % g.out_w));
                (
                    image.get(a0..a0 + k).unwrap_or(&[]),
                    image.get(a1..a1 + k).unwrap_or(&[]),
                )
            } else if rows_contiguous && inside(oy, ox) && inside(q / g.out_w, q % g.out_w) {
                let (a0, a1) = (at(oy, ox), at(q / g.out_w, q % g.out_w));
                let (col0, col1) = cols.split_at_mut(WINDOW_MAX);
                let (run, stride) = (kw * g.in_c, wh.dilation * g.in_w * g.in_c);
                for (col, at) in [(&mut *col0, a0), (&mut *col1, a1)] {
                    let src = image.get(at..).unwrap_or(&[]);
                    if mote_simd::int8::gather(col, src, kh, run, stride).is_err() {
                        col.fill(0);
                    }
                }
                (col0.get(..k).unwrap_or(&[]), col1.get(..k).unwrap_or(&[]))
            } else {
                let Some(both) = cols.get_mut(..2 * k) else {
                    return;
                };
                if !im2col
                    .as_ref()
                    .is_ok_and(|plan| plan.write(image, pad, p, both).is_ok())
                {
                    return;
                }
                both.split_at(k)
            };
            let Some(ys) = out.get_mut(p * g.out_c..(p + 2) * g.out_c) else {
                return;
            };
            let (y0, y1) = ys.split_at_mut(g.out_c);
            if k <= WINDOW_MAX {
                // Both windows prepared once, then every output channel, BLOCK at a time.
                let Ok(rows) = Rows2::new([c0, c1], xo, &mut lanes) else {
                    return;
                };
                let raw = FOLD.then_some([c0, c1]);
                if !rows_against_weights(
                    &rows,
                    raw,
                    weights,
                    k,
                    [y0, y1],
                    pair_stage,
                    &mut block,
                    &mut sums,
                ) {
                    return;
                }
                p += 2;
                continue;
            }
            let mut fs = weights.chunks_exact(2 * k);
            let mut o = 0;
            for f2 in fs.by_ref() {
                let (f0, f1) = f2.split_at(k);
                let Ok([[a, b], [c, d]]) = mote_simd::int8::dot_2x2([c0, c1], xo, [f0, f1]) else {
                    return;
                };
                if let (Some(u), Some(v)) = (y0.get_mut(o..o + 2), y1.get_mut(o..o + 2)) {
                    u[0] = finish(o, a);
                    u[1] = finish(o + 1, b);
                    v[0] = finish(o, c);
                    v[1] = finish(o + 1, d);
                }
                o += 2;
            }
            let f1 = fs.remainder();
            if let (false, Some(u), Some(v)) = (f1.is_empty(), y0.get_mut(o), y1.get_mut(o)) {
                *u = finish(o, run(c0, f1) as i32);
                *v = finish(o, run(c1, f1) as i32);
            }
            p += 2;
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
    let finish = |o: usize, sum: i32| {
        let b = bias.and_then(|b| b.get(o)).copied().unwrap_or(0);
        // int32 accumulator: wrapping, as TFLite's would on overflow.
        let acc = sum.wrapping_add(b);
        quant.finish(crate::int8::dense::requant(
            quant.multiplier(o),
            acc,
            quant.rounding,
        )) as i8
    };
    if params.groups == 1 && quant.weights_zero_point == 0 {
        tiles(&g, quant, input, weights, bias, output, finish);
    } else {
        conv_core(&g, quant, input, weights, output, |o, sum| {
            finish(o, sum as i32)
        });
    }
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

    /// The paired tiles (windows gathered by im2col, padding as the zero point) give the
    /// bytes of the per-pixel loop, which skips padded taps: strides, dilations,
    /// paddings, odd pixel counts, batch 2, window sizes either side of `WINDOW_MAX`.
    #[test]
    fn tiles_match_the_per_pixel_loop() {
        use mote_core::padding::{Padding, Window};
        let mut seed = 0x2545_f491u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let m = [QuantizedMultiplier::from_real(0.0071).unwrap()];
        let explicit = Padding::Explicit {
            before: 2,
            after: 1,
        };
        let shapes = [
            // (in_h, in_w, in_c, out_c, kh, kw, stride, dilation, padding)
            (5, 6, 3, 5, 3, 3, (1, 1), (1, 1), Padding::Same),
            (7, 5, 4, 3, 3, 2, (2, 1), (1, 2), explicit),
            (6, 7, 2, 4, 2, 3, (1, 2), (2, 1), Padding::Same),
            (4, 4, 1, 2, 3, 3, (1, 1), (2, 2), explicit),
            (5, 5, 8, 3, 5, 5, (1, 1), (1, 1), Padding::Same), // k = 200
            (6, 6, 24, 2, 5, 5, (2, 2), (1, 1), Padding::Same), // k = 600 > WINDOW_MAX
            (3, 9, 5, 3, 1, 3, (1, 3), (1, 1), Padding::Valid),
        ];
        let mut x = [0i8; 2 * 7 * 7 * 24];
        let mut w = [0i8; 5 * 5 * 5 * 24];
        let (mut got, mut want) = ([0i8; 2 * 49 * 5], [0i8; 2 * 49 * 5]);
        for (in_h, in_w, in_c, out_c, kh, kw, (sh, sw), (dh, dw), padding) in shapes {
            for izp in [-128, 3, 127] {
                let p =
                    Params::new(2, in_h, in_w, in_c, out_c, kh, kw).with_paddings(padding, padding);
                let p = Params {
                    window_h: Window::new(kh, sh).dilated(dh),
                    window_w: Window::new(kw, sw).dilated(dw),
                    ..p
                };
                let g = geometry(&p).unwrap();
                let (x, w) = (&mut x[..g.input_len], &mut w[..g.weights_len]);
                x.iter_mut().for_each(|v| *v = next() as i8);
                w.iter_mut().for_each(|v| *v = next() as i8);
                let bias: [i32; 5] = core::array::from_fn(|_| next() as i32 >> 18);
                let bias = &bias[..out_c];
                let q = Quant::new(izp, 0, -5, &m, -128, 127);
                let (got, want) = (&mut got[..g.output_len], &mut want[..g.output_len]);
                forward(&p, &q, x, w, Some(bias), got).unwrap();
                let finish = |o: usize, sum: i64| {
                    let acc = (sum as i32).wrapping_add(bias[o]);
                    q.finish(crate::int8::dense::requant(
                        q.multiplier(o),
                        acc,
                        q.rounding,
                    )) as i8
                };
                conv_core(&g, &q, x, w, want, finish);
                assert_eq!(got, want, "{p:?} zero point {izp}");
            }
        }
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
