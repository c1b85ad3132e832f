//! Stochastic gradient descent with optional momentum, dampening, Nesterov momentum
//! and weight decay, as PyTorch's `torch.optim.SGD`:
//!
//! ```text
//! d ← g + wd·p                                   (weight decay, if wd ≠ 0)
//! b ← d                      at t = 1            (momentum buffer, if μ ≠ 0)
//! b ← μ·b + (1 − dampening)·d  afterwards
//! d ← d + μ·b  (Nesterov)   or   d ← b  (classical)
//! p ← p − lr·d
//! ```
//!
//! State: the momentum buffer `b`, `n` values when `momentum ≠ 0`, none otherwise.
//!
//! Plain SGD without weight decay, and classical momentum (after the buffer update),
//! apply the step `p ← p − lr·d` as one [`mote_simd::map::axpy`]: the scalar path's
//! `p + fl(−lr·d)` is the loop's `p − fl(lr·d)` bit for bit; the SIMD paths' fused
//! multiply-add differs from it by at most the rounding of `lr·d` and of the sum (see
//! `axpy`). Nesterov momentum and plain SGD with weight decay keep the scalar loop.

use super::{Names, check_range, check_step_args};
use mote_core::{Error, ErrorKind, Result};
use mote_simd::map::axpy;

/// SGD hyper-parameters; `Default` is PyTorch's (plain SGD).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Momentum factor μ ≥ 0; 0 (the default) disables momentum and its state.
    pub momentum: f32,
    /// Dampening of the gradient's contribution to the momentum buffer, in `[0, 1]`;
    /// default 0. Not applied at the first step.
    pub dampening: f32,
    /// Nesterov momentum (needs `momentum > 0` and `dampening = 0`); default false.
    pub nesterov: bool,
    /// L2 weight decay `wd ≥ 0` added to the gradient as `wd·p`; default 0.
    pub weight_decay: f32,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

impl Params {
    /// Checks the hyper-parameters: all finite, `momentum ≥ 0`, `dampening ∈ [0, 1]`,
    /// `weight_decay ≥ 0`, and Nesterov only with momentum and no dampening (PyTorch's
    /// rule).
    pub fn validate(&self) -> Result<()> {
        check_range("sgd: momentum", self.momentum, 0.0, f32::MAX)?;
        check_range("sgd: dampening", self.dampening, 0.0, 1.0)?;
        check_range("sgd: weight_decay", self.weight_decay, 0.0, f32::MAX)?;
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            return Err(Error::new(ErrorKind::InvalidFloat, "sgd: nesterov"));
        }
        Ok(())
    }
}

/// State values one tensor of `n` parameters needs: `n` with momentum, else 0.
pub fn state_len(p: &Params, n: usize) -> usize {
    if p.momentum != 0.0 { n } else { 0 }
}

/// One SGD step on `params` from `grads` (same length), with the momentum buffer in
/// `state` (length [`state_len`]); `t` is the 1-based step number (the buffer is set
/// to the gradient at `t = 1`).
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
        lr: "sgd: lr",
        step: "sgd: t",
        grads: "sgd: grads",
        state: "sgd: state",
    };
    let len = state_len(p, params.len());
    check_step_args(at, lr, t, params, grads, state, len)?;
    let wd = p.weight_decay;
    if p.momentum == 0.0 {
        if wd == 0.0 {
            return axpy(-lr, grads, params);
        }
        for (w, &g) in params.iter_mut().zip(grads) {
            let d = g + wd * *w;
            *w -= lr * d;
        }
        return Ok(());
    }
    let mu = p.momentum;
    let take = 1.0 - p.dampening;
    let first = t == 1;
    if !p.nesterov {
        // Classical momentum: the buffer is the step, so update it first (from the
        // parameters before the step), then `p ← p − lr·b` in one pass.
        for ((&w, &g), b) in params.iter().zip(grads).zip(state.iter_mut()) {
            let d = g + wd * w;
            *b = if first { d } else { mu * *b + take * d };
        }
        return axpy(-lr, state, params);
    }
    for ((w, &g), b) in params.iter_mut().zip(grads).zip(state.iter_mut()) {
        let d = g + wd * *w;
        *b = if first { d } else { mu * *b + take * d };
        let d = if p.nesterov { d + mu * *b } else { *b };
        *w -= lr * d;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_sgd() {
        let mut w = [1.0, -2.0];
        step(&Params::default(), 0.5, 1, &mut w, &[2.0, 1.0], &mut []).unwrap();
        assert_eq!(w, [0.0, -2.5]);
    }

    #[test]
    fn momentum_first_step_copies_the_gradient() {
        let p = Params {
            momentum: 0.9,
            dampening: 0.5,
            ..Params::default()
        };
        let mut w = [0.0];
        let mut b = [f32::NAN]; // whatever was there is replaced at t = 1
        step(&p, 1.0, 1, &mut w, &[1.0], &mut b).unwrap();
        assert_eq!((w, b), ([-1.0], [1.0]));
        // b = 0.9·1 + 0.5·1 = 1.4; w = −1 − 1.4.
        step(&p, 1.0, 2, &mut w, &[1.0], &mut b).unwrap();
        assert_eq!(b, [1.4]);
        assert!((w[0] + 2.4).abs() < 1e-6);
    }

    #[test]
    fn invalid_configurations() {
        let nesterov = Params {
            nesterov: true,
            ..Params::default()
        };
        assert_eq!(
            step(&nesterov, 0.1, 1, &mut [0.0], &[0.0], &mut []),
            Err(Error::new(ErrorKind::InvalidFloat, "sgd: nesterov"))
        );
        let p = Params::default();
        assert_eq!(
            step(&p, 0.1, 1, &mut [0.0], &[0.0, 1.0], &mut []),
            Err(Error::length("sgd: grads", 1, 2))
        );
        assert!(step(&p, -0.1, 1, &mut [0.0], &[0.0], &mut []).is_err());
        assert_eq!(
            step(&p, 0.1, 0, &mut [0.0], &[0.0], &mut []),
            Err(Error::zero("sgd: t"))
        );
        let m = Params { momentum: 0.9, ..p };
        assert_eq!(
            step(&m, 0.1, 1, &mut [0.0], &[0.0], &mut []),
            Err(Error::length("sgd: state", 1, 0))
        );
    }
}
