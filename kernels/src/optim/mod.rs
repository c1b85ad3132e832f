//! Optimisers as in-place update kernels, plus weight penalties and gradient clipping.
//!
//! Every optimiser module has the same shape:
//!
//! ```text
//! Params                       Copy, pub fields, Default = PyTorch's defaults
//! Params::validate(&self)      checks the hyper-parameters (step does it too)
//! state_len(&Params, n)        the state slice one parameter tensor of n values needs
//! step(&Params, lr, t, params, grads, state) -> Result<()>
//! ```
//!
//! `step` updates `params` in place from `grads` (same length) and the optimiser's
//! `state` (exactly `state_len(&cfg, params.len())` values, a layout documented per
//! optimiser). The learning rate `lr` is an argument because schedules belong to the
//! trainer; it must be finite and non-negative. `t` is the 1-based number of this step
//! of this parameter tensor: Adam's bias correction and Adagrad's learning-rate decay
//! use it, and **at `t = 1` every optimiser initialises its state** (PyTorch creates
//! its state lazily at the first step), so the caller need not clear it; `t = 0` is an
//! error. Resuming from a checkpoint means passing the saved state and the next `t`.
//!
//! | module | optimiser | PyTorch defaults | state per value |
//! |---|---|---|---|
//! | [`sgd`] | SGD, momentum, dampening, Nesterov, weight decay | momentum 0, dampening 0, wd 0 | 1 with momentum, else 0 |
//! | [`adam`] | Adam (L2 decay) and AdamW (decoupled decay), AMSGrad | β (0.9, 0.999), ε 1e-8; wd 0 (Adam) / 0.01 (AdamW) | 2, 3 with AMSGrad |
//! | [`rmsprop`] | RMSprop, momentum, centered | α 0.99, ε 1e-8, momentum 0 | 1 + 1 with momentum + 1 centered |
//! | [`adagrad`] | Adagrad, lr decay, initial accumulator | ε 1e-10, lr decay 0, accumulator 0 | 1 |
//!
//! Weight decay in [`sgd`], [`adam`] (L2 mode), [`rmsprop`] and [`adagrad`] adds
//! `wd·p` to the gradient before the update, as PyTorch does; [`adam`]'s decoupled
//! mode (AdamW) shrinks the parameter, `p ← p − lr·wd·p`, instead.
//!
//! Beside the optimisers: [`penalty`] (L1/L2 penalty values and their gradients, for
//! regularisers that belong to the loss) and [`clip`] (clipping by value and by the
//! global norm of several gradient slices), which run between backward and `step`.
//!
//! ```
//! use mote_kernels::optim::{adam, clip};
//!
//! // One dense layer's weights and bias, their gradients from backward, and Adam state.
//! let (mut w, mut b) = ([0.5f32, -0.25, 1.0, 0.0], [0.1f32, -0.1]);
//! let (mut gw, mut gb) = ([3.0f32, 0.0, -4.0, 0.0], [0.0f32, 0.0]);
//! let cfg = adam::Params::adamw();
//! let mut sw = [0.0f32; 8]; // adam::state_len(&cfg, 4)
//! let mut sb = [0.0f32; 4];
//!
//! // Clip the whole gradient to norm 1 (it was 5), then step both tensors.
//! let norm = clip::by_global_norm(1.0, &mut [&mut gw[..], &mut gb[..]])?;
//! assert_eq!(norm, 5.0);
//! for t in 1..=3 {
//!     adam::step(&cfg, 1e-3, t, &mut w, &gw, &mut sw)?;
//!     adam::step(&cfg, 1e-3, t, &mut b, &gb, &mut sb)?;
//! }
//! assert!(w[0] < 0.5 && w[2] > 1.0);
//! # Ok::<(), mote_core::Error>(())
//! ```
//!
//! The per-element arithmetic is f32 in the order PyTorch's single-tensor ("for-loop")
//! implementations use; scalar factors computed once per step (bias corrections, decayed
//! learning rates) are computed in f64, as PyTorch computes them in Python floats.

pub mod adagrad;
pub mod adam;
pub mod clip;
pub mod penalty;
pub mod rmsprop;
pub mod sgd;

use mote_core::error::check_len;
use mote_core::{Error, ErrorKind, Result};

/// Checks a learning rate: finite and `≥ 0`.
fn check_lr(at: &'static str, lr: f32) -> Result<f32> {
    check_range(at, lr, 0.0, f32::MAX)
}

/// Checks a step counter: `t ≥ 1`.
fn check_step(at: &'static str, t: u64) -> Result<()> {
    if t == 0 { Err(Error::zero(at)) } else { Ok(()) }
}

/// Checks that `value` is finite and in `[lo, hi]`.
fn check_range(at: &'static str, value: f32, lo: f32, hi: f32) -> Result<f32> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(value)
    } else {
        Err(Error::new(ErrorKind::InvalidFloat, at))
    }
}

/// Checks that `value` is in `[0, 1)`: an exponential-average decay rate.
fn check_decay(at: &'static str, value: f32) -> Result<f32> {
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Error::new(ErrorKind::InvalidFloat, at))
    }
}

/// Where each argument of an optimiser step is named in its errors.
struct Names {
    lr: &'static str,
    step: &'static str,
    grads: &'static str,
    state: &'static str,
}

/// Checks the arguments every `step` shares.
fn check_step_args(
    at: Names,
    lr: f32,
    t: u64,
    params: &[f32],
    grads: &[f32],
    state: &[f32],
    state_len: usize,
) -> Result<()> {
    check_lr(at.lr, lr)?;
    check_step(at.step, t)?;
    check_len(at.grads, params.len(), grads.len())?;
    check_len(at.state, state_len, state.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_checks() {
        assert_eq!(check_lr("x", 0.0), Ok(0.0));
        assert!(check_lr("x", -1e-3).is_err());
        assert!(check_lr("x", f32::NAN).is_err());
        assert!(check_lr("x", f32::INFINITY).is_err());
        assert_eq!(check_step("t", 0), Err(Error::zero("t")));
        assert!(check_step("t", 1).is_ok());
        assert!(check_decay("b", 0.999).is_ok());
        assert!(check_decay("b", 1.0).is_err());
        assert!(check_decay("b", -0.1).is_err());
        assert!(check_decay("b", f32::NAN).is_err());
    }
}
