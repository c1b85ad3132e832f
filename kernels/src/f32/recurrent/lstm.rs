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
//! activations, cell state, hidden state and `tanh` of the cell state, laid out like the
//! input (`[batch][steps][…]`, see `sequence`); [`backward`] reads them, and
//! [`final_state`] copies out the last `h` and `c` (a stateful caller's next initial
//! state). `X·Wᵀ` for all steps is one GEMM; each step then adds `h_{t−1}·Uᵀ` (a GEMM of
//! `batch` rows, `U` packed once for all steps: `mote_simd::gemm::PackedB`) and updates
//! the cells (sigmoid and tanh from `mote_simd::math`, vectorised). Backward runs the
//! steps in reverse with one GEMM each (`∂h_{t−1} = dgates·U`, `U` packed once), then
//! `∂X`, `∂W` and `∂U` as one GEMM each.

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
use mote_simd::gemm::{MatMut, MatRef, PackedB, sgemm_packed};
use mote_simd::math::{sigmoid_in_place, tanh_in_place};

/// Gate blocks of an LSTM.
const GATES: usize = 4;

/// Options of an LSTM beyond its geometry.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cell {
    /// Constant added to the forget gate's pre-activation (TensorFlow's `forget_bias`).
    pub forget_bias: f32,
}

/// How this layer names its buffers in errors.
const AT: Sites = Sites {
    input: "lstm: input",
    initial: "lstm: initial state",
    output: "lstm: output",
    saved: "lstm: saved",
    grad_output: "lstm: grad_output",
    grad_final: "lstm: grad_final",
    grad_input: "lstm: grad_input",
    grad_initial: "lstm: grad_initial",
    scratch: "lstm: scratch",
};

/// Floats of `saved` for [`forward`] and [`backward`]: `batch·steps·7·hidden` (four gate
/// activations, the cell state, the hidden state and `tanh` of the cell state per step
/// and sequence), then the
/// recurrent weights packed once for every step's product
/// ([`PackedB::len`]`(hidden, 4·hidden)`, which depends on the SIMD path in use).
///
/// Errors: as for [`forward`]'s geometry.
pub fn saved_len(p: &Params) -> Result<usize> {
    let s = p.sizes(GATES)?;
    s.rows
        .checked_mul(7 * p.hidden)
        .and_then(|v| v.checked_add(packed_len(p.hidden, s.gates)?))
        .ok_or(Error::new(ErrorKind::Overflow, "lstm: saved"))
}

/// [`PackedB::len`], `None` when it overflows.
fn packed_len(k: usize, n: usize) -> Option<usize> {
    let len = PackedB::len(k, n);
    (len != 0 || k == 0 || n == 0).then_some(len)
}

/// Floats of scratch [`backward`] needs: `batch·steps·5·hidden` (every step's gate
/// gradients, and the previous states aligned with them) plus `2·batch·hidden`, plus the
/// recurrent weights packed once ([`PackedB::len`]`(4·hidden, hidden)`).
///
/// Errors: as for [`forward`]'s geometry.
pub fn backward_scratch_len(p: &Params) -> Result<usize> {
    let s = p.sizes(GATES)?;
    s.rows
        .checked_mul(s.gates + p.hidden)
        .and_then(|g| g.checked_add(2 * s.state))
        .and_then(|v| v.checked_add(packed_len(s.gates, p.hidden)?))
        .ok_or(Error::new(ErrorKind::Overflow, "lstm: scratch"))
}

/// The regions of `saved`: gate activations `[batch][steps][4·hidden]`, cell states,
/// hidden states and `tanh` of the cell states `[batch][steps][hidden]` (the packed
/// weights after them are forward's own). `saved` must be [`saved_len`] long.
fn regions(saved: &[f32], rows: usize, hidden: usize) -> [&[f32]; 4] {
    let (gates, rest) = saved.split_at(rows * GATES * hidden);
    let (cells, rest) = rest.split_at(rows * hidden);
    let (hs, rest) = rest.split_at(rows * hidden);
    [gates, cells, hs, &rest[..rows * hidden]]
}

/// Every step's cell and hidden states (`[batch][steps][hidden]` each, laid out like the
/// input) in a `saved` buffer that [`forward`] filled: what a quantiser calibrates the
/// integer LSTM's cell scale and hidden-state range from.
///
/// Errors: as for [`forward`]'s geometry; `LengthMismatch` when `saved` is not
/// [`saved_len`] long.
pub fn saved_states<'s>(p: &Params, saved: &'s [f32]) -> Result<(&'s [f32], &'s [f32])> {
    let s = p.sizes(GATES)?;
    check_len("lstm: saved", saved_len(p)?, saved.len())?;
    let [_, cells, hs, _] = regions(saved, s.rows, p.hidden);
    Ok((cells, hs))
}

/// Copies the hidden and cell states after the last step (`[batch][hidden]` each) out
/// of a `saved` buffer that [`forward`] filled.
///
/// Errors: as for [`forward`]'s geometry; `LengthMismatch` when `saved` is not
/// [`saved_len`] long or a state buffer is not `batch·hidden`.
pub fn final_state(p: &Params, saved: &[f32], h: &mut [f32], c: &mut [f32]) -> Result<()> {
    let s = p.sizes(GATES)?;
    check_len("lstm: saved", saved_len(p)?, saved.len())?;
    check_len("lstm: final h", s.state, h.len())?;
    check_len("lstm: final c", s.state, c.len())?;
    let [_, cells, hs, _] = regions(saved, s.rows, p.hidden);
    last_state(p, hs, h);
    last_state(p, cells, c);
    Ok(())
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
    let saved_lens = (saved_len(p)?, saved.len());
    check_forward(
        &AT,
        &s,
        input.len(),
        weights,
        &initial,
        output.len(),
        saved_lens,
        true,
    )?;
    let (h, g) = (p.hidden, s.gates);
    let (gates, rest) = saved.split_at_mut(s.rows * g);
    let (cells, rest) = rest.split_at_mut(s.rows * h);
    let (hs, rest) = rest.split_at_mut(s.rows * h);
    let (tcs, packed) = rest.split_at_mut(s.rows * h);
    project_inputs(
        p,
        &s,
        input,
        weights.input,
        weights.bias,
        weights.recurrent_bias,
        gates,
    )?;
    let u = PackedB::pack(MatRef::row_major(weights.recurrent, g, h)?.t(), packed)?;
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
        if let Some(hp) = h_prev {
            sgemm_packed(1.0, hp, &u, 1.0, step_view_mut(gates, p, t, g)?)?;
        }
        for b in 0..p.batch {
            let row = &mut gates[at(p, b, t, g)..][..g];
            if cell.forget_bias != 0.0 {
                row[h..2 * h]
                    .iter_mut()
                    .for_each(|v| *v += cell.forget_bias);
            }
            sigmoid_in_place(&mut row[..2 * h]);
            tanh_in_place(&mut row[2 * h..3 * h]);
            sigmoid_in_place(&mut row[3 * h..]);
            let (ifg, o) = row.split_at(3 * h);
            let (i, rest) = ifg.split_at(h);
            let (f, gc) = rest.split_at(h);
            let here = at(p, b, t, h);
            match prev {
                Some(tp) => {
                    let from = at(p, b, tp, h);
                    for j in 0..h {
                        cells[here + j] = f[j] * cells[from + j] + i[j] * gc[j];
                    }
                }
                None => {
                    let c0 = initial.c.map(|c| &c[b * h..(b + 1) * h]);
                    for j in 0..h {
                        let cp = c0.map_or(0.0, |c| c[j]);
                        cells[here + j] = f[j] * cp + i[j] * gc[j];
                    }
                }
            }
            let tc = &mut tcs[here..here + h];
            tc.copy_from_slice(&cells[here..here + h]);
            tanh_in_place(tc);
            let h_row = &mut hs[here..here + h];
            h_row
                .iter_mut()
                .zip(o.iter().zip(&*tc))
                .for_each(|(hv, (&o, &t))| *hv = t * o);
        }
    }
    write_output(p, hs, output);
    Ok(())
}

/// One sequence's cell at one step, backward: from the gate activations `act`
/// (`i, f, g, o`), the previous cell state (zeros when `None`), `tanh c_t`, `∂L/∂h_t` and
/// `∂L/∂c_t` (`dc`, replaced by `∂L/∂c_{t−1}`), the gates' pre-activation gradients `d`.
fn cell_backward(
    act: &[f32],
    c_prev: Option<&[f32]>,
    tc: &[f32],
    dh: &[f32],
    dc: &mut [f32],
    d: &mut [f32],
) {
    let h = tc.len();
    let (i, f, g, o) = (
        &act[..h],
        &act[h..2 * h],
        &act[2 * h..3 * h],
        &act[3 * h..4 * h],
    );
    let (di, rest) = d.split_at_mut(h);
    let (df, rest) = rest.split_at_mut(h);
    let (dg, do_) = rest.split_at_mut(h);
    lanes_backward(
        [i, f, g, o],
        tc,
        &dh[..h],
        &mut dc[..h],
        [di, df, dg, &mut do_[..h]],
    );
    match c_prev {
        Some(cp) => df.iter_mut().zip(&cp[..h]).for_each(|(d, &c)| *d *= c),
        None => df.fill(0.0),
    }
}

/// The element-wise part of [`cell_backward`] over slices of one length, each its own
/// argument so that the compiler knows they do not overlap and vectorises the loop
/// (`∂L/∂f` is left without its `c_{t−1}` factor).
#[inline(never)]
fn lanes_backward(
    [i, f, g, o]: [&[f32]; 4],
    tc: &[f32],
    dh: &[f32],
    dc: &mut [f32],
    [di, df, dg, do_]: [&mut [f32]; 4],
) {
    let h = tc.len();
    let (i, f, g, o, dh, dc) = (&i[..h], &f[..h], &g[..h], &o[..h], &dh[..h], &mut dc[..h]);
    let (di, df, dg, do_) = (&mut di[..h], &mut df[..h], &mut dg[..h], &mut do_[..h]);
    for j in 0..h {
        let dct = dc[j] + dh[j] * o[j] * (1.0 - tc[j] * tc[j]);
        di[j] = dct * g[j] * i[j] * (1.0 - i[j]);
        dg[j] = dct * i[j] * (1.0 - g[j] * g[j]);
        do_[j] = dh[j] * tc[j] * o[j] * (1.0 - o[j]);
        df[j] = dct * f[j] * (1.0 - f[j]);
        dc[j] = dct * f[j];
    }
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
        true,
    )?;
    let (h, g) = (p.hidden, s.gates);
    let [gates, cells, hs, tcs] = regions(saved, s.rows, h);
    let (dgates, rest) = scratch.split_at_mut(s.rows * g);
    let (shifted, rest) = rest.split_at_mut(s.rows * h);
    let (dh, rest) = rest.split_at_mut(s.state);
    let (dc, rest) = rest.split_at_mut(s.state);
    let packed = rest;
    copy_or_zero(dh, grad_final.h);
    copy_or_zero(dc, grad_final.c);
    let u = PackedB::pack(MatRef::row_major(weights.recurrent, g, h)?, packed)?;
    for step in (0..p.steps).rev() {
        let t = p.time(step);
        let prev = previous(p, t);
        add_output_grad(p, grad_output, step, t, dh);
        for b in 0..p.batch {
            let act = &gates[at(p, b, t, g)..][..g];
            let d = &mut dgates[at(p, b, t, g)..][..g];
            let c_prev = match prev {
                Some(tp) => Some(&cells[at(p, b, tp, h)..][..h]),
                None => initial.c.map(|c| &c[b * h..(b + 1) * h]),
            };
            let rows = b * h..(b + 1) * h;
            cell_backward(
                act,
                c_prev,
                &tcs[at(p, b, t, h)..][..h],
                &dh[rows.clone()],
                &mut dc[rows],
                d,
            );
        }
        // ∂L/∂h_{t−1} = dgates_t·U (a fresh sum: dh's own contribution is in dgates).
        let d_t = step_view(dgates, p, t, g)?;
        sgemm_packed(1.0, d_t, &u, 0.0, MatMut::row_major(dh, p.batch, h)?)?;
    }
    add_state(grad_initial.h, dh);
    add_state(grad_initial.c, dc);
    input_side(p, &s, input, weights.input, dgates, grad_input, &mut grads)?;
    if let Some(du) = grads.recurrent.as_deref_mut() {
        recurrent_side(p, &s, 0..g, g, initial.h, hs, dgates, du, shifted)?;
    }
    if let Some(db) = grads.recurrent_bias.as_deref_mut() {
        add_column_sums(db, dgates, g);
    }
    Ok(())
}
