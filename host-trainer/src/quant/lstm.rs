//! An LSTM's integer record: TFLite's integer LSTM quantisation (see
//! `mote_kernels::int8::lstm`) — symmetric int8 weights with one scale per gate, gate
//! pre-activations in Q3.12, the cell state on a power-of-two scale wide enough for the
//! largest calibrated `|c|`, and the hidden state in the output's quantisation.

use super::calibrate::LstmRange;
use super::graph::{FKind, FOp};
use super::quantize::{Precision, constant, quantize_weights};
use crate::{Error, Result};
use mote_core::dtype::DType;
use mote_core::format::{LstmShape, ModelDef, OpCode, OpDef, PARAMS, QuantDef, TensorDef};
use mote_core::quant::{LSTM_CELL_SCALE_POWER_RANGE, QuantParams, QuantizedMultiplier};

/// Gate blocks `i, f, g, o`.
const GATES: usize = 4;
/// The gates' pre-activation scale: Q3.12.
const GATE_SCALE: f64 = 1.0 / 4096.0;

/// The cell state's scale exponent for values up to `max_abs`: the smallest power of two
/// `2^(p+15)` not below it, so that int16 holds every calibrated value (TFLite's
/// converter makes the same choice).
pub fn cell_scale_power(max_abs: f32) -> i32 {
    let m = f64::from(max_abs).max(f64::MIN_POSITIVE);
    let (lo, hi) = LSTM_CELL_SCALE_POWER_RANGE;
    (m.log2().ceil() as i32 - 15).clamp(lo, hi)
}

/// Symmetric int8 weights `[4·units][cols]` with one scale per gate block: the bytes,
/// the gate scales and the per-row scale table the tensor records.
fn gate_weights(w: &[f32], units: usize, cols: usize) -> (Vec<u8>, [f32; GATES], Vec<f32>) {
    let per_gate = (units * cols).max(1);
    let (scales, q) = quantize_weights(w, GATES, |i| (i / per_gate).min(GATES - 1));
    let gate = [scales[0], scales[1], scales[2], scales[3]];
    let rows = (0..GATES * units).map(|r| gate[r / units.max(1)]).collect();
    (q, gate, rows)
}

/// The `.mote` record of LSTM operator `op` (adding its weight, bias and scratch
/// tensors to `def`), with activations quantised as `quant` says.
pub(super) fn lower_lstm(
    def: &mut ModelDef,
    op: &FOp,
    quant: &[QuantParams],
    range: LstmRange,
    precision: Precision,
) -> Result<OpDef> {
    let FKind::Lstm {
        steps,
        inputs,
        units,
        w,
        u,
        b,
        ..
    } = &op.kind
    else {
        return Err(Error::Mismatch {
            detail: format!("export: '{}' is not an LSTM", op.name),
        });
    };
    let (steps, inputs, units) = (*steps, *inputs, *units);
    let (qx, qh) = (quant[op.input()], quant[op.output]);
    let (sx, sh) = (f64::from(qx.scale()), f64::from(qh.scale()));
    let (w_q, w_gate, w_rows) = gate_weights(w, units, inputs);
    let (u_q, u_gate, u_rows) = gate_weights(u, units, units);
    let power = cell_scale_power(range.cell);
    let mut multipliers = Vec::with_capacity(11);
    for g in 0..GATES {
        multipliers.push(QuantizedMultiplier::from_real(
            sx * f64::from(w_gate[g]) / GATE_SCALE,
        )?);
        multipliers.push(QuantizedMultiplier::from_real(
            sh * f64::from(u_gate[g]) / GATE_SCALE,
        )?);
    }
    multipliers.extend([
        QuantizedMultiplier::from_real(2f64.powi(-15))?,
        QuantizedMultiplier::from_real(2f64.powi(-30 - power))?,
        QuantizedMultiplier::from_real(2f64.powi(-30) / sh)?,
    ]);
    let bias_scale = |j: usize| sx * f64::from(w_gate[j / units.max(1)]);
    let (bias, bias_dtype): (Vec<u8>, _) = match precision {
        Precision::Int8 => (
            (0..GATES * units)
                .flat_map(|j| {
                    let v = (f64::from(b[j]) / bias_scale(j)).round();
                    (v.clamp(i32::MIN.into(), i32::MAX.into()) as i32).to_le_bytes()
                })
                .collect(),
            DType::I32,
        ),
        Precision::Int16 => (
            (0..GATES * units)
                .flat_map(|j| ((f64::from(b[j]) / bias_scale(j)).round() as i64).to_le_bytes())
                .collect(),
            DType::I64,
        ),
    };
    let name = &op.name;
    let per_row = |scales| QuantDef::PerChannel { axis: 0, scales };
    let w_t = constant(
        def,
        format!("{name}/weights"),
        DType::I8,
        vec![GATES * units, inputs],
        w_q,
        per_row(w_rows),
    );
    let u_t = constant(
        def,
        format!("{name}/recurrent"),
        DType::I8,
        vec![GATES * units, units],
        u_q,
        per_row(u_rows),
    );
    let b_t = constant(
        def,
        format!("{name}/bias"),
        bias_dtype,
        vec![GATES * units],
        bias,
        QuantDef::None,
    );
    // The scratch the operator's state and gates live in, sized as the reader checks.
    let len = |t: usize| def.tensors[t].dims.iter().product::<usize>();
    let batch = len(op.input()) / (steps * inputs).max(1);
    let shape = LstmShape {
        batch,
        steps,
        inputs,
        hidden: units,
        sequences: len(op.output) != batch * units,
    };
    let scratch_len = shape.scratch_len().ok_or_else(|| Error::Mismatch {
        detail: format!("export: '{name}': the LSTM's scratch size overflows"),
    })?;
    def.tensors.push(TensorDef {
        name: format!("{name}/scratch"),
        dtype: DType::I16,
        dims: vec![scratch_len],
        data: None,
        arena_offset: 0,
        quant: QuantDef::None,
    });
    let scratch = def.tensors.len() - 1;
    let mut params = [0i32; PARAMS];
    params[0] = i32::try_from(scratch).map_err(|_| Error::Mismatch {
        detail: format!("export: '{name}': too many tensors"),
    })?;
    params[1] = power;
    params[2] = -1;
    let (act_min, act_max) = match precision {
        Precision::Int8 => (i8::MIN.into(), i8::MAX.into()),
        Precision::Int16 => (i16::MIN.into(), i16::MAX.into()),
    };
    Ok(OpDef {
        code: OpCode::Lstm,
        inputs: vec![op.input(), w_t, u_t, b_t],
        output: op.output,
        multipliers,
        act_min,
        act_max,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_scale_covers_the_largest_value() {
        // |c| up to 3: 2^2 = 4 ≥ 3, so the scale is 2^(2−15).
        assert_eq!(cell_scale_power(3.0), -13);
        assert_eq!(cell_scale_power(4.0), -13);
        assert_eq!(cell_scale_power(4.1), -12);
        assert_eq!(cell_scale_power(0.9), -15);
        assert_eq!(cell_scale_power(0.0), LSTM_CELL_SCALE_POWER_RANGE.0);
        assert_eq!(cell_scale_power(1e30), LSTM_CELL_SCALE_POWER_RANGE.1);
    }
}
