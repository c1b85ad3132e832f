//! The geometry of an [`OpCode::Lstm`](super::OpCode::Lstm) record, read from its
//! tensors' shapes the same way by the reader, the executor and generated code.

use super::tensor::TensorInfo;

/// What an LSTM record's tensors say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LstmShape {
    /// Sequences: the product of `x`'s dimensions before the last two.
    pub batch: usize,
    /// Time steps: `x`'s second-last dimension.
    pub steps: usize,
    /// Features per step: `x`'s last dimension.
    pub inputs: usize,
    /// Units: the recurrent weights' last dimension.
    pub hidden: usize,
    /// The output holds every step (else only the last, `batch·hidden` values).
    pub sequences: bool,
}

impl LstmShape {
    /// The geometry of an LSTM reading `x` with recurrent weights `u` into `out`
    /// (`None` when `x` has fewer than two dimensions, a size is zero or a product
    /// overflows); that it agrees with the weights is the reader's check.
    pub fn of(x: &TensorInfo<'_>, u: &TensorInfo<'_>, out: &TensorInfo<'_>) -> Option<Self> {
        let d = x.shape.dims();
        let steps = *d.get(d.len().checked_sub(2)?)?;
        let inputs = *d.last()?;
        let hidden = *u.shape.dims().last()?;
        let per = steps.checked_mul(inputs)?;
        if per == 0 || hidden == 0 || !x.len().is_multiple_of(per) {
            return None;
        }
        let batch = x.len() / per;
        Some(Self {
            batch,
            steps,
            inputs,
            hidden,
            sequences: out.len() != batch.checked_mul(hidden)?,
        })
    }

    /// Elements of the output: `batch·steps·hidden`, or `batch·hidden` for the last
    /// step only (`None` on overflow).
    pub fn output_len(&self) -> Option<usize> {
        let last = self.batch.checked_mul(self.hidden)?;
        if self.sequences {
            last.checked_mul(self.steps)
        } else {
            Some(last)
        }
    }

    /// Elements of the i16 scratch tensor the operator needs: the cell state
    /// (`batch·hidden`), one step's gates (`4·hidden`) and, when the output holds every
    /// step, the hidden state (`batch·hidden` i16 slots, whatever the activation type).
    /// `None` on overflow.
    pub fn scratch_len(&self) -> Option<usize> {
        let state = self.batch.checked_mul(self.hidden)?;
        let gates = self.hidden.checked_mul(4)?;
        let h = if self.sequences { state } else { 0 };
        state.checked_add(gates)?.checked_add(h)
    }
}
