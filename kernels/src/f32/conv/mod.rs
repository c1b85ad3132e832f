//! 2-D and 1-D convolution (NHWC, OHWI weights), forward and backward, with stride,
//! dilation, padding (`VALID`, `SAME`, explicit; see [`mote_core::padding`]), groups and
//! an optional bias.
//!
//! `y[n][oh][ow][o] = bias[o] + Σ_{kh,kw,c} x[n][ih][iw][g·cg + c] · w[o][kh][kw][c]`
//! where `g = o / og` is the group of output channel `o`, `cg = in_c / groups`,
//! `og = out_c / groups`, `ih = oh·stride_h − pad_top + kh·dilation_h`,
//! `iw = ow·stride_w − pad_left + kw·dilation_w`, and taps outside the input read zero.
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | `[batch][in_h][in_w][in_c]` | [`Params::input_len`] |
//! | weights | OHWI `[out_c][kernel_h][kernel_w][in_c/groups]` | [`Params::weights_len`] |
//! | bias | `[out_c]` | `out_c` |
//! | output | `[batch][out_h][out_w][out_c]` | [`Params::output_len`] |
//!
//! Two paths compute the same function:
//! - [`forward`] / [`backward`]: im2col + GEMM, the fast path; they need
//!   [`scratch_len`] floats of scratch (`out_h·out_w·kernel_h·kernel_w·in_c/groups`, one
//!   image and group of receptive fields; 0 for a 1×1 window with stride 1 and no
//!   padding, whose receptive fields are the input itself); the receptive fields come
//!   from [`mote_simd::im2col`] (shared with the int8 convolution), the GEMMs overwrite
//!   the output and the bias is added last ([`mote_simd::map::bias_act`]);
//! - [`forward_direct`] / [`backward_direct`]: no scratch at all, for small RAM; per
//!   output row and tap one GEMM over the input in place.
//!
//! Both sum the same products in f32 but group them differently (all taps in one run
//! per `KC` block then the bias, or the bias then one run per tap), so they agree to
//! rounding, and exactly when the
//! partial sums are exact (e.g. small dyadic values).
//!
//! The 1-D forms ([`Params1d`], [`forward_1d`], …) are the 2-D ones with height 1:
//! input `[batch][len][in_c]`, weights `[out_c][kernel][in_c/groups]`, output
//! `[batch][out_len][out_c]`.
//!
//! Backward passes accumulate (`+=`) into the gradients asked for; pass `None` for the
//! others. Every argument is validated before anything is written.

pub(crate) mod engine;
pub(crate) mod geometry;

use geometry::{Axis, Geometry};
use mote_core::Result;
use mote_core::error::{check_capacity, check_len};
use mote_core::padding::{Padding, Window};
use mote_simd::map::{Act, bias_act};

/// Parameters of a 2-D convolution. Build with [`Params::new`] and the `with_*`
/// methods, or fill the fields directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Images in the batch.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels (a multiple of `groups`).
    pub in_c: usize,
    /// Output channels (a multiple of `groups`).
    pub out_c: usize,
    /// Window along the height: kernel height, stride, dilation.
    pub window_h: Window,
    /// Window along the width: kernel width, stride, dilation.
    pub window_w: Window,
    /// Padding along the height.
    pub padding_h: Padding,
    /// Padding along the width.
    pub padding_w: Padding,
    /// Channel groups: output channels `g·og..(g+1)·og` see input channels
    /// `g·cg..(g+1)·cg` only. 1 is an ordinary convolution.
    pub groups: usize,
}

impl Params {
    /// A `kernel_h × kernel_w` convolution with stride 1, dilation 1, `VALID` padding
    /// and one group.
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
            groups: 1,
        }
    }

    /// The same convolution with strides `(h, w)`.
    pub const fn with_stride(mut self, h: usize, w: usize) -> Self {
        self.window_h.stride = h;
        self.window_w.stride = w;
        self
    }

    /// The same convolution with dilations `(h, w)`.
    pub const fn with_dilation(mut self, h: usize, w: usize) -> Self {
        self.window_h.dilation = h;
        self.window_w.dilation = w;
        self
    }

    /// The same convolution with `padding` along both axes.
    pub const fn with_padding(mut self, padding: Padding) -> Self {
        self.padding_h = padding;
        self.padding_w = padding;
        self
    }

    /// The same convolution with padding `h` along the height and `w` along the width.
    pub const fn with_paddings(mut self, h: Padding, w: Padding) -> Self {
        self.padding_h = h;
        self.padding_w = w;
        self
    }

    /// The same convolution with `groups` groups.
    pub const fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Validates the parameters and computes the geometry.
    ///
    /// Errors: `Zero` for a zero size, stride, dilation or group count; `ShapeMismatch`
    /// when `groups` does not divide both channel counts; `WindowTooLarge` when the
    /// window does not fit the padded input; `Overflow` when a length overflows.
    fn geometry(&self) -> Result<Geometry> {
        Geometry::new(
            self.batch,
            Axis::conv(self.in_h, self.window_h, self.padding_h)?,
            Axis::conv(self.in_w, self.window_w, self.padding_w)?,
            self.in_c,
            self.out_c,
            self.groups,
            None,
            [
                "conv: batch",
                "conv: in_c",
                "conv: out_c",
                "conv: groups",
                "conv: size",
            ],
        )
    }

    /// `[batch, out_h, out_w, out_c]`, or the error that makes the parameters invalid.
    pub fn output_shape(&self) -> Result<[usize; 4]> {
        let g = self.geometry()?;
        Ok([self.batch, g.h.output, g.w.output, self.out_c])
    }

    /// Elements of the input, `batch·in_h·in_w·in_c`.
    pub fn input_len(&self) -> Result<usize> {
        Ok(self.geometry()?.input_len)
    }

    /// Elements of the weights, `out_c·kernel_h·kernel_w·in_c/groups`.
    pub fn weights_len(&self) -> Result<usize> {
        Ok(self.geometry()?.weights_len)
    }

    /// Elements of the output, `batch·out_h·out_w·out_c`.
    pub fn output_len(&self) -> Result<usize> {
        Ok(self.geometry()?.output_len)
    }
}

/// Floats of scratch [`forward`] and [`backward`] need (the direct paths need none):
/// `out_h·out_w·kernel_h·kernel_w·in_c/groups`, or 0 for a 1×1 window with stride 1 and
/// no padding. Invalid parameters give 0 (the kernels report the error).
pub fn scratch_len(params: &Params) -> usize {
    params.geometry().map_or(0, |g| g.scratch_len())
}

/// Checks the buffers every pass shares, naming them for `conv`.
fn check(g: &Geometry, input: &[f32], weights: &[f32]) -> Result<()> {
    check_len("conv: input", g.input_len, input.len())?;
    check_len("conv: weights", g.weights_len, weights.len())
}

/// Forward pass, im2col + GEMM: `output ← conv(input, weights) + bias`.
///
/// `output` is overwritten (not read). `scratch` needs at least
/// [`scratch_len`]`(params)` floats; its contents on entry do not matter.
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
    check_capacity("conv: scratch", g.scratch_len(), scratch.len())?;
    engine::forward_overwrite(&g, input, weights, output, scratch)?;
    match bias {
        Some(b) => bias_act(output, b, Act::Identity),
        None => Ok(()),
    }
}

/// Forward pass without scratch (direct): the same result as [`forward`] up to f32
/// rounding, for targets that cannot spare the im2col buffer.
pub fn forward_direct(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> Result<()> {
    let g = params.geometry()?;
    check_forward(&g, input, weights, bias, output)?;
    engine::init_output(output, bias, g.out_c);
    engine::forward(&g, input, weights, output, None)
}

fn check_forward(
    g: &Geometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &[f32],
) -> Result<()> {
    check(g, input, weights)?;
    if let Some(b) = bias {
        check_len("conv: bias", g.out_c, b.len())?;
    }
    check_len("conv: output", g.output_len, output.len())
}

/// Backward pass, im2col + GEMM: accumulates `∂L/∂input`, `∂L/∂weights` and `∂L/∂bias`
/// (each when `Some`) from `grad_output = ∂L/∂output`.
///
/// `input` is read for the weight gradient, `weights` for the input gradient; both are
/// always checked. `scratch` as for [`forward`].
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
    backward_im2col(
        params,
        input,
        weights,
        grad_output,
        [grad_input, grad_weights, grad_bias],
        scratch,
        false,
    )
}

/// [`backward`] straight after [`forward`] with the same `params`, `input` and
/// `scratch`, untouched in between: when the scratch holds the column matrices of
/// every image (at least `batch ×` [`scratch_len`] floats) and there is one group, the
/// weight gradient reuses the columns forward built instead of building them again.
/// Otherwise it is [`backward`]. Scratch that does not hold forward's columns gives
/// wrong weight gradients (never a panic).
#[allow(clippy::too_many_arguments)]
pub fn backward_after_forward(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weights: Option<&mut [f32]>,
    grad_bias: Option<&mut [f32]>,
    scratch: &mut [f32],
) -> Result<()> {
    backward_im2col(
        params,
        input,
        weights,
        grad_output,
        [grad_input, grad_weights, grad_bias],
        scratch,
        true,
    )
}

/// The im2col backward of [`backward`] and [`backward_after_forward`].
fn backward_im2col(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    grads: [Option<&mut [f32]>; 3],
    scratch: &mut [f32],
    columns_built: bool,
) -> Result<()> {
    let g = params.geometry()?;
    check_capacity("conv: scratch", g.scratch_len(), scratch.len())?;
    run_backward(
        &g,
        input,
        weights,
        grad_output,
        grads,
        Some(scratch),
        columns_built,
    )
}

/// Backward pass without scratch (direct): the same result as [`backward`] up to f32
/// rounding.
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
        false,
    )
}

fn run_backward(
    g: &Geometry,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    [grad_input, grad_weights, grad_bias]: [Option<&mut [f32]>; 3],
    mut scratch: Option<&mut [f32]>,
    columns_built: bool,
) -> Result<()> {
    check(g, input, weights)?;
    check_len("conv: grad_output", g.output_len, grad_output.len())?;
    if let Some(d) = &grad_input {
        check_len("conv: grad_input", g.input_len, d.len())?;
    }
    if let Some(d) = &grad_weights {
        check_len("conv: grad_weights", g.weights_len, d.len())?;
    }
    if let Some(d) = &grad_bias {
        check_len("conv: grad_bias", g.out_c, d.len())?;
    }
    if let Some(dw) = grad_weights {
        engine::grad_weights(
            g,
            input,
            grad_output,
            dw,
            scratch.as_deref_mut(),
            columns_built,
        )?;
    }
    if let Some(dx) = grad_input {
        engine::grad_input(g, grad_output, weights, dx, scratch)?;
    }
    if let Some(db) = grad_bias {
        engine::grad_bias(grad_output, db);
    }
    Ok(())
}

/// Parameters of a 1-D convolution over `[batch][len][in_c]`: the 2-D convolution of
/// height 1 ([`Params1d::to_2d`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params1d {
    /// Sequences in the batch.
    pub batch: usize,
    /// Input positions.
    pub len: usize,
    /// Input channels (a multiple of `groups`).
    pub in_c: usize,
    /// Output channels (a multiple of `groups`).
    pub out_c: usize,
    /// Kernel size, stride, dilation.
    pub window: Window,
    /// Padding.
    pub padding: Padding,
    /// Channel groups (see [`Params::groups`]).
    pub groups: usize,
}

impl Params1d {
    /// A `kernel`-tap convolution with stride 1, dilation 1, `VALID` padding, one group.
    pub const fn new(batch: usize, len: usize, in_c: usize, out_c: usize, kernel: usize) -> Self {
        Self {
            batch,
            len,
            in_c,
            out_c,
            window: Window::new(kernel, 1),
            padding: Padding::Valid,
            groups: 1,
        }
    }

    /// The same convolution with stride `stride`.
    pub const fn with_stride(mut self, stride: usize) -> Self {
        self.window.stride = stride;
        self
    }

    /// The same convolution with dilation `dilation`.
    pub const fn with_dilation(mut self, dilation: usize) -> Self {
        self.window.dilation = dilation;
        self
    }

    /// The same convolution with `padding`.
    pub const fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// The same convolution with `groups` groups.
    pub const fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// The equivalent 2-D convolution: height 1, a 1-tap `VALID` window along it.
    pub const fn to_2d(&self) -> Params {
        Params {
            batch: self.batch,
            in_h: 1,
            in_w: self.len,
            in_c: self.in_c,
            out_c: self.out_c,
            window_h: Window::new(1, 1),
            window_w: self.window,
            padding_h: Padding::Valid,
            padding_w: self.padding,
            groups: self.groups,
        }
    }

    /// Output positions, or the error that makes the parameters invalid.
    pub fn output_positions(&self) -> Result<usize> {
        Ok(self.to_2d().output_shape()?[2])
    }
}

/// [`scratch_len`] of the 1-D convolution.
pub fn scratch_len_1d(params: &Params1d) -> usize {
    scratch_len(&params.to_2d())
}

/// [`forward`] of the 1-D convolution.
pub fn forward_1d(
    params: &Params1d,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    forward(&params.to_2d(), input, weights, bias, output, scratch)
}

/// [`forward_direct`] of the 1-D convolution.
pub fn forward_1d_direct(
    params: &Params1d,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> Result<()> {
    forward_direct(&params.to_2d(), input, weights, bias, output)
}

/// [`backward`] of the 1-D convolution.
#[allow(clippy::too_many_arguments)]
pub fn backward_1d(
    params: &Params1d,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weights: Option<&mut [f32]>,
    grad_bias: Option<&mut [f32]>,
    scratch: &mut [f32],
) -> Result<()> {
    backward(
        &params.to_2d(),
        input,
        weights,
        grad_output,
        grad_input,
        grad_weights,
        grad_bias,
        scratch,
    )
}

/// [`backward_direct`] of the 1-D convolution.
pub fn backward_1d_direct(
    params: &Params1d,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weights: Option<&mut [f32]>,
    grad_bias: Option<&mut [f32]>,
) -> Result<()> {
    backward_direct(
        &params.to_2d(),
        input,
        weights,
        grad_output,
        grad_input,
        grad_weights,
        grad_bias,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3×3 input, one channel, 2×2 kernel of ones: each output is a 2×2 window sum.
    #[test]
    fn window_sums_on_both_paths() {
        let p = Params::new(1, 3, 3, 1, 1, 2, 2);
        let x: [f32; 9] = core::array::from_fn(|i| i as f32);
        let w = [1.0; 4];
        let want = [8.0 + 1.0, 12.0 + 1.0, 20.0 + 1.0, 24.0 + 1.0];
        let mut y = [f32::NAN; 4];
        let mut scratch = [0.0; 16];
        assert_eq!(scratch_len(&p), 16);
        forward(&p, &x, &w, Some(&[1.0]), &mut y, &mut scratch).unwrap();
        assert_eq!(y, want);
        let mut y = [f32::NAN; 4];
        forward_direct(&p, &x, &w, Some(&[1.0]), &mut y).unwrap();
        assert_eq!(y, want);
    }

    #[test]
    fn same_padding_keeps_size_and_backward_counts_taps() {
        // 1-D, 4 positions, kernel 3, SAME: each input feeds up to 3 outputs.
        let p = Params1d::new(1, 4, 1, 1, 3).with_padding(Padding::Same);
        assert_eq!(p.output_positions(), Ok(4));
        let (x, w, dy) = ([1.0; 4], [1.0; 3], [1.0; 4]);
        let mut dx = [0.0; 4];
        let mut dw = [0.0; 3];
        let mut db = [0.0; 1];
        let mut scratch = [0.0; 12];
        backward_1d(
            &p,
            &x,
            &w,
            &dy,
            Some(&mut dx),
            Some(&mut dw),
            Some(&mut db),
            &mut scratch,
        )
        .unwrap();
        assert_eq!(dx, [2.0, 3.0, 3.0, 2.0]);
        assert_eq!(dw, [3.0, 4.0, 3.0]);
        assert_eq!(db, [4.0]);
        let mut dx2 = [0.0; 4];
        backward_1d_direct(&p, &x, &w, &dy, Some(&mut dx2), None, None).unwrap();
        assert_eq!(dx2, dx);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let p = Params::new(1, 4, 4, 3, 4, 3, 3).with_groups(2);
        assert!(p.output_shape().is_err());
        let p = Params::new(1, 2, 2, 1, 1, 3, 3);
        assert!(p.output_shape().is_err());
        let p = Params::new(1, 4, 4, 1, 1, 3, 3);
        let mut y = [0.0; 4];
        assert!(forward_direct(&p, &[0.0; 15], &[0.0; 9], None, &mut y).is_err());
        assert!(forward(&p, &[0.0; 16], &[0.0; 9], None, &mut y, &mut [0.0; 35]).is_err());
    }
}
