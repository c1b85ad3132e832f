//! Transposed 2-D convolution (sometimes called deconvolution), NHWC, forward and
//! backward, with stride, dilation, padding and output padding.
//!
//! Input pixel `i` scatters into output `o = i·stride − pad_before + k·dilation` along
//! each axis through tap `k`:
//! `y[n][oh][ow][o] = bias[o] + Σ x[n][ih][iw][c] · w[o][kh][kw][c]` over all
//! `(ih, kh)`, `(iw, kw)` that land on `(oh, ow)`. Output sizes and the crop
//! `pad_before` follow [`conv_transpose_output`](mote_core::padding::conv_transpose_output):
//! `VALID` gives `(in − 1)·stride + extent + output_padding`, `SAME` gives
//! `in·stride` (TFLite/Keras), explicit padding crops like PyTorch's `ConvTranspose`.
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | `[batch][in_h][in_w][in_c]` | [`Params::input_len`] |
//! | weights | OHWI `[out_c][kernel_h][kernel_w][in_c]` (TFLite's `TRANSPOSE_CONV`) | [`Params::weights_len`] |
//! | bias | `[out_c]` | `out_c` |
//! | output | `[batch][out_h][out_w][out_c]` | [`Params::output_len`] |
//!
//! A transposed convolution is the input gradient of the convolution `C` that maps its
//! output back onto its input (same window, padding = the crop). So this module is
//! [`conv`](super::conv)'s engine run on `C`, with these weights seen in `C`'s terms:
//! forward = `C`'s input gradient, input gradient = `C`'s forward pass, weight gradient
//! = `C`'s weight gradient with the roles of input and output gradient exchanged. The
//! two paths (im2col + GEMM with [`scratch_len`] scratch, and direct without) are
//! those of `conv`, with the same agreement (to f32 rounding).

use super::conv::geometry::{Axis, Geometry, WeightLayout};
use mote_core::Result;
use mote_core::error::{check_capacity, check_len};
use mote_core::padding::{Padding, Window};

use super::conv::engine;

/// Parameters of a transposed 2-D convolution. Build with [`Params::new`] and the
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
    pub in_c: usize,
    /// Output channels.
    pub out_c: usize,
    /// Window along the height: kernel height, stride, dilation.
    pub window_h: Window,
    /// Window along the width: kernel width, stride, dilation.
    pub window_w: Window,
    /// Padding (output crop) along the height.
    pub padding_h: Padding,
    /// Padding (output crop) along the width.
    pub padding_w: Padding,
    /// Extra output rows at the bottom (below `max(stride_h, dilation_h)`; 0 with `SAME`).
    pub output_padding_h: usize,
    /// Extra output columns at the right (below `max(stride_w, dilation_w)`; 0 with `SAME`).
    pub output_padding_w: usize,
}

impl Params {
    /// A `kernel_h × kernel_w` transposed convolution with stride 1, dilation 1,
    /// `VALID` padding and no output padding.
    pub const fn new(
        batch: usize,
        in_h: usize,
        in_w: usize,
        in_c: usize,
        out_c: usize,
        kernel_h: usize,
        kernel_w: usize,
    ) -> Self {
        Self {
            batch,
            in_h,
            in_w,
            in_c,
            out_c,
            window_h: Window::new(kernel_h, 1),
            window_w: Window::new(kernel_w, 1),
            padding_h: Padding::Valid,
            padding_w: Padding::Valid,
            output_padding_h: 0,
            output_padding_w: 0,
        }
    }

    /// The same with strides `(h, w)` (the upsampling factors).
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

    /// The same with output padding `(h, w)`.
    pub const fn with_output_padding(mut self, h: usize, w: usize) -> Self {
        self.output_padding_h = h;
        self.output_padding_w = w;
        self
    }

    /// The convolution `C` whose input gradient this is: `C`'s input is this output
    /// (`out_c` channels), `C`'s output is this input (`in_c` channels), and weight
    /// `w[o][kh][kw][c]` is `C`'s weight for output channel `c`, input channel `o`.
    ///
    /// Errors: `Zero` for a zero size, stride or dilation; `OutOfRange` for an output
    /// padding not below `max(stride, dilation)` (or non-zero with `SAME`);
    /// `WindowTooLarge` when the crop removes every output; `Overflow` when a length
    /// overflows.
    fn geometry(&self) -> Result<Geometry> {
        let h = Axis::transposed(
            self.in_h,
            self.window_h,
            self.padding_h,
            self.output_padding_h,
        )?;
        let w = Axis::transposed(
            self.in_w,
            self.window_w,
            self.padding_w,
            self.output_padding_w,
        )?;
        Geometry::new(
            self.batch,
            h,
            w,
            self.out_c,
            self.in_c,
            1,
            Some(WeightLayout {
                o_stride: 1,
                k_stride: self.in_c,
                channel_major: true,
            }),
            [
                "conv_transpose: batch",
                "conv_transpose: out_c",
                "conv_transpose: in_c",
                "conv_transpose: groups",
                "conv_transpose: size",
            ],
        )
    }

    /// `[batch, out_h, out_w, out_c]`, or the error that makes the parameters invalid.
    pub fn output_shape(&self) -> Result<[usize; 4]> {
        let g = self.geometry()?;
        Ok([self.batch, g.h.input, g.w.input, self.out_c])
    }

    /// Elements of the input, `batch·in_h·in_w·in_c`.
    pub fn input_len(&self) -> Result<usize> {
        Ok(self.geometry()?.output_len)
    }

    /// Elements of the weights, `out_c·kernel_h·kernel_w·in_c`.
    pub fn weights_len(&self) -> Result<usize> {
        Ok(self.geometry()?.weights_len)
    }

    /// Elements of the output, `batch·out_h·out_w·out_c`.
    pub fn output_len(&self) -> Result<usize> {
        Ok(self.geometry()?.input_len)
    }
}

/// Floats of scratch [`forward`] and [`backward`] need (the direct paths need none):
/// `in_h·in_w·kernel_h·kernel_w·out_c`, or 0 for a 1×1 window with stride 1 and no
/// crop or output padding. Invalid parameters give 0 (the kernels report the error).
pub fn scratch_len(params: &Params) -> usize {
    params.geometry().map_or(0, |g| g.scratch_len())
}

fn check_forward(
    g: &Geometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &[f32],
) -> Result<()> {
    check_len("conv_transpose: input", g.output_len, input.len())?;
    check_len("conv_transpose: weights", g.weights_len, weights.len())?;
    if let Some(b) = bias {
        check_len("conv_transpose: bias", g.in_c, b.len())?;
    }
    check_len("conv_transpose: output", g.input_len, output.len())
}

/// Forward pass, im2col + GEMM: `output ← conv_transpose(input, weights) + bias`.
///
/// `output` is overwritten (not read). `scratch` needs at least
/// [`scratch_len`]`(params)` floats.
///
/// Errors: invalid parameters (see [`Params::output_shape`]), `LengthMismatch` for a
/// buffer of the wrong length, `BufferTooSmall` for short scratch.
pub fn forward(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    let g = params.geometry()?;
    check_forward(&g, input, weights, bias, output)?;
    check_capacity("conv_transpose: scratch", g.scratch_len(), scratch.len())?;
    engine::init_output(output, bias, g.in_c);
    engine::grad_input(&g, input, weights, output, Some(scratch))
}

/// Forward pass without scratch (direct): [`forward`] up to f32 rounding.
pub fn forward_direct(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> Result<()> {
    let g = params.geometry()?;
    check_forward(&g, input, weights, bias, output)?;
    engine::init_output(output, bias, g.in_c);
    engine::grad_input(&g, input, weights, output, None)
}

/// Backward pass, im2col + GEMM: accumulates `∂L/∂input`, `∂L/∂weights` and `∂L/∂bias`
/// (each when `Some`) from `grad_output = ∂L/∂output`. `scratch` as for [`forward`].
#[allow(clippy::too_many_arguments)]
pub fn backward(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weights: Option<&mut [f32]>,
    grad_bias: Option<&mut [f32]>,
    scratch: &mut [f32],
) -> Result<()> {
    let g = params.geometry()?;
    check_capacity("conv_transpose: scratch", g.scratch_len(), scratch.len())?;
    run_backward(
        &g,
        input,
        weights,
        grad_output,
        [grad_input, grad_weights, grad_bias],
        Some(scratch),
    )
}

/// Backward pass without scratch (direct): [`backward`] up to f32 rounding.
pub fn backward_direct(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weights: Option<&mut [f32]>,
    grad_bias: Option<&mut [f32]>,
) -> Result<()> {
    let g = params.geometry()?;
    run_backward(
        &g,
        input,
        weights,
        grad_output,
        [grad_input, grad_weights, grad_bias],
        None,
    )
}

fn run_backward(
    g: &Geometry,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    [grad_input, grad_weights, grad_bias]: [Option<&mut [f32]>; 3],
    mut scratch: Option<&mut [f32]>,
) -> Result<()> {
    check_len("conv_transpose: input", g.output_len, input.len())?;
    check_len("conv_transpose: weights", g.weights_len, weights.len())?;
    check_len(
        "conv_transpose: grad_output",
        g.input_len,
        grad_output.len(),
    )?;
    if let Some(d) = &grad_input {
        check_len("conv_transpose: grad_input", g.output_len, d.len())?;
    }
    if let Some(d) = &grad_weights {
        check_len("conv_transpose: grad_weights", g.weights_len, d.len())?;
    }
    if let Some(d) = &grad_bias {
        check_len("conv_transpose: grad_bias", g.in_c, d.len())?;
    }
    // In C's terms: C's input is grad_output, C's output gradient is `input`.
    if let Some(dw) = grad_weights {
        engine::grad_weights(g, grad_output, input, dw, scratch.as_deref_mut(), false)?;
    }
    if let Some(dx) = grad_input {
        engine::forward(g, grad_output, weights, dx, scratch)?;
    }
    if let Some(db) = grad_bias {
        engine::grad_bias(grad_output, db);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One input pixel, stride 2: the output is the kernel scaled by the pixel.
    #[test]
    fn single_pixel_stamps_the_kernel() {
        let p = Params::new(1, 1, 1, 1, 1, 2, 2).with_stride(2, 2);
        assert_eq!(p.output_shape(), Ok([1, 2, 2, 1]));
        let w = [1.0, 2.0, 3.0, 4.0];
        let mut y = [f32::NAN; 4];
        forward(&p, &[2.0], &w, None, &mut y, &mut [0.0; 4]).unwrap();
        assert_eq!(y, [2.0, 4.0, 6.0, 8.0]);
        let mut y = [f32::NAN; 4];
        forward_direct(&p, &[2.0], &w, Some(&[1.0]), &mut y).unwrap();
        assert_eq!(y, [3.0, 5.0, 7.0, 9.0]);
    }

    /// Two channels in, one out, 1-D stride 2 over 2 pixels with kernel 3: outputs
    /// overlap at position 2. Weights `[out][k][in]`.
    #[test]
    fn overlapping_taps_add_and_backward_transposes() {
        let p = Params::new(1, 1, 2, 2, 1, 1, 3).with_stride(1, 2);
        assert_eq!(p.output_shape(), Ok([1, 1, 5, 1]));
        let x = [1.0, 10.0, 2.0, 20.0]; // pixel 0: (1, 10), pixel 1: (2, 20)
        let w = [1.0, 0.5, 2.0, 0.25, 3.0, 0.125];
        let mut y = [0.0; 5];
        let mut scratch = [0.0; 12];
        forward(&p, &x, &w, None, &mut y, &mut scratch).unwrap();
        // tap k of pixel i lands on 2i + k: value Σ_c x[i][c]·w[k][c].
        let t = |i: usize, k: usize| x[2 * i] * w[2 * k] + x[2 * i + 1] * w[2 * k + 1];
        assert_eq!(y, [t(0, 0), t(0, 1), t(0, 2) + t(1, 0), t(1, 1), t(1, 2)]);
        let dy = [1.0, 0.0, 1.0, 0.0, 0.0];
        let mut dx = [0.0; 4];
        backward(&p, &x, &w, &dy, Some(&mut dx), None, None, &mut scratch).unwrap();
        // dx[i][c] = Σ_k dy[2i + k]·w[k][c].
        assert_eq!(dx, [1.0 + 3.0, 0.5 + 0.125, 1.0, 0.5]);
    }
}
