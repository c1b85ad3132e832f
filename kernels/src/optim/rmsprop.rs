//! RMSprop with optional momentum and centering, as PyTorch's `torch.optim.RMSprop`:
//!
//! ```text
//! g ← g + wd·p                                  (weight decay, if wd ≠ 0)
//! v ← α·v + (1 − α)·g²
//! ḡ ← α·ḡ + (1 − α)·g,  s ← √max(v − ḡ², 0) + ε    (centered)
//!                       s ← √v + ε                 (otherwise)
//! b ← μ·b + g / s,  p ← p − lr·b                  (momentum μ > 0)
//! p ← p − lr·g / s                                (otherwise)
//! ```
//!
//! The `max(·, 0)` guards the centered variance against f32 rounding (it is never
//! negative in exact arithmetic; PyTorch would take the root of a negative number).
//! State layout: `[v | b | ḡ]`, with `b` present only when `momentum > 0` and `ḡ` only
//! when centered; all zero at `t = 1`.

use super::{Names, check_range, check_step_args};
use mote_core::Result;

/// RMSprop hyper-parameters; `Default` is PyTorch's.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Smoothing constant α of the squared-gradient average, in `[0, 1]`; default 0.99.
    pub alpha: f32,
    /// Denominator term ε ≥ 0, added outside the square root; default 1e-8.
    pub eps: f32,
    /// L2 weight decay `wd ≥ 0` added to the gradient; default 0.
    pub weight_decay: f32,
    /// Momentum factor μ ≥ 0; 0 (the default) disables momentum and its state.
    pub momentum: f32,
    /// Normalise by the estimated variance instead of the uncentered second moment;
    /// default false.
    pub centered: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

impl Params {
    /// Checks the hyper-parameters: all finite, `α ∈ [0, 1]`, ε, weight decay and
    /// momentum `≥ 0`.
    pub fn validate(&self) -> Result<()> {
        check_range("rmsprop: alpha", self.alpha, 0.0, 1.0)?;
        check_range("rmsprop: eps", self.eps, 0.0, f32::MAX)?;
        check_range("rmsprop: weight_decay", self.weight_decay, 0.0, f32::MAX)?;
        check_range("rmsprop: momentum", self.momentum, 0.0, f32::MAX)?;
        Ok(())
    }

    /// How many `n`-value blocks the state holds.
    fn blocks(&self) -> usize {
        1 + usize::from(self.momentum > 0.0) + usize::from(self.centered)
    }
}

/// State values one tensor of `n` parameters needs: `n`, plus `n` with momentum, plus
/// `n` when centered (saturating).
pub fn state_len(p: &Params, n: usize) -> usize {
    n.saturating_mul(p.blocks())
}

/// One RMSprop step on `params` from `grads` (same length), with the averages and the
/// momentum buffer in `state` (length [`state_len`], layout `[v | b | ḡ]`); `t` is the
/// 1-based step number (the state is taken as zero at `t = 1`).
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
        lr: "rmsprop: lr",
        step: "rmsprop: t",
        grads: "rmsprop: grads",
        state: "rmsprop: state",
    };
    let n = params.len();
    check_step_args(at, lr, t, params, grads, state, state_len(p, n))?;
    if t == 1 {
        state.fill(0.0);
    }
    let (v, rest) = state.split_at_mut(n);
    let (buf, rest) = rest.split_at_mut(if p.momentum > 0.0 { n } else { 0 });
    let (avg, _) = rest.split_at_mut(if p.centered { n } else { 0 });
    let (alpha, eps, wd, mu) = (p.alpha, p.eps, p.weight_decay, p.momentum);
    let take = 1.0 - alpha;

    // Returns the denominator s of one element after updating its averages.
    let denom = |g: f32, v: &mut f32, avg: Option<&mut f32>| {
        *v = alpha * *v + take * g * g;
        match avg {
            Some(a) => {
                // PyTorch: grad_avg.lerp_(grad, 1 − α).
                *a += take * (g - *a);
                libm::sqrtf((*v - *a * *a).max(0.0)) + eps
            }
            None => libm::sqrtf(*v) + eps,
        }
    };

    match (p.momentum > 0.0, p.centered) {
        (false, false) => {
            for ((w, &g), v) in params.iter_mut().zip(grads).zip(v.iter_mut()) {
                let g = g + wd * *w;
                *w -= lr * (g / denom(g, v, None));
            }
        }
        (false, true) => {
            let elems = params.iter_mut().zip(grads).zip(v.iter_mut().zip(avg));
            for ((w, &g), (v, a)) in elems {
                let g = g + wd * *w;
                *w -= lr * (g / denom(g, v, Some(a)));
            }
        }
        (true, false) => {
            let elems = params.iter_mut().zip(grads).zip(v.iter_mut().zip(buf));
            for ((w, &g), (v, b)) in elems {
                let g = g + wd * *w;
                *b = mu * *b + g / denom(g, v, None);
                *w -= lr * *b;
            }
        }
        (true, true) => {
            let elems = params
                .iter_mut()
                .zip(grads)
                .zip(v.iter_mut().zip(buf))
                .zip(avg.iter_mut());
            for (((w, &g), (v, b)), a) in elems {
                let g = g + wd * *w;
                *b = mu * *b + g / denom(g, v, Some(a));
                *w -= lr * *b;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::Error;

    #[test]
    fn first_step_by_hand() {
        // α = 0.75: v = 0.25·g² = 1 for g = 2, s = 1 (+ε); p ← 1 − 0.1·2 = 0.8.
        let p = Params {
            alpha: 0.75,
            ..Params::default()
        };
        let mut w = [1.0];
        let mut s = [f32::NAN];
        step(&p, 0.1, 1, &mut w, &[2.0], &mut s).unwrap();
        assert_eq!(s, [1.0]);
        assert!((w[0] - 0.8).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn state_layout_lengths() {
        let p = Params {
            momentum: 0.5,
            centered: true,
            ..Params::default()
        };
        assert_eq!(state_len(&p, 4), 12);
        assert_eq!(state_len(&Params::default(), 4), 4);
        assert_eq!(
            step(&p, 0.1, 1, &mut [0.0; 4], &[0.0; 4], &mut [0.0; 8]),
            Err(Error::length("rmsprop: state", 12, 8))
        );
    }
}
