//! Layer normalisation over the last axis (features), with a learned per-feature scale
//! and shift; forward and backward.
//!
//! The input is `rows × features` (`[batch][features]`, `[time][features]`, or NHWC
//! with `features = C` and `rows = N·H·W`); each row is normalised on its own:
//! `y = γ·(x − μ)/√(σ² + ε) + β` with the row's mean `μ` and *biased* variance `σ²`
//! (PyTorch `LayerNorm(features)`, Keras `LayerNormalization(axis=-1)`). The same
//! computation at training and inference; forward can save each row's mean and
//! `1/√(σ² + ε)` for backward. No scratch memory.

use super::{Affine, Grads, check_epsilon, check_grads, mul};
use mote_core::Result;
use mote_core::error::{check_len, check_nonzero};

/// Parameters of a layer-normalisation layer.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Rows normalised independently.
    pub rows: usize,
    /// Features per row (the last axis).
    pub features: usize,
    /// Added to the variance before the square root; finite and > 0.
    pub epsilon: f32,
}

impl Params {
    /// `rows × features` with PyTorch's default `ε = 1e−5` (Keras uses 1e−3).
    pub const fn new(rows: usize, features: usize) -> Self {
        Self {
            rows,
            features,
            epsilon: 1e-5,
        }
    }

    fn validate(&self) -> Result<usize> {
        check_nonzero("layer norm: rows", self.rows)?;
        check_nonzero("layer norm: features", self.features)?;
        check_epsilon("layer norm: epsilon", self.epsilon)?;
        mul("layer norm: input", self.rows, self.features)
    }
}

/// Length of the `saved` statistics: `2·rows` (the means, then the inverse standard
/// deviations), saturating.
pub fn saved_len(params: &Params) -> usize {
    params.rows.saturating_mul(2)
}

/// Mean and `1/√(σ² + ε)` of one row (two passes).
#[inline]
fn stats(row: &[f32], epsilon: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|&x| (x - mean) * (x - mean)).sum::<f32>() / n;
    (mean, 1.0 / crate::math::sqrt(var + epsilon))
}

/// Forward: normalises each row of `input` (`rows × features`) into `output` (same
/// shape). With `saved` (`2·rows` values, [`saved_len`]) it stores each row's mean in
/// `saved[..rows]` and `1/√(σ² + ε)` in `saved[rows..]`, for [`backward`]; pass `None`
/// at inference.
pub fn forward(
    params: &Params,
    input: &[f32],
    output: &mut [f32],
    affine: Affine<'_>,
    saved: Option<&mut [f32]>,
) -> Result<()> {
    let len = params.validate()?;
    let f = params.features;
    check_len("layer norm: input", len, input.len())?;
    check_len("layer norm: output", len, output.len())?;
    check_len("layer norm: gamma", f, affine.gamma.len())?;
    check_len("layer norm: beta", f, affine.beta.len())?;
    if let Some(s) = &saved {
        check_len("layer norm: saved", 2 * params.rows, s.len())?;
    }
    let mut saved = saved.map(|s| s.split_at_mut(params.rows));
    for (r, (x_row, y_row)) in input
        .chunks_exact(f)
        .zip(output.chunks_exact_mut(f))
        .enumerate()
    {
        let (mean, inv_std) = stats(x_row, params.epsilon);
        if let Some((m, s)) = saved.as_mut()
            && let (Some(m), Some(s)) = (m.get_mut(r), s.get_mut(r))
        {
            *m = mean;
            *s = inv_std;
        }
        for (((y, &x), &g), &b) in y_row
            .iter_mut()
            .zip(x_row)
            .zip(affine.gamma)
            .zip(affine.beta)
        {
            *y = g * ((x - mean) * inv_std) + b;
        }
    }
    Ok(())
}

/// Backward: with `x̂ = (x − μ)·s` per row (`μ`, `s` from the `saved` of [`forward`])
/// and `ĝ = grad_output·γ`, accumulates
/// - `grads.input += s·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))` (means over the row),
/// - `grads.gamma += Σ_rows grad_output·x̂`, `grads.beta += Σ_rows grad_output`.
pub fn backward(
    params: &Params,
    input: &[f32],
    gamma: &[f32],
    saved: &[f32],
    grad_output: &[f32],
    grads: Grads<'_>,
) -> Result<()> {
    let len = params.validate()?;
    let f = params.features;
    check_len("layer norm: input", len, input.len())?;
    check_len("layer norm: gamma", f, gamma.len())?;
    check_len("layer norm: saved", 2 * params.rows, saved.len())?;
    check_len("layer norm: grad_output", len, grad_output.len())?;
    check_grads(
        [
            "layer norm: grad_input",
            "layer norm: grad_gamma",
            "layer norm: grad_beta",
        ],
        &grads,
        len,
        f,
    )?;
    let (means, inv_stds) = saved.split_at(params.rows);
    let Grads {
        input: mut gi,
        gamma: mut gg,
        beta: mut gb,
    } = grads;
    let n = f as f32;
    for (r, (((x_row, g_row), &mean), &s)) in input
        .chunks_exact(f)
        .zip(grad_output.chunks_exact(f))
        .zip(means)
        .zip(inv_stds)
        .enumerate()
    {
        if let Some(gg) = gg.as_deref_mut() {
            for ((d, &g), &x) in gg.iter_mut().zip(g_row).zip(x_row) {
                *d += g * ((x - mean) * s);
            }
        }
        if let Some(gb) = gb.as_deref_mut() {
            for (d, &g) in gb.iter_mut().zip(g_row) {
                *d += g;
            }
        }
        if let Some(gi) = gi.as_deref_mut() {
            let (mut m1, mut m2) = (0.0f32, 0.0f32);
            for ((&g, &x), &gm) in g_row.iter().zip(x_row).zip(gamma) {
                let gh = g * gm;
                m1 += gh;
                m2 += gh * ((x - mean) * s);
            }
            m1 /= n;
            m2 /= n;
            let d_row = &mut gi[r * f..(r + 1) * f];
            for (((d, &g), &x), &gm) in d_row.iter_mut().zip(g_row).zip(x_row).zip(gamma) {
                let xhat = (x - mean) * s;
                *d += s * (g * gm - m1 - xhat * m2);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_zero_mean_unit_variance() {
        let p = Params::new(2, 4);
        let x = [1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 5.0, 8.0];
        let mut y = [0.0; 8];
        let mut saved = [0.0; 4];
        let affine = Affine {
            gamma: &[1.0; 4],
            beta: &[0.0; 4],
        };
        forward(&p, &x, &mut y, affine, Some(&mut saved)).unwrap();
        for row in y.chunks(4) {
            let mean: f32 = row.iter().sum::<f32>() / 4.0;
            let var: f32 = row.iter().map(|v| v * v).sum::<f32>() / 4.0;
            assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-4, "{row:?}");
        }
        assert_eq!(saved[0], 2.5);
        // Gradient of Σy (γ = 1) for x is zero: every row's outputs sum to 0.
        let mut gx = [0.0; 8];
        let grads = Grads {
            input: Some(&mut gx),
            ..Grads::default()
        };
        backward(&p, &x, &[1.0; 4], &saved, &[1.0; 8], grads).unwrap();
        assert!(gx.iter().all(|g| g.abs() < 1e-6), "{gx:?}");
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let affine = Affine {
            gamma: &[1.0; 2],
            beta: &[0.0; 2],
        };
        let mut p = Params::new(1, 2);
        assert!(forward(&p, &[0.0; 2], &mut [0.0; 2], affine, Some(&mut [0.0; 1])).is_err());
        assert!(forward(&p, &[0.0; 3], &mut [0.0; 2], affine, None).is_err());
        p.epsilon = f32::NAN;
        assert!(forward(&p, &[0.0; 2], &mut [0.0; 2], affine, None).is_err());
    }
}
