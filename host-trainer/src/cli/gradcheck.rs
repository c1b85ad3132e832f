//! `mote gradcheck SPEC`: compares the model's analytic gradients with central finite
//! differences of the loss on a small batch, tensor by tensor, and names the worst
//! layer — the check to run when a new model does not learn.

use crate::data::Targets;
use crate::model::Model;
use crate::train::Spec;
use crate::train::objective::{BatchTargets, Objective};
use crate::train::parallel::{Pool, Workers, mix};
use crate::train::session::{last_kind, prepare};
use crate::{Error, Result};
use mote_core::rng::Rng;
use std::fmt::Write;
use std::path::Path;

/// One tensor's comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorCheck {
    /// Tensor name.
    pub name: String,
    /// Entries compared.
    pub checked: usize,
    /// Entries skipped because even a step of `h/4` crossed a kink (a ReLU input
    /// changed sign, a max pool's maximum moved), where finite differences do not
    /// measure the gradient.
    pub at_kinks: usize,
    /// Largest `|analytic − numeric| / max(|analytic| + |numeric|, floor)`, the floor
    /// being 5 % of the tensor's RMS analytic gradient or 1 % of the model's, whichever
    /// is larger.
    pub worst: f64,
}

/// The report of [`check`]: per tensor, and the worst.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One entry per parameter tensor.
    pub tensors: Vec<TensorCheck>,
}

impl Report {
    /// The tensor with the largest error.
    pub fn worst(&self) -> Option<&TensorCheck> {
        self.tensors
            .iter()
            .max_by(|a, b| a.worst.total_cmp(&b.worst))
    }
}

/// Compares gradients of `model` on `inputs` (`targets`) at `per_tensor` entries of
/// each tensor, with step `h`.
pub fn check(
    model: &mut Model,
    objective: &Objective,
    inputs: &[f32],
    targets: BatchTargets<'_>,
    per_tensor: usize,
    h: f32,
) -> Result<Report> {
    check_mismatched(model, objective, inputs, targets, targets, per_tensor, h)
}

/// [`check`] with the analytic gradient taken for `targets` and the differences for
/// `numeric_targets`. In real use both are the same; different targets stand for a
/// backward pass that disagrees with its forward, which the check must report.
pub fn check_mismatched(
    model: &mut Model,
    objective: &Objective,
    inputs: &[f32],
    targets: BatchTargets<'_>,
    numeric_targets: BatchTargets<'_>,
    per_tensor: usize,
    h: f32,
) -> Result<Report> {
    let seed = 0x6c0d;
    let rows = inputs.len() / model.input_len().max(1);
    let denom = f64::from(objective.denominator(rows, model.output_len()));
    let mut workers = Workers::new(model, 1);
    // Both the analytic step and every loss below use thread 0's dropout stream.
    workers.step(model, objective, inputs, targets, seed, &Pool::new(1)?)?;
    let analytic: Vec<Vec<f32>> = workers.grads_mut().to_vec();
    let saved_buffers: Vec<Vec<f32>> = model.buffers.iter().map(|b| b.data.clone()).collect();
    // The loss and where the kinked layers sit: a difference across a kink (a ReLU
    // input crossing zero, a max pool's maximum moving) measures a one-sided slope, not
    // the gradient, so such steps are retried smaller and then skipped.
    let loss = |model: &Model| -> Result<(f64, u64)> {
        let mut pass = model.pass(0);
        pass.rng = Rng::new(mix(&[seed, 0]));
        let out = model.forward(&mut pass, inputs, true)?;
        let value = f64::from(objective.sum(out, rows, numeric_targets, None, 1.0)?) / denom;
        Ok((value, model.kink_pattern(&pass, inputs)))
    };
    let (_, base_pattern) = loss(model)?;
    let rms = |g: &[f32]| {
        (g.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / g.len().max(1) as f64).sqrt()
    };
    let all: Vec<f32> = analytic.iter().flatten().copied().collect();
    let global = rms(&all);
    let mut rng = Rng::new(7);
    let mut tensors = Vec::new();
    for (ti, analytic) in analytic.iter().enumerate() {
        let n = model.params[ti].data.len();
        let picks: Vec<usize> = if n <= per_tensor {
            (0..n).collect()
        } else {
            (0..per_tensor).map(|_| rng.index(n)).collect()
        };
        // Errors are relative to the entry, floored at 5 % of the tensor's RMS gradient
        // and 1 % of the model's: finite differences of an f32 loss cannot resolve
        // entries far smaller than the rest, and a wrong backward shows at the scale of
        // its tensor.
        let floor = (0.05 * rms(analytic)).max(0.01 * global).max(1e-9);
        let mut worst = 0.0f64;
        let mut skipped = 0;
        for &i in &picks {
            // h, or h/4 when h crosses a kink (smaller steps drown in f32 rounding).
            let orig = model.params[ti].data[i];
            let mut numeric = None;
            for step in [h, h / 4.0] {
                model.params[ti].data[i] = orig + step;
                let (up, up_pattern) = loss(model)?;
                model.params[ti].data[i] = orig - step;
                let (down, down_pattern) = loss(model)?;
                model.params[ti].data[i] = orig;
                if up_pattern == base_pattern && down_pattern == base_pattern {
                    numeric = Some((up - down) / (2.0 * f64::from(step)));
                    break;
                }
            }
            let Some(numeric) = numeric else {
                skipped += 1;
                continue;
            };
            let a = f64::from(analytic[i]);
            let err = (a - numeric).abs() / (a.abs() + numeric.abs()).max(floor);
            worst = worst.max(err);
        }
        tensors.push(TensorCheck {
            name: model.params[ti].name.clone(),
            checked: picks.len() - skipped,
            at_kinks: skipped,
            worst,
        });
    }
    for (b, s) in model.buffers.iter_mut().zip(saved_buffers) {
        b.data = s;
    }
    Ok(Report { tensors })
}

/// Runs [`check`] for the spec at `path` on `batch` random normal inputs and labels (or
/// samples of the data under `data`) and formats the report.
pub fn run(path: &Path, data: Option<&Path>, batch: usize, per_tensor: usize) -> Result<String> {
    let spec = Spec::load(path)?;
    spec.validate()?;
    let mut model = Model::new(spec.model.clone(), spec.training.seed)?;
    let objective = Objective::new(
        &spec.training.loss,
        spec.training.label_smoothing,
        last_kind(&model),
    )?;
    let batch = batch.max(2);
    let in_len = model.input_len();
    let out_len = model.output_len();
    let mut note = String::new();
    // Real samples only when asked for: images' exact zeros put many ReLUs exactly at
    // their kink, where finite differences do not measure the gradient.
    let prepared = match data {
        Some(dir) => Some(prepare(&spec, Some(dir), Some(batch))?),
        None => None,
    };
    let (inputs, labels, values) = match prepared {
        Some(p) => {
            let mut x = Vec::new();
            let idx: Vec<usize> = (0..p.train.len().min(batch)).collect();
            p.train.gather(&idx, &mut x)?;
            match &p.train.targets {
                Targets::Classes { labels, .. } => (x, labels[..idx.len()].to_vec(), Vec::new()),
                Targets::Values { values, width } => {
                    (x, Vec::new(), values[..idx.len() * width].to_vec())
                }
            }
        }
        None => {
            let _ = writeln!(
                note,
                "(random normal inputs; --data DIR checks on real samples)"
            );
            let mut rng = Rng::new(spec.training.seed);
            let mut x = vec![0.0; batch * in_len];
            rng.fill_normal(&mut x, 0.0, 1.0);
            let labels = (0..batch).map(|_| rng.index(out_len)).collect();
            let mut v = vec![0.0; batch * out_len];
            rng.fill_normal(&mut v, 0.0, 1.0);
            (x, labels, v)
        }
    };
    let targets = if objective.is_classification() {
        BatchTargets::Classes(&labels)
    } else {
        BatchTargets::Values(&values)
    };
    if objective.is_classification() && labels.iter().any(|&l| l >= out_len) {
        return Err(Error::Mismatch {
            detail: "labels exceed the model's outputs".into(),
        });
    }
    let report = check(&mut model, &objective, &inputs, targets, per_tensor, 1e-2)?;
    let mut s = note;
    let _ = writeln!(
        s,
        "{:<40} {:>8} {:>9} {:>12}",
        "tensor", "checked", "at kinks", "worst error"
    );
    for t in &report.tensors {
        let _ = writeln!(
            s,
            "{:<40} {:>8} {:>9} {:>12.3e}",
            t.name, t.checked, t.at_kinks, t.worst
        );
    }
    if let Some(w) = report.worst() {
        let verdict = if w.worst < 1e-2 {
            "ok"
        } else if w.worst < 1e-1 {
            "within what f32 finite differences resolve"
        } else {
            "CHECK THIS LAYER"
        };
        let layer = w.name.split('/').next().unwrap_or(&w.name);
        let _ = writeln!(s, "worst layer: {layer} ({:.3e}) — {verdict}", w.worst);
    }
    Ok(s)
}
