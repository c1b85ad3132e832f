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
//! hidden state, laid out like the input (`[batch][steps][…]`, see `sequence`).

use super::params::{
    GradLens, Params, Sites, StateMut, StateRef, WeightGrads, Weights, add_column_sums,
    check_backward, check_forward, step_view, step_view_mut,
};
use super::sequence::{
    add_output_grad, add_state, aligned_side, at, copy_or_zero, input_side, last_state, previous,
    project_inputs, recurrent_side, write_output,
};
use mote_core::error::check_len;
use mote_core::{Error, ErrorKind, Result};
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use mote_simd::math::{sigmoid_in_place, tanh_in_place};

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

/// How this layer names its buffers in errors.
const AT: Sites = Sites {
    input: "gru: input",
    initial: "gru: initial state",
    output: "gru: output",
    saved: "gru: saved",
    grad_output: "gru: grad_output",
    grad_final: "gru: grad_final",
    grad_input: "gru: grad_input",
    grad_initial: "gru: grad_initial",
    scratch: "gru: scratch",
};

/// Floats of `saved` for [`forward`] and [`backward`]: `batch·steps·5·hidden`.
///
/// Errors: as for [`forward`]'s geometry.
pub fn saved_len(p: &Params) -> Result<usize> {
    let s = p.sizes(GATES)?;
    s.rows
        .checked_mul(5 * p.hidden)
        .ok_or(Error::new(ErrorKind::Overflow, "gru: saved"))
}

/// Floats of scratch [`backward`] needs: `batch·steps·5·hidden` (every step's gate
/// gradients, the candidate's recurrent gradient and the previous states aligned with
/// them) plus `3·batch·hidden`.
///
/// Errors: as for [`forward`]'s geometry.
pub fn backward_scratch_len(p: &Params) -> Result<usize> {
    let s = p.sizes(GATES)?;
    s.rows
        .checked_mul(5 * p.hidden)
        .and_then(|g| g.checked_add(3 * s.state))
        .ok_or(Error::new(ErrorKind::Overflow, "gru: scratch"))
}

/// The regions of `saved`: gate activations `[batch][steps][3·hidden]`, the candidate's
/// recurrent terms and the hidden states `[batch][steps][hidden]`.
fn regions(saved: &[f32], rows: usize, hidden: usize) -> (&[f32], &[f32], &[f32]) {
    let (gates, rest) = saved.split_at(rows * GATES * hidden);
    let (terms, hs) = rest.split_at(rows * hidden);
    (gates, terms, hs)
}

/// Copies the hidden state after the last step (`[batch][hidden]`) out of a `saved`
/// buffer that [`forward`] filled.
///
/// Errors: as for [`forward`]'s geometry; `LengthMismatch` when `saved` is not
/// [`saved_len`] long or `h` is not `batch·hidden`.
pub fn final_state(p: &Params, saved: &[f32], h: &mut [f32]) -> Result<()> {
    let s = p.sizes(GATES)?;
    check_len("gru: saved", saved_len(p)?, saved.len())?;
    check_len("gru: final h", s.state, h.len())?;
    let (_, _, hs) = regions(saved, s.rows, p.hidden);
    last_state(p, hs, h);
    Ok(())
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
    let (h, g) = (p.hidden, s.gates);
    let (gates, rest) = saved.split_at_mut(s.rows * g);
    let (terms, hs) = rest.split_at_mut(s.rows * h);
    // The recurrent bias goes with the recurrent products, not into the projection:
    // reset after, its candidate block is scaled by r.
    project_inputs(p, &s, input, weights.input, weights.bias, None, gates)?;
    let bu = |k: usize| weights.recurrent_bias.map_or(0.0, |b| b[k]);
    let u_zr = MatRef::row_major(&weights.recurrent[..2 * h * h], 2 * h, h)?.t();
    let u_n = MatRef::row_major(&weights.recurrent[2 * h * h..], h, h)?.t();
    for step in 0..p.steps {
        let t = p.time(step);
        let prev = previous(p, t);
        let h_prev = match prev {
            Some(tp) => Some(step_view(hs, p, tp, h)?),
            None => initial
                .h
                .map(|h0| MatRef::row_major(h0, p.batch, h))
                .transpose()?,
        };
        // Gates z, r: x̂ + U_zr·h + b_U.
        for b in 0..p.batch {
            let row = &mut gates[at(p, b, t, g)..][..2 * h];
            row.iter_mut().enumerate().for_each(|(k, v)| *v += bu(k));
        }
        if let Some(hp) = h_prev {
            let zr = MatMut::new(&mut gates[at(p, 0, t, g)..], p.batch, 2 * h, p.steps * g, 1)?;
            sgemm(1.0, hp, u_zr, 1.0, zr)?;
        }
        for b in 0..p.batch {
            sigmoid_in_place(&mut gates[at(p, b, t, g)..][..2 * h]);
        }
        // The candidate's recurrent term: ĥ_n = U_n·h + b_Un (after) or q = r·h (before).
        for b in 0..p.batch {
            let here = at(p, b, t, h);
            let hp = match prev {
                Some(tp) => Some(&hs[at(p, b, tp, h)..][..h]),
                None => initial.h.map(|h0| &h0[b * h..(b + 1) * h]),
            };
            let r = &gates[at(p, b, t, g) + h..][..h];
            let term = &mut terms[here..here + h];
            match (reset, hp) {
                (Reset::After, _) => term
                    .iter_mut()
                    .enumerate()
                    .for_each(|(j, v)| *v = bu(2 * h + j)),
                (Reset::Before, Some(hp)) => term
                    .iter_mut()
                    .zip(r)
                    .zip(hp)
                    .for_each(|((q, &r), &hp)| *q = r * hp),
                (Reset::Before, None) => term.fill(0.0),
            }
        }
        match (reset, h_prev) {
            (Reset::After, Some(hp)) => sgemm(1.0, hp, u_n, 1.0, step_view_mut(terms, p, t, h)?)?,
            (Reset::Before, Some(_)) => {
                let q = step_view(terms, p, t, h)?;
                let n = MatMut::new(
                    &mut gates[at(p, 0, t, g) + 2 * h..],
                    p.batch,
                    h,
                    p.steps * g,
                    1,
                )?;
                sgemm(1.0, q, u_n, 1.0, n)?;
            }
            (_, None) => {}
        }
        for b in 0..p.batch {
            let here = at(p, b, t, h);
            let row = &mut gates[at(p, b, t, g)..][..g];
            let (zr, n) = row.split_at_mut(2 * h);
            match reset {
                Reset::After => {
                    let hn = &terms[here..here + h];
                    n.iter_mut()
                        .zip(&zr[h..])
                        .zip(hn)
                        .for_each(|((n, &r), &hn)| *n += r * hn);
                }
                Reset::Before => {
                    n.iter_mut()
                        .enumerate()
                        .for_each(|(j, v)| *v += bu(2 * h + j));
                }
            }
            tanh_in_place(n);
            match prev {
                Some(tp) => {
                    let (hp, ht) = rows_pair(hs, at(p, b, tp, h), here, h);
                    update(&zr[..h], n, Some(hp), ht);
                }
                None => {
                    let h0 = initial.h.map(|h0| &h0[b * h..(b + 1) * h]);
                    update(&zr[..h], n, h0, &mut hs[here..here + h]);
                }
            }
        }
    }
    write_output(p, hs, output);
    Ok(())
}

/// Rows `from` (read) and `to` (written), `len` long, of one buffer (distinct rows).
fn rows_pair(buf: &mut [f32], from: usize, to: usize, len: usize) -> (&[f32], &mut [f32]) {
    if from < to {
        let (lo, hi) = buf.split_at_mut(to);
        (&lo[from..from + len], &mut hi[..len])
    } else {
        let (lo, hi) = buf.split_at_mut(from);
        (&hi[..len], &mut lo[to..to + len])
    }
}

/// `h_t = z·h_{t−1} + (1 − z)·n` for one sequence (`h_{t−1}` zeros when `None`).
fn update(z: &[f32], n: &[f32], h_prev: Option<&[f32]>, h_t: &mut [f32]) {
    match h_prev {
        Some(hp) => {
            for (((h, &z), &n), &hp) in h_t.iter_mut().zip(z).zip(n).zip(hp) {
                *h = z * hp + (1.0 - z) * n;
            }
        }
        None => {
            for ((h, &z), &n) in h_t.iter_mut().zip(z).zip(n) {
                *h = (1.0 - z) * n;
            }
        }
    }
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
    let (h, g) = (p.hidden, s.gates);
    let (acts, terms, hs) = regions(saved, s.rows, h);
    let (dgates, rest) = scratch.split_at_mut(s.rows * g);
    let (dterm, rest) = rest.split_at_mut(s.rows * h);
    let (shifted, rest) = rest.split_at_mut(s.rows * h);
    let (dh, rest) = rest.split_at_mut(s.state);
    let dq = &mut rest[..s.state];
    copy_or_zero(dh, grad_final.h);
    let u_zr = MatRef::row_major(&weights.recurrent[..2 * h * h], 2 * h, h)?;
    let u_n = MatRef::row_major(&weights.recurrent[2 * h * h..], h, h)?;
    for step in (0..p.steps).rev() {
        let t = p.time(step);
        let prev = previous(p, t);
        add_output_grad(p, grad_output, step, t, dh);
        // z, n and the direct path h_t = z·h_{t−1} + …: dh becomes ∂L/∂h_{t−1}'s direct
        // term, d the gates' pre-activation gradients (r's below).
        for b in 0..p.batch {
            let act = &acts[at(p, b, t, g)..][..g];
            let d = &mut dgates[at(p, b, t, g)..][..g];
            let hp = match prev {
                Some(tp) => Some(&hs[at(p, b, tp, h)..][..h]),
                None => initial.h.map(|h0| &h0[b * h..(b + 1) * h]),
            };
            for j in 0..h {
                let i = b * h + j;
                let (z, n) = (act[j], act[2 * h + j]);
                let hpj = hp.map_or(0.0, |v| v[j]);
                let dhi = dh[i];
                d[j] = dhi * (hpj - n) * z * (1.0 - z);
                d[2 * h + j] = dhi * (1.0 - z) * (1.0 - n * n);
                dh[i] = dhi * z;
            }
        }
        match reset {
            Reset::After => {
                for b in 0..p.batch {
                    let here = at(p, b, t, h);
                    let act = &acts[at(p, b, t, g)..][..g];
                    let d = &mut dgates[at(p, b, t, g)..][..g];
                    for j in 0..h {
                        let (r, dn) = (act[h + j], d[2 * h + j]);
                        d[h + j] = dn * terms[here + j] * r * (1.0 - r);
                        dterm[here + j] = dn * r;
                    }
                }
                // ∂L/∂h_{t−1} += [dz, dr]·U_zr + (dn·r)·U_n.
                let d_zr = MatRef::new(&dgates[at(p, 0, t, g)..], p.batch, 2 * h, p.steps * g, 1)?;
                sgemm(1.0, d_zr, u_zr, 1.0, MatMut::row_major(dh, p.batch, h)?)?;
                sgemm(
                    1.0,
                    step_view(dterm, p, t, h)?,
                    u_n,
                    1.0,
                    MatMut::row_major(dh, p.batch, h)?,
                )?;
            }
            Reset::Before => {
                // ∂L/∂q = dn·U_n with q = r·h_{t−1}.
                let d_n = MatRef::new(
                    &dgates[at(p, 0, t, g) + 2 * h..],
                    p.batch,
                    h,
                    p.steps * g,
                    1,
                )?;
                sgemm(1.0, d_n, u_n, 0.0, MatMut::row_major(dq, p.batch, h)?)?;
                for b in 0..p.batch {
                    let here = at(p, b, t, h);
                    let act = &acts[at(p, b, t, g)..][..g];
                    let d = &mut dgates[at(p, b, t, g)..][..g];
                    let hp = match prev {
                        Some(tp) => Some(&hs[at(p, b, tp, h)..][..h]),
                        None => initial.h.map(|h0| &h0[b * h..(b + 1) * h]),
                    };
                    for j in 0..h {
                        let i = b * h + j;
                        let r = act[h + j];
                        let hpj = hp.map_or(0.0, |v| v[j]);
                        d[h + j] = dq[i] * hpj * r * (1.0 - r);
                        dh[i] += dq[i] * r;
                        dterm[here + j] = d[2 * h + j];
                    }
                }
                let d_zr = MatRef::new(&dgates[at(p, 0, t, g)..], p.batch, 2 * h, p.steps * g, 1)?;
                sgemm(1.0, d_zr, u_zr, 1.0, MatMut::row_major(dh, p.batch, h)?)?;
            }
        }
    }
    add_state(grad_initial.h, dh);
    input_side(p, &s, input, weights.input, dgates, grad_input, &mut grads)?;
    // dterm holds the candidate block's recurrent-side gradient: dn·r (reset after,
    // against h_{t−1}) or dn (reset before, against q_t = r·h_{t−1}).
    if let Some(du) = grads.recurrent.as_deref_mut() {
        let (du_zr, du_n) = du.split_at_mut(2 * h * h);
        recurrent_side(p, &s, 0..2 * h, g, initial.h, hs, dgates, du_zr, shifted)?;
        match reset {
            Reset::After => recurrent_side(p, &s, 0..h, h, initial.h, hs, dterm, du_n, shifted)?,
            Reset::Before => aligned_side(p, &s, 0..h, h, terms, dterm, du_n)?,
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
