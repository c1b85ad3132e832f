//! `mote predict MODEL INPUT`: run a checkpoint on samples from a file and print the
//! predicted class and its probability (or the raw outputs of a regressor).

use super::input;
use crate::Result;
use crate::train::checkpoint::Checkpoint;
use std::fmt::Write;
use std::path::Path;

/// Predictions for the samples in `input_path`, one line each; writes all outputs to
/// `out` (`.npy`) when given.
pub fn run(model: &Path, input_path: &Path, top: usize, out: Option<&Path>) -> Result<String> {
    let ck = Checkpoint::load(model)?;
    let net = ck.model()?;
    let (x, n) = input::read(input_path, net.input_len(), &ck.header.normalisation)?;
    let y = net.predict(&x, 64)?;
    let width = net.output_len();
    if let Some(path) = out {
        crate::data::npy::write_f32(path, &[n, width], &y)?;
    }
    let mut s = String::new();
    let classifier = ck.header.classes.is_some();
    let ends_in_softmax = crate::train::session::last_kind(&net) == "softmax";
    for (i, row) in y.chunks_exact(width).enumerate() {
        if classifier {
            let probs = if ends_in_softmax {
                row.to_vec()
            } else {
                softmax(row)
            };
            let mut order: Vec<usize> = (0..width).collect();
            order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
            let best: Vec<String> = order
                .iter()
                .take(top.max(1))
                .map(|&c| format!("{c} ({:.4})", probs[c]))
                .collect();
            let _ = writeln!(s, "{i}: {}", best.join(", "));
        } else {
            let vals: Vec<String> = row.iter().map(|v| format!("{v:.6}")).collect();
            let _ = writeln!(s, "{i}: {}", vals.join(" "));
        }
    }
    Ok(s)
}

fn softmax(row: &[f32]) -> Vec<f32> {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = row.iter().map(|&v| (v - m).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}
