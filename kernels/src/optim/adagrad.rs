//! Adagrad with optional learning-rate decay, weight decay and initial accumulator, as
//! PyTorch's `torch.optim.Adagrad`:
//!
//! ```text
//! g ← g + wd·p                          (weight decay, if wd ≠ 0)
//! lrₜ = lr / (1 + (t − 1)·lr_decay)
//! S ← S + g²                            (S = initial_accumulator_value before step 1)
//! p ← p − lrₜ·g / (√S + ε)
//! ```
//!
//! State: the sum of squared gradients `S`, `n` values, set to
//! `initial_accumulator_value` at `t = 1`.

use super::{Names, check_range, check_step_args};
use mote_core::Result;

/// Adagrad hyper-parameters; `Default` is PyTorch's.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Learning-rate decay `≥ 0`: step `t` uses `lr / (1 + (t − 1)·lr_decay)`; default 0.
    pub lr_decay: f32,
    /// L2 weight decay `wd ≥ 0` added to the gradient; default 0.
    pub weight_decay: f32,
    /// Starting value `≥ 0` of the squared-gradient sum; default 0.
    pub initial_accumulator_value: f32,
    /// Denominator term ε ≥ 0, added outside the square root; default 1e-10.
    pub eps: f32,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

impl Params {
    /// Checks the hyper-parameters: all finite and `≥ 0`.
    pub fn validate(&self) -> Result<()> {
        check_range("adagrad: lr_decay", self.lr_decay, 0.0, f32::MAX)?;
        check_range("adagrad: weight_decay", self.weight_decay, 0.0, f32::MAX)?;
        check_range(
            "adagrad: initial_accumulator_value",
            self.initial_accumulator_value,
            0.0,
            f32::MAX,
        )?;
        check_range("adagrad: eps", self.eps, 0.0, f32::MAX)?;
        Ok(())
    }
}

/// State values one tensor of `n` parameters needs: `n`.
pub fn state_len(_p: &Params, n: usize) -> usize {
    n
}

/// One Adagrad step on `params` from `grads` (same length), with the squared-gradient
/// sums in `state` (length [`state_len`]); `t` is the 1-based step number, which drives
/// the learning-rate decay (the sums start from `initial_accumulator_value` at `t = 1`).
///
/// Errors: invalid hyper-parameters ([`Params::validate`]), `lr` negative or not finite,
/// `t = 0`, or mismatched lengths.
pub fn step(
    p: &Params,
    lr: f32,
    t: u64,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) -> Result<()> {
    p.validate()?;
    let at = Names {
        lr: "adagrad: lr",
        step: "adagrad: t",
        grads: "adagrad: grads",
        state: "adagrad: state",
    };
    check_step_args(at, lr, t, params, grads, state, state_len(p, params.len()))?;
    if t == 1 {
        state.fill(p.initial_accumulator_value);
    }
    // In f64 like PyTorch's Python float: lr / (1 + (t − 1)·lr_decay).
    let clr = (lr as f64 / (1.0 + (t - 1) as f64 * p.lr_decay as f64)) as f32;
    let (wd, eps) = (p.weight_decay, p.eps);
    for ((w, &g), s) in params.iter_mut().zip(grads).zip(state.iter_mut()) {
        let g = g + wd * *w;
        *s += g * g;
        *w -= clr * (g / (libm::sqrtf(*s) + eps));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::{Error, ErrorKind};

    #[test]
    fn two_steps_by_hand() {
        // Step 1: S₀ = 0, g = 3 → S = 9, p ← 1 − 0.1·3/3 = 0.9. Step 2 (lr_decay 1 halves lr): g = 4 → S = 25,
        // p ← 0.9 − 0.05·4/5 = 0.86.
        let p = Params {
            lr_decay: 1.0,
            ..Params::default()
        };
        let mut w = [1.0];
        let mut s = [f32::NAN];
        step(&p, 0.1, 1, &mut w, &[3.0], &mut s).unwrap();
        assert_eq!(s, [9.0]);
        assert!((w[0] - 0.9).abs() < 1e-6);
        step(&p, 0.1, 2, &mut w, &[4.0], &mut s).unwrap();
        assert_eq!(s, [25.0]);
        assert!((w[0] - 0.86).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn invalid_configurations() {
        let p = Params {
            initial_accumulator_value: -1.0,
            ..Params::default()
        };
        assert_eq!(
            step(&p, 0.1, 1, &mut [0.0], &[0.0], &mut [0.0]),
            Err(Error::new(
                ErrorKind::InvalidFloat,
                "adagrad: initial_accumulator_value"
            ))
        );
    }
}
