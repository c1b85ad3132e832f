//! Running an exported model on the host with the executor the device uses: outputs,
//! top-1 agreement with the float model, and each layer's error against the float
//! layer it came from.

use super::graph::FGraph;
use crate::model::Model;
use crate::{Error, Result};
use mote_core::format::{ModelView, Quantization};
use mote_kernels::exec::{Interpreter, Model as IntModel};

/// A zeroed arena for `model` (with room to reach a 16-byte boundary); an error rather
/// than an abort when a file asks for more memory than the host can give.
pub fn arena_for(model: &IntModel<'_>) -> Result<Vec<u8>> {
    let n = model.arena_bytes().saturating_add(16);
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::Mismatch {
        detail: format!(
            "the model asks for an arena of {n} bytes, more than this host can allocate"
        ),
    })?;
    v.resize(n, 0);
    Ok(v)
}

/// Dequantised outputs of the `.mote` model in `bytes` for raw `inputs` (whole samples).
pub fn predict(bytes: &[u8], inputs: &[f32]) -> Result<Vec<f32>> {
    let model = IntModel::from_bytes(bytes)?;
    let n_in = model.input()?.len();
    let n_out = model.output()?.len();
    if n_in == 0 || !inputs.len().is_multiple_of(n_in) {
        return Err(Error::Mismatch {
            detail: format!(
                "{} input values are not whole samples of {n_in}",
                inputs.len()
            ),
        });
    }
    let mut arena = arena_for(&model)?;
    let mut it = Interpreter::new(&model, &mut arena)?;
    let mut out = vec![0f32; inputs.len() / n_in * n_out];
    for (x, y) in inputs.chunks_exact(n_in).zip(out.chunks_exact_mut(n_out)) {
        it.set_input_f32(x)?;
        it.invoke()?;
        it.output_f32(y)?;
    }
    Ok(out)
}

/// One operator's error against the float model.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerError {
    /// Operator index.
    pub op: usize,
    /// Operator name (TFLite's).
    pub code: &'static str,
    /// Layer name(s).
    pub name: String,
    /// Output scale.
    pub scale: f32,
    /// Output zero point.
    pub zero_point: i32,
    /// Root-mean-square error of the dequantised output.
    pub rmse: f64,
    /// `rmse` over the float output's RMS.
    pub relative: f64,
    /// Largest error, in units of the output scale.
    pub max_lsb: f64,
}

/// Each operator's error over `samples` (raw inputs for the integer model, `normalised`
/// the same samples as the float model sees them).
pub fn layer_errors(
    model: &Model,
    graph: &FGraph,
    bytes: &[u8],
    raw: &[f32],
    normalised: &[f32],
) -> Result<Vec<LayerError>> {
    let view = ModelView::from_bytes(bytes)?;
    let int_model = IntModel::from_bytes(bytes)?;
    let mut arena = arena_for(&int_model)?;
    let mut it = Interpreter::new(&int_model, &mut arena)?;
    let n = model.input_len();
    let ops = graph.ops.len();
    let mut sq = vec![0f64; ops];
    let mut ref_sq = vec![0f64; ops];
    let mut max = vec![0f64; ops];
    let mut count = vec![0usize; ops];
    for (x_raw, x) in raw.chunks_exact(n).zip(normalised.chunks_exact(n)) {
        let trace = model.trace_all(x)?;
        it.set_input_f32(x_raw)?;
        let mut failure = None;
        it.invoke_each(|i, bytes| {
            let Some(op) = graph.ops.get(i) else {
                return Ok(());
            };
            let Some(node) = graph.tensors[op.output].node else {
                return Ok(());
            };
            let Some(want) = trace.get(node) else {
                return Ok(());
            };
            let t = match view.tensor(view.op(i)?.output) {
                Ok(t) => t,
                Err(e) => return Err(e),
            };
            let Quantization::PerTensor(q) = t.quant else {
                return Ok(());
            };
            let got: Vec<f32> = match t.dtype {
                mote_core::DType::I8 => bytes
                    .iter()
                    .map(|&b| q.dequantize(b as i8 as i32))
                    .collect(),
                _ => bytes
                    .chunks_exact(2)
                    .map(|b| q.dequantize(i16::from_le_bytes([b[0], b[1]]) as i32))
                    .collect(),
            };
            if got.len() != want.len() {
                failure = Some(format!(
                    "op {i}: {} values, the float layer has {}",
                    got.len(),
                    want.len()
                ));
                return Ok(());
            }
            for (&g, &w) in got.iter().zip(want) {
                let e = (g - w) as f64;
                sq[i] += e * e;
                ref_sq[i] += (w as f64) * (w as f64);
                max[i] = max[i].max(e.abs() / q.scale() as f64);
            }
            count[i] += got.len();
            Ok(())
        })?;
        if let Some(detail) = failure {
            return Err(Error::Mismatch { detail });
        }
    }
    (0..ops)
        .map(|i| {
            let t = view.tensor(view.op(i)?.output)?;
            let q = t.per_tensor();
            let c = count[i].max(1) as f64;
            let rmse = (sq[i] / c).sqrt();
            let rms = (ref_sq[i] / c).sqrt();
            Ok(LayerError {
                op: i,
                code: view.op(i)?.code.name(),
                name: graph.ops[i].name.clone(),
                scale: q.map_or(0.0, |q| q.scale()),
                zero_point: q.map_or(0, |q| q.zero_point()),
                rmse,
                relative: if rms > 0.0 { rmse / rms } else { 0.0 },
                max_lsb: max[i],
            })
        })
        .collect()
}
