//! Long short-term memory (LSTM) over whole sequences: forward, and backward through
//! time.
//!
//! Gate order `i, f, g, o` (input, forget, cell candidate, output), each a block of
//! `hidden` rows of the weights — the order of PyTorch and Keras, so their weights load
//! unchanged (Keras stores the transposes). With `a = W·x_t + b + U·h_{t−1} + b_U`:
//!
//! ```text
//! i = σ(a_i)   f = σ(a_f + forget_bias)   g = tanh(a_g)   o = σ(a_o)
//! c_t = f·c_{t−1} + i·g        h_t = o·tanh(c_t)
//! ```
//!
//! `forget_bias` is TensorFlow's `LSTMCell(forget_bias=…)` constant; Keras' and
//! PyTorch's layers have none (0). (Keras' `unit_forget_bias` is an initialisation of the
//! bias, the trainer's business.)
//!
//! Forward writes, in the caller's `saved` buffer ([`saved_len`]), every step's gate
//! activations, cell state and hidden state, time-major (`[step][batch][…]`, in the
//! order the steps were processed); [`backward`] reads them, and [`final_state`] gives
//! the last `h` and `c` (a stateful caller's next initial state). Per step, two GEMMs
//! (`x_t·Wᵀ` and `h_{t−1}·Uᵀ`, batch rows each) and the element-wise cell update;
//! backward adds `dgates·U`, `dgatesᵀ·x`, `dgatesᵀ·h` on the same GEMM.

use super::params::{
    Params, StateMut, StateRef, WeightGrads, Weights, add_column_sums, check_state,
    check_weight_grads, check_weights, fill_bias, step_view,
};
use super::sequence::{
    add_output_grad, add_state, copy_or_zero, input_side, recurrent_side, write_output,
};
use crate::math::{sigmoid, tanh};
use mote_core::error::{check_capacity, check_len};
use mote_core::{Error, ErrorKind, Result};
use mote_simd::gemm::{MatMut, MatRef, sgemm};

/// Gate blocks of an LSTM.
const GATES: usize = 4;

/// Options of an LSTM beyond its geometry.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cell {
    /// Constant added to the forget gate's pre-activation (TensorFlow's `forget_bias`).
    pub forget_bias: f32,
}

/// Floats of `saved` for [`forward`] and [`backward`]: `steps·batch·6·hidden` (four gate
/// activations, the cell state and the hidden state per step and sequence).
///
/// Errors: as for [`forward`]'s geometry.
pub fn saved_len(p: &Params) -> Result<usize> {
    let s = p.sizes(GATES)?;
    s.rows
        .checked_mul(6 * p.hidden)
        .ok_or(Error::new(ErrorKind::Overflow, "lstm: saved"))
}

/// Floats of scratch [`backward`] needs: `steps·batch·4·hidden` (every step's gate
/// gradients) plus `2·batch·hidden`.
///
/// Errors: as for [`forward`]'s geometry.
pub fn backward_scratch_len(p: &Params) -> Result<usize> {
    let s = p.sizes(GATES)?;
    s.rows
        .checked_mul(s.gates)
        .and_then(|g| g.checked_add(2 * s.state))
        .ok_or(Error::new(ErrorKind::Overflow, "lstm: scratch"))
}

/// The regions of `saved`: gate activations `[steps][batch][4·hidden]`, cell states and
/// hidden states `[steps][batch][hidden]`.
fn regions(saved: &[f32], rows: usize, hidden: usize) -> (&[f32], &[f32], &[f32]) {
    let (gates, rest) = saved.split_at(rows * GATES * hidden);
    let (cells, hidden_states) = rest.split_at(rows * hidden);
    (gates, cells, hidden_states)
}

/// The last hidden and cell states (`[batch][hidden]` each) of a `saved` buffer that
/// [`forward`] filled.
///
/// Errors: as for [`forward`]'s geometry; `LengthMismatch` when `saved` is not
/// [`saved_len`] long.
pub fn final_state<'a>(p: &Params, saved: &'a [f32]) -> Result<(&'a [f32], &'a [f32])> {
    let s = p.sizes(GATES)?;
    check_len("lstm: saved", saved_len(p)?, saved.len())?;
    let (_, cells, hs) = regions(saved, s.rows, p.hidden);
    let last = (s.rows * p.hidden - s.state)..;
    Ok((&hs[last.clone()], &cells[last]))
}

/// Forward over the whole sequence: `output` gets the hidden states (every step's, or
/// the last), `saved` everything [`backward`] needs.
///
/// `initial` is the state before the first step processed (zeros where `None`).
///
/// Errors: `Zero` for a zero size; `LengthMismatch` for a buffer of the wrong length
/// (`saved` must be [`saved_len`] long); `Overflow` when a length overflows.
pub fn forward(
    p: &Params,
    cell: &Cell,
    input: &[f32],
    weights: &Weights<'_>,
    initial: StateRef<'_>,
    output: &mut [f32],
    saved: &mut [f32],
) -> Result<()> {
    let s = p.sizes(GATES)?;
    check_len("lstm: input", s.input, input.len())?;
    check_weights(weights, &s)?;
    check_state(
        "lstm: initial state",
        initial.h.map(<[f32]>::len),
        initial.c.map(<[f32]>::len),
        &s,
        true,
    )?;
    check_len("lstm: output", s.output, output.len())?;
    check_len("lstm: saved", saved_len(p)?, saved.len())?;
    let h = p.hidden;
    let (gates, rest) = saved.split_at_mut(s.rows * s.gates);
    let (cells, hs) = rest.split_at_mut(s.rows * h);
    let w = MatRef::row_major(weights.input, s.gates, p.inputs)?.t();
    let u = MatRef::row_major(weights.recurrent, s.gates, h)?.t();
    for step in 0..p.steps {
        let t = p.time(step);
        let block = step * s.state;
        let a = &mut gates[step * p.batch * s.gates..(step + 1) * p.batch * s.gates];
        fill_bias(a, s.gates, weights.bias, weights.recurrent_bias);
        sgemm(
            1.0,
            step_view(input, p, t, p.inputs)?,
            w,
            1.0,
            MatMut::row_major(a, p.batch, s.gates)?,
        )?;
        let (done_h, now_h) = hs.split_at_mut(block);
        let (done_c, now_c) = cells.split_at_mut(block);
        let h_prev = if step == 0 {
            initial.h
        } else {
            Some(&done_h[block - s.state..])
        };
        let c_prev = if step == 0 {
            initial.c
        } else {
            Some(&done_c[block - s.state..])
        };
        if let Some(hp) = h_prev {
            sgemm(
                1.0,
                MatRef::row_major(hp, p.batch, h)?,
                u,
                1.0,
                MatMut::row_major(a, p.batch, s.gates)?,
            )?;
        }
        let (h_t, c_t) = (&mut now_h[..s.state], &mut now_c[..s.state]);
        for b in 0..p.batch {
            let row = &mut a[b * s.gates..(b + 1) * s.gates];
            let (gi, rest) = row.split_at_mut(h);
            let (gf, rest) = rest.split_at_mut(h);
            let (gg, go) = rest.split_at_mut(h);
            for j in 0..h {
                let i = sigmoid(gi[j]);
                let f = sigmoid(gf[j] + cell.forget_bias);
                let g = tanh(gg[j]);
                let o = sigmoid(go[j]);
                let cp = c_prev.map_or(0.0, |c| c[b * h + j]);
                let c = f * cp + i * g;
                (gi[j], gf[j], gg[j], go[j]) = (i, f, g, o);
                c_t[b * h + j] = c;
                h_t[b * h + j] = o * tanh(c);
            }
        }
        write_output(p, h_t, step, t, output);
    }
    Ok(())
}

/// Backward through time: from `grad_output` (shaped like the output) and the gradients
/// of the final state (`grad_final`, zeros where `None`), adds `∂L/∂input` to
/// `grad_input`, the weight gradients to `grads` and `∂L/∂initial state` to
/// `grad_initial`, each where given.
///
/// `input`, `weights`, `initial` and `saved` must be those of the [`forward`] call (not
/// checked beyond their lengths); `scratch` is [`backward_scratch_len`] floats, not read.
///
/// Errors: as for [`forward`]; `BufferTooSmall` for a short `scratch`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &Params,
    cell: &Cell,
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
    let _ = cell; // the forget bias is inside the saved gate activations
    let s = p.sizes(GATES)?;
    check_len("lstm: input", s.input, input.len())?;
    check_weights(weights, &s)?;
    check_state(
        "lstm: initial state",
        initial.h.map(<[f32]>::len),
        initial.c.map(<[f32]>::len),
        &s,
        true,
    )?;
    check_len("lstm: saved", saved_len(p)?, saved.len())?;
    check_len("lstm: grad_output", s.output, grad_output.len())?;
    check_state(
        "lstm: grad_final",
        grad_final.h.map(<[f32]>::len),
        grad_final.c.map(<[f32]>::len),
        &s,
        true,
    )?;
    if let Some(d) = &grad_input {
        check_len("lstm: grad_input", s.input, d.len())?;
    }
    check_weight_grads(&grads, &s)?;
    check_state(
        "lstm: grad_initial",
        grad_initial.h.as_deref().map(<[f32]>::len),
        grad_initial.c.as_deref().map(<[f32]>::len),
        &s,
        true,
    )?;
    check_capacity("lstm: scratch", backward_scratch_len(p)?, scratch.len())?;
    let h = p.hidden;
    let (gates, cells, hs) = regions(saved, s.rows, h);
    let (dgates, rest) = scratch.split_at_mut(s.rows * s.gates);
    let (dh, rest) = rest.split_at_mut(s.state);
    let dc = &mut rest[..s.state];
    copy_or_zero(dh, grad_final.h);
    copy_or_zero(dc, grad_final.c);
    let u = MatRef::row_major(weights.recurrent, s.gates, h)?;
    for step in (0..p.steps).rev() {
        let t = p.time(step);
        add_output_grad(p, grad_output, step, t, dh);
        let block = step * s.state;
        let g_step = &gates[step * p.batch * s.gates..(step + 1) * p.batch * s.gates];
        let d_step = &mut dgates[step * p.batch * s.gates..(step + 1) * p.batch * s.gates];
        let c_prev = if step == 0 {
            initial.c
        } else {
            Some(&cells[block - s.state..block])
        };
        for b in 0..p.batch {
            let act = &g_step[b * s.gates..(b + 1) * s.gates];
            let d = &mut d_step[b * s.gates..(b + 1) * s.gates];
            for j in 0..h {
                let (i, f, g, o) = (act[j], act[h + j], act[2 * h + j], act[3 * h + j]);
                let c = cells[block + b * h + j];
                let cp = c_prev.map_or(0.0, |c| c[b * h + j]);
                let tc = tanh(c);
                let dhj = dh[b * h + j];
                let dct = dc[b * h + j] + dhj * o * (1.0 - tc * tc);
                d[j] = dct * g * i * (1.0 - i);
                d[h + j] = dct * cp * f * (1.0 - f);
                d[2 * h + j] = dct * i * (1.0 - g * g);
                d[3 * h + j] = dhj * tc * o * (1.0 - o);
                dc[b * h + j] = dct * f;
            }
        }
        // ∂L/∂h_{t−1} = dgates·U (a fresh sum: dh's own contribution is in dgates).
        let d_mat = MatRef::row_major(d_step, p.batch, s.gates)?;
        sgemm(1.0, d_mat, u, 0.0, MatMut::row_major(dh, p.batch, h)?)?;
    }
    add_state(grad_initial.h, dh);
    add_state(grad_initial.c, dc);
    input_side(p, &s, input, weights.input, dgates, grad_input, &mut grads)?;
    if let Some(du) = grads.recurrent.as_deref_mut() {
        recurrent_side(p, 0..s.gates, s.gates, initial.h, hs, dgates, du)?;
    }
    if let Some(db) = grads.recurrent_bias.as_deref_mut() {
        add_column_sums(db, dgates, s.gates);
    }
    Ok(())
}
