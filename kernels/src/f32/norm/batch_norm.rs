//! Batch normalisation over the channels of an NHWC tensor (or the features of a
//! `[batch][features]` dense activation), training and inference, forward and backward,
//! and folding into the preceding convolution or dense layer.
//!
//! The input is `rows × channels` with `rows = N·H·W` (`N` for dense, `N·L` for 1D
//! sequences); channel `c` is normalised over its `rows` values.
//!
//! ## Conventions (PyTorch's `BatchNorm`)
//!
//! - **Training** normalises with the batch mean `μ` and the *biased* batch variance
//!   `σ² = Σ(x − μ)² / rows`: `y = γ·(x − μ)/√(σ² + ε) + β`, and updates the running
//!   estimates with momentum `m`:
//!   `running_mean ← (1 − m)·running_mean + m·μ`,
//!   `running_var ← (1 − m)·running_var + m·σ²·rows/(rows − 1)` (the *unbiased*
//!   variance, so `rows` must be at least 2). PyTorch's defaults are `m = 0.1`,
//!   `ε = 1e−5` ([`Params::new`]); Keras's `momentum = 0.99` is `m = 0.01` here, with
//!   its `ε = 1e−3`.
//! - **Inference** uses the running statistics: `y = γ·(x − running_mean)/
//!   √(running_var + ε) + β`, an affine map per channel that [`fold`] can merge into the
//!   weights and bias of the layer before.
//!
//! Training forward writes the batch statistics into `saved` (`2·channels` values: the
//! means, then the inverse standard deviations `1/√(σ² + ε)`), which the training
//! backward takes back. The other kernels need `scratch_len` = `2·channels` of scratch.

use super::{Affine, Grads, check_epsilon, check_grads, mul};
use mote_core::error::{check_capacity, check_len, check_nonzero};
use mote_core::{Error, ErrorKind, Result};

/// Parameters of a batch-normalisation layer.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Values per channel: `N·H·W` (`N` for a dense activation).
    pub rows: usize,
    /// Channels (the last axis).
    pub channels: usize,
    /// Added to the variance before the square root; finite and > 0.
    pub epsilon: f32,
    /// Weight `m` of the batch statistics in the running estimates, in `[0, 1]`.
    pub momentum: f32,
}

impl Params {
    /// `rows × channels` with PyTorch's defaults `ε = 1e−5`, momentum 0.1.
    pub const fn new(rows: usize, channels: usize) -> Self {
        Self {
            rows,
            channels,
            epsilon: 1e-5,
            momentum: 0.1,
        }
    }

    /// Validates the parameters; returns the input length `rows·channels`.
    fn validate(&self) -> Result<usize> {
        check_nonzero("batch norm: rows", self.rows)?;
        check_nonzero("batch norm: channels", self.channels)?;
        check_epsilon("batch norm: epsilon", self.epsilon)?;
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::new(ErrorKind::InvalidFloat, "batch norm: momentum"));
        }
        mul("batch norm: input", self.rows, self.channels)
    }
}

/// Scratch needed by [`forward_inference`], [`backward_train`] and
/// [`backward_inference`]: `2·channels` (saturating).
pub fn scratch_len(params: &Params) -> usize {
    params.channels.saturating_mul(2)
}

/// Length of the `saved` statistics of [`forward_train`]: `2·channels` (saturating).
pub fn saved_len(params: &Params) -> usize {
    params.channels.saturating_mul(2)
}

/// Running (inference) statistics, read-only: mean and variance per channel.
#[derive(Debug, Clone, Copy)]
pub struct Running<'a> {
    /// Running mean, one per channel.
    pub mean: &'a [f32],
    /// Running (unbiased) variance, one per channel.
    pub var: &'a [f32],
}

/// Running statistics that training updates in place.
#[derive(Debug)]
pub struct RunningMut<'a> {
    /// Running mean, one per channel.
    pub mean: &'a mut [f32],
    /// Running (unbiased) variance, one per channel.
    pub var: &'a mut [f32],
}

fn check_affine(affine: &Affine<'_>, c: usize) -> Result<()> {
    check_len("batch norm: gamma", c, affine.gamma.len())?;
    check_len("batch norm: beta", c, affine.beta.len())
}

fn check_running(mean: &[f32], var: &[f32], c: usize) -> Result<()> {
    check_len("batch norm: running mean", c, mean.len())?;
    check_len("batch norm: running var", c, var.len())
}

/// Training forward: normalises `input` (`rows × channels`) with its own per-channel
/// mean and biased variance, writes `output` (same shape), updates `running` with the
/// momentum (unbiased variance, see the [module docs](self)) and writes the mean and
/// `1/√(σ² + ε)` of each channel into `saved` (`2·channels`: means, then inverse
/// standard deviations) for [`backward_train`].
///
/// Errors: invalid parameters, `rows < 2` (no unbiased variance), wrong lengths.
pub fn forward_train(
    params: &Params,
    input: &[f32],
    output: &mut [f32],
    affine: Affine<'_>,
    running: RunningMut<'_>,
    saved: &mut [f32],
) -> Result<()> {
    let len = params.validate()?;
    let (rows, c) = (params.rows, params.channels);
    if rows < 2 {
        return Err(Error::out_of_range(
            "batch norm: rows in training",
            rows as i64,
            2,
            i64::MAX,
        ));
    }
    check_len("batch norm: input", len, input.len())?;
    check_len("batch norm: output", len, output.len())?;
    check_affine(&affine, c)?;
    check_running(running.mean, running.var, c)?;
    check_len("batch norm: saved", 2 * c, saved.len())?;

    let (mean, inv_std) = saved.split_at_mut(c);
    mean.fill(0.0);
    inv_std.fill(0.0);
    for row in input.chunks_exact(c) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += x;
        }
    }
    let n = rows as f32;
    for m in mean.iter_mut() {
        *m /= n;
    }
    // Two passes: Σ(x − μ)² loses nothing to cancellation.
    for row in input.chunks_exact(c) {
        for ((v, &m), &x) in inv_std.iter_mut().zip(mean.iter()).zip(row) {
            let d = x - m;
            *v += d * d;
        }
    }
    let m = params.momentum;
    let unbias = n / (n - 1.0);
    for (((v, &mu), rm), rv) in inv_std
        .iter_mut()
        .zip(mean.iter())
        .zip(running.mean.iter_mut())
        .zip(running.var.iter_mut())
    {
        let var = *v / n;
        *rm = (1.0 - m) * *rm + m * mu;
        *rv = (1.0 - m) * *rv + m * var * unbias;
        *v = 1.0 / crate::math::sqrt(var + params.epsilon);
    }
    for (x_row, y_row) in input.chunks_exact(c).zip(output.chunks_exact_mut(c)) {
        for (((((y, &x), &mu), &s), &g), &b) in y_row
            .iter_mut()
            .zip(x_row)
            .zip(mean.iter())
            .zip(inv_std.iter())
            .zip(affine.gamma)
            .zip(affine.beta)
        {
            *y = g * ((x - mu) * s) + b;
        }
    }
    Ok(())
}

/// Per-channel `scale = γ/√(var + ε)` and `shift = β − mean·scale` into `scale`/`shift`.
fn inference_affine(
    epsilon: f32,
    affine: &Affine<'_>,
    running: &Running<'_>,
    scale: &mut [f32],
    shift: &mut [f32],
) {
    for (((((s, t), &g), &b), &mu), &var) in scale
        .iter_mut()
        .zip(shift.iter_mut())
        .zip(affine.gamma)
        .zip(affine.beta)
        .zip(running.mean)
        .zip(running.var)
    {
        *s = g / crate::math::sqrt(var + epsilon);
        *t = b - mu * *s;
    }
}

/// Inference forward: `output = γ·(input − running.mean)/√(running.var + ε) + β` per
/// channel, computed as one multiply-add per value. `scratch` holds at least
/// [`scratch_len`] values. Momentum is not used.
pub fn forward_inference(
    params: &Params,
    input: &[f32],
    output: &mut [f32],
    affine: Affine<'_>,
    running: Running<'_>,
    scratch: &mut [f32],
) -> Result<()> {
    let len = params.validate()?;
    let c = params.channels;
    check_len("batch norm: input", len, input.len())?;
    check_len("batch norm: output", len, output.len())?;
    check_affine(&affine, c)?;
    check_running(running.mean, running.var, c)?;
    check_capacity("batch norm: scratch", 2 * c, scratch.len())?;
    let (scale, rest) = scratch.split_at_mut(c);
    let shift = &mut rest[..c];
    inference_affine(params.epsilon, &affine, &running, scale, shift);
    for (x_row, y_row) in input.chunks_exact(c).zip(output.chunks_exact_mut(c)) {
        for (((y, &x), &s), &t) in y_row
            .iter_mut()
            .zip(x_row)
            .zip(scale.iter())
            .zip(shift.iter())
        {
            *y = x * s + t;
        }
    }
    Ok(())
}

/// Training backward: the full gradient through the batch statistics.
///
/// With `x̂ = (x − μ)·s` (`s = 1/√(σ² + ε)` from `saved`), `N = rows` and per channel
/// `Σg = Σ grad_output`, `Σgx̂ = Σ grad_output·x̂`, accumulates
/// - `grads.beta += Σg`, `grads.gamma += Σgx̂`,
/// - `grads.input += γ·s·(grad_output − Σg/N − x̂·Σgx̂/N)`.
///
/// `input` and `saved` are those of the matching [`forward_train`]; `scratch` holds at
/// least [`scratch_len`] values. The running statistics get no gradient.
pub fn backward_train(
    params: &Params,
    input: &[f32],
    gamma: &[f32],
    saved: &[f32],
    grad_output: &[f32],
    grads: Grads<'_>,
    scratch: &mut [f32],
) -> Result<()> {
    let len = params.validate()?;
    let c = params.channels;
    check_len("batch norm: input", len, input.len())?;
    check_len("batch norm: gamma", c, gamma.len())?;
    check_len("batch norm: saved", 2 * c, saved.len())?;
    check_len("batch norm: grad_output", len, grad_output.len())?;
    check_grads(
        [
            "batch norm: grad_input",
            "batch norm: grad_gamma",
            "batch norm: grad_beta",
        ],
        &grads,
        len,
        c,
    )?;
    check_capacity("batch norm: scratch", 2 * c, scratch.len())?;
    let (mean, inv_std) = saved.split_at(c);
    let (sum_g, rest) = scratch.split_at_mut(c);
    let sum_gx = &mut rest[..c];
    sum_g.fill(0.0);
    sum_gx.fill(0.0);
    for (x_row, g_row) in input.chunks_exact(c).zip(grad_output.chunks_exact(c)) {
        for (((((sg, sgx), &x), &g), &mu), &s) in sum_g
            .iter_mut()
            .zip(sum_gx.iter_mut())
            .zip(x_row)
            .zip(g_row)
            .zip(mean)
            .zip(inv_std)
        {
            *sg += g;
            *sgx += g * ((x - mu) * s);
        }
    }
    if let Some(gb) = grads.beta {
        for (d, &v) in gb.iter_mut().zip(sum_g.iter()) {
            *d += v;
        }
    }
    if let Some(gg) = grads.gamma {
        for (d, &v) in gg.iter_mut().zip(sum_gx.iter()) {
            *d += v;
        }
    }
    if let Some(gi) = grads.input {
        // Turn the sums into means once.
        let n = params.rows as f32;
        for (sg, sgx) in sum_g.iter_mut().zip(sum_gx.iter_mut()) {
            *sg /= n;
            *sgx /= n;
        }
        for ((x_row, g_row), d_row) in input
            .chunks_exact(c)
            .zip(grad_output.chunks_exact(c))
            .zip(gi.chunks_exact_mut(c))
        {
            for (((((((d, &x), &g), &mu), &s), &gm), &mg), &mgx) in d_row
                .iter_mut()
                .zip(x_row)
                .zip(g_row)
                .zip(mean)
                .zip(inv_std)
                .zip(gamma)
                .zip(sum_g.iter())
                .zip(sum_gx.iter())
            {
                let xhat = (x - mu) * s;
                *d += gm * s * (g - mg - xhat * mgx);
            }
        }
    }
    Ok(())
}

/// Inference backward (the statistics are constants): accumulates
/// `grads.input += grad_output·γ/√(var + ε)`, `grads.gamma += Σ grad_output·x̂`,
/// `grads.beta += Σ grad_output`, with `x̂ = (x − mean)/√(var + ε)` from `running`.
/// For fine-tuning with frozen statistics. `scratch` holds at least [`scratch_len`].
pub fn backward_inference(
    params: &Params,
    input: &[f32],
    gamma: &[f32],
    running: Running<'_>,
    grad_output: &[f32],
    grads: Grads<'_>,
    scratch: &mut [f32],
) -> Result<()> {
    let len = params.validate()?;
    let c = params.channels;
    check_len("batch norm: input", len, input.len())?;
    check_len("batch norm: gamma", c, gamma.len())?;
    check_running(running.mean, running.var, c)?;
    check_len("batch norm: grad_output", len, grad_output.len())?;
    check_grads(
        [
            "batch norm: grad_input",
            "batch norm: grad_gamma",
            "batch norm: grad_beta",
        ],
        &grads,
        len,
        c,
    )?;
    check_capacity("batch norm: scratch", 2 * c, scratch.len())?;
    let (inv_std, rest) = scratch.split_at_mut(c);
    let scale = &mut rest[..c];
    for (((s, k), &var), &g) in inv_std
        .iter_mut()
        .zip(scale.iter_mut())
        .zip(running.var)
        .zip(gamma)
    {
        *s = 1.0 / crate::math::sqrt(var + params.epsilon);
        *k = g * *s;
    }
    let Grads {
        input: mut gi,
        gamma: mut gg,
        beta: mut gb,
    } = grads;
    for (row, (x_row, g_row)) in input
        .chunks_exact(c)
        .zip(grad_output.chunks_exact(c))
        .enumerate()
    {
        if let Some(gi) = gi.as_deref_mut() {
            let d_row = &mut gi[row * c..(row + 1) * c];
            for ((d, &g), &k) in d_row.iter_mut().zip(g_row).zip(scale.iter()) {
                *d += g * k;
            }
        }
        if let Some(gg) = gg.as_deref_mut() {
            for ((((d, &g), &x), &mu), &s) in gg
                .iter_mut()
                .zip(g_row)
                .zip(x_row)
                .zip(running.mean)
                .zip(inv_std.iter())
            {
                *d += g * ((x - mu) * s);
            }
        }
        if let Some(gb) = gb.as_deref_mut() {
            for (d, &g) in gb.iter_mut().zip(g_row) {
                *d += g;
            }
        }
    }
    Ok(())
}

/// Where the output channel sits in the weights being folded into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WeightLayout {
    /// Output channel outermost: conv OHWI `[out][kh][kw][in]`, dense `[out][in]`,
    /// transposed conv stored `[out][kh][kw][in]`.
    OutputMajor,
    /// Output channel innermost: depthwise `[1][kh][kw][in·multiplier]`.
    OutputMinor,
}

/// Folds inference batch normalisation into the layer before it, in place: with
/// `scale = γ/√(running.var + ε)` per output channel, `W'[o][…] = W[o][…]·scale[o]` and
/// `b'[o] = (b[o] − running.mean[o])·scale[o] + β[o]`, so that the folded layer alone
/// computes what the layer followed by [`forward_inference`] did.
///
/// `weights.len()` must be a non-zero multiple of `channels` (the layer's output
/// channels); `bias` has `channels` values (pass zeros for a layer without bias).
/// `rows` and `momentum` are not used. No scratch: the scale is recomputed per element
/// of `OutputMinor` weights.
pub fn fold(
    params: &Params,
    affine: Affine<'_>,
    running: Running<'_>,
    layout: WeightLayout,
    weights: &mut [f32],
    bias: &mut [f32],
) -> Result<()> {
    let c = check_nonzero("batch norm: channels", params.channels)?;
    check_epsilon("batch norm: epsilon", params.epsilon)?;
    check_affine(&affine, c)?;
    check_running(running.mean, running.var, c)?;
    check_len("batch norm: bias", c, bias.len())?;
    let per_channel = weights.len() / c;
    if per_channel == 0 || !weights.len().is_multiple_of(c) {
        return Err(Error::new(
            ErrorKind::ShapeMismatch,
            "batch norm: weights (not a non-zero multiple of channels)",
        ));
    }
    let scale_of = |o: usize| affine.gamma[o] / crate::math::sqrt(running.var[o] + params.epsilon);
    match layout {
        WeightLayout::OutputMajor => {
            for (o, w) in weights.chunks_exact_mut(per_channel).enumerate() {
                let s = scale_of(o);
                for v in w {
                    *v *= s;
                }
            }
        }
        WeightLayout::OutputMinor => {
            for w in weights.chunks_exact_mut(c) {
                for (o, v) in w.iter_mut().enumerate() {
                    *v *= scale_of(o);
                }
            }
        }
    }
    for (o, b) in bias.iter_mut().enumerate() {
        let s = scale_of(o);
        *b = (*b - running.mean[o]) * s + affine.beta[o];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_normalises_and_updates_running() {
        // One channel, values 1..=4: mean 2.5, biased var 1.25, unbiased 5/3.
        let p = Params::new(4, 1);
        let x = [1.0, 2.0, 3.0, 4.0];
        let mut y = [0.0; 4];
        let (mut rm, mut rv) = ([0.0], [1.0]);
        let mut saved = [0.0; 2];
        let affine = Affine {
            gamma: &[2.0],
            beta: &[1.0],
        };
        let running = RunningMut {
            mean: &mut rm,
            var: &mut rv,
        };
        forward_train(&p, &x, &mut y, affine, running, &mut saved).unwrap();
        assert!((saved[0] - 2.5).abs() < 1e-6);
        assert!((saved[1] - 1.0 / (1.25f32 + 1e-5).sqrt()).abs() < 1e-6);
        assert!((rm[0] - 0.25).abs() < 1e-6);
        assert!((rv[0] - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-6);
        let sum: f32 = y.iter().sum();
        assert!((sum - 4.0).abs() < 1e-5, "mean of y is β");
    }

    #[test]
    fn fold_matches_inference() {
        // Dense 2 → 2 then batch norm, folded.
        let mut w = [1.0, -2.0, 0.5, 3.0];
        let mut b = [0.1, -0.2];
        let x = [0.3, -0.7];
        let dense = |w: &[f32], b: &[f32]| -> [f32; 2] {
            core::array::from_fn(|o| w[2 * o] * x[0] + w[2 * o + 1] * x[1] + b[o])
        };
        let z = dense(&w, &b);
        let p = Params::new(1, 2);
        let affine = Affine {
            gamma: &[1.5, 0.5],
            beta: &[0.2, -0.1],
        };
        let running = Running {
            mean: &[0.4, -0.3],
            var: &[2.0, 0.25],
        };
        let mut want = [0.0; 2];
        forward_inference(&p, &z, &mut want, affine, running, &mut [0.0; 4]).unwrap();
        fold(
            &p,
            affine,
            running,
            WeightLayout::OutputMajor,
            &mut w,
            &mut b,
        )
        .unwrap();
        let got = dense(&w, &b);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let affine = Affine {
            gamma: &[1.0],
            beta: &[0.0],
        };
        let (mut rm, mut rv) = ([0.0], [1.0]);
        let mut p = Params::new(1, 1);
        let r = forward_train(
            &p,
            &[1.0],
            &mut [0.0],
            affine,
            RunningMut {
                mean: &mut rm,
                var: &mut rv,
            },
            &mut [0.0; 2],
        );
        assert!(r.is_err(), "one row cannot train");
        p.epsilon = 0.0;
        let running = Running {
            mean: &[0.0],
            var: &[1.0],
        };
        assert!(forward_inference(&p, &[1.0], &mut [0.0], affine, running, &mut [0.0; 2]).is_err());
        p.epsilon = 1e-5;
        assert!(forward_inference(&p, &[1.0], &mut [0.0], affine, running, &mut [0.0; 1]).is_err());
        let mut w = [1.0; 3];
        let p2 = Params::new(1, 2);
        let affine2 = Affine {
            gamma: &[1.0; 2],
            beta: &[0.0; 2],
        };
        let running2 = Running {
            mean: &[0.0; 2],
            var: &[1.0; 2],
        };
        let r = fold(
            &p2,
            affine2,
            running2,
            WeightLayout::OutputMajor,
            &mut w,
            &mut [0.0; 2],
        );
        assert!(r.is_err());
    }
}
