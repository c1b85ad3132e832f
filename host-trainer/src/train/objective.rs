//! The loss a run minimises, chosen from the spec and the model's last layer, computed
//! on a part of a batch with the gradient scaled for the whole batch.

use crate::data::Targets;
use crate::{Error, Result};
use mote_kernels::loss::{self, Reduction, binary, categorical, regression};

/// What the loss compares the model's output with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Softmax cross-entropy from logits against class indices.
    SoftmaxCrossEntropy {
        /// Label smoothing in `[0, 1)`.
        smoothing: f32,
    },
    /// Cross-entropy of probabilities (the model ends in softmax) against class indices.
    ProbabilityCrossEntropy,
    /// Binary cross-entropy from logits against 0/1 targets.
    BceWithLogits,
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
    /// Huber loss (δ = 1).
    Huber,
}

/// The targets of some samples of a batch.
#[derive(Debug, Clone, Copy)]
pub enum BatchTargets<'a> {
    /// Class indices.
    Classes(&'a [usize]),
    /// Real values, `width` per sample.
    Values(&'a [f32]),
}

impl Objective {
    /// The objective `name` means for a model whose last layer is `last_kind`.
    pub fn new(name: &str, smoothing: f32, last_kind: &str) -> Result<Self> {
        Ok(match name {
            "cross_entropy" if last_kind == "softmax" => {
                if smoothing != 0.0 {
                    return Err(Error::spec(
                        "training.label_smoothing",
                        "needs logits: remove the final softmax",
                    ));
                }
                Self::ProbabilityCrossEntropy
            }
            "cross_entropy" => Self::SoftmaxCrossEntropy { smoothing },
            "bce_with_logits" => Self::BceWithLogits,
            "mse" => Self::Mse,
            "mae" => Self::Mae,
            "huber" => Self::Huber,
            other => {
                return Err(Error::spec(
                    "training.loss",
                    format!(
                        "unknown loss '{other}' (cross_entropy, bce_with_logits, mse, mae, huber)"
                    ),
                ));
            }
        })
    }

    /// Whether it trains a classifier on class indices.
    pub fn is_classification(&self) -> bool {
        matches!(
            self,
            Self::SoftmaxCrossEntropy { .. } | Self::ProbabilityCrossEntropy
        )
    }

    /// Checks the data fits: class labels for the cross-entropies, values of the
    /// output's width for the rest.
    pub fn check_targets(&self, targets: &Targets, outputs: usize) -> Result<()> {
        match (self.is_classification(), targets) {
            (true, Targets::Classes { classes, .. }) if *classes == outputs => Ok(()),
            (true, Targets::Classes { classes, .. }) => Err(Error::Mismatch {
                detail: format!(
                    "the data has {classes} classes but the model outputs {outputs} values"
                ),
            }),
            (false, Targets::Values { width, .. }) if *width == outputs => Ok(()),
            (false, Targets::Values { width, .. }) => Err(Error::Mismatch {
                detail: format!(
                    "the data has {width} targets per sample but the model outputs {outputs}"
                ),
            }),
            (true, Targets::Values { .. }) => Err(Error::Mismatch {
                detail: "cross_entropy needs class labels, the data has real-valued targets".into(),
            }),
            (false, Targets::Classes { .. }) => Err(Error::Mismatch {
                detail: "this loss needs real-valued targets, the data has class labels".into(),
            }),
        }
    }

    /// What a batch's summed loss is divided by for its mean: the samples for the
    /// cross-entropies (PyTorch's mean over the batch), every value for the element-wise
    /// losses (PyTorch's mean over all elements).
    pub fn denominator(&self, rows: usize, outputs_per_row: usize) -> f32 {
        match self {
            Self::SoftmaxCrossEntropy { .. } | Self::ProbabilityCrossEntropy => rows as f32,
            _ => (rows * outputs_per_row) as f32,
        }
    }

    /// The summed loss of `rows` samples and, when `grad` is given, its gradient
    /// written (not accumulated) and multiplied by `scale` (1/batch for a batch mean).
    pub fn sum(
        &self,
        outputs: &[f32],
        rows: usize,
        targets: BatchTargets<'_>,
        grad: Option<&mut [f32]>,
        scale: f32,
    ) -> Result<f32> {
        let features = outputs.len() / rows.max(1);
        let p = loss::Params {
            batch: rows,
            features,
            reduction: Reduction::Sum,
        };
        let mut grad = grad;
        if let Some(g) = grad.as_deref_mut() {
            g.fill(0.0);
        }
        let value = match (self, targets) {
            (Self::SoftmaxCrossEntropy { smoothing }, BatchTargets::Classes(l)) => {
                categorical::sparse_softmax_cross_entropy(
                    &p,
                    *smoothing,
                    outputs,
                    l,
                    grad.as_deref_mut(),
                )
            }
            (Self::ProbabilityCrossEntropy, BatchTargets::Classes(l)) => {
                categorical::sparse_categorical(&p, 1e-7, outputs, l, grad.as_deref_mut())
            }
            (Self::BceWithLogits, BatchTargets::Values(t)) => {
                binary::bce_with_logits(&p, outputs, t, grad.as_deref_mut())
            }
            (Self::Mse, BatchTargets::Values(t)) => {
                regression::mse(&p, outputs, t, grad.as_deref_mut())
            }
            (Self::Mae, BatchTargets::Values(t)) => {
                regression::mae(&p, outputs, t, grad.as_deref_mut())
            }
            (Self::Huber, BatchTargets::Values(t)) => {
                regression::huber(&p, 1.0, outputs, t, grad.as_deref_mut())
            }
            _ => {
                return Err(Error::Mismatch {
                    detail: "the loss and the targets are of different kinds".into(),
                });
            }
        }?;
        if let Some(g) = grad {
            g.iter_mut().for_each(|v| *v *= scale);
        }
        Ok(value)
    }
}
