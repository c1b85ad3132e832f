//! Adam and AdamW (and their AMSGrad variants), as PyTorch's `torch.optim.Adam` and
//! `torch.optim.AdamW`:
//!
//! ```text
//! g ← g + wd·p                 (Adam: L2 decay through the gradient)
//! p ← p − lr·wd·p              (AdamW: decoupled decay of the parameter)
//! m ← β₁·m + (1 − β₁)·g
//! v ← β₂·v + (1 − β₂)·g²
//! v̂ ← max(v̂, v)                (AMSGrad only; v̂ is the running maximum)
//! p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)       (√v̂ with AMSGrad)
//! ```
//!
//! `ε` is added *outside* the square root and after the bias correction, as PyTorch
//! does. State layout: `[m | v]` (`2n` values), `[m | v | v̂]` (`3n`) with AMSGrad; all
//! zero at `t = 1`.

use super::{Names, check_decay, check_range, check_step_args};
use mote_core::Result;

/// How weight decay enters the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Decay {
    /// `g ← g + wd·p` before the moments: L2 regularisation (Adam, PyTorch's `Adam`).
    L2,
    /// `p ← p − lr·wd·p` beside the moments (AdamW, PyTorch's `AdamW`): the decay is
    /// not rescaled by the adaptive denominator.
    Decoupled,
}

/// Adam / AdamW hyper-parameters. `Default` (= [`Params::adam`]) is PyTorch's `Adam`;
/// [`Params::adamw`] is PyTorch's `AdamW`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Decay rate β₁ of the first moment, in `[0, 1)`; default 0.9.
    pub beta1: f32,
    /// Decay rate β₂ of the second moment, in `[0, 1)`; default 0.999.
    pub beta2: f32,
    /// Denominator term ε ≥ 0, added outside the square root; default 1e-8.
    pub eps: f32,
    /// Weight decay `wd ≥ 0`; default 0 for Adam, 0.01 for AdamW.
    pub weight_decay: f32,
    /// How the decay is applied: [`Decay::L2`] (Adam) or [`Decay::Decoupled`] (AdamW).
    pub decay: Decay,
    /// Use the running maximum of `v` (AMSGrad); default false.
    pub amsgrad: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self::adam()
    }
}

impl Params {
    /// PyTorch's `Adam` defaults: β (0.9, 0.999), ε 1e-8, no weight decay.
    pub const fn adam() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decay: Decay::L2,
            amsgrad: false,
        }
    }

    /// PyTorch's `AdamW` defaults: β (0.9, 0.999), ε 1e-8, decoupled weight decay 0.01.
    pub const fn adamw() -> Self {
        Self {
            weight_decay: 0.01,
            decay: Decay::Decoupled,
            ..Self::adam()
        }
    }

    /// Checks the hyper-parameters: β₁, β₂ in `[0, 1)`, ε and weight decay finite and
    /// `≥ 0`.
    pub fn validate(&self) -> Result<()> {
        check_decay("adam: beta1", self.beta1)?;
        check_decay("adam: beta2", self.beta2)?;
        check_range("adam: eps", self.eps, 0.0, f32::MAX)?;
        check_range("adam: weight_decay", self.weight_decay, 0.0, f32::MAX)?;
        Ok(())
    }
}

/// State values one tensor of `n` parameters needs: `2n`, or `3n` with AMSGrad
/// (saturating, so an absurd `n` gives a length no slice has).
pub fn state_len(p: &Params, n: usize) -> usize {
    n.saturating_mul(if p.amsgrad { 3 } else { 2 })
}

/// One Adam/AdamW step on `params` from `grads` (same length), with the moments in
/// `state` (length [`state_len`], layout `[m | v | v̂]`); `t` is the 1-based step
/// number, which drives the bias correction (the state is taken as zero at `t = 1`).
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
        lr: "adam: lr",
        step: "adam: t",
        grads: "adam: grads",
        state: "adam: state",
    };
    let n = params.len();
    check_step_args(at, lr, t, params, grads, state, state_len(p, n))?;
    let (m, rest) = state.split_at_mut(n);
    let (v, vmax) = rest.split_at_mut(n);

    // Scalars of this step in f64, like PyTorch's Python floats: 1 − β₂ᵗ cancels (at
    // β₂ = 0.999, t = 1, f32 would keep only ~3 of its 7 digits). On cores without an
    // f64 unit these few operations per tensor and step run in software.
    let tf = t as f64;
    let bias1 = 1.0 - libm::pow(p.beta1 as f64, tf);
    let bias2 = 1.0 - libm::pow(p.beta2 as f64, tf);
    let step_size = (lr as f64 / bias1) as f32;
    let inv_bias2_sqrt = (1.0 / libm::sqrt(bias2)) as f32;
    let (l2, shrink) = match p.decay {
        Decay::L2 => (p.weight_decay, 1.0),
        Decay::Decoupled => (0.0, (1.0 - lr as f64 * p.weight_decay as f64) as f32),
    };
    let k = Moments {
        l2,
        shrink,
        beta1: p.beta1,
        beta2: p.beta2,
        first: t == 1,
    };
    let eps = p.eps;

    let elems = params
        .iter_mut()
        .zip(grads)
        .zip(m.iter_mut().zip(v.iter_mut()));
    if p.amsgrad {
        for (((w, &g), (m, v)), vmax) in elems.zip(vmax.iter_mut()) {
            let (m, v) = k.update(w, g, m, v);
            // PyTorch: torch.maximum(max_exp_avg_sq, exp_avg_sq); the maximum starts at 0.
            let vm = if k.first { v } else { vmax.max(v) };
            *vmax = vm;
            *w -= step_size * (m / (libm::sqrtf(vm) * inv_bias2_sqrt + eps));
        }
    } else {
        // In blocks, so that the square roots run as one vector call per block and the
        // rest of the update vectorises; the results are those of the element loop
        // (every operation is correctly rounded in the same order).
        const BLOCK: usize = 64;
        let mut root = [0.0f32; BLOCK];
        for ((w, g), (m, v)) in params
            .chunks_mut(BLOCK)
            .zip(grads.chunks(BLOCK))
            .zip(m.chunks_mut(BLOCK).zip(v.chunks_mut(BLOCK)))
        {
            let root = &mut root[..w.len()];
            for ((((w, &g), m), v), r) in w
                .iter_mut()
                .zip(g)
                .zip(m.iter_mut())
                .zip(v.iter_mut())
                .zip(root.iter_mut())
            {
                let (_, v) = k.update(w, g, m, v);
                *r = v;
            }
            mote_simd::math::sqrt_in_place(root);
            for ((w, m), r) in w.iter_mut().zip(m.iter()).zip(root.iter()) {
                *w -= step_size * (m / (r * inv_bias2_sqrt + eps));
            }
        }
    }
    Ok(())
}

/// The per-step constants of the element update.
#[derive(Clone, Copy)]
struct Moments {
    /// Weight decay added to the gradient (0 when decoupled).
    l2: f32,
    /// Factor applied to the parameter, `1 − lr·wd` when decoupled (else 1).
    shrink: f32,
    beta1: f32,
    beta2: f32,
    /// Step 1: the previous moments are taken as 0, whatever the state holds.
    first: bool,
}

impl Moments {
    /// Applies the weight decay to `w` or `g` and updates the moments `m`, `v` in
    /// place; returns the new moments.
    #[inline(always)]
    fn update(self, w: &mut f32, g: f32, m: &mut f32, v: &mut f32) -> (f32, f32) {
        let g = g + self.l2 * *w;
        *w *= self.shrink;
        let (m0, v0) = if self.first { (0.0, 0.0) } else { (*m, *v) };
        // PyTorch: exp_avg.lerp_(grad, 1 − β₁); exp_avg_sq.mul_(β₂).addcmul_(grad, grad, 1 − β₂).
        *m = m0 + (1.0 - self.beta1) * (g - m0);
        *v = self.beta2 * v0 + (1.0 - self.beta2) * g * g;
        (*m, *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::{Error, ErrorKind};

    #[test]
    fn first_step_moves_by_lr_against_the_gradient_sign() {
        // m̂ = g and v̂ = g² at t = 1, so the step is lr·g/(|g| + ε) ≈ lr·sign(g).
        let mut w = [1.0, 1.0];
        let mut s = [f32::NAN; 4];
        step(&Params::adam(), 0.1, 1, &mut w, &[3.0, -0.5], &mut s).unwrap();
        assert!(
            (w[0] - 0.9).abs() < 1e-6 && (w[1] - 1.1).abs() < 1e-6,
            "{w:?}"
        );
    }

    #[test]
    fn adamw_decays_the_parameter_directly() {
        // With a zero gradient the moments stay 0 and only the decay acts: p·(1 − lr·wd).
        let p = Params {
            weight_decay: 0.5,
            ..Params::adamw()
        };
        let mut w = [2.0];
        step(&p, 0.1, 1, &mut w, &[0.0], &mut [0.0; 2]).unwrap();
        assert!((w[0] - 1.9).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn invalid_configurations() {
        let p = Params {
            beta2: 1.0,
            ..Params::adam()
        };
        assert_eq!(
            step(&p, 0.1, 1, &mut [0.0], &[0.0], &mut [0.0; 2]),
            Err(Error::new(ErrorKind::InvalidFloat, "adam: beta2"))
        );
        let p = Params {
            amsgrad: true,
            ..Params::adam()
        };
        assert_eq!(
            step(&p, 0.1, 1, &mut [0.0], &[0.0], &mut [0.0; 2]),
            Err(Error::length("adam: state", 3, 2))
        );
        assert_eq!(state_len(&p, usize::MAX), usize::MAX);
    }
}
