//! What every recurrent layer shares: the sequence geometry ([`Params`]), the weight
//! buffers ([`Weights`], [`WeightGrads`]), the state buffers ([`StateRef`],
//! [`StateMut`]), and the strided views of one time step of a batch-major sequence.

use mote_core::error::{check_capacity, check_len, check_nonzero};
use mote_core::{Error, ErrorKind, Result};
use mote_simd::gemm::{MatMut, MatRef};

/// Geometry of a recurrent layer over a batch of sequences.
///
/// Sequences are batch-major, `[batch][steps][features]` (Keras, PyTorch with
/// `batch_first=True`). With `reverse`, the layer reads the sequence from its last step
/// to its first (the backward half of a bidirectional layer: run one layer forward,
/// one reversed, and concatenate their outputs); returned sequences stay in input order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Sequences in the batch.
    pub batch: usize,
    /// Time steps per sequence.
    pub steps: usize,
    /// Features per input step.
    pub inputs: usize,
    /// Units of the hidden state (features per output step).
    pub hidden: usize,
    /// Output every step's hidden state (`[batch][steps][hidden]`) rather than only the
    /// last one (`[batch][hidden]`).
    pub return_sequences: bool,
    /// Read the sequence from its last step to its first.
    pub reverse: bool,
}

impl Params {
    /// A layer of `hidden` units over `batch` sequences of `steps` steps of `inputs`
    /// features, returning the last hidden state, reading forwards.
    pub const fn new(batch: usize, steps: usize, inputs: usize, hidden: usize) -> Self {
        Self {
            batch,
            steps,
            inputs,
            hidden,
            return_sequences: false,
            reverse: false,
        }
    }

    /// The same layer returning every step's hidden state when `yes`.
    pub const fn sequences(self, yes: bool) -> Self {
        Self {
            return_sequences: yes,
            ..self
        }
    }

    /// The same layer reading the sequence backwards when `yes`.
    pub const fn reversed(self, yes: bool) -> Self {
        Self {
            reverse: yes,
            ..self
        }
    }

    /// Length of the output: `batch·steps·hidden` with `return_sequences`, else
    /// `batch·hidden`.
    pub fn output_len(&self) -> Result<usize> {
        Ok(self.sizes(1)?.output)
    }

    /// The time index of the `s`-th step processed.
    pub(crate) fn time(&self, s: usize) -> usize {
        if self.reverse { self.steps - 1 - s } else { s }
    }

    /// Every buffer length of a cell with `gates` blocks of `hidden` rows, after
    /// checking that no size is zero and no product overflows.
    pub(crate) fn sizes(&self, gates: usize) -> Result<Sizes> {
        let what = "recurrent";
        check_nonzero("recurrent: batch", self.batch)?;
        check_nonzero("recurrent: steps", self.steps)?;
        check_nonzero("recurrent: inputs", self.inputs)?;
        check_nonzero("recurrent: hidden", self.hidden)?;
        let mul = |a: usize, b: usize| {
            a.checked_mul(b)
                .ok_or(Error::new(ErrorKind::Overflow, what))
        };
        let rows = mul(self.steps, self.batch)?;
        let gate_rows = mul(gates, self.hidden)?;
        let state = mul(self.batch, self.hidden)?;
        Ok(Sizes {
            input: mul(rows, self.inputs)?,
            weights: mul(gate_rows, self.inputs)?,
            recurrent: mul(gate_rows, self.hidden)?,
            gates: gate_rows,
            state,
            output: if self.return_sequences {
                mul(rows, self.hidden)?
            } else {
                state
            },
            rows,
        })
    }
}

/// Buffer lengths of one layer (see [`Params::sizes`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    /// `batch·steps·inputs`.
    pub input: usize,
    /// `gates·hidden·inputs`.
    pub weights: usize,
    /// `gates·hidden·hidden`.
    pub recurrent: usize,
    /// `gates·hidden`: one step's gate pre-activations per sequence, and the bias.
    pub gates: usize,
    /// `batch·hidden`: one state.
    pub state: usize,
    /// The output's length.
    pub output: usize,
    /// `steps·batch`: rows of the per-step buffers.
    pub rows: usize,
}

/// The parameters of a recurrent layer with `G` gate blocks (LSTM 4, GRU 3, simple
/// RNN 1), each block `hidden` rows.
///
/// `input` is `[G·hidden][inputs]` and `recurrent` `[G·hidden][hidden]` (PyTorch's
/// `weight_ih` / `weight_hh`; Keras stores their transposes); `bias` and
/// `recurrent_bias` are `[G·hidden]` (PyTorch's `bias_ih` / `bias_hh`; Keras has one
/// bias, or for a reset-after GRU the two as rows of a `(2, 3·hidden)` array).
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a> {
    /// Input-to-gates weights, `[G·hidden][inputs]`.
    pub input: &'a [f32],
    /// Hidden-to-gates weights, `[G·hidden][hidden]`.
    pub recurrent: &'a [f32],
    /// Bias added to the input part of every gate.
    pub bias: Option<&'a [f32]>,
    /// Bias added to the recurrent part of every gate (for a reset-after GRU's
    /// candidate, inside the reset gate's product).
    pub recurrent_bias: Option<&'a [f32]>,
}

/// Gradient buffers matching [`Weights`]; backward kernels add into those given.
#[derive(Debug, Default)]
pub struct WeightGrads<'a> {
    /// `∂L/∂input weights`.
    pub input: Option<&'a mut [f32]>,
    /// `∂L/∂recurrent weights`.
    pub recurrent: Option<&'a mut [f32]>,
    /// `∂L/∂bias`.
    pub bias: Option<&'a mut [f32]>,
    /// `∂L/∂recurrent_bias`.
    pub recurrent_bias: Option<&'a mut [f32]>,
}

/// A layer's state, `[batch][hidden]` each: the hidden state `h`, and for an LSTM the
/// cell state `c`. `None` stands for zeros.
#[derive(Clone, Copy, Debug, Default)]
pub struct StateRef<'a> {
    /// Hidden state.
    pub h: Option<&'a [f32]>,
    /// Cell state (LSTM only).
    pub c: Option<&'a [f32]>,
}

/// Buffers for gradients of a state (`[batch][hidden]` each); backward kernels add into
/// those given.
#[derive(Debug, Default)]
pub struct StateMut<'a> {
    /// `∂L/∂h`.
    pub h: Option<&'a mut [f32]>,
    /// `∂L/∂c` (LSTM only).
    pub c: Option<&'a mut [f32]>,
}

/// Checks the weight buffers against `sizes`.
pub(crate) fn check_weights(w: &Weights<'_>, s: &Sizes) -> Result<()> {
    check_len("recurrent: input weights", s.weights, w.input.len())?;
    check_len(
        "recurrent: recurrent weights",
        s.recurrent,
        w.recurrent.len(),
    )?;
    if let Some(b) = w.bias {
        check_len("recurrent: bias", s.gates, b.len())?;
    }
    if let Some(b) = w.recurrent_bias {
        check_len("recurrent: recurrent bias", s.gates, b.len())?;
    }
    Ok(())
}

/// Checks the weight-gradient buffers against `sizes`.
pub(crate) fn check_weight_grads(g: &WeightGrads<'_>, s: &Sizes) -> Result<()> {
    if let Some(d) = &g.input {
        check_len("recurrent: input weight gradient", s.weights, d.len())?;
    }
    if let Some(d) = &g.recurrent {
        check_len("recurrent: recurrent weight gradient", s.recurrent, d.len())?;
    }
    if let Some(d) = &g.bias {
        check_len("recurrent: bias gradient", s.gates, d.len())?;
    }
    if let Some(d) = &g.recurrent_bias {
        check_len("recurrent: recurrent bias gradient", s.gates, d.len())?;
    }
    Ok(())
}

/// Checks a state (`h` always, `c` when `with_cell`; a cell state given to a layer
/// without one is an error).
pub(crate) fn check_state(
    at: &'static str,
    h: Option<usize>,
    c: Option<usize>,
    s: &Sizes,
    with_cell: bool,
) -> Result<()> {
    if let Some(len) = h {
        check_len(at, s.state, len)?;
    }
    match (c, with_cell) {
        (Some(len), true) => check_len(at, s.state, len),
        (Some(_), false) => Err(Error::new(ErrorKind::Unsupported, at)),
        (None, _) => Ok(()),
    }
}

/// Rows `t` of every sequence of a batch-major `[batch][steps][width]` buffer: a
/// `batch × width` view.
pub(crate) fn step_view<'a>(
    data: &'a [f32],
    p: &Params,
    t: usize,
    width: usize,
) -> Result<MatRef<'a>> {
    let from = t
        .checked_mul(width)
        .ok_or(Error::new(ErrorKind::Overflow, "recurrent: step"))?;
    let rest = data
        .get(from..)
        .ok_or(Error::too_small("recurrent: step", from, data.len()))?;
    MatRef::new(rest, p.batch, width, p.steps * width, 1)
}

/// The mutable form of [`step_view`].
pub(crate) fn step_view_mut<'a>(
    data: &'a mut [f32],
    p: &Params,
    t: usize,
    width: usize,
) -> Result<MatMut<'a>> {
    let from = t
        .checked_mul(width)
        .ok_or(Error::new(ErrorKind::Overflow, "recurrent: step"))?;
    let len = data.len();
    let rest = data
        .get_mut(from..)
        .ok_or(Error::too_small("recurrent: step", from, len))?;
    MatMut::new(rest, p.batch, width, p.steps * width, 1)
}

/// Fills every `gates`-wide row of `rows` with `bias + recurrent_bias` (zeros when
/// neither is given).
pub(crate) fn fill_bias(
    rows: &mut [f32],
    width: usize,
    bias: Option<&[f32]>,
    recurrent_bias: Option<&[f32]>,
) {
    for row in rows.chunks_exact_mut(width) {
        row.fill(0.0);
        if let Some(b) = bias {
            row.iter_mut().zip(b).for_each(|(y, &b)| *y += b);
        }
        if let Some(b) = recurrent_bias {
            row.iter_mut().zip(b).for_each(|(y, &b)| *y += b);
        }
    }
}

/// Adds the column sums of the `width`-wide rows of `rows` to `sum`.
pub(crate) fn add_column_sums(sum: &mut [f32], rows: &[f32], width: usize) {
    for row in rows.chunks_exact(width) {
        sum.iter_mut().zip(row).for_each(|(s, &r)| *s += r);
    }
}

/// How one layer names its buffers in errors (`"lstm: input"`, …).
pub(crate) struct Sites {
    pub input: &'static str,
    pub initial: &'static str,
    pub output: &'static str,
    pub saved: &'static str,
    pub grad_output: &'static str,
    pub grad_final: &'static str,
    pub grad_input: &'static str,
    pub grad_initial: &'static str,
    pub scratch: &'static str,
}

/// The lengths every layer's forward checks, in order: input, weights, initial state,
/// output, saved (`(needed, given)`); a cell state only `with_cell`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_forward(
    at: &Sites,
    s: &Sizes,
    input: usize,
    weights: &Weights<'_>,
    initial: &StateRef<'_>,
    output: usize,
    saved: (usize, usize),
    with_cell: bool,
) -> Result<()> {
    check_len(at.input, s.input, input)?;
    check_weights(weights, s)?;
    let (h, c) = (initial.h.map(<[f32]>::len), initial.c.map(<[f32]>::len));
    check_state(at.initial, h, c, s, with_cell)?;
    check_len(at.output, s.output, output)?;
    check_len(at.saved, saved.0, saved.1)
}

/// The gradient buffers of a backward pass, by length.
pub(crate) struct GradLens<'a, 'g> {
    /// `grad_output`'s length.
    pub output: usize,
    /// The final state's gradients.
    pub fin: &'a StateRef<'g>,
    /// `grad_input`'s length, when given.
    pub input: Option<usize>,
    /// The weight gradients.
    pub weights: &'a WeightGrads<'g>,
    /// The initial state's gradients.
    pub initial: &'a StateMut<'g>,
}

/// What every layer's backward checks beyond its forward's buffers (input, weights,
/// initial state and saved, as [`check_forward`] but with the output skipped): the
/// gradients' lengths and the scratch capacity (`(needed, given)`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_backward(
    at: &Sites,
    s: &Sizes,
    input: usize,
    weights: &Weights<'_>,
    initial: &StateRef<'_>,
    saved: (usize, usize),
    grads: GradLens<'_, '_>,
    scratch: (usize, usize),
    with_cell: bool,
) -> Result<()> {
    check_len(at.input, s.input, input)?;
    check_weights(weights, s)?;
    let (h, c) = (initial.h.map(<[f32]>::len), initial.c.map(<[f32]>::len));
    check_state(at.initial, h, c, s, with_cell)?;
    check_len(at.saved, saved.0, saved.1)?;
    check_len(at.grad_output, s.output, grads.output)?;
    let (h, c) = (grads.fin.h.map(<[f32]>::len), grads.fin.c.map(<[f32]>::len));
    check_state(at.grad_final, h, c, s, with_cell)?;
    if let Some(len) = grads.input {
        check_len(at.grad_input, s.input, len)?;
    }
    check_weight_grads(grads.weights, s)?;
    let h = grads.initial.h.as_deref().map(<[f32]>::len);
    let c = grads.initial.c.as_deref().map(<[f32]>::len);
    check_state(at.grad_initial, h, c, s, with_cell)?;
    check_capacity(at.scratch, scratch.0, scratch.1)
}
