//! The run spec: a TOML file with `[model]`, `[training]` and `[data]` tables (see
//! docs/spec.md). Everything but the model has a default, so a spec can be as short as
//! an input shape and some layers.

use super::optimizer::OptimizerSpec;
use crate::data::augment::Augment;
use crate::early_stop::EarlyStopping;
use crate::model::ModelSpec;
use crate::schedule::{Schedule, Warmup};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A whole spec file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The architecture.
    pub model: ModelSpec,
    /// How to train it.
    #[serde(default)]
    pub training: TrainingSpec,
    /// What to train it on.
    #[serde(default)]
    pub data: DataSpec,
}

fn d_epochs() -> usize {
    10
}
fn d_batch() -> usize {
    32
}
fn d_loss() -> String {
    "cross_entropy".into()
}
fn d_optimizer() -> OptimizerSpec {
    OptimizerSpec::adam(1e-3)
}
fn d_one() -> usize {
    1
}
fn d_true() -> bool {
    true
}
fn d_top_k() -> usize {
    5
}
fn d_monitor() -> String {
    "val_loss".into()
}

/// `[training]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// Passes over the training set.
    #[serde(default = "d_epochs")]
    pub epochs: usize,
    /// Samples per optimiser step.
    #[serde(default = "d_batch")]
    pub batch: usize,
    /// Seed of the initial weights, shuffling, dropout and augmentation.
    #[serde(default)]
    pub seed: u64,
    /// Fraction of the training set held out for validation, in `[0, 1)`.
    #[serde(default)]
    pub validation_split: f32,
    /// Shuffle the training set every epoch.
    #[serde(default = "d_true")]
    pub shuffle: bool,
    /// `cross_entropy` (from logits, or from probabilities when the model ends in
    /// softmax), `bce_with_logits`, `mse`, `mae` or `huber`.
    #[serde(default = "d_loss")]
    pub loss: String,
    /// Label smoothing of the cross-entropy, in `[0, 1)`.
    #[serde(default)]
    pub label_smoothing: f32,
    /// The optimiser.
    #[serde(default = "d_optimizer")]
    pub optimizer: OptimizerSpec,
    /// Learning-rate schedule (constant when absent).
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// Linear warm-up before the schedule.
    #[serde(default)]
    pub warmup: Option<Warmup>,
    /// The metric early stopping, ReduceLROnPlateau and the best checkpoint watch:
    /// `val_loss`, `val_accuracy`, `train_loss` or `train_accuracy`.
    #[serde(default = "d_monitor")]
    pub monitor: String,
    /// Stop when the monitored metric stops improving.
    #[serde(default)]
    pub early_stopping: Option<EarlyStopping>,
    /// Clip the gradients' global L2 norm to this.
    #[serde(default)]
    pub clip_norm: Option<f32>,
    /// Clip every gradient value to `±clip_value`.
    #[serde(default)]
    pub clip_value: Option<f32>,
    /// Image augmentation applied to every training batch.
    #[serde(default)]
    pub augment: Option<Augment>,
    /// Worker threads (the CLI's `--threads` wins); all cores when absent.
    #[serde(default)]
    pub threads: Option<usize>,
    /// `k` of the top-k accuracy reported by `eval`.
    #[serde(default = "d_top_k")]
    pub top_k: usize,
    /// Start from another model's weights.
    #[serde(default)]
    pub transfer: Option<Transfer>,
}

impl Default for TrainingSpec {
    fn default() -> Self {
        Self {
            epochs: d_epochs(),
            batch: d_batch(),
            seed: 0,
            validation_split: 0.0,
            shuffle: true,
            loss: d_loss(),
            label_smoothing: 0.0,
            optimizer: d_optimizer(),
            schedule: None,
            warmup: None,
            monitor: d_monitor(),
            early_stopping: None,
            clip_norm: None,
            clip_value: None,
            augment: None,
            threads: None,
            top_k: d_top_k(),
            transfer: None,
        }
    }
}

/// `[training.transfer]`: fine-tune from a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The checkpoint whose weights are loaded wherever a tensor of the same name and
    /// shape exists (a replaced head keeps its fresh initialisation).
    pub from: PathBuf,
    /// Freeze the first `n` top-level layers.
    #[serde(default)]
    pub freeze_first: usize,
    /// Freeze these layers by name.
    #[serde(default)]
    pub freeze: Vec<String>,
}

fn d_format() -> String {
    "mnist".into()
}
fn d_normalise() -> String {
    "none".into()
}

/// `[data]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// `mnist` (a directory of the four IDX files), `csv` or `npy`.
    #[serde(default = "d_format")]
    pub format: String,
    /// Directory of the data (the CLI's `--data` wins).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Training file (csv: `train.csv`; npy: `train_x.npy`, labels `train_y.npy`).
    #[serde(default)]
    pub train: Option<String>,
    /// Test file (csv: `test.csv`; npy: `test_x.npy`, labels `test_y.npy`).
    #[serde(default)]
    pub test: Option<String>,
    /// Number of classes (inferred from the labels when absent; 10 for MNIST).
    #[serde(default)]
    pub classes: Option<usize>,
    /// `none`, `standardise` (per channel, fitted on the training set) or `scale:<f>`.
    #[serde(default = "d_normalise")]
    pub normalise: String,
    /// CSV: the label column, by name or 0-based index (last when absent).
    #[serde(default)]
    pub label_column: Option<String>,
    /// CSV: whether the first row is a header.
    #[serde(default = "d_true")]
    pub header: bool,
    /// Targets are real values (regression), not class labels.
    #[serde(default)]
    pub regression: bool,
    /// Shape of one sample when the file format is flat (CSV): e.g. `[28, 28, 1]`.
    #[serde(default)]
    pub sample_shape: Option<Vec<usize>>,
    /// Time series: each row is a step, and a sample is this many consecutive steps
    /// (`[window, features + targets]`), labelled with the target `horizon` steps later.
    #[serde(default)]
    pub window: Option<usize>,
    /// Steps ahead of a window's last that its target lies (1: the next step).
    #[serde(default = "d_one")]
    pub horizon: usize,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            format: d_format(),
            path: None,
            train: None,
            test: None,
            classes: None,
            normalise: d_normalise(),
            label_column: None,
            header: true,
            regression: false,
            sample_shape: None,
            window: None,
            horizon: 1,
        }
    }
}

impl Spec {
    /// Reads and checks a spec file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text).map_err(|detail| Error::format(path, detail))
    }

    /// Parses spec text; the error says where (line and column) and what.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let spec: Self = toml::from_str(text).map_err(|e| one_line(&e.to_string()))?;
        Ok(spec)
    }

    /// Checks the settings that the model build does not.
    pub fn validate(&self) -> Result<()> {
        let t = &self.training;
        if t.epochs == 0 {
            return Err(Error::spec("training.epochs", "must be at least 1"));
        }
        if t.batch == 0 {
            return Err(Error::spec("training.batch", "must be at least 1"));
        }
        if !(0.0..1.0).contains(&t.validation_split) {
            return Err(Error::spec(
                "training.validation_split",
                "must be in [0, 1)",
            ));
        }
        if !(0.0..1.0).contains(&t.label_smoothing) {
            return Err(Error::spec("training.label_smoothing", "must be in [0, 1)"));
        }
        for (name, v) in [("clip_norm", t.clip_norm), ("clip_value", t.clip_value)] {
            if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
                return Err(Error::spec(
                    format!("training.{name}"),
                    "must be finite and > 0",
                ));
            }
        }
        if !["val_loss", "val_accuracy", "train_loss", "train_accuracy"]
            .contains(&t.monitor.as_str())
        {
            return Err(Error::spec(
                "training.monitor",
                format!(
                    "'{}' is not val_loss, val_accuracy, train_loss or train_accuracy",
                    t.monitor
                ),
            ));
        }
        if t.monitor.starts_with("val_") && t.validation_split == 0.0 && self.needs_monitor() {
            return Err(Error::spec(
                "training.monitor",
                format!("'{}' needs a validation_split > 0", t.monitor),
            ));
        }
        if let Some(es) = &t.early_stopping {
            es.validate()
                .map_err(|e| Error::spec("training.early_stopping", e.to_string()))?;
            let grows = t.monitor.ends_with("accuracy");
            if grows != (es.mode == crate::early_stop::Mode::Max) {
                return Err(Error::spec(
                    "training.early_stopping.mode",
                    format!(
                        "'{}' {} as it improves: set mode = \"{}\"",
                        t.monitor,
                        if grows { "grows" } else { "shrinks" },
                        if grows { "max" } else { "min" }
                    ),
                ));
            }
        }
        super::optimizer::Rule::from_spec(&t.optimizer)?;
        Ok(())
    }

    fn needs_monitor(&self) -> bool {
        self.training.early_stopping.is_some()
            || matches!(
                self.training.schedule,
                Some(Schedule::ReduceOnPlateau { .. })
            )
    }
}

/// TOML's multi-line error (with a source excerpt) as one line.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with('|') && !l.chars().all(|c| c == '^' || c == ' ')
        })
        .collect::<Vec<_>>()
        .join(": ")
}
