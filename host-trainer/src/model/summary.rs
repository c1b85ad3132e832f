//! `mote summary`: one row per layer with its output shape, parameters, MACs and
//! activation memory, like Keras's `model.summary()`.

use super::Model;
use super::graph::Node;
use std::fmt::Write;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Nesting depth (0 for top-level layers).
    pub depth: usize,
    /// Layer name.
    pub name: String,
    /// Layer kind.
    pub kind: String,
    /// Output shape of one sample.
    pub output: Vec<usize>,
    /// Trainable parameters.
    pub params: usize,
    /// Multiply-accumulates per sample.
    pub macs: u64,
    /// Bytes of the output activation of one sample (f32).
    pub activation_bytes: usize,
}

/// The rows of `model`.
pub fn rows(model: &Model) -> Vec<Row> {
    let mut rows = Vec::new();
    model.seq.visit(0, &mut |depth, node| {
        let (kind, cost) = match node {
            Node::Layer { layer, .. } => (layer.kind().to_string(), layer.cost()),
            Node::Residual { .. } => ("residual".into(), Default::default()),
            Node::Branch { .. } => ("branch".into(), Default::default()),
        };
        let output = node.output_shape().to_vec();
        rows.push(Row {
            depth,
            name: node.name().to_string(),
            kind,
            activation_bytes: 4 * output.iter().product::<usize>(),
            output,
            params: cost.params,
            macs: cost.macs,
        });
    });
    rows
}

/// The table as text, with totals and the peak activation memory of a batch of one.
pub fn table(model: &Model) -> String {
    let rows = rows(model);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<32} {:<18} {:<16} {:>10} {:>12} {:>10}",
        "layer", "type", "output", "params", "MACs", "act bytes"
    );
    let _ = writeln!(s, "{}", "-".repeat(103));
    let _ = writeln!(
        s,
        "{:<32} {:<18} {:<16} {:>10} {:>12} {:>10}",
        "input",
        "",
        format!("{:?}", model.spec.input),
        0,
        0,
        4 * model.input_len()
    );
    for r in &rows {
        let name = format!("{}{}", "  ".repeat(r.depth), r.name);
        let _ = writeln!(
            s,
            "{:<32} {:<18} {:<16} {:>10} {:>12} {:>10}",
            name,
            r.kind,
            format!("{:?}", r.output),
            r.params,
            r.macs,
            r.activation_bytes
        );
    }
    let _ = writeln!(s, "{}", "-".repeat(103));
    let macs: u64 = rows.iter().map(|r| r.macs).sum();
    // Peak of two consecutive activations alive at once (input and output of a layer).
    let mut peak = 0;
    let mut prev = 4 * model.input_len();
    for r in rows.iter().filter(|r| r.depth == 0) {
        peak = peak.max(prev + r.activation_bytes);
        prev = r.activation_bytes;
    }
    let _ = writeln!(
        s,
        "parameters: {} ({} bytes f32)   MACs/sample: {}   peak activations (batch 1): {} bytes",
        model.param_count(),
        4 * model.param_count(),
        macs,
        peak
    );
    s
}
