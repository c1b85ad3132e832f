//! What the recurrent layers do the same way around their cells.
//!
//! Every per-step buffer a layer saves is laid out like its input, batch-major and
//! indexed by time, `[batch][steps][width]` — whichever direction the layer reads — so
//! that the input projections of all steps are one GEMM (`X·Wᵀ`, and backward `∂X` and
//! `∂W`), a returned sequence is the saved hidden states as they lie, and one step's
//! rows are a strided `batch × width` view ([`step_view`]).

use super::params::{Params, Sizes, WeightGrads, add_column_sums};
use core::ops::Range;
use mote_core::Result;
use mote_core::error::check_capacity;
use mote_simd::gemm::{MatMut, MatRef, sgemm};

/// `gates ← X·Wᵀ + bias (+ recurrent_bias)` for every step of every sequence: one GEMM
/// over the `batch·steps` rows.
pub(crate) fn project_inputs(
    p: &Params,
    s: &Sizes,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    recurrent_bias: Option<&[f32]>,
    gates: &mut [f32],
) -> Result<()> {
    super::params::fill_bias(gates, s.gates, bias, recurrent_bias);
    sgemm(
        1.0,
        MatRef::row_major(input, s.rows, p.inputs)?,
        MatRef::row_major(weights, s.gates, p.inputs)?.t(),
        1.0,
        MatMut::row_major(gates, s.rows, s.gates)?,
    )
}

/// The offset of row (`b`, `t`) of a `[batch][steps][width]` buffer.
#[inline]
pub(crate) fn at(p: &Params, b: usize, t: usize, width: usize) -> usize {
    (b * p.steps + t) * width
}

/// The time step processed before time `t` (the previous state's time), `None` at the
/// first step.
#[inline]
pub(crate) fn previous(p: &Params, t: usize) -> Option<usize> {
    match (p.reverse, t) {
        (false, 0) => None,
        (false, t) => Some(t - 1),
        (true, t) if t + 1 == p.steps => None,
        (true, t) => Some(t + 1),
    }
}

/// Writes the output from the hidden states (`[batch][steps][hidden]`): all of them,
/// or each sequence's last processed.
pub(crate) fn write_output(p: &Params, hidden_states: &[f32], output: &mut [f32]) {
    if p.return_sequences {
        output.copy_from_slice(hidden_states);
        return;
    }
    let (h, last) = (p.hidden, p.time(p.steps - 1));
    for (b, out) in output.chunks_exact_mut(h).enumerate() {
        out.copy_from_slice(&hidden_states[at(p, b, last, h)..][..h]);
    }
}

/// Copies each sequence's state at its last processed step out of `[batch][steps][hidden]`
/// `states` into `out` (`[batch][hidden]`).
pub(crate) fn last_state(p: &Params, states: &[f32], out: &mut [f32]) {
    let (h, last) = (p.hidden, p.time(p.steps - 1));
    for (b, o) in out.chunks_exact_mut(h).enumerate() {
        o.copy_from_slice(&states[at(p, b, last, h)..][..h]);
    }
}

/// Adds the output gradient at time `t` (the last processed step's, when the layer
/// returns only that) to `dh` (`[batch][hidden]`).
pub(crate) fn add_output_grad(
    p: &Params,
    grad_output: &[f32],
    step: usize,
    t: usize,
    dh: &mut [f32],
) {
    let h = p.hidden;
    if p.return_sequences {
        for (b, row) in dh.chunks_exact_mut(h).enumerate() {
            let g = &grad_output[at(p, b, t, h)..][..h];
            row.iter_mut().zip(g).for_each(|(d, &g)| *d += g);
        }
    } else if step + 1 == p.steps {
        dh.iter_mut().zip(grad_output).for_each(|(d, &g)| *d += g);
    }
}

/// Copies `src` into `dst`, or zeroes `dst` when there is none.
pub(crate) fn copy_or_zero(dst: &mut [f32], src: Option<&[f32]>) {
    match src {
        Some(v) => dst.copy_from_slice(v),
        None => dst.fill(0.0),
    }
}

/// Adds `v` to `dst` when there is one.
pub(crate) fn add_state(dst: Option<&mut [f32]>, v: &[f32]) {
    if let Some(d) = dst {
        d.iter_mut().zip(v).for_each(|(d, &v)| *d += v);
    }
}

/// The input side of every layer's gradients from the gradients `dgates` of its gate
/// pre-activations' input part (`[batch][steps][G·hidden]`): `∂L/∂X += dgates·W`,
/// `∂L/∂W += dgatesᵀ·X`, `∂L/∂bias += Σ dgates` — one GEMM each over all rows.
pub(crate) fn input_side(
    p: &Params,
    s: &Sizes,
    input: &[f32],
    weights: &[f32],
    dgates: &[f32],
    grad_input: Option<&mut [f32]>,
    grads: &mut WeightGrads<'_>,
) -> Result<()> {
    let d = MatRef::row_major(dgates, s.rows, s.gates)?;
    if let Some(dx) = grad_input {
        let w = MatRef::row_major(weights, s.gates, p.inputs)?;
        sgemm(1.0, d, w, 1.0, MatMut::row_major(dx, s.rows, p.inputs)?)?;
    }
    if let Some(dw) = grads.input.as_deref_mut() {
        let x = MatRef::row_major(input, s.rows, p.inputs)?;
        sgemm(
            1.0,
            d.t(),
            x,
            1.0,
            MatMut::row_major(dw, s.gates, p.inputs)?,
        )?;
    }
    if let Some(db) = grads.bias.as_deref_mut() {
        add_column_sums(db, dgates, s.gates);
    }
    Ok(())
}

/// `∂L/∂U_block += Σ_t dgates_t[:, cols]ᵀ·h_prev(t)`: the recurrent weight gradient of
/// the gate columns `cols` (rows `cols` of `U`; `du` holds just those rows), from
/// `dgates` (`[batch][steps][width]`) and the states `states` (`[batch][steps][hidden]`)
/// of the previous step, `h0` (zeros when `None`) before the first. The previous states
/// are first copied into `shifted` (`batch·steps·hidden` floats), aligned with the gates'
/// rows, so the sum is one GEMM over every row (one per step, `batch` rows deep, was
/// slower: an LSTM of 64 units over 28 steps spent a tenth of its training there).
#[allow(clippy::too_many_arguments)]
pub(crate) fn recurrent_side(
    p: &Params,
    s: &Sizes,
    cols: Range<usize>,
    width: usize,
    h0: Option<&[f32]>,
    states: &[f32],
    dgates: &[f32],
    du: &mut [f32],
    shifted: &mut [f32],
) -> Result<()> {
    let h = p.hidden;
    check_capacity("recurrent: shifted states", s.rows * h, shifted.len())?;
    let shifted = &mut shifted[..s.rows * h];
    for b in 0..p.batch {
        for t in 0..p.steps {
            let dst = &mut shifted[at(p, b, t, h)..][..h];
            match (previous(p, t), h0) {
                (Some(tp), _) => dst.copy_from_slice(&states[at(p, b, tp, h)..][..h]),
                (None, Some(h0)) => dst.copy_from_slice(&h0[b * h..(b + 1) * h]),
                (None, None) => dst.fill(0.0),
            }
        }
    }
    aligned_side(p, s, cols, width, shifted, dgates, du)
}

/// `∂L/∂U_block += Σ dgates[:, cols]ᵀ·q` for states `q` aligned with the gates
/// (`[batch][steps][hidden]`, the same rows): one GEMM.
pub(crate) fn aligned_side(
    p: &Params,
    s: &Sizes,
    cols: Range<usize>,
    width: usize,
    states: &[f32],
    dgates: &[f32],
    du: &mut [f32],
) -> Result<()> {
    let (h, g) = (p.hidden, cols.len());
    let d = MatRef::new(&dgates[cols.start..], s.rows, g, width, 1)?;
    let q = MatRef::row_major(states, s.rows, h)?;
    sgemm(1.0, d.t(), q, 1.0, MatMut::row_major(du, g, h)?)
}
