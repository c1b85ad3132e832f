//! Inference over a whole data set: the mean loss, the accuracy and every output,
//! spread over threads in contiguous parts.

use super::objective::{BatchTargets, Objective};
use crate::data::{Dataset, Targets};
use crate::metrics::argmax;
use crate::model::Model;
use crate::{Error, Result};

/// What evaluating a model on a data set gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Mean loss (as training reports it).
    pub loss: f32,
    /// Top-1 accuracy of a classifier.
    pub accuracy: Option<f32>,
    /// Model outputs, `[sample][outputs]`.
    pub outputs: Vec<f32>,
}

/// Evaluates `model` on `data` in batches of `batch` on the pool's threads.
pub fn evaluate(
    model: &Model,
    data: &Dataset,
    objective: &Objective,
    batch: usize,
    pool: &super::parallel::Pool,
) -> Result<Evaluation> {
    let n = data.len();
    if n == 0 {
        return Err(Error::Mismatch {
            detail: "cannot evaluate on an empty data set".into(),
        });
    }
    let in_len = model.input_len();
    let out_len = model.output_len();
    if data.sample_len() != in_len {
        return Err(Error::Mismatch {
            detail: format!(
                "samples of {:?} do not fit the model input {:?}",
                data.sample_shape, model.spec.input
            ),
        });
    }
    let parts = super::parallel::shards(n, pool.threads());
    let run = |(start, len): (usize, usize)| -> Result<(f64, Vec<f32>)> {
        let mut pass = model.pass(0);
        let mut loss = 0.0f64;
        let mut outputs = Vec::with_capacity(len * out_len);
        let mut s = start;
        while s < start + len {
            let rows = batch.max(1).min(start + len - s);
            let x = &data.inputs[s * in_len..(s + rows) * in_len];
            let out = model.forward(&mut pass, x, false)?;
            let targets = match &data.targets {
                Targets::Classes { labels, .. } => BatchTargets::Classes(&labels[s..s + rows]),
                Targets::Values { values, width } => {
                    BatchTargets::Values(&values[s * width..(s + rows) * width])
                }
            };
            loss += f64::from(objective.sum(out, rows, targets, None, 1.0)?);
            outputs.extend_from_slice(out);
            s += rows;
        }
        Ok((loss, outputs))
    };
    let results = pool.map(parts, run);
    let mut loss = 0.0;
    let mut outputs = Vec::with_capacity(n * out_len);
    for r in results {
        let (l, o) = r?;
        loss += l;
        outputs.extend_from_slice(&o);
    }
    let loss = (loss / f64::from(objective.denominator(n, out_len))) as f32;
    let accuracy = match &data.targets {
        Targets::Classes { labels, .. } if objective.is_classification() => {
            let correct = outputs
                .chunks_exact(out_len)
                .zip(labels)
                .filter(|(row, l)| argmax(row) == **l)
                .count();
            Some(correct as f32 / n as f32)
        }
        _ => None,
    };
    Ok(Evaluation {
        loss,
        accuracy,
        outputs,
    })
}
