//! Gated recurrent unit (GRU) over whole sequences: forward, and backward through time,
//! in both of its published forms.
//!
//! Gate order `z, r, n` (update, reset, candidate), each a block of `hidden` rows of the
//! weights — Keras' order; PyTorch's is `r, z, n` (swap the first two blocks of every
//! weight and bias to load its parameters). With `x̂ = W·x_t + b`:
//!
//! ```text
//! reset after (Keras' default, PyTorch, cuDNN), ĥ = U·h_{t−1} + b_U:
//!   z = σ(x̂_z + ĥ_z)   r = σ(x̂_r + ĥ_r)   n = tanh(x̂_n + r·ĥ_n)
//! reset before (the original GRU, Keras' reset_after=False):
//!   z = σ(x̂_z + U_z·h_{t−1} + b_Uz)   r = σ(x̂_r + U_r·h_{t−1} + b_Ur)
//!   n = tanh(x̂_n + U_n·(r·h_{t−1}) + b_Un)
//! both:  h_t = z·h_{t−1} + (1 − z)·n
//! ```
//!
//! Forward saves, in the caller's `saved` buffer ([`saved_len`]), every step's `z, r, n`,
//! the candidate's recurrent term (`ĥ_n` reset after, `r·h_{t−1}` reset before) and the
//! hidden state, time-major in processing order.

use super::params::{
    Params, StateMut, StateRef, WeightGrads, Weights, add_column_sums, check_state,
    check_weight_grads, check_weights, fill_bias, step_view,
};
use super::sequence::{
    add_output_grad, add_state, aligned_side, copy_or_zero, input_side, recurrent_side,
    write_output,
};
use crate::math::{sigmoid, tanh};
use mote_core::error::{check_capacity, check_len};
use mote_core::{Error, ErrorKind, Result};
use mote_simd::gemm::{MatMut, MatRef, sgemm};

/// Gate blocks of a GRU.
const GATES: usize = 3;

/// Where the reset gate applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reset {
    /// To the candidate's recurrent product, `r·(U_n·h + b_Un)` (Keras' default since
    /// TF 2, PyTorch, cuDNN).
    #[default]
    After,
    /// To the previous state, `U_n·(r·h) + b_Un` (the original formulation).
    Before,
}

/// Floats of `saved` for [`forward`] and [`backward`]: `steps·batch·5·hidden`.
///
/// Errors: as for [`forward`]'s geometry.
pub fn saved_len(p: &Params) -> Result<usize> {
    let s = p.sizes(GATES)?;
    s.rows
        .checked_mul(5 * p.hidden)
        .ok_or(Error::new(ErrorKind::Overflow, "gru: saved"))
}

/// Floats of scratch [`backward`] needs: `steps·batch·4·hidden` (every step's gate
/// gradients and the candidate's recurrent gradient) plus `3·batch·hidden`.
///
/// Errors: as for [`forward`]'s geometry.
pub fn backward_scratch_len(p: &Params) -> Result<usize> {
    let s = p.sizes(GATES)?;
    s.rows
        .checked_mul(4 * p.hidden)
        .and_then(|g| g.checked_add(3 * s.state))
        .ok_or(Error::new(ErrorKind::Overflow, "gru: scratch"))
}

/// The regions of `saved`: gate activations `[steps][batch][3·hidden]`, the candidate's
/// recurrent terms and the hidden states `[steps][batch][hidden]`.
fn regions(saved: &[f32], rows: usize, hidden: usize) -> (&[f32], &[f32], &[f32]) {
    let (gates, rest) = saved.split_at(rows * GATES * hidden);
    let (terms, hs) = rest.split_at(rows * hidden);
    (gates, terms, hs)
}

/// The last hidden state (`[batch][hidden]`) of a `saved` buffer that [`forward`] filled.
///
/// Errors: as for [`forward`]'s geometry; `LengthMismatch` when `saved` is not
/// [`saved_len`] long.
pub fn final_state<'a>(p: &Params, saved: &'a [f32]) -> Result<&'a [f32]> {
    let s = p.sizes(GATES)?;
    check_len("gru: saved", saved_len(p)?, saved.len())?;
    let (_, _, hs) = regions(saved, s.rows, p.hidden);
    Ok(&hs[s.rows * p.hidden - s.state..])
}

/// Forward over the whole sequence: `output` gets the hidden states (every step's, or
/// the last), `saved` everything [`backward`] needs. `initial.h` is the state before
/// the first step processed (zeros when `None`); `initial.c` must be `None`.
///
/// Errors: `Zero` for a zero size; `LengthMismatch` for a buffer of the wrong length;
/// `Unsupported` for a cell state; `Overflow` when a length overflows.
pub fn forward(
    p: &Params,
    reset: Reset,
    input: &[f32],
    weights: &Weights<'_>,
    initial: StateRef<'_>,
    output: &mut [f32],
    saved: &mut [f32],
) -> Result<()> {
    let s = p.sizes(GATES)?;
    check_len("gru: input", s.input, input.len())?;
    check_weights(weights, &s)?;
    check_state(
        "gru: initial state",
        initial.h.map(<[f32]>::len),
        initial.c.map(<[f32]>::len),
        &s,
        false,
    )?;
    check_len("gru: output", s.output, output.len())?;
    check_len("gru: saved", saved_len(p)?, saved.len())?;
    let (h, rows, g) = (p.hidden, p.batch, s.gates);
    let (gates, rest) = saved.split_at_mut(s.rows * g);
    let (terms, hs) = rest.split_at_mut(s.rows * h);
    let w = MatRef::row_major(weights.input, g, p.inputs)?.t();
    // The recurrent bias goes with the recurrent products here, not into the gates' fill.
    let bu = |k: usize| weights.recurrent_bias.map_or(0.0, |b| b[k]);
    for step in 0..p.steps {
        let t = p.time(step);
        let block = step * s.state;
        let a = &mut gates[step * rows * g..(step + 1) * rows * g];
        fill_bias(a, g, weights.bias, None);
        sgemm(
            1.0,
            step_view(input, p, t, p.inputs)?,
            w,
            1.0,
            MatMut::row_major(a, rows, g)?,
        )?;
        let (done, now) = hs.split_at_mut(block);
        let h_prev = if step == 0 {
            initial.h
        } else {
            Some(&done[block - s.state..])
        };
        let term = &mut terms[block..block + s.state];
        let h_t = &mut now[..s.state];
        match reset {
            Reset::After => {
                // ĥ = U·h + b_U for all three blocks: z and r added to the gates now,
                // ĥ_n kept (it is scaled by r); h_t holds ĥ_z, ĥ_r until overwritten.
                for b in 0..rows {
                    for j in 0..h {
                        term[b * h + j] = bu(2 * h + j);
                    }
                    for k in 0..2 * h {
                        a[b * g + k] += bu(k);
                    }
                }
                if let Some(hp) = h_prev {
                    let hp = MatRef::row_major(hp, rows, h)?;
                    let u_zr = MatRef::row_major(&weights.recurrent[..2 * h * h], 2 * h, h)?.t();
                    let u_n = MatRef::row_major(&weights.recurrent[2 * h * h..], h, h)?.t();
                    sgemm(1.0, hp, u_zr, 1.0, MatMut::new(a, rows, 2 * h, g, 1)?)?;
                    sgemm(1.0, hp, u_n, 1.0, MatMut::row_major(term, rows, h)?)?;
                }
                for b in 0..rows {
                    for j in 0..h {
                        let (k, hn) = (b * g + j, term[b * h + j]);
                        let z = sigmoid(a[k]);
                        let r = sigmoid(a[k + h]);
                        let n = tanh(a[k + 2 * h] + r * hn);
                        (a[k], a[k + h], a[k + 2 * h]) = (z, r, n);
                        let hp = h_prev.map_or(0.0, |v| v[b * h + j]);
                        h_t[b * h + j] = z * hp + (1.0 - z) * n;
                    }
                }
            }
            Reset::Before => {
                for b in 0..rows {
                    for k in 0..g {
                        a[b * g + k] += bu(k);
                    }
                }
                if let Some(hp) = h_prev {
                    let hp = MatRef::row_major(hp, rows, h)?;
                    let u_zr = MatRef::row_major(&weights.recurrent[..2 * h * h], 2 * h, h)?.t();
                    sgemm(1.0, hp, u_zr, 1.0, MatMut::new(a, rows, 2 * h, g, 1)?)?;
                }
                for b in 0..rows {
                    for j in 0..h {
                        let k = b * g + j;
                        let r = sigmoid(a[k + h]);
                        (a[k], a[k + h]) = (sigmoid(a[k]), r);
                        term[b * h + j] = r * h_prev.map_or(0.0, |v| v[b * h + j]);
                    }
                }
                if h_prev.is_some() {
                    let q = MatRef::row_major(term, rows, h)?;
                    let u_n = MatRef::row_major(&weights.recurrent[2 * h * h..], h, h)?.t();
                    let a_n = &mut a[2 * h..];
                    sgemm(1.0, q, u_n, 1.0, MatMut::new(a_n, rows, h, g, 1)?)?;
                }
                for b in 0..rows {
                    for j in 0..h {
                        let k = b * g + j;
                        let (z, n) = (a[k], tanh(a[k + 2 * h]));
                        a[k + 2 * h] = n;
                        let hp = h_prev.map_or(0.0, |v| v[b * h + j]);
                        h_t[b * h + j] = z * hp + (1.0 - z) * n;
                    }
                }
            }
        }
        write_output(p, h_t, step, t, output);
    }
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
    reset: Reset,
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
    let s = p.sizes(GATES)?;
    check_len("gru: input", s.input, input.len())?;
    check_weights(weights, &s)?;
    check_state(
        "gru: initial state",
        initial.h.map(<[f32]>::len),
        initial.c.map(<[f32]>::len),
        &s,
        false,
    )?;
    check_len("gru: saved", saved_len(p)?, saved.len())?;
    check_len("gru: grad_output", s.output, grad_output.len())?;
    check_state(
        "gru: grad_final",
        grad_final.h.map(<[f32]>::len),
        grad_final.c.map(<[f32]>::len),
        &s,
        false,
    )?;
    if let Some(d) = &grad_input {
        check_len("gru: grad_input", s.input, d.len())?;
    }
    check_weight_grads(&grads, &s)?;
    check_state(
        "gru: grad_initial",
        grad_initial.h.as_deref().map(<[f32]>::len),
        grad_initial.c.as_deref().map(<[f32]>::len),
        &s,
        false,
    )?;
    check_capacity("gru: scratch", backward_scratch_len(p)?, scratch.len())?;
    let (h, rows, g) = (p.hidden, p.batch, s.gates);
    let (acts, terms, hs) = regions(saved, s.rows, h);
    let (dgates, rest) = scratch.split_at_mut(s.rows * g);
    let (dterm, rest) = rest.split_at_mut(s.rows * h);
    let (dh, rest) = rest.split_at_mut(s.state);
    let dq = &mut rest[..s.state];
    copy_or_zero(dh, grad_final.h);
    let u_zr = MatRef::row_major(&weights.recurrent[..2 * h * h], 2 * h, h)?;
    let u_n = MatRef::row_major(&weights.recurrent[2 * h * h..], h, h)?;
    for step in (0..p.steps).rev() {
        let t = p.time(step);
        add_output_grad(p, grad_output, step, t, dh);
        let block = step * s.state;
        let act = &acts[step * rows * g..(step + 1) * rows * g];
        let d = &mut dgates[step * rows * g..(step + 1) * rows * g];
        let term = &terms[block..block + s.state];
        let dt = &mut dterm[block..block + s.state];
        let h_prev = if step == 0 {
            initial.h
        } else {
            Some(&hs[block - s.state..block])
        };
        // z, n and the direct path h_t = z·h_{t−1} + …; dh becomes ∂L/∂h_{t−1}'s
        // direct term, d the gates' pre-activation gradients (r's below).
        for b in 0..rows {
            for j in 0..h {
                let (k, i) = (b * g + j, b * h + j);
                let (z, n) = (act[k], act[k + 2 * h]);
                let hp = h_prev.map_or(0.0, |v| v[i]);
                let dhi = dh[i];
                d[k] = dhi * (hp - n) * z * (1.0 - z);
                d[k + 2 * h] = dhi * (1.0 - z) * (1.0 - n * n);
                dh[i] = dhi * z;
            }
        }
        match reset {
            Reset::After => {
                for b in 0..rows {
                    for j in 0..h {
                        let (k, i) = (b * g + j, b * h + j);
                        let (r, dn) = (act[k + h], d[k + 2 * h]);
                        d[k + h] = dn * term[i] * r * (1.0 - r);
                        dt[i] = dn * r;
                    }
                }
                // ∂L/∂h_{t−1} += [dz, dr]·U_zr + (dn·r)·U_n.
                let d_zr = MatRef::new(d, rows, 2 * h, g, 1)?;
                sgemm(1.0, d_zr, u_zr, 1.0, MatMut::row_major(dh, rows, h)?)?;
                let d_t = MatRef::row_major(dt, rows, h)?;
                sgemm(1.0, d_t, u_n, 1.0, MatMut::row_major(dh, rows, h)?)?;
            }
            Reset::Before => {
                // ∂L/∂q = dn·U_n with q = r·h_{t−1}.
                let d_n = MatRef::new(&d[2 * h..], rows, h, g, 1)?;
                sgemm(1.0, d_n, u_n, 0.0, MatMut::row_major(dq, rows, h)?)?;
                for b in 0..rows {
                    for j in 0..h {
                        let (k, i) = (b * g + j, b * h + j);
                        let r = act[k + h];
                        let hp = h_prev.map_or(0.0, |v| v[i]);
                        d[k + h] = dq[i] * hp * r * (1.0 - r);
                        dh[i] += dq[i] * r;
                        dt[i] = d[k + 2 * h];
                    }
                }
                let d_zr = MatRef::new(d, rows, 2 * h, g, 1)?;
                sgemm(1.0, d_zr, u_zr, 1.0, MatMut::row_major(dh, rows, h)?)?;
            }
        }
    }
    add_state(grad_initial.h, dh);
    input_side(p, &s, input, weights.input, dgates, grad_input, &mut grads)?;
    // dterm holds the candidate block's recurrent-side gradient: dn·r (reset after,
    // against h_{t−1}) or dn (reset before, against q_t = r·h_{t−1}).
    if let Some(du) = grads.recurrent.as_deref_mut() {
        let (du_zr, du_n) = du.split_at_mut(2 * h * h);
        recurrent_side(p, 0..2 * h, g, initial.h, hs, dgates, du_zr)?;
        match reset {
            Reset::After => recurrent_side(p, 0..h, h, initial.h, hs, dterm, du_n)?,
            Reset::Before => aligned_side(p, 0..h, h, terms, dterm, du_n)?,
        }
    }
    if let Some(db) = grads.recurrent_bias.as_deref_mut() {
        let (db_zr, db_n) = db.split_at_mut(2 * h);
        for row in dgates.chunks_exact(g) {
            db_zr.iter_mut().zip(row).for_each(|(s, &r)| *s += r);
        }
        add_column_sums(db_n, dterm, h);
    }
    Ok(())
}
