//! Simple (Elman) recurrent layer over whole sequences: forward, and backward through
//! time.
//!
//! `h_t = act(W·x_t + b + U·h_{t−1} + b_U)` with `act` tanh (Keras' `SimpleRNN`,
//! PyTorch's `RNN` default) or ReLU (PyTorch's `nonlinearity='relu'`). Forward saves
//! every step's hidden state (time-major, processing order) in the caller's `saved`
//! buffer ([`saved_len`]); the derivative of either activation is a function of its
//! output, so nothing else is needed.

use super::params::{
    GradLens, Params, Sites, StateMut, StateRef, WeightGrads, Weights, add_column_sums,
    check_backward, check_forward, step_view, step_view_mut,
};
use super::sequence::{
    add_output_grad, add_state, at, copy_or_zero, input_side, last_state, previous, project_inputs,
    recurrent_side, write_output,
};
use mote_core::error::check_len;
use mote_core::{Error, ErrorKind, Result};
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use mote_simd::math::tanh_in_place;

/// The activation of a simple RNN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Activation {
    /// `tanh`.
    #[default]
    Tanh,
    /// `max(0, x)`.
    Relu,
}

impl Activation {
    fn apply(self, xs: &mut [f32]) {
        match self {
            Self::Tanh => tanh_in_place(xs),
            Self::Relu => xs.iter_mut().for_each(|x| *x = x.max(0.0)),
        }
    }

    /// The derivative at the input whose output is `y`.
    fn slope(self, y: f32) -> f32 {
        match self {
            Self::Tanh => 1.0 - y * y,
            Self::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// How this layer names its buffers in errors.
const AT: Sites = Sites {
    input: "rnn: input",
    initial: "rnn: initial state",
    output: "rnn: output",
    saved: "rnn: saved",
    grad_output: "rnn: grad_output",
    grad_final: "rnn: grad_final",
    grad_input: "rnn: grad_input",
    grad_initial: "rnn: grad_initial",
    scratch: "rnn: scratch",
};

/// Floats of `saved` for [`forward`] and [`backward`]: `2·batch·steps·hidden` (the
/// pre-activations and the hidden states).
///
/// Errors: as for [`forward`]'s geometry.
pub fn saved_len(p: &Params) -> Result<usize> {
    let s = p.sizes(1)?;
    s.rows
        .checked_mul(2 * p.hidden)
        .ok_or(Error::new(ErrorKind::Overflow, "rnn: saved"))
}

/// Floats of scratch [`backward`] needs: `batch·steps·2·hidden` (every step's
/// pre-activation gradients, and the previous states aligned with them) plus
/// `batch·hidden`.
///
/// Errors: as for [`forward`]'s geometry.
pub fn backward_scratch_len(p: &Params) -> Result<usize> {
    let s = p.sizes(1)?;
    s.rows
        .checked_mul(2 * p.hidden)
        .and_then(|n| n.checked_add(s.state))
        .ok_or(Error::new(ErrorKind::Overflow, "rnn: scratch"))
}

/// Copies the hidden state after the last step (`[batch][hidden]`) out of a `saved`
/// buffer that [`forward`] filled.
///
/// Errors: as for [`forward`]'s geometry; `LengthMismatch` when `saved` is not
/// [`saved_len`] long or `h` is not `batch·hidden`.
pub fn final_state(p: &Params, saved: &[f32], h: &mut [f32]) -> Result<()> {
    let s = p.sizes(1)?;
    check_len("rnn: saved", saved_len(p)?, saved.len())?;
    check_len("rnn: final h", s.state, h.len())?;
    last_state(p, &saved[s.rows * p.hidden..], h);
    Ok(())
}

/// Forward over the whole sequence: `output` gets the hidden states (every step's, or
/// the last), `saved` every step's. `initial.h` is the state before the first step
/// processed (zeros when `None`); `initial.c` must be `None`.
///
/// Errors: `Zero` for a zero size; `LengthMismatch` for a buffer of the wrong length;
/// `Unsupported` for a cell state; `Overflow` when a length overflows.
pub fn forward(
    p: &Params,
    act: Activation,
    input: &[f32],
    weights: &Weights<'_>,
    initial: StateRef<'_>,
    output: &mut [f32],
    saved: &mut [f32],
) -> Result<()> {
    let s = p.sizes(1)?;
    let saved_lens = (saved_len(p)?, saved.len());
    check_forward(
        &AT,
        &s,
        input.len(),
        weights,
        &initial,
        output.len(),
        saved_lens,
        false,
    )?;
    let h = p.hidden;
    let (pre, hs) = saved.split_at_mut(s.rows * h);
    project_inputs(
        p,
        &s,
        input,
        weights.input,
        weights.bias,
        weights.recurrent_bias,
        pre,
    )?;
    let u = MatRef::row_major(weights.recurrent, h, h)?.t();
    for step in 0..p.steps {
        let t = p.time(step);
        let h_prev = match previous(p, t) {
            Some(tp) => Some(step_view(hs, p, tp, h)?),
            None => initial
                .h
                .map(|h0| MatRef::row_major(h0, p.batch, h))
                .transpose()?,
        };
        if let Some(hp) = h_prev {
            sgemm(1.0, hp, u, 1.0, step_view_mut(pre, p, t, h)?)?;
        }
        for b in 0..p.batch {
            let here = at(p, b, t, h);
            let row = &mut hs[here..here + h];
            row.copy_from_slice(&pre[here..here + h]);
            act.apply(row);
        }
    }
    write_output(p, hs, output);
    Ok(())
}

/// Backward through time: from `grad_output` and the final state's gradient
/// (`grad_final.h`, zeros when `None`), adds `∂L/∂input`, the weight gradients and
/// `∂L/∂h_0` to the buffers given.
///
/// `input`, `weights`, `initial` and `saved` must be those of the [`forward`] call (not
/// checked beyond their lengths); `scratch` is [`backward_scratch_len`] floats, not read.
///
/// Errors: as for [`forward`]; `BufferTooSmall` for a short `scratch`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &Params,
    act: Activation,
    input: &[f32],
    weights: &Weights<'_>,
    initial: StateRef<'_>,
    saved: &[f32],
    grad_output: &[f32],
    grad_final: StateRef<'_>,
    grad_input: Option<&mut [f32]>,
    mut grads: WeightGrads<'_>,
    grad_initial: StateMut<'_>,
    scratch: &mut [f32],
) -> Result<()> {
    let s = p.sizes(1)?;
    let lens = GradLens {
        output: grad_output.len(),
        fin: &grad_final,
        input: grad_input.as_deref().map(<[f32]>::len),
        weights: &grads,
        initial: &grad_initial,
    };
    let saved_lens = (saved_len(p)?, saved.len());
    let scratch_lens = (backward_scratch_len(p)?, scratch.len());
    check_backward(
        &AT,
        &s,
        input.len(),
        weights,
        &initial,
        saved_lens,
        lens,
        scratch_lens,
        false,
    )?;
    let h = p.hidden;
    let hs = &saved[s.rows * h..];
    let (dpre, rest) = scratch.split_at_mut(s.rows * h);
    let (shifted, rest) = rest.split_at_mut(s.rows * h);
    let dh = &mut rest[..s.state];
    copy_or_zero(dh, grad_final.h);
    let u = MatRef::row_major(weights.recurrent, h, h)?;
    for step in (0..p.steps).rev() {
        let t = p.time(step);
        add_output_grad(p, grad_output, step, t, dh);
        for b in 0..p.batch {
            let here = at(p, b, t, h);
            let d = &mut dpre[here..here + h];
            let (dhb, y) = (&dh[b * h..(b + 1) * h], &hs[here..here + h]);
            for ((d, &dhi), &y) in d.iter_mut().zip(dhb).zip(y) {
                *d = dhi * act.slope(y);
            }
        }
        sgemm(
            1.0,
            step_view(dpre, p, t, h)?,
            u,
            0.0,
            MatMut::row_major(dh, p.batch, h)?,
        )?;
    }
    add_state(grad_initial.h, dh);
    input_side(p, &s, input, weights.input, dpre, grad_input, &mut grads)?;
    if let Some(du) = grads.recurrent.as_deref_mut() {
        recurrent_side(p, &s, 0..h, h, initial.h, hs, dpre, du, shifted)?;
    }
    if let Some(db) = grads.recurrent_bias.as_deref_mut() {
        add_column_sums(db, dpre, h);
    }
    Ok(())
}
