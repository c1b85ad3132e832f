//! `mote inspect model.mote`: what a `.mote` file holds — header, tensors, operators,
//! arena — after validating it as a device would.

use crate::{Error, Result};
use mote_core::format::{AlignedBytes, ModelView, Quantization, Storage};
use std::fmt::Write;
use std::path::Path;

/// Reads and validates the file at `path`; returns the description.
pub fn run(path: &Path) -> Result<String> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = AlignedBytes::new(&raw);
    let view =
        ModelView::from_bytes(bytes.as_bytes()).map_err(|e| Error::format(path, e.to_string()))?;
    let h = view.header();
    let mut out = String::new();
    let consts: usize = (0..view.tensor_count())
        .filter_map(|i| view.tensor(i).ok())
        .filter(|t| t.storage == Storage::Constant)
        .map(|t| t.bytes)
        .sum();
    let _ = writeln!(
        out,
        "{}: .mote version {}, {} bytes, crc32 {:08x}",
        path.display(),
        h.version,
        h.file_bytes,
        h.crc32
    );
    let _ = writeln!(
        out,
        "arena {} bytes, constants {} bytes, {} tensors, {} operators",
        h.arena_bytes, consts, h.tensors, h.ops
    );
    let (input, output) = (view.input()?, view.output()?);
    let _ = writeln!(
        out,
        "input  tensor {} {} {:?}",
        h.input,
        input.dtype.name(),
        input.shape.dims()
    );
    let _ = writeln!(
        out,
        "output tensor {} {} {:?}",
        h.output,
        output.dtype.name(),
        output.shape.dims()
    );
    if !view.input_affine().is_empty() {
        let (a, b) = view.input_affine_of(0);
        let _ = writeln!(
            out,
            "input transform x' = a·x + b per channel (channel 0: a = {a}, b = {b})"
        );
    }
    // The operator column fits the longest name (UNIDIRECTIONAL_SEQUENCE_LSTM).
    let w = (0..view.op_count())
        .filter_map(|i| view.op(i).ok())
        .map(|op| op.code.name().len())
        .fold(18, usize::max);
    let _ = writeln!(
        out,
        "\n{:>3}  {:<w$} {:>7}  {:<28} {:<6} {:>9}  params",
        "op", "operator", "output", "inputs", "act", "mults"
    );
    for i in 0..view.op_count() {
        let op = view.op(i)?;
        let inputs: Vec<String> = op.inputs().map(|t| t.to_string()).collect();
        let used = op.params.iter().rposition(|&p| p != 0).map_or(0, |p| p + 1);
        let _ = writeln!(
            out,
            "{i:>3}  {:<w$} {:>7}  {:<28} {:<6} {:>9}  {:?}",
            op.code.name(),
            op.output,
            inputs.join(", "),
            format!("{}..{}", op.act_min, op.act_max),
            op.multipliers.len(),
            &op.params[..used]
        );
    }
    let _ = writeln!(
        out,
        "\n{:>3}  {:<34} {:<4} {:<18} {:>8} {:>8}  quantisation",
        "t", "name", "type", "shape", "where", "bytes"
    );
    for i in 0..view.tensor_count() {
        let t = view.tensor(i)?;
        let place = match t.storage {
            Storage::Arena => format!("@{}", t.offset),
            Storage::Constant => "const".into(),
        };
        let q = match t.quant {
            Quantization::None => "-".into(),
            Quantization::PerTensor(q) => format!("scale {:.4e} zp {}", q.scale(), q.zero_point()),
            Quantization::PerChannel { axis, .. } => format!("per-channel (axis {axis})"),
        };
        let _ = writeln!(
            out,
            "{i:>3}  {:<34} {:<4} {:<18} {:>8} {:>8}  {q}",
            t.name,
            t.dtype.name(),
            format!("{:?}", t.shape.dims()),
            place,
            t.bytes
        );
    }
    Ok(out)
}
