//! An LSTM record as Rust: the call `mote_kernels::exec`'s LSTM operator makes
//! (`exec::lstm_s8` / `lstm_s16`, with the state in the record's scratch region).

use super::emit::Module;
use super::unsupported;
use crate::Result;
use mote_core::dtype::DType;
use mote_core::format::{LstmShape, OpInfo};

/// The lines of operator `i`'s block and its scratch region `(offset, bytes)`.
pub(super) fn emit(
    m: &mut Module<'_, '_>,
    i: usize,
    op: &OpInfo<'_>,
) -> Result<(Vec<String>, (usize, usize))> {
    let view = m.view;
    let input = |j: usize| {
        op.input(j)
            .ok_or(unsupported("an LSTM without its weights"))
    };
    let (x_i, w_i, u_i) = (input(0)?, input(1)?, input(2)?);
    let (x_t, u_t, out_t) = (
        view.tensor(x_i)?,
        view.tensor(u_i)?,
        view.tensor(op.output)?,
    );
    let scratch_t = usize::try_from(op.params[0])
        .ok()
        .and_then(|t| view.tensor(t).ok())
        .ok_or(unsupported("an LSTM without its scratch tensor"))?;
    let shape = LstmShape::of(&x_t, &u_t, &out_t).ok_or(unsupported("an LSTM's shapes"))?;
    let zp = |q: Option<mote_core::quant::QuantParams>| {
        q.map(|q| q.zero_point())
            .ok_or(unsupported("an LSTM activation not quantised per tensor"))
    };
    let (x_zp, h_zp) = (zp(x_t.per_tensor())?, zp(out_t.per_tensor())?);
    let int8 = x_t.dtype == DType::I8;
    let x = m.operand(x_i, x_t.dtype, format!("OP{i}_INPUT"))?;
    let w = m.operand(w_i, DType::I8, format!("OP{i}_WEIGHTS"))?;
    let u = m.operand(u_i, DType::I8, format!("OP{i}_RECURRENT"))?;
    let bias_type = if int8 { DType::I32 } else { DType::I64 };
    let b = m.bias(op.input(3), bias_type, format!("OP{i}_BIAS"))?;
    let y = m.output(&out_t)?;
    let ms = m.multiplier_table(
        i,
        format!(
            "Multipliers of op {i} (UNIDIRECTIONAL_SEQUENCE_LSTM `{}`): gates, then the cell.",
            out_t.name
        ),
        op.multipliers,
    );
    m.uses("mote_core::format::LstmShape");
    m.uses("mote_kernels::int8");
    m.uses("mote_kernels::exec::i16s_mut");
    let f = if int8 { "lstm_s8" } else { "lstm_s16" };
    m.uses(if int8 {
        "mote_kernels::exec::lstm_s8"
    } else {
        "mote_kernels::exec::lstm_s16"
    });
    let LstmShape {
        batch,
        steps,
        inputs,
        hidden,
        sequences,
    } = shape;
    let mut lines = vec![
        "let shape = LstmShape {".into(),
        format!("    batch: {batch},"),
        format!("    steps: {steps},"),
        format!("    inputs: {inputs},"),
        format!("    hidden: {hidden},"),
        format!("    sequences: {sequences},"),
        "};".into(),
        format!(
            "let quant = int8::lstm::Quant::from_record(&{ms}, {x_zp}, {h_zp}, {}, {})?;",
            op.params[1], op.params[2]
        ),
        "let weights = int8::lstm::Weights {".into(),
        format!("    input: {w},"),
        format!("    recurrent: {u},"),
        format!(
            "    bias: {},",
            b.map_or("None".into(), |b| format!("Some({b})"))
        ),
        "};".into(),
        "let scratch = i16s_mut(scratch)?;".into(),
    ];
    let args = ["&shape", "&quant", &x, "&weights", y, "scratch"];
    super::ops::call(&mut lines, f, &args);
    Ok((lines, (scratch_t.offset, scratch_t.bytes)))
}
