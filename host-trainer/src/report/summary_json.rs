//! A run's headline numbers as one flat JSON object (`metrics.json`), for scripts and
//! dashboards that compare runs without parsing logs.

use std::path::Path;

use serde_json::{Map, Value};

use super::write_atomic;
use crate::{Error, Result};

/// The headline numbers of a finished run.
///
/// Optional numbers are `None` where the run has none (no test set, no validation
/// set, a loss-only task); they are written as JSON `null`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunMetrics {
    /// Accuracy on the test set, as a fraction.
    pub test_accuracy: Option<f32>,
    /// Mean loss on the test set.
    pub test_loss: Option<f32>,
    /// Validation accuracy after the last epoch, as a fraction.
    pub val_accuracy: Option<f32>,
    /// Mean training loss of the last epoch.
    pub train_loss: f32,
    /// Epochs trained.
    pub epochs: usize,
    /// Median wall-clock seconds per epoch (robust to a slow first epoch).
    pub median_epoch_seconds: f64,
    /// Trainable parameters of the model.
    pub params: usize,
    /// Further keys to write alongside the standard ones (e.g. model name, seed).
    pub extra: Map<String, Value>,
}

/// The keys every metrics file has.
pub const STANDARD_KEYS: [&str; 7] = [
    "test_accuracy",
    "test_loss",
    "val_accuracy",
    "train_loss",
    "epochs",
    "median_epoch_seconds",
    "params",
];

/// A float as JSON: `null` when absent or not finite (JSON has no NaN).
fn num(v: Option<f64>) -> Value {
    v.and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// The metrics as a flat JSON object: the [`STANDARD_KEYS`] then the extra keys.
///
/// Errs with [`Error::Mismatch`] when an extra key repeats a standard one, since one of
/// the two values would silently be lost.
pub fn to_json(m: &RunMetrics) -> Result<Map<String, Value>> {
    let mut obj = Map::new();
    obj.insert("test_accuracy".into(), num(m.test_accuracy.map(f64::from)));
    obj.insert("test_loss".into(), num(m.test_loss.map(f64::from)));
    obj.insert("val_accuracy".into(), num(m.val_accuracy.map(f64::from)));
    obj.insert("train_loss".into(), num(Some(f64::from(m.train_loss))));
    obj.insert("epochs".into(), Value::from(m.epochs));
    obj.insert(
        "median_epoch_seconds".into(),
        num(Some(m.median_epoch_seconds)),
    );
    obj.insert("params".into(), Value::from(m.params));
    for (k, v) in &m.extra {
        if obj.contains_key(k) {
            return Err(Error::Mismatch {
                detail: format!("extra metric \"{k}\" repeats a standard metrics key"),
            });
        }
        obj.insert(k.clone(), v.clone());
    }
    Ok(obj)
}

/// Writes the metrics to `path` as pretty-printed flat JSON (see [`to_json`]),
/// atomically.
pub fn write_metrics_json(path: &Path, metrics: &RunMetrics) -> Result<()> {
    let obj = Value::Object(to_json(metrics)?);
    let mut text = serde_json::to_string_pretty(&obj)
        .map_err(|e| Error::format(path, format!("serialising metrics: {e}")))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// The median of `xs`: the middle value, or the mean of the two middle values for an
/// even count; 0 for an empty slice. NaN values are ignored.
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_dir::TestDir;
    use super::*;

    #[test]
    fn median_cases() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0]), 3.0);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[f64::NAN, 2.0, 9.0, 1.0]), 2.0);
        assert_eq!(median(&[f64::NAN]), 0.0);
    }

    #[test]
    fn writes_flat_object_with_nulls_and_extra() {
        let dir = TestDir::new("metrics");
        let path = dir.path().join("metrics.json");
        let mut extra = Map::new();
        extra.insert("model".into(), Value::from("mlp"));
        extra.insert("seed".into(), Value::from(7));
        let m = RunMetrics {
            test_accuracy: Some(0.5),
            test_loss: None,
            val_accuracy: Some(f32::NAN),
            train_loss: 0.25,
            epochs: 3,
            median_epoch_seconds: 1.5,
            params: 1234,
            extra,
        };
        write_metrics_json(&path, &m).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let obj = v.as_object().unwrap();
        for k in STANDARD_KEYS {
            assert!(obj.contains_key(k), "missing {k}");
        }
        assert_eq!(obj.len(), STANDARD_KEYS.len() + 2);
        assert_eq!(obj["test_accuracy"], 0.5);
        assert_eq!(obj["test_loss"], Value::Null);
        assert_eq!(obj["val_accuracy"], Value::Null);
        assert_eq!(obj["train_loss"], 0.25);
        assert_eq!(obj["epochs"], 3);
        assert_eq!(obj["median_epoch_seconds"], 1.5);
        assert_eq!(obj["params"], 1234);
        assert_eq!(obj["model"], "mlp");
        assert_eq!(obj["seed"], 7);
    }

    #[test]
    fn extra_key_may_not_shadow_standard_key() {
        let mut m = RunMetrics::default();
        m.extra.insert("epochs".into(), Value::from(99));
        assert!(matches!(to_json(&m), Err(Error::Mismatch { .. })));
    }
}
