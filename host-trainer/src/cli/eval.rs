//! `mote eval MODEL --data DIR`: a checkpoint's loss, accuracy, top-k accuracy,
//! per-class precision/recall/F1 and confusion matrix on a data set's test split.

use crate::data::Targets;
use crate::metrics::{Confusion, argmax, top_k_correct};
use crate::train::checkpoint::Checkpoint;
use crate::train::evaluate::evaluate;
use crate::train::objective::Objective;
use crate::train::session::{fit_shape, last_kind};
use crate::{Error, Result};
use std::fmt::Write;
use std::path::Path;

/// Whether the file at `path` is a `.mote` model (by its magic bytes).
pub fn is_mote(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let n = f.read(&mut head).map_err(|e| Error::io(path, e))?;
    Ok(n == 8 && head == mote_core::format::MAGIC)
}

/// Evaluates the `.mote` model at `model` with the integer executor on the test split
/// of `data` (raw samples; the model applies its own input transform).
pub fn run_mote(model: &Path, data: Option<&Path>, format: &str, json: bool) -> Result<String> {
    let data =
        data.ok_or_else(|| Error::spec("--data", "evaluating a .mote model needs --data DIR"))?;
    let raw = std::fs::read(model).map_err(|e| Error::io(model, e))?;
    let bytes = mote_core::format::AlignedBytes::new(&raw);
    let view = mote_core::format::ModelView::from_bytes(bytes.as_bytes())
        .map_err(|e| Error::format(model, e.to_string()))?;
    let spec = crate::train::config::DataSpec {
        format: format.to_string(),
        ..Default::default()
    };
    let (_, test) = crate::train::data::load(&spec, Some(data))?;
    let test = test.ok_or_else(|| Error::Mismatch {
        detail: "the data directory has no test split".into(),
    })?;
    let input = view.input()?;
    if test.sample_len() != input.len() {
        return Err(Error::Mismatch {
            detail: format!(
                "data samples of shape {:?} do not fit the model input {:?}",
                test.sample_shape,
                input.shape.dims()
            ),
        });
    }
    let outputs = crate::quant::evaluate::predict(bytes.as_bytes(), &test.inputs)?;
    let classes = view.output()?.len();
    let mut out = String::new();
    match &test.targets {
        Targets::Classes { labels, .. } => {
            let mut confusion = Confusion::new(classes);
            for (row, &l) in outputs.chunks_exact(classes).zip(labels) {
                confusion.add(l, argmax(row))?;
            }
            if json {
                let v = serde_json::json!({
                    "samples": labels.len(),
                    "accuracy": confusion.accuracy(),
                    "macro_f1": confusion.macro_f1(),
                });
                let _ = writeln!(out, "{v}");
            } else {
                let _ = writeln!(out, "model       {} (integer executor)", model.display());
                let _ = writeln!(out, "samples     {}", labels.len());
                let _ = writeln!(out, "accuracy    {:.2}%", 100.0 * confusion.accuracy());
                let _ = writeln!(out, "macro F1    {:.4}", confusion.macro_f1());
                let _ = writeln!(out, "\nconfusion (rows: true class, columns: predicted)");
                out.push_str(&confusion.to_table());
            }
        }
        Targets::Values { values, .. } => {
            let mse = crate::metrics::mse(&outputs, values)?;
            let _ = writeln!(out, "samples {}  mse {mse:.6}", values.len());
        }
    }
    Ok(out)
}

/// Evaluates the checkpoint at `model` on the test split under `data` (or the
/// directory its spec names); returns the report (JSON when `json`).
pub fn run(model: &Path, data: Option<&Path>, threads: usize, json: bool) -> Result<String> {
    let ck = Checkpoint::load(model)?;
    let net = ck.model()?;
    let spec = &ck.header.spec;
    let (_, test) = crate::train::data::load(&spec.data, data)?;
    let mut test = test.ok_or_else(|| Error::Mismatch {
        detail: "the data directory has no test split".into(),
    })?;
    ck.header.normalisation.apply(&mut test)?;
    fit_shape(&mut test, &spec.model.input)?;
    let objective = Objective::new(
        &spec.training.loss,
        spec.training.label_smoothing,
        last_kind(&net),
    )?;
    objective.check_targets(&test.targets, net.output_len())?;
    let pool = crate::train::parallel::Pool::new(threads)?;
    let ev = evaluate(&net, &test, &objective, 256, &pool)?;
    let mut out = String::new();
    let k = spec.training.top_k;
    match &test.targets {
        Targets::Classes { labels, classes } if objective.is_classification() => {
            let mut confusion = Confusion::new(*classes);
            let mut top = 0usize;
            for (row, &l) in ev.outputs.chunks_exact(*classes).zip(labels) {
                confusion.add(l, argmax(row))?;
                top += usize::from(top_k_correct(row, l, k));
            }
            let top_k = top as f32 / labels.len().max(1) as f32;
            if json {
                let v = serde_json::json!({
                    "samples": labels.len(),
                    "loss": ev.loss,
                    "accuracy": confusion.accuracy(),
                    format!("top{k}_accuracy"): top_k,
                    "macro_f1": confusion.macro_f1(),
                    "precision": (0..*classes).map(|c| confusion.precision(c)).collect::<Vec<_>>(),
                    "recall": (0..*classes).map(|c| confusion.recall(c)).collect::<Vec<_>>(),
                    "f1": (0..*classes).map(|c| confusion.f1(c)).collect::<Vec<_>>(),
                    "confusion": (0..*classes).map(|t| (0..*classes).map(|p| confusion.count(t, p)).collect::<Vec<_>>()).collect::<Vec<_>>(),
                });
                let _ = writeln!(out, "{v}");
            } else {
                let _ = writeln!(out, "samples     {}", labels.len());
                let _ = writeln!(out, "loss        {:.4}", ev.loss);
                let _ = writeln!(out, "accuracy    {:.2}%", 100.0 * confusion.accuracy());
                let _ = writeln!(out, "top-{k}       {:.2}%", 100.0 * top_k);
                let _ = writeln!(out, "macro F1    {:.4}", confusion.macro_f1());
                let _ = writeln!(out, "\nclass  precision  recall  f1");
                for c in 0..*classes {
                    let _ = writeln!(
                        out,
                        "{c:>5}  {:>9.4}  {:>6.4}  {:.4}",
                        confusion.precision(c),
                        confusion.recall(c),
                        confusion.f1(c)
                    );
                }
                let _ = writeln!(out, "\nconfusion (rows: true class, columns: predicted)");
                out.push_str(&confusion.to_table());
            }
        }
        Targets::Values { values, .. } => {
            let mae = crate::metrics::mae(&ev.outputs, values)?;
            let mse = crate::metrics::mse(&ev.outputs, values)?;
            if json {
                let v = serde_json::json!({"loss": ev.loss, "mae": mae, "mse": mse});
                let _ = writeln!(out, "{v}");
            } else {
                let _ = writeln!(out, "loss {:.6}\nmae  {mae:.6}\nmse  {mse:.6}", ev.loss);
            }
        }
        Targets::Classes { .. } => {
            let _ = writeln!(out, "loss {:.6}", ev.loss);
        }
    }
    Ok(out)
}
