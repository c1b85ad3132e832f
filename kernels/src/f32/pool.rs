//! Max and average pooling, 1D and 2D, with stride, dilation and `VALID`/`SAME`/explicit
//! padding, and global pooling; forward and backward.
//!
//! Layout NHWC: input `[batch][height][width][channels]`, output
//! `[batch][out_height][out_width][channels]`, where the output sizes and padding come
//! from [`mote_core::padding::conv_output`] for each spatial axis. 1D pooling over
//! `[batch][length][channels]` is the 2D case with height 1 (see [`Params::one_d`]).
//!
//! Output `(oy, ox)` reads the taps `(oy·stride_h − pad_top + ky·dilation_h, ox·stride_w −
//! pad_left + kx·dilation_w)`; taps in the padding are *skipped*, never read as zeros:
//! - **max** takes the maximum of the in-bounds taps (TFLite, Keras and PyTorch agree);
//! - **average** divides by the number of *in-bounds* taps (TFLite/Keras `SAME`; PyTorch
//!   with `count_include_pad=False`), so a corner window of a 3×3 `SAME` pool averages
//!   4 values, not 9.
//!
//! A window whose taps all fall in padding (possible only with explicit padding at
//! least as large as the window, or with dilation) outputs 0 and passes no gradient.
//!
//! Backward: average pooling spreads each output gradient evenly over the in-bounds taps
//! of its window; max pooling routes it to the arg-max of the window, the *first*
//! maximum in tap order (rows top to bottom, then columns left to right) on ties, so
//! exactly one input receives it. Gradients accumulate (`+=`) into `grad_input`.
//! Neither direction needs scratch memory.
//!
//! ```
//! use mote_core::padding::{Padding, Window};
//! use mote_kernels::f32::pool::{self, Kind, Params};
//!
//! // 2×2 max pooling, stride 2, over one 2×4 single-channel image.
//! let p = Params {
//!     kind: Kind::Max,
//!     batch: 1, height: 2, width: 4, channels: 1,
//!     window_h: Window::new(2, 2), window_w: Window::new(2, 2),
//!     padding_h: Padding::Valid, padding_w: Padding::Valid,
//! };
//! assert_eq!(p.output_shape()?, [1, 1, 2, 1]);
//! let x = [1.0, 5.0, 2.0, 0.0,
//!          3.0, 4.0, 7.0, 6.0];
//! let mut y = [0.0; 2];
//! pool::forward(&p, &x, &mut y)?;
//! assert_eq!(y, [5.0, 7.0]);
//! let mut grad_x = [0.0; 8];
//! pool::backward(&p, &x, &[1.0, 1.0], &mut grad_x)?;
//! assert_eq!(grad_x, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
//! # Ok::<(), mote_core::Error>(())
//! ```

use mote_core::padding::{OutputDim, Padding, Window, conv_output};
use mote_core::{Error, ErrorKind, Result, error::check_len, error::check_nonzero};

/// Which reduction a pooling window applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Kind {
    /// The maximum of the in-bounds taps.
    Max,
    /// The mean of the in-bounds taps (padding is not counted).
    Average,
}

/// Parameters of a pooling layer over an NHWC tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Max or average.
    pub kind: Kind,
    /// Images in the batch (N).
    pub batch: usize,
    /// Input height (H).
    pub height: usize,
    /// Input width (W).
    pub width: usize,
    /// Channels (C), pooled independently.
    pub channels: usize,
    /// The window along the height: size, stride, dilation.
    pub window_h: Window,
    /// The window along the width: size, stride, dilation.
    pub window_w: Window,
    /// Padding along the height.
    pub padding_h: Padding,
    /// Padding along the width.
    pub padding_w: Padding,
}

impl Params {
    /// 1D pooling over `[batch][length][channels]`: height 1 with a 1-tap window, the
    /// given window and padding along the length (the width).
    pub const fn one_d(
        kind: Kind,
        batch: usize,
        length: usize,
        channels: usize,
        window: Window,
        padding: Padding,
    ) -> Self {
        Self {
            kind,
            batch,
            height: 1,
            width: length,
            channels,
            window_h: Window::new(1, 1),
            window_w: window,
            padding_h: Padding::Valid,
            padding_w: padding,
        }
    }

    /// The output shape `[batch, out_height, out_width, channels]`, after validating the
    /// parameters.
    pub fn output_shape(&self) -> Result<[usize; 4]> {
        let g = Geometry::new(self)?;
        Ok([self.batch, g.rows.len, g.cols.len, self.channels])
    }
}

/// Validated sizes of one pooling call.
struct Geometry {
    rows: OutputDim,
    cols: OutputDim,
    input_len: usize,
    output_len: usize,
}

fn overflow(at: &'static str) -> Error {
    Error::new(ErrorKind::Overflow, at)
}

fn product(at: &'static str, dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(overflow(at))
}

impl Geometry {
    fn new(p: &Params) -> Result<Self> {
        check_nonzero("pool: batch", p.batch)?;
        check_nonzero("pool: channels", p.channels)?;
        check_nonzero("pool: height", p.height)?;
        check_nonzero("pool: width", p.width)?;
        let rows = conv_output(p.height, p.window_h, p.padding_h)?;
        let cols = conv_output(p.width, p.window_w, p.padding_w)?;
        let input_len = product("pool: input", &[p.batch, p.height, p.width, p.channels])?;
        let output_len = product("pool: output", &[p.batch, rows.len, cols.len, p.channels])?;
        Ok(Self {
            rows,
            cols,
            input_len,
            output_len,
        })
    }
}

/// The in-bounds taps of output position `o` along one axis: the input position of the
/// first and the number of them (consecutive taps are `window.dilation` apart).
///
/// Tap `k` sits at padded position `o·stride + k·dilation`, in bounds when that lies in
/// `[pad_before, pad_before + input)`. Validation (through `conv_output`) bounds every
/// padded position, so nothing here overflows.
#[inline]
fn taps(o: usize, dim: &OutputDim, window: &Window, input: usize) -> (usize, usize) {
    let start = o * window.stride;
    let d = window.dilation;
    let first = if start >= dim.pad_before {
        0
    } else {
        (dim.pad_before - start).div_ceil(d)
    };
    let end = if dim.pad_before + input > start {
        (dim.pad_before + input - start)
            .div_ceil(d)
            .min(window.size)
    } else {
        0
    };
    if first >= end {
        (0, 0)
    } else {
        (start + first * d - dim.pad_before, end - first)
    }
}

/// Pooling forward: `output[n][oy][ox][c]` = max or mean of the in-bounds taps of the
/// window at `(oy, ox)` (see the [module docs](self)).
///
/// `input` holds `batch·height·width·channels` values, `output`
/// `batch·out_height·out_width·channels` ([`Params::output_shape`]).
///
/// Errors: zero sizes, strides or dilations; windows that do not fit the padded input;
/// slice lengths that do not match.
pub fn forward(params: &Params, input: &[f32], output: &mut [f32]) -> Result<()> {
    let g = Geometry::new(params)?;
    check_len("pool: input", g.input_len, input.len())?;
    check_len("pool: output", g.output_len, output.len())?;
    let c = params.channels;
    let (h, w) = (params.height, params.width);
    let image_len = h * w * c;
    let out_image_len = g.rows.len * g.cols.len * c;
    let (dh, dw) = (params.window_h.dilation, params.window_w.dilation);

    for (image, out_image) in input
        .chunks_exact(image_len)
        .zip(output.chunks_exact_mut(out_image_len))
    {
        for (oy, out_row) in out_image.chunks_exact_mut(g.cols.len * c).enumerate() {
            let (y0, ny) = taps(oy, &g.rows, &params.window_h, h);
            for (ox, out_px) in out_row.chunks_exact_mut(c).enumerate() {
                let (x0, nx) = taps(ox, &g.cols, &params.window_w, w);
                let count = ny * nx;
                if count == 0 {
                    out_px.fill(0.0);
                    continue;
                }
                let mut first = true;
                for ky in 0..ny {
                    let iy = y0 + ky * dh;
                    for kx in 0..nx {
                        let ix = x0 + kx * dw;
                        let at = (iy * w + ix) * c;
                        let tap = &image[at..at + c];
                        if first {
                            crate::f32::copy::copy_run(out_px, tap);
                            first = false;
                            continue;
                        }
                        match params.kind {
                            Kind::Max => {
                                // A select, not a conditional store, so that it
                                // vectorises; NaN never replaces the running maximum.
                                for (o, &v) in out_px.iter_mut().zip(tap) {
                                    *o = if v > *o { v } else { *o };
                                }
                            }
                            Kind::Average => {
                                for (o, &v) in out_px.iter_mut().zip(tap) {
                                    *o += v;
                                }
                            }
                        }
                    }
                }
                if params.kind == Kind::Average {
                    let scale = 1.0 / count as f32;
                    for o in out_px.iter_mut() {
                        *o *= scale;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Pooling backward: accumulates into `grad_input` (same length as the input) the
/// gradient of the loss given `grad_output` (same length as the output).
///
/// Average: each output gradient is divided by the number of in-bounds taps of its
/// window and added to each of them. Max: each output gradient is added to the first
/// maximum of its window, found again from `input`; `input` must be what `forward` saw.
/// For average pooling `input` is only length-checked.
pub fn backward(
    params: &Params,
    input: &[f32],
    grad_output: &[f32],
    grad_input: &mut [f32],
) -> Result<()> {
    let g = Geometry::new(params)?;
    check_len("pool: input", g.input_len, input.len())?;
    check_len("pool: grad_output", g.output_len, grad_output.len())?;
    check_len("pool: grad_input", g.input_len, grad_input.len())?;
    let c = params.channels;
    let (h, w) = (params.height, params.width);
    let image_len = h * w * c;
    let out_image_len = g.rows.len * g.cols.len * c;
    let (dh, dw) = (params.window_h.dilation, params.window_w.dilation);

    for ((image, grad_image), grad_out_image) in input
        .chunks_exact(image_len)
        .zip(grad_input.chunks_exact_mut(image_len))
        .zip(grad_output.chunks_exact(out_image_len))
    {
        for (oy, grad_row) in grad_out_image.chunks_exact(g.cols.len * c).enumerate() {
            let (y0, ny) = taps(oy, &g.rows, &params.window_h, h);
            for (ox, grad_px) in grad_row.chunks_exact(c).enumerate() {
                let (x0, nx) = taps(ox, &g.cols, &params.window_w, w);
                let count = ny * nx;
                if count == 0 {
                    continue;
                }
                match params.kind {
                    Kind::Average => {
                        let scale = 1.0 / count as f32;
                        for ky in 0..ny {
                            let iy = y0 + ky * dh;
                            for kx in 0..nx {
                                let at = (iy * w + x0 + kx * dw) * c;
                                for (gi, &go) in grad_image[at..at + c].iter_mut().zip(grad_px) {
                                    *gi += go * scale;
                                }
                            }
                        }
                    }
                    Kind::Max => {
                        // Channels in blocks, taps outside, so that the search runs
                        // over contiguous channels; taps in the same order as forward,
                        // so the first maximum wins.
                        const BLOCK: usize = 16;
                        for (b, grad_blk) in grad_px.chunks(BLOCK).enumerate() {
                            let c0 = b * BLOCK;
                            let n = grad_blk.len();
                            let first = (y0 * w + x0) * c + c0;
                            let mut best = [0.0f32; BLOCK];
                            let mut best_at = [0usize; BLOCK];
                            best[..n].copy_from_slice(&image[first..first + n]);
                            for (j, at) in best_at[..n].iter_mut().enumerate() {
                                *at = first + j;
                            }
                            for ky in 0..ny {
                                let iy = y0 + ky * dh;
                                for kx in 0..nx {
                                    let at = (iy * w + x0 + kx * dw) * c + c0;
                                    let tap = &image[at..at + n];
                                    let slots = best[..n].iter_mut().zip(best_at[..n].iter_mut());
                                    for ((b, b_at), (j, &v)) in slots.zip(tap.iter().enumerate()) {
                                        let better = v > *b;
                                        *b = if better { v } else { *b };
                                        *b_at = if better { at + j } else { *b_at };
                                    }
                                }
                            }
                            for (&at, &go) in best_at[..n].iter().zip(grad_blk) {
                                grad_image[at] += go;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Parameters of global pooling: one value per image and channel, over all of
/// `height × width` (Keras `GlobalAveragePooling2D` / `GlobalMaxPooling2D`; for 1D use
/// height 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Global {
    /// Max or average.
    pub kind: Kind,
    /// Images in the batch (N).
    pub batch: usize,
    /// Input height (H).
    pub height: usize,
    /// Input width (W).
    pub width: usize,
    /// Channels (C).
    pub channels: usize,
}

impl Global {
    /// Pooling over the time steps of `batch` sequences `[batch][steps][features]`
    /// (Keras `GlobalAveragePooling1D` / `GlobalMaxPooling1D` after a recurrent or
    /// attention layer): a global pool of height 1, width `steps`, `features` channels.
    pub const fn sequence(kind: Kind, batch: usize, steps: usize, features: usize) -> Self {
        Self {
            kind,
            batch,
            height: 1,
            width: steps,
            channels: features,
        }
    }

    /// `(input length, output length)` = `(N·H·W·C, N·C)`, validated.
    fn lengths(&self) -> Result<(usize, usize)> {
        check_nonzero("global pool: batch", self.batch)?;
        check_nonzero("global pool: height", self.height)?;
        check_nonzero("global pool: width", self.width)?;
        check_nonzero("global pool: channels", self.channels)?;
        let input = product(
            "global pool: input",
            &[self.batch, self.height, self.width, self.channels],
        )?;
        Ok((input, self.batch * self.channels))
    }
}

/// Global pooling forward: `output[n][c]` = max or mean over `input[n][·][·][c]`.
///
/// `input` is `[batch][height][width][channels]`, `output` `[batch][channels]`.
pub fn global_forward(params: &Global, input: &[f32], output: &mut [f32]) -> Result<()> {
    let (in_len, out_len) = params.lengths()?;
    check_len("global pool: input", in_len, input.len())?;
    check_len("global pool: output", out_len, output.len())?;
    let c = params.channels;
    let image_len = in_len / params.batch;
    for (image, out) in input
        .chunks_exact(image_len)
        .zip(output.chunks_exact_mut(c))
    {
        let mut pixels = image.chunks_exact(c);
        if let Some(first) = pixels.next() {
            out.copy_from_slice(first);
        }
        for px in pixels {
            match params.kind {
                Kind::Max => {
                    for (o, &v) in out.iter_mut().zip(px) {
                        if v > *o {
                            *o = v;
                        }
                    }
                }
                Kind::Average => {
                    for (o, &v) in out.iter_mut().zip(px) {
                        *o += v;
                    }
                }
            }
        }
        if params.kind == Kind::Average {
            let scale = 1.0 / (params.height * params.width) as f32;
            for o in out.iter_mut() {
                *o *= scale;
            }
        }
    }
    Ok(())
}

/// Global pooling backward: accumulates into `grad_input` (`[batch][height][width]
/// [channels]`) the gradient given `grad_output` (`[batch][channels]`): spread evenly
/// for average, to the first maximum (in row-major pixel order) for max.
pub fn global_backward(
    params: &Global,
    input: &[f32],
    grad_output: &[f32],
    grad_input: &mut [f32],
) -> Result<()> {
    let (in_len, out_len) = params.lengths()?;
    check_len("global pool: input", in_len, input.len())?;
    check_len("global pool: grad_output", out_len, grad_output.len())?;
    check_len("global pool: grad_input", in_len, grad_input.len())?;
    let c = params.channels;
    let image_len = in_len / params.batch;
    for ((image, grad_image), grad_out) in input
        .chunks_exact(image_len)
        .zip(grad_input.chunks_exact_mut(image_len))
        .zip(grad_output.chunks_exact(c))
    {
        match params.kind {
            Kind::Average => {
                let scale = 1.0 / (params.height * params.width) as f32;
                for grad_px in grad_image.chunks_exact_mut(c) {
                    for (gi, &go) in grad_px.iter_mut().zip(grad_out) {
                        *gi += go * scale;
                    }
                }
            }
            Kind::Max => {
                for (ch, &go) in grad_out.iter().enumerate() {
                    let mut best_at = ch;
                    let mut best = image[ch];
                    for (at, &v) in image.iter().enumerate().skip(ch).step_by(c) {
                        if v > best {
                            best = v;
                            best_at = at;
                        }
                    }
                    grad_image[best_at] += go;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p2(kind: Kind, h: usize, w: usize, c: usize, k: usize, s: usize, pad: Padding) -> Params {
        Params {
            kind,
            batch: 1,
            height: h,
            width: w,
            channels: c,
            window_h: Window::new(k, s),
            window_w: Window::new(k, s),
            padding_h: pad,
            padding_w: pad,
        }
    }

    #[test]
    fn max_2x2_stride_2() {
        let p = p2(Kind::Max, 2, 4, 1, 2, 2, Padding::Valid);
        let x = [1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 7.0, 6.0];
        let mut y = [0.0; 2];
        forward(&p, &x, &mut y).unwrap();
        assert_eq!(y, [5.0, 7.0]);
        let mut gx = [0.0; 8];
        backward(&p, &x, &[1.0, 2.0], &mut gx).unwrap();
        assert_eq!(gx, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
    }

    #[test]
    fn average_same_counts_only_in_bounds_taps() {
        // 3×3 SAME over a 2×2 image of ones plus a 10: every window sees all 4 pixels.
        let p = p2(Kind::Average, 2, 2, 1, 3, 1, Padding::Same);
        let x = [1.0, 1.0, 1.0, 10.0];
        let mut y = [0.0; 4];
        forward(&p, &x, &mut y).unwrap();
        assert_eq!(y, [3.25; 4]);
        let mut gx = [0.0; 4];
        backward(&p, &x, &[1.0; 4], &mut gx).unwrap();
        assert_eq!(gx, [1.0; 4]);
    }

    #[test]
    fn ties_go_to_the_first_maximum() {
        let p = p2(Kind::Max, 1, 3, 1, 3, 1, Padding::Valid);
        let p = Params {
            window_h: Window::new(1, 1),
            ..p
        };
        let mut gx = [0.0; 3];
        backward(&p, &[2.0, 2.0, 2.0], &[1.0], &mut gx).unwrap();
        assert_eq!(gx, [1.0, 0.0, 0.0]);
        let g = Global {
            kind: Kind::Max,
            batch: 1,
            height: 1,
            width: 3,
            channels: 1,
        };
        let mut gx = [0.0; 3];
        global_backward(&g, &[1.0, 3.0, 3.0], &[1.0], &mut gx).unwrap();
        assert_eq!(gx, [0.0, 1.0, 0.0]);
    }

    #[test]
    fn empty_window_gives_zero() {
        let p = Params::one_d(
            Kind::Max,
            1,
            1,
            1,
            Window::new(1, 1),
            Padding::Explicit {
                before: 1,
                after: 0,
            },
        );
        let mut y = [9.0; 2];
        forward(&p, &[4.0], &mut y).unwrap();
        assert_eq!(y, [0.0, 4.0]);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let p = p2(Kind::Max, 2, 2, 1, 3, 1, Padding::Valid);
        assert!(forward(&p, &[0.0; 4], &mut [0.0; 1]).is_err());
        let p = p2(Kind::Max, 2, 2, 1, 2, 0, Padding::Valid);
        assert!(forward(&p, &[0.0; 4], &mut [0.0; 1]).is_err());
        let p = p2(Kind::Max, 2, 2, 1, 2, 1, Padding::Valid);
        assert!(forward(&p, &[0.0; 3], &mut [0.0; 1]).is_err());
        assert!(forward(&p, &[0.0; 4], &mut [0.0; 2]).is_err());
        assert!(backward(&p, &[0.0; 4], &[0.0; 1], &mut [0.0; 3]).is_err());
    }
}
