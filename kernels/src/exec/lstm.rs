//! The LSTM operator: a whole-sequence integer LSTM whose state lives in a scratch
//! region of the arena and starts from zero at every invocation (Keras' stateless
//! layer). Public so the Rust modules `mote export --rust` generates make the same call.

use super::regions::{ArenaSplit, cast, cast_mut, i8s, i8s_mut};
use crate::int8::lstm::{Activation, Params, Quant, State, Weights, forward_any, reset};
use mote_core::dtype::DType;
use mote_core::format::{LstmShape, ModelView, OpInfo};
use mote_core::{Error, ErrorKind, Result};

/// The scratch `[c | gates | h]` of an LSTM of `shape`, split: the cell state, the gates
/// and the i16 slots of the hidden state (empty unless the output holds every step).
fn split_scratch<'s>(
    shape: &LstmShape,
    scratch: &'s mut [i16],
) -> Result<(&'s mut [i16], &'s mut [i16], &'s mut [i16])> {
    let state = shape.batch.saturating_mul(shape.hidden);
    let need = shape
        .scratch_len()
        .ok_or(Error::new(ErrorKind::Overflow, "lstm op: scratch"))?;
    if scratch.len() < need {
        return Err(Error::too_small("lstm op: scratch", need, scratch.len()));
    }
    let (c, rest) = scratch.split_at_mut(state);
    let (gates, rest) = rest.split_at_mut(4 * shape.hidden);
    let h = &mut rest[..need - state - 4 * shape.hidden];
    Ok((c, gates, h))
}

/// The kernel's geometry for `shape` (batch-major).
fn params(shape: &LstmShape) -> Params {
    Params::new(shape.batch, shape.steps, shape.inputs, shape.hidden)
}

/// The LSTM operator for either scheme: the state in `scratch` (the hidden state in the
/// slots `h_slots` views as `X`, when every step is returned; else in `out`), reset, then
/// the kernel.
fn run_op<X: Activation>(
    shape: &LstmShape,
    quant: &Quant,
    x: &[X],
    weights: &Weights<'_, X::Bias>,
    out: &mut [X],
    scratch: &mut [i16],
    h_slots: impl FnOnce(&mut [i16]) -> &mut [X],
) -> Result<()> {
    let (c, gates, h16) = split_scratch(shape, scratch)?;
    let (h, sequence): (&mut [X], &mut [X]) = if shape.sequences {
        (h_slots(h16), out)
    } else {
        (out, &mut [])
    };
    let mut state = State { h, c };
    reset(&mut state, quant);
    forward_any(
        &params(shape),
        quant,
        x,
        weights,
        &mut state,
        sequence,
        gates,
    )
}

/// The s8 LSTM operator: `out` gets every step's hidden state or the last (as
/// `shape.sequences` says), from the zero state; `scratch` needs
/// [`LstmShape::scratch_len`] elements.
///
/// Errors: `BufferTooSmall` for a short `scratch`; otherwise as
/// [`int8::lstm::forward`](crate::int8::lstm::forward).
pub fn lstm_s8(
    shape: &LstmShape,
    quant: &Quant,
    x: &[i8],
    weights: &Weights<'_, i32>,
    out: &mut [i8],
    scratch: &mut [i16],
) -> Result<()> {
    // `batch·hidden` i16 slots hold the `batch·hidden` int8 values in their first half.
    let n = shape.batch.saturating_mul(shape.hidden);
    run_op(shape, quant, x, weights, out, scratch, |h16| {
        let bytes = i8s_mut(bytemuck::cast_slice_mut(h16));
        let n = n.min(bytes.len());
        &mut bytes[..n]
    })
}

/// The s16 LSTM operator (as [`lstm_s8`] with int16 activations and int64 bias).
///
/// Errors: as [`lstm_s8`].
pub fn lstm_s16(
    shape: &LstmShape,
    quant: &Quant,
    x: &[i16],
    weights: &Weights<'_, i64>,
    out: &mut [i16],
    scratch: &mut [i16],
) -> Result<()> {
    run_op(shape, quant, x, weights, out, scratch, |h| h)
}

/// Runs LSTM record `op` over `arena` (the reader validated its tensors).
pub(crate) fn run<'a>(model: &ModelView<'a>, op: &OpInfo<'a>, arena: &mut [u8]) -> Result<()> {
    const BAD: Error = Error::new(ErrorKind::Malformed { offset: 0 }, "executor: LSTM record");
    let tensor = |i: usize| op.input(i).ok_or(BAD).and_then(|t| model.tensor(t));
    let (x_t, w_t, u_t) = (tensor(0)?, tensor(1)?, tensor(2)?);
    let bias_t = op.input(3).map(|t| model.tensor(t)).transpose()?;
    let out_t = model.tensor(op.output)?;
    let scratch_t = usize::try_from(op.params[0])
        .map_err(|_| BAD)
        .and_then(|t| model.tensor(t))?;
    let shape = LstmShape::of(&x_t, &u_t, &out_t).ok_or(BAD)?;
    let zp =
        |t: &mote_core::format::TensorInfo<'_>| t.per_tensor().map(|q| q.zero_point()).ok_or(BAD);
    let quant = Quant::from_record(
        op.multipliers,
        zp(&x_t)?,
        zp(&out_t)?,
        op.params[1],
        op.params[2],
    )?;
    let (rest, out, scratch) = ArenaSplit::with_scratch(
        arena,
        (out_t.offset, out_t.bytes),
        (scratch_t.offset, scratch_t.bytes),
    )?;
    let scratch = cast_mut::<i16>(scratch)?;
    let x = rest.input(model, &x_t)?;
    let (w, u) = (i8s(model.data(&w_t)), i8s(model.data(&u_t)));
    let bias = bias_t.as_ref().map(|b| model.data(b));
    match x_t.dtype {
        DType::I8 => {
            let weights = Weights {
                input: w,
                recurrent: u,
                bias: bias.map(cast::<i32>).transpose()?,
            };
            lstm_s8(&shape, &quant, i8s(x), &weights, i8s_mut(out), scratch)
        }
        _ => {
            let weights = Weights {
                input: w,
                recurrent: u,
                bias: bias.map(cast::<i64>).transpose()?,
            };
            lstm_s16(&shape, &quant, cast(x)?, &weights, cast_mut(out)?, scratch)
        }
    }
}
