//! Dense (fully connected) layer, forward and backward, on the GEMM of
//! [`mote_simd::gemm`].
//!
//! `y[b][o] = bias[o] + Σ_i x[b][i] · w[o][i]`
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | `[batch][inputs]` | `batch·inputs` |
//! | weights | `[outputs][inputs]` (TFLite's `FULLY_CONNECTED`, PyTorch's `Linear`) | `outputs·inputs` |
//! | bias | `[outputs]` | `outputs` |
//! | output | `[batch][outputs]` | `batch·outputs` |
//!
//! Forward is one GEMM `Y = X·Wᵀ`, then the bias added to every row
//! ([`mote_simd::map::bias_act`]; for batch 1, one dot product per output plus its
//! bias); backward is `dX += dY·W` and `dW += dYᵀ·X`, plus column sums of `dY` for the
//! bias. No scratch. Exactness: f32, the summation order of
//! [`mote_simd::gemm::sgemm`].

use mote_core::error::{check_len, check_nonzero};
use mote_core::{Error, ErrorKind, Result};
use mote_simd::dot::sdot;
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use mote_simd::map::{Act, bias_act};

/// Parameters of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Rows of the input and output.
    pub batch: usize,
    /// Features per input row.
    pub inputs: usize,
    /// Features per output row.
    pub outputs: usize,
}

impl Params {
    /// A dense layer mapping `batch` rows of `inputs` features to `outputs` features.
    pub const fn new(batch: usize, inputs: usize, outputs: usize) -> Self {
        Self {
            batch,
            inputs,
            outputs,
        }
    }

    /// The same dense layer applied to every step of `batch` sequences
    /// `[batch][steps][inputs]` → `[batch][steps][outputs]` (Keras `TimeDistributed(Dense)`,
    /// or `Dense` on a 3-D input): one layer over `batch·steps` rows, sharing weights.
    /// `None` when `batch·steps` overflows.
    pub const fn time_distributed(
        batch: usize,
        steps: usize,
        inputs: usize,
        outputs: usize,
    ) -> Option<Self> {
        match batch.checked_mul(steps) {
            Some(rows) => Some(Self::new(rows, inputs, outputs)),
            None => None,
        }
    }

    /// `(batch·inputs, outputs·inputs, batch·outputs)`, after checking that no size is
    /// zero and no product overflows.
    fn lens(&self) -> Result<(usize, usize, usize)> {
        check_nonzero("dense: batch", self.batch)?;
        check_nonzero("dense: inputs", self.inputs)?;
        check_nonzero("dense: outputs", self.outputs)?;
        let overflow = Error::new(ErrorKind::Overflow, "dense: size");
        let x = self.batch.checked_mul(self.inputs).ok_or(overflow)?;
        let w = self.outputs.checked_mul(self.inputs).ok_or(overflow)?;
        let y = self.batch.checked_mul(self.outputs).ok_or(overflow)?;
        Ok((x, w, y))
    }
}

/// Forward pass: `output ← input·weightsᵀ + bias`.
///
/// `output` is overwritten (not read).
///
/// Errors: `Zero` for a zero size, `LengthMismatch` for a buffer of the wrong length,
/// `Overflow` when a length overflows.
///
/// ```
/// use mote_kernels::f32::dense::{Params, forward};
///
/// let p = Params::new(1, 3, 2);
/// let w = [1.0, 0.0, -1.0, 0.5, 0.5, 0.5];
/// let mut y = [0.0; 2];
/// forward(&p, &[1.0, 2.0, 3.0], &w, Some(&[0.0, 1.0]), &mut y)?;
/// assert_eq!(y, [-2.0, 4.0]);
/// # Ok::<(), mote_core::Error>(())
/// ```
pub fn forward(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> Result<()> {
    let (x_len, w_len, y_len) = params.lens()?;
    let Params {
        batch,
        inputs,
        outputs,
    } = *params;
    check_len("dense: input", x_len, input.len())?;
    check_len("dense: weights", w_len, weights.len())?;
    if let Some(b) = bias {
        check_len("dense: bias", outputs, b.len())?;
    }
    check_len("dense: output", y_len, output.len())?;
    if batch == 1 {
        return forward_sample(input, weights, bias, output);
    }
    sgemm(
        1.0,
        MatRef::row_major(input, batch, inputs)?,
        MatRef::row_major(weights, outputs, inputs)?.t(),
        0.0,
        MatMut::row_major(&mut *output, batch, outputs)?,
    )?;
    match bias {
        Some(b) => bias_act(output, b, Act::Identity),
        None => Ok(()),
    }
}

/// Forward pass for one sample: `output[o] = bias[o] + weights[o]·input`, one dot
/// product per output — the same values, bit for bit, as [`forward`] with a batch of one
/// (which calls it). A firmware that runs single inferences calls this directly and links
/// no GEMM (the blocked SGEMM is several KB of flash).
///
/// Errors: `Zero` for an empty input or output; `LengthMismatch` for weights that are not
/// `output.len() × input.len()` or a bias that is not `output.len()` long; `Overflow`
/// when that product overflows.
pub fn forward_sample(
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &mut [f32],
) -> Result<()> {
    let inputs = check_nonzero("dense: inputs", input.len())?;
    let outputs = check_nonzero("dense: outputs", output.len())?;
    let w_len = inputs
        .checked_mul(outputs)
        .ok_or(Error::new(ErrorKind::Overflow, "dense: size"))?;
    check_len("dense: weights", w_len, weights.len())?;
    if let Some(b) = bias {
        check_len("dense: bias", outputs, b.len())?;
    }
    let rows = output.iter_mut().zip(weights.chunks_exact(inputs));
    match bias {
        Some(b) => {
            for ((y, row), &b) in rows.zip(b) {
                *y = b + sdot(row, input)?;
            }
        }
        None => {
            for (y, row) in rows {
                *y = sdot(row, input)?;
            }
        }
    }
    Ok(())
}

/// Backward pass: accumulates `∂L/∂input += grad_output·weights`,
/// `∂L/∂weights += grad_outputᵀ·input` and `∂L/∂bias += Σ_b grad_output[b]`, each when
/// `Some`.
///
/// `input` is read for the weight gradient, `weights` for the input gradient; both are
/// always checked, and every buffer is checked before anything is written.
///
/// Errors: as for [`forward`].
pub fn backward(
    params: &Params,
    input: &[f32],
    weights: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weights: Option<&mut [f32]>,
    grad_bias: Option<&mut [f32]>,
) -> Result<()> {
    let (x_len, w_len, y_len) = params.lens()?;
    let Params {
        batch,
        inputs,
        outputs,
    } = *params;
    check_len("dense: input", x_len, input.len())?;
    check_len("dense: weights", w_len, weights.len())?;
    check_len("dense: grad_output", y_len, grad_output.len())?;
    if let Some(d) = &grad_input {
        check_len("dense: grad_input", x_len, d.len())?;
    }
    if let Some(d) = &grad_weights {
        check_len("dense: grad_weights", w_len, d.len())?;
    }
    if let Some(d) = &grad_bias {
        check_len("dense: grad_bias", outputs, d.len())?;
    }
    let dy = MatRef::row_major(grad_output, batch, outputs)?;
    if let Some(dx) = grad_input {
        let w = MatRef::row_major(weights, outputs, inputs)?;
        sgemm(1.0, dy, w, 1.0, MatMut::row_major(dx, batch, inputs)?)?;
    }
    if let Some(dw) = grad_weights {
        let x = MatRef::row_major(input, batch, inputs)?;
        sgemm(1.0, dy.t(), x, 1.0, MatMut::row_major(dw, outputs, inputs)?)?;
    }
    if let Some(db) = grad_bias {
        for row in grad_output.chunks_exact(outputs) {
            db.iter_mut().zip(row).for_each(|(b, &g)| *b += g);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_and_backward_by_hand() {
        // 2 rows, 2 inputs, 3 outputs.
        let p = Params::new(2, 2, 3);
        let x = [1.0, 2.0, -1.0, 1.0];
        let w = [1.0, 1.0, 2.0, 0.0, 0.0, -1.0];
        let mut y = [f32::NAN; 6];
        forward(&p, &x, &w, None, &mut y).unwrap();
        assert_eq!(y, [3.0, 2.0, -2.0, 0.0, -2.0, -1.0]);
        let dy = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let (mut dx, mut dw, mut db) = ([0.0; 4], [1.0; 6], [0.0; 3]);
        backward(&p, &x, &w, &dy, Some(&mut dx), Some(&mut dw), Some(&mut db)).unwrap();
        assert_eq!(dx, [1.0, 0.0, 2.0, 0.0]);
        // dW[o][i] = 1 + Σ_b dy[b][o]·x[b][i]: accumulated onto the ones.
        assert_eq!(dw, [2.0, 3.0, 0.0, 2.0, 2.0, 3.0]);
        assert_eq!(db, [1.0, 1.0, 1.0]);
    }

    #[test]
    fn invalid_sizes_are_errors() {
        let mut y = [0.0; 2];
        assert!(forward(&Params::new(0, 1, 2), &[], &[0.0; 2], None, &mut y).is_err());
        assert!(forward(&Params::new(1, 1, 2), &[0.0], &[0.0; 3], None, &mut y).is_err());
        assert!(
            forward(
                &Params::new(1, 1, 2),
                &[0.0],
                &[0.0; 2],
                Some(&[0.0]),
                &mut y
            )
            .is_err()
        );
        let big = Params::new(usize::MAX, 2, 2);
        assert!(forward(&big, &[0.0], &[0.0; 4], None, &mut y).is_err());
    }
}
