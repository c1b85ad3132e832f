//! Post-training quantisation and export: a trained float model becomes a `.mote`
//! integer model (TFLite's full-integer scheme), with its arena planned and its error
//! measured layer by layer.
//!
//! | module | what it holds |
//! |---|---|
//! | [`graph`] | lowering to format operators; batch-norm folding, activation fusion |
//! | [`calibrate`] | activation ranges: min-max, percentile, MSE-optimal |
//! | [`quantize`] | per-channel int8 weights, int8/int16 activations, multipliers |
//! | [`lstm`] | an LSTM's record: per-gate weights, Q3.12 gates, the cell's scale |
//! | [`arena`] | tensor lifetimes and the arena plan |
//! | [`evaluate`] | running the exported model, accuracy, per-layer error |

pub mod arena;
pub mod calibrate;
pub mod evaluate;
pub mod graph;
pub mod lstm;
pub mod quantize;

use crate::data::normalise::Normalisation;
use crate::model::Model;
use crate::{Error, Result};
use mote_core::format::{AlignedBytes, ModelDef, ModelView};

pub use calibrate::Method;
pub use quantize::Precision;

/// How to export.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Calibration method.
    pub method: Method,
    /// Activation precision.
    pub precision: Precision,
    /// In-place reuse in the arena plan.
    pub reuse: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            method: Method::MinMax,
            precision: Precision::Int8,
            reuse: true,
        }
    }
}

/// An exported model.
#[derive(Debug)]
pub struct Exported {
    /// The float graph it was made from.
    pub graph: graph::FGraph,
    /// Its description.
    pub def: ModelDef,
    /// The `.mote` bytes (validated by reading them back), 16-byte aligned.
    pub bytes: AlignedBytes,
    /// Multiply-accumulates per inference.
    pub macs: u64,
}

/// The input transform that reproduces `norm` over `channels` input channels.
pub fn input_affine(norm: &Normalisation, channels: usize) -> Result<Vec<(f32, f32)>> {
    match norm {
        Normalisation::None => Ok(Vec::new()),
        Normalisation::Scale { factor } => Ok(vec![(*factor, 0.0); channels]),
        Normalisation::Standardise { mean, std }
            if mean.len() == channels && std.len() == channels =>
        {
            Ok(mean
                .iter()
                .zip(std)
                .map(|(&m, &s)| (1.0 / s, -m / s))
                .collect())
        }
        Normalisation::Standardise { mean, .. } => Err(Error::Mismatch {
            detail: format!(
                "export: the normalisation has {} channels but the model input has {channels}",
                mean.len()
            ),
        }),
    }
}

/// Quantises `model` with ranges calibrated on `calib` (normalised inputs, whole
/// samples), plans the arena, writes the bytes and reads them back.
pub fn export(
    model: &Model,
    calib: &[f32],
    affine: Vec<(f32, f32)>,
    opts: Options,
) -> Result<Exported> {
    let graph = graph::lower(model)?;
    let ranges = calibrate::ranges(model, &graph, calib, opts.method)?;
    let lstm = calibrate::lstm_ranges(model, &graph, calib)?;
    let mut def = quantize::quantize(&graph, &ranges, &lstm, opts.precision)?;
    def.input_affine = affine;
    arena::assign(&mut def, opts.reuse)?;
    let bytes = AlignedBytes::new(&def.to_bytes()?);
    ModelView::from_bytes(bytes.as_bytes()).map_err(|e| Error::Mismatch {
        detail: format!(
            "export: the written model does not read back ({e}); this is a bug in mote"
        ),
    })?;
    let macs = graph.ops.iter().map(|op| op.macs(&graph.tensors)).sum();
    Ok(Exported {
        graph,
        def,
        bytes,
        macs,
    })
}
