//! Depthwise 2-D convolution (NHWC) with a channel multiplier, forward and backward,
//! with stride, dilation and padding (`VALID`, `SAME`, explicit).
//!
//! Output channel `o = c·multiplier + m` filters input channel `c` alone:
//! `y[n][oh][ow][o] = bias[o] + Σ_{kh,kw} x[n][ih][iw][c] · w[kh][kw][o]` with
//! `ih = oh·stride_h − pad_top + kh·dilation_h`, `iw = ow·stride_w − pad_left +
//! kw·dilation_w`, taps outside the input reading zero.
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | `[batch][in_h][in_w][channels]` | [`Params::input_len`] |
//! | weights | `[1][kernel_h][kernel_w][channels·multiplier]` (TFLite's) | [`Params::weights_len`] |
//! | bias | `[channels·multiplier]` | `channels·multiplier` |
//! | output | `[batch][out_h][out_w][channels·multiplier]` | [`Params::output_len`] |
//!
//! Direct loops, no scratch: per output row, tap and output pixel, one multiply–add
//! over all channels at once (contiguous in NHWC, so the loop vectorises). Each output
//! sums its taps in order `(kh, kw)` after the bias. The backward pass uses the same
//! loops with the roles exchanged and accumulates (`+=`).

use super::conv::geometry::{Axis, product};
use mote_core::Result;
use mote_core::error::{check_len, check_nonzero};
use mote_core::padding::{Padding, Window};

/// Parameters of a depthwise 2-D convolution. Build with [`Params::new`] and the
/// `with_*` methods, or fill the fields directly.
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
    pub channels: usize,
    /// Output channels per input channel.
    pub multiplier: usize,
    /// Window along the height: kernel height, stride, dilation.
    pub window_h: Window,
    /// Window along the width: kernel width, stride, dilation.
    pub window_w: Window,
    /// Padding along the height.
    pub padding_h: Padding,
    /// Padding along the width.
    pub padding_w: Padding,
}

impl Params {
    /// A `kernel_h × kernel_w` depthwise convolution with stride 1, dilation 1 and
    /// `VALID` padding.
    pub const fn new(
        batch: usize,
        in_h: usize,
        in_w: usize,
        channels: usize,
        multiplier: usize,
        kernel_h: usize,
        kernel_w: usize,
    ) -> Self {
        Self {
            batch,
            in_h,
            in_w,
            channels,
            multiplier,
            window_h: Window::new(kernel_h, 1),
            window_w: Window::new(kernel_w, 1),
            padding_h: Padding::Valid,
            padding_w: Padding::Valid,
        }
    }

    /// The same with strides `(h, w)`.
    pub const fn with_stride(mut self, h: usize, w: usize) -> Self {
        self.window_h.stride = h;
        self.window_w.stride = w;
        self
    }

    /// The same with dilations `(h, w)`.
    pub const fn with_dilation(mut self, h: usize, w: usize) -> Self {
        self.window_h.dilation = h;
        self.window_w.dilation = w;
        self
    }

    /// The same with `padding` along both axes.
    pub const fn with_padding(mut self, padding: Padding) -> Self {
        self.padding_h = padding;
        self.padding_w = padding;
        self
    }

    /// Validates the parameters.
    ///
    /// Errors: `Zero` for a zero size, stride or dilation; `WindowTooLarge` when the
    /// window does not fit the padded input; `Overflow` when a length overflows.
    fn geometry(&self) -> Result<Geometry> {
        check_nonzero("depthwise: batch", self.batch)?;
        check_nonzero("depthwise: channels", self.channels)?;
        check_nonzero("depthwise: multiplier", self.multiplier)?;
        let h = Axis::conv(self.in_h, self.window_h, self.padding_h)?;
        let w = Axis::conv(self.in_w, self.window_w, self.padding_w)?;
        const AT: &str = "depthwise: size";
        let out_c = product(AT, &[self.channels, self.multiplier])?;
        Ok(Geometry {
            h,
            w,
            in_c: self.channels,
            mult: self.multiplier,
            out_c,
            input_len: product(AT, &[self.batch, h.input, w.input, self.channels])?,
            output_len: product(AT, &[self.batch, h.output, w.output, out_c])?,
            weights_len: product(AT, &[h.kernel, w.kernel, out_c])?,
        })
    }

    /// `[batch, out_h, out_w, channels·multiplier]`, or the error that makes the
    /// parameters invalid.
    pub fn output_shape(&self) -> Result<[usize; 4]> {
        let g = self.geometry()?;
        Ok([self.batch, g.h.output, g.w.output, g.out_c])
    }

    /// Elements of the input, `batch·in_h·in_w·channels`.
    pub fn input_len(&self) -> Result<usize> {
        Ok(self.geometry()?.input_len)
    }

    /// Elements of the weights, `kernel_h·kernel_w·channels·multiplier`.
    pub fn weights_len(&self) -> Result<usize> {
        Ok(self.geometry()?.weights_len)
    }

    /// Elements of the output, `batch·out_h·out_w·channels·multiplier`.
    pub fn output_len(&self) -> Result<usize> {
        Ok(self.geometry()?.output_len)
    }
}

/// Validated sizes.
struct Geometry {
    h: Axis,
    w: Axis,
    in_c: usize,
    mult: usize,
    out_c: usize,
    input_len: usize,
    output_len: usize,
    weights_len: usize,
}

impl Geometry {
    /// Calls `f(tap, input row, output row, lo, rows, iw)` for every output row and tap
    /// whose input row is inside, with the run of outputs `lo..lo + rows` of that row
    /// whose input columns `iw, iw + stride, …` are inside too; the rows are given as
    /// offsets of image `n`'s pixel rows in input and output.
    fn for_each_run(&self, n: usize, mut f: impl FnMut(usize, usize, usize, usize, usize, usize)) {
        let in_row = self.w.input * self.in_c;
        let out_row = self.w.output * self.out_c;
        for oh in 0..self.h.output {
            let y_at = (n * self.h.output + oh) * out_row;
            for kh in 0..self.h.kernel {
                let Some(ih) = self.h.source(oh, kh) else {
                    continue;
                };
                let x_at = (n * self.h.input + ih) * in_row;
                for kw in 0..self.w.kernel {
                    let (lo, hi) = self.w.range(kw);
                    if let Some(iw) = self.w.source(lo, kw).filter(|_| lo < hi) {
                        f(kh * self.w.kernel + kw, x_at, y_at, lo, hi - lo, iw);
                    }
                }
            }
        }
    }
}

/// `count` pixels of `size` floats from `s[at..]`: pixel `first`, then every `step`-th.
/// (The ranges come from validated geometry; an out-of-range start yields nothing.)
fn pixels(
    s: &[f32],
    at: usize,
    size: usize,
    first: usize,
    step: usize,
    count: usize,
) -> impl Iterator<Item = &[f32]> {
    let s = s.get(at..).unwrap_or_default();
    s.chunks_exact(size).skip(first).step_by(step).take(count)
}

/// [`pixels`], mutable.
fn pixels_mut(
    s: &mut [f32],
    at: usize,
    size: usize,
    first: usize,
    step: usize,
    count: usize,
) -> impl Iterator<Item = &mut [f32]> {
    let s = s.get_mut(at..).unwrap_or_default();
    s.chunks_exact_mut(size)
        .skip(first)
        .step_by(step)
        .take(count)
}

/// Forward pass: `output ← depthwise(input, weights) + bias`. `output` is overwritten
/// (not read). No scratch.
///
/// Errors: invalid parameters (see [`Params::output_shape`]), `LengthMismatch` for a
/// buffer of the wrong length.
pub fn forward(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> Result<()> {
    let g = params.geometry()?;
    check_len("depthwise: input", g.input_len, input.len())?;
    check_len("depthwise: weights", g.weights_len, weights.len())?;
    if let Some(b) = bias {
        check_len("depthwise: bias", g.out_c, b.len())?;
    }
    check_len("depthwise: output", g.output_len, output.len())?;
    match bias {
        Some(b) => output
            .chunks_exact_mut(g.out_c)
            .for_each(|px| px.iter_mut().zip(b).for_each(|(y, &b)| *y = b)),
        None => output.fill(0.0),
    }
    if g.mult == 1 {
        forward_in_registers(&g, input, weights, output);
        return Ok(());
    }
    for n in 0..params.batch {
        g.for_each_run(n, |tap, x_at, y_at, lo, rows, iw| {
            let w = weights.chunks_exact(g.out_c).nth(tap).unwrap_or(&[]);
            for (x, y) in pixels(input, x_at, g.in_c, iw, g.w.stride, rows)
                .zip(pixels_mut(output, y_at, g.out_c, lo, 1, rows))
            {
                for ((y, &x), w) in y
                    .chunks_exact_mut(g.mult)
                    .zip(x)
                    .zip(w.chunks_exact(g.mult))
                {
                    y.iter_mut().zip(w).for_each(|(y, &w)| *y += x * w);
                }
            }
        });
    }
    Ok(())
}

/// Channels per register block of [`forward_in_registers`].
const BLOCK: usize = 8;

/// The forward pass for multiplier 1, `output` holding the bias: per output pixel and
/// block of [`BLOCK`] channels, the taps are summed in registers (in the same order,
/// `(kh, kw)`, as the general path) and the output is written once.
fn forward_in_registers(g: &Geometry, input: &[f32], weights: &[f32], output: &mut [f32]) {
    let c = g.in_c;
    let image = g.h.input * g.w.input * c;
    let mut pixels = output.chunks_exact_mut(c);
    for x in input.chunks_exact(image) {
        for oh in 0..g.h.output {
            for ow in 0..g.w.output {
                let Some(y) = pixels.next() else {
                    return;
                };
                // Sums `f(input offset, weight offset)` over the taps inside the input,
                // in order (kh, kw).
                let for_taps = |f: &mut dyn FnMut(usize, usize)| {
                    for kh in 0..g.h.kernel {
                        let Some(ih) = g.h.source(oh, kh) else {
                            continue;
                        };
                        for kw in 0..g.w.kernel {
                            if let Some(iw) = g.w.source(ow, kw) {
                                f((ih * g.w.input + iw) * c, (kh * g.w.kernel + kw) * c);
                            }
                        }
                    }
                };
                let mut blocks = y.chunks_exact_mut(BLOCK);
                for (b, yb) in (&mut blocks).enumerate() {
                    let Ok(yb) = <&mut [f32; BLOCK]>::try_from(yb) else {
                        continue;
                    };
                    let mut acc = *yb;
                    let at = b * BLOCK;
                    for_taps(&mut |xo, wo| {
                        let (Some(xs), Some(ws)) = (
                            x.get(xo + at..xo + at + BLOCK),
                            weights.get(wo + at..wo + at + BLOCK),
                        ) else {
                            return;
                        };
                        let (Ok(xs), Ok(ws)) =
                            (<&[f32; BLOCK]>::try_from(xs), <&[f32; BLOCK]>::try_from(ws))
                        else {
                            return;
                        };
                        for ((a, &x), &w) in acc.iter_mut().zip(xs).zip(ws) {
                            *a += x * w;
                        }
                    });
                    *yb = acc;
                }
                let rest = blocks.into_remainder();
                let at = c - rest.len();
                if !rest.is_empty() {
                    for_taps(&mut |xo, wo| {
                        if let (Some(xs), Some(ws)) =
                            (x.get(xo + at..xo + c), weights.get(wo + at..wo + c))
                        {
                            for ((y, &x), &w) in rest.iter_mut().zip(xs).zip(ws) {
                                *y += x * w;
                            }
                        }
                    });
                }
            }
        }
    }
}

/// Backward pass: accumulates `∂L/∂input`, `∂L/∂weights` and `∂L/∂bias` (each when
/// `Some`) from `grad_output = ∂L/∂output`. No scratch.
///
/// `input` is read for the weight gradient, `weights` for the input gradient; both are
/// always checked, and every buffer is checked before anything is written.
///
/// Errors: as for [`forward`].
pub fn backward(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weights: Option<&mut [f32]>,
    grad_bias: Option<&mut [f32]>,
) -> Result<()> {
    let g = params.geometry()?;
    check_len("depthwise: input", g.input_len, input.len())?;
    check_len("depthwise: weights", g.weights_len, weights.len())?;
    check_len("depthwise: grad_output", g.output_len, grad_output.len())?;
    if let Some(d) = &grad_input {
        check_len("depthwise: grad_input", g.input_len, d.len())?;
    }
    if let Some(d) = &grad_weights {
        check_len("depthwise: grad_weights", g.weights_len, d.len())?;
    }
    if let Some(d) = &grad_bias {
        check_len("depthwise: grad_bias", g.out_c, d.len())?;
    }
    let dy = grad_output;
    if let Some(dx) = grad_input {
        for n in 0..params.batch {
            g.for_each_run(n, |tap, x_at, y_at, lo, rows, iw| {
                let w = weights.chunks_exact(g.out_c).nth(tap).unwrap_or(&[]);
                for (dx, dy) in pixels_mut(dx, x_at, g.in_c, iw, g.w.stride, rows)
                    .zip(pixels(dy, y_at, g.out_c, lo, 1, rows))
                {
                    if g.mult == 1 {
                        for ((dx, &dy), &w) in dx.iter_mut().zip(dy).zip(w) {
                            *dx += dy * w;
                        }
                    } else {
                        for ((dx, dy), w) in dx
                            .iter_mut()
                            .zip(dy.chunks_exact(g.mult))
                            .zip(w.chunks_exact(g.mult))
                        {
                            *dx += dy
                                .iter()
                                .zip(w)
                                .map(|(&dy, &w)| dy * w)
                                .fold(0.0, |s, p| s + p);
                        }
                    }
                }
            });
        }
    }
    if let Some(dw) = grad_weights {
        for n in 0..params.batch {
            g.for_each_run(n, |tap, x_at, y_at, lo, rows, iw| {
                let Some(dw) = dw.chunks_exact_mut(g.out_c).nth(tap) else {
                    return;
                };
                for (x, dy) in pixels(input, x_at, g.in_c, iw, g.w.stride, rows)
                    .zip(pixels(dy, y_at, g.out_c, lo, 1, rows))
                {
                    if g.mult == 1 {
                        for ((dw, &x), &dy) in dw.iter_mut().zip(x).zip(dy) {
                            *dw += x * dy;
                        }
                    } else {
                        for ((dw, &x), dy) in dw
                            .chunks_exact_mut(g.mult)
                            .zip(x)
                            .zip(dy.chunks_exact(g.mult))
                        {
                            dw.iter_mut().zip(dy).for_each(|(dw, &dy)| *dw += x * dy);
                        }
                    }
                }
            });
        }
    }
    if let Some(db) = grad_bias {
        for px in dy.chunks_exact(g.out_c) {
            db.iter_mut().zip(px).for_each(|(b, &d)| *b += d);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_channel_sees_only_itself() {
        // 1×3 image, 2 channels, multiplier 2, kernel 1×2, VALID: 2 output pixels.
        let p = Params::new(1, 1, 3, 2, 2, 1, 2);
        assert_eq!(p.output_shape(), Ok([1, 1, 2, 4]));
        let x = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
        // w[kw][c·2 + m]
        let w = [1.0, 2.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let mut y = [f32::NAN; 8];
        forward(&p, &x, &w, None, &mut y).unwrap();
        assert_eq!(y, [3.0, 2.0, 10.0, 20.0, 5.0, 4.0, 20.0, 30.0]);
        let dy = [1.0; 8];
        let (mut dx, mut dw, mut db) = ([0.0; 6], [0.0; 8], [0.0; 4]);
        backward(&p, &x, &w, &dy, Some(&mut dx), Some(&mut dw), Some(&mut db)).unwrap();
        // dx[pixel][c] = Σ over outputs it feeds of Σ_m w[tap][c·2 + m].
        assert_eq!(dx, [3.0, 1.0, 4.0, 2.0, 1.0, 1.0]);
        assert_eq!(dw, [3.0, 3.0, 30.0, 30.0, 5.0, 5.0, 50.0, 50.0]);
        assert_eq!(db, [2.0; 4]);
    }
}
