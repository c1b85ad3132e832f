//! What the recurrent layers do the same way around their cells: writing a step's
//! hidden state to the output, reading a step's output gradient, and turning gate
//! gradients into input and weight gradients with GEMMs.

use super::params::{Params, Sizes, WeightGrads, add_column_sums, step_view, step_view_mut};
use core::ops::Range;
use mote_core::Result;
use mote_simd::gemm::{MatMut, MatRef, sgemm};

/// Copies one step's hidden state `[batch][hidden]` to the output: at time `t` of every
/// sequence when returning sequences, else when it is the last step processed.
pub(crate) fn write_output(p: &Params, state: &[f32], step: usize, t: usize, output: &mut [f32]) {
    let h = p.hidden;
    if p.return_sequences {
        for (b, row) in state.chunks_exact(h).enumerate() {
            let at = (b * p.steps + t) * h;
            output[at..at + h].copy_from_slice(row);
        }
    } else if step + 1 == p.steps {
        output.copy_from_slice(state);
    }
}

/// Adds the output gradient of processing step `step` (time `t`) to `dh`.
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
            let at = (b * p.steps + t) * h;
            row.iter_mut()
                .zip(&grad_output[at..at + h])
                .for_each(|(d, &g)| *d += g);
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

/// The input side of every layer's gradients, from the gradients `dgates` of the input
/// part of its gate pre-activations (`[steps][batch][G·hidden]`, processing order):
/// `∂L/∂x_t += dgates_t·W`, `∂L/∂W += Σ_t dgates_tᵀ·x_t`, `∂L/∂bias += Σ dgates`.
pub(crate) fn input_side(
    p: &Params,
    s: &Sizes,
    input: &[f32],
    weights: &[f32],
    dgates: &[f32],
    mut grad_input: Option<&mut [f32]>,
    grads: &mut WeightGrads<'_>,
) -> Result<()> {
    let (g, rows) = (s.gates, p.batch);
    let w = MatRef::row_major(weights, g, p.inputs)?;
    for step in 0..p.steps {
        let t = p.time(step);
        let d = MatRef::row_major(&dgates[step * rows * g..(step + 1) * rows * g], rows, g)?;
        if let Some(dx) = grad_input.as_deref_mut() {
            sgemm(1.0, d, w, 1.0, step_view_mut(dx, p, t, p.inputs)?)?;
        }
        if let Some(dw) = grads.input.as_deref_mut() {
            let x = step_view(input, p, t, p.inputs)?;
            sgemm(1.0, d.t(), x, 1.0, MatMut::row_major(dw, g, p.inputs)?)?;
        }
    }
    if let Some(db) = grads.bias.as_deref_mut() {
        add_column_sums(db, dgates, g);
    }
    Ok(())
}

/// `∂L/∂U_block += Σ_t dgates_t[:, cols]ᵀ·h_{t−1}`: the recurrent weight gradient of
/// the gate columns `cols` (rows `cols` of `U`, `du` holding just those rows), from
/// `dgates` (`[steps][batch][width]`, processing order) and the states the block
/// multiplied — `states` (`[steps][batch][hidden]`) shifted by one step, with `h0` (when
/// given) before the first. One GEMM over steps 1…, one for the initial state.
pub(crate) fn recurrent_side(
    p: &Params,
    cols: Range<usize>,
    width: usize,
    h0: Option<&[f32]>,
    states: &[f32],
    dgates: &[f32],
    du: &mut [f32],
) -> Result<()> {
    let (h, rows, g) = (p.hidden, p.batch, cols.len());
    let d_rows =
        |from: usize, n: usize| MatRef::new(&dgates[from * width + cols.start..], n, g, width, 1);
    if p.steps > 1 {
        let n = (p.steps - 1) * rows;
        let earlier = MatRef::row_major(&states[..n * h], n, h)?;
        sgemm(
            1.0,
            d_rows(rows, n)?.t(),
            earlier,
            1.0,
            MatMut::row_major(du, g, h)?,
        )?;
    }
    if let Some(h0) = h0 {
        let h0 = MatRef::row_major(h0, rows, h)?;
        sgemm(
            1.0,
            d_rows(0, rows)?.t(),
            h0,
            1.0,
            MatMut::row_major(du, g, h)?,
        )?;
    }
    Ok(())
}

/// `∂L/∂U_block += Σ_t dgates_t[:, cols]ᵀ·q_t` for states `q` aligned with the steps
/// (`[steps][batch][hidden]`): one GEMM.
pub(crate) fn aligned_side(
    p: &Params,
    cols: Range<usize>,
    width: usize,
    states: &[f32],
    dgates: &[f32],
    du: &mut [f32],
) -> Result<()> {
    let (h, g, n) = (p.hidden, cols.len(), p.steps * p.batch);
    let d = MatRef::new(&dgates[cols.start..], n, g, width, 1)?;
    let q = MatRef::row_major(&states[..n * h], n, h)?;
    sgemm(1.0, d.t(), q, 1.0, MatMut::row_major(du, g, h)?)
}
