//! Metrics for evaluating a model: classification (confusion matrix, accuracy,
//! precision/recall/F1, top-k) from rows of logits or probabilities, regression
//! (MAE, MSE), and [`Running`], the accumulator a training loop feeds batch by
//! batch so it can report an epoch's mean loss and accuracy.
//!
//! Classification inputs are row-major `[n][classes]` scores; only their order
//! matters, so logits and probabilities give the same answers. A NaN score never
//! wins: a diverged output must not count as a confident prediction.

use std::fmt::Write as _;

use crate::{Error, Result};

/// The index of the largest score in `row`: the predicted class.
///
/// Ties go to the first (lowest) index, so results are reproducible. NaN never wins;
/// a row that is empty or all NaN gives 0, so a caller always gets a valid index for a
/// non-empty row.
pub fn argmax(row: &[f32]) -> usize {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in row.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        match best {
            Some((_, b)) if v <= b => {}
            _ => best = Some((i, v)),
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// Whether `label` is among the `k` highest scores of `row` (top-k accuracy).
///
/// Ties are broken toward the lower index, the same rule as [`argmax`], so
/// `top_k_correct(row, label, 1)` equals `argmax(row) == label` for rows without NaN.
/// NaN scores rank below every number. A `label` outside the row, or `k == 0`, is
/// never correct.
pub fn top_k_correct(row: &[f32], label: usize, k: usize) -> bool {
    let Some(&target) = row.get(label) else {
        return false;
    };
    // How many entries rank strictly ahead of `label`.
    let ahead = row
        .iter()
        .enumerate()
        .filter(|&(j, &v)| ranks_ahead(v, j, target, label))
        .count();
    ahead < k
}

/// Whether score `a` at index `i` ranks ahead of score `b` at index `j` (higher
/// score first, NaN last, lower index first on ties).
fn ranks_ahead(a: f32, i: usize, b: f32, j: usize) -> bool {
    match (a.is_nan(), b.is_nan()) {
        (true, false) => false,
        (false, true) => true,
        (true, true) => i < j,
        (false, false) => a > b || (a == b && i < j),
    }
}

/// Checks that two regression slices have the same length.
fn same_len(pred: &[f32], target: &[f32]) -> Result<()> {
    if pred.len() == target.len() {
        Ok(())
    } else {
        Err(Error::Mismatch {
            detail: format!("{} predictions for {} targets", pred.len(), target.len()),
        })
    }
}

/// Mean absolute error between predictions and targets (0 for empty inputs).
///
/// Accumulates in f64 so long evaluations do not lose precision. Errs with
/// [`Error::Mismatch`] when the lengths differ.
pub fn mae(pred: &[f32], target: &[f32]) -> Result<f32> {
    same_len(pred, target)?;
    if pred.is_empty() {
        return Ok(0.0);
    }
    let sum: f64 = pred
        .iter()
        .zip(target)
        .map(|(&p, &t)| (f64::from(p) - f64::from(t)).abs())
        .sum();
    Ok((sum / pred.len() as f64) as f32)
}

/// Mean squared error between predictions and targets (0 for empty inputs).
///
/// Accumulates in f64 so long evaluations do not lose precision. Errs with
/// [`Error::Mismatch`] when the lengths differ.
pub fn mse(pred: &[f32], target: &[f32]) -> Result<f32> {
    same_len(pred, target)?;
    if pred.is_empty() {
        return Ok(0.0);
    }
    let sum: f64 = pred
        .iter()
        .zip(target)
        .map(|(&p, &t)| {
            let d = f64::from(p) - f64::from(t);
            d * d
        })
        .sum();
    Ok((sum / pred.len() as f64) as f32)
}

/// Checks that `scores` holds `labels.len()` rows of `classes` scores and that every
/// label names one of those classes.
fn check_scores(scores: &[f32], labels: &[usize], classes: usize) -> Result<()> {
    if classes == 0 {
        return Err(Error::Mismatch {
            detail: "scores for 0 classes".to_string(),
        });
    }
    if Some(scores.len()) != labels.len().checked_mul(classes) {
        return Err(Error::Mismatch {
            detail: format!(
                "{} scores for {} labels of {classes} classes (expected {})",
                scores.len(),
                labels.len(),
                labels.len().saturating_mul(classes)
            ),
        });
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
        return Err(Error::Mismatch {
            detail: format!("label {l} at index {i} is not one of {classes} classes"),
        });
    }
    Ok(())
}

/// A confusion matrix: how often each true class was predicted as each class.
///
/// The per-class metrics (precision, recall, F1) show what a single accuracy hides,
/// e.g. one class that is never predicted. Rows are the true class, columns the
/// prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    /// Number of classes; the matrix is `classes × classes`.
    classes: usize,
    /// Counts, row-major `[true][pred]`.
    counts: Vec<u64>,
}

impl Confusion {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            counts: vec![0; classes.saturating_mul(classes)],
        }
    }

    /// Counts one sample whose true class is `truth` and predicted class `pred`.
    ///
    /// Errs with [`Error::Mismatch`] when either is not one of the classes.
    pub fn add(&mut self, truth: usize, pred: usize) -> Result<()> {
        if truth >= self.classes || pred >= self.classes {
            return Err(Error::Mismatch {
                detail: format!(
                    "class pair (true {truth}, predicted {pred}) outside {} classes",
                    self.classes
                ),
            });
        }
        self.counts[truth * self.classes + pred] += 1;
        Ok(())
    }

    /// Counts a batch: `scores` is `[labels.len()][classes]` logits or probabilities,
    /// each row's prediction its [`argmax`].
    ///
    /// Errs with [`Error::Mismatch`] (and counts nothing) when the shapes disagree or
    /// a label is not one of the classes.
    pub fn add_scores(&mut self, scores: &[f32], labels: &[usize]) -> Result<()> {
        check_scores(scores, labels, self.classes)?;
        for (row, &label) in scores.chunks_exact(self.classes).zip(labels) {
            self.add(label, argmax(row))?;
        }
        Ok(())
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many samples of true class `truth` were predicted as `pred` (0 outside
    /// the matrix).
    pub fn count(&self, truth: usize, pred: usize) -> u64 {
        if truth >= self.classes || pred >= self.classes {
            return 0;
        }
        self.counts[truth * self.classes + pred]
    }

    /// The number of samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Samples whose true class is `c` (the row sum).
    fn support(&self, c: usize) -> u64 {
        (0..self.classes).map(|p| self.count(c, p)).sum()
    }

    /// Samples predicted as `c` (the column sum).
    fn predicted(&self, c: usize) -> u64 {
        (0..self.classes).map(|t| self.count(t, c)).sum()
    }

    /// Fraction of samples predicted correctly (0 when nothing was counted).
    pub fn accuracy(&self) -> f32 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        let correct: u64 = (0..self.classes).map(|c| self.count(c, c)).sum();
        (correct as f64 / total as f64) as f32
    }

    /// Of the samples predicted as class `c`, the fraction that are `c`.
    ///
    /// 0 when nothing was predicted as `c` or `c` is not a class (the usual
    /// "zero division gives 0" convention, so a macro average stays defined).
    pub fn precision(&self, c: usize) -> f32 {
        ratio(self.count(c, c), self.predicted(c))
    }

    /// Of the samples of class `c`, the fraction predicted as `c`.
    ///
    /// 0 when there are no samples of `c` or `c` is not a class.
    pub fn recall(&self, c: usize) -> f32 {
        ratio(self.count(c, c), self.support(c))
    }

    /// Harmonic mean of [`precision`](Self::precision) and [`recall`](Self::recall)
    /// for class `c` (0 when both are 0).
    pub fn f1(&self, c: usize) -> f32 {
        let p = f64::from(self.precision(c));
        let r = f64::from(self.recall(c));
        if p + r == 0.0 {
            0.0
        } else {
            (2.0 * p * r / (p + r)) as f32
        }
    }

    /// Mean F1 over the classes that occur, as truth or as prediction.
    ///
    /// Classes absent from both are left out so that a data set using only some of
    /// the model's outputs is not penalised for the rest; 0 when nothing was counted.
    pub fn macro_f1(&self) -> f32 {
        let present: Vec<usize> = (0..self.classes)
            .filter(|&c| self.support(c) + self.predicted(c) > 0)
            .collect();
        if present.is_empty() {
            return 0.0;
        }
        let sum: f64 = present.iter().map(|&c| f64::from(self.f1(c))).sum();
        (sum / present.len() as f64) as f32
    }

    /// The matrix as a plain-text table for logs and reports: one row per true class,
    /// one column per predicted class, then that class's precision, recall and F1,
    /// and a final line with accuracy and macro F1.
    pub fn to_table(&self) -> String {
        let width = self
            .counts
            .iter()
            .map(|n| n.to_string().len())
            .chain([self.classes.to_string().len(), 4])
            .max()
            .unwrap_or(4);
        let mut out = String::new();
        let _ = write!(out, "{:>w$}", "t\\p", w = width.max(3));
        for p in 0..self.classes {
            let _ = write!(out, " {p:>width$}");
        }
        out.push_str("   prec    rec     f1\n");
        for t in 0..self.classes {
            let _ = write!(out, "{t:>w$}", w = width.max(3));
            for p in 0..self.classes {
                let _ = write!(out, " {:>width$}", self.count(t, p));
            }
            let _ = writeln!(
                out,
                " {:>6.4} {:>6.4} {:>6.4}",
                self.precision(t),
                self.recall(t),
                self.f1(t)
            );
        }
        let _ = writeln!(
            out,
            "accuracy {:.4}  macro F1 {:.4}  samples {}",
            self.accuracy(),
            self.macro_f1(),
            self.total()
        );
        out
    }
}

/// `num / den` as f32, 0 when `den` is 0.
fn ratio(num: u64, den: u64) -> f32 {
    if den == 0 {
        0.0
    } else {
        (num as f64 / den as f64) as f32
    }
}

/// Accumulates an epoch's loss and accuracy batch by batch, so a training loop can
/// report running values while it goes and exact epoch means at the end.
///
/// The loss is weighted by batch size, so a short last batch counts for what it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Running {
    /// Sum over batches of mean loss × batch size.
    loss_sum: f64,
    /// Samples whose loss was added.
    count: usize,
    /// Samples with labels (scored for accuracy).
    scored: usize,
    /// Scored samples whose argmax was the label.
    correct: usize,
    /// Scored samples whose label was in the top k.
    top_k: usize,
}

impl Running {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one batch: its mean loss over `batch_size` samples and, for
    /// classification, its `[labels.len()][classes]` scores and labels, counted for
    /// accuracy and top-`k` accuracy.
    ///
    /// Pass empty `logits` and `labels` for a loss-only (e.g. regression) batch.
    /// Errs with [`Error::Mismatch`], changing nothing, when `labels` is neither empty
    /// nor `batch_size` long, or the scores do not fit the labels and classes.
    pub fn add_batch(
        &mut self,
        loss_mean: f32,
        batch_size: usize,
        logits: &[f32],
        labels: &[usize],
        classes: usize,
        k: usize,
    ) -> Result<()> {
        let scored = !(logits.is_empty() && labels.is_empty());
        if scored {
            if labels.len() != batch_size {
                return Err(Error::Mismatch {
                    detail: format!("{} labels for a batch of {batch_size}", labels.len()),
                });
            }
            check_scores(logits, labels, classes)?;
        }
        self.loss_sum += f64::from(loss_mean) * batch_size as f64;
        self.count += batch_size;
        if scored {
            for (row, &label) in logits.chunks_exact(classes).zip(labels) {
                if argmax(row) == label {
                    self.correct += 1;
                }
                if top_k_correct(row, label, k) {
                    self.top_k += 1;
                }
            }
            self.scored += labels.len();
        }
        Ok(())
    }

    /// Mean loss per sample so far (0 before any sample; NaN if a batch loss was NaN,
    /// so divergence stays visible).
    pub fn mean_loss(&self) -> f32 {
        if self.count == 0 {
            0.0
        } else {
            (self.loss_sum / self.count as f64) as f32
        }
    }

    /// Fraction of scored samples whose argmax was the label; `None` when no batch
    /// carried labels.
    pub fn accuracy(&self) -> Option<f32> {
        (self.scored > 0).then(|| ratio(self.correct as u64, self.scored as u64))
    }

    /// Fraction of scored samples whose label was in the top k; `None` when no batch
    /// carried labels.
    pub fn top_k_accuracy(&self) -> Option<f32> {
        (self.scored > 0).then(|| ratio(self.top_k as u64, self.scored as u64))
    }

    /// Samples whose loss was added.
    pub fn count(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn argmax_first_max_and_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 0.5, f32::NAN, 0.7]), 3);
        assert_eq!(argmax(&[0.1, f32::NAN]), 0);
        assert_eq!(argmax(&[f32::NAN, f32::NAN]), 0);
        assert_eq!(argmax(&[]), 0);
        assert_eq!(argmax(&[f32::NEG_INFINITY, -1.0]), 1);
    }

    #[test]
    fn top_k_ties_and_nan() {
        let row = [0.2, 0.5, 0.5, 0.1];
        assert!(top_k_correct(&row, 1, 1));
        assert!(!top_k_correct(&row, 2, 1));
        assert!(top_k_correct(&row, 2, 2));
        assert!(!top_k_correct(&row, 0, 2));
        assert!(top_k_correct(&row, 0, 3));
        assert!(top_k_correct(&row, 3, 4));
        assert!(!top_k_correct(&row, 3, 3));
        assert!(!top_k_correct(&row, 9, 4));
        assert!(!top_k_correct(&row, 1, 0));
        let nan = [f32::NAN, 0.1, 0.0];
        assert!(top_k_correct(&nan, 1, 1));
        assert!(!top_k_correct(&nan, 0, 2));
        assert!(top_k_correct(&nan, 0, 3));
    }

    #[test]
    fn top_1_matches_argmax() {
        let rows: [&[f32]; 4] = [&[1.0, 1.0, 0.0], &[0.0, 2.0, 2.0], &[3.0], &[-1.0, -2.0]];
        for row in rows {
            for label in 0..row.len() {
                assert_eq!(top_k_correct(row, label, 1), argmax(row) == label);
            }
        }
    }

    #[test]
    fn regression_errors() {
        let p = [1.0, 2.0, 4.0];
        let t = [1.0, 3.0, 1.0];
        assert!(close(mae(&p, &t).unwrap(), 4.0 / 3.0));
        assert!(close(mse(&p, &t).unwrap(), 10.0 / 3.0));
        assert_eq!(mae(&[], &[]).unwrap(), 0.0);
        assert!(matches!(mse(&p, &t[..2]), Err(Error::Mismatch { .. })));
        assert!(matches!(mae(&p[..1], &t), Err(Error::Mismatch { .. })));
    }

    #[test]
    fn confusion_metrics() {
        let mut m = Confusion::new(3);
        // truth, pred
        for (t, p) in [(0, 0), (0, 0), (0, 1), (1, 1), (1, 0), (2, 2)] {
            m.add(t, p).unwrap();
        }
        assert_eq!(m.total(), 6);
        assert_eq!(m.count(0, 1), 1);
        assert!(close(m.accuracy(), 4.0 / 6.0));
        assert!(close(m.precision(0), 2.0 / 3.0));
        assert!(close(m.recall(0), 2.0 / 3.0));
        assert!(close(m.precision(1), 0.5));
        assert!(close(m.recall(1), 0.5));
        assert!(close(m.f1(1), 0.5));
        assert!(close(m.f1(2), 1.0));
        assert!(close(m.macro_f1(), (2.0 / 3.0 + 0.5 + 1.0) / 3.0));
        assert!(m.add(3, 0).is_err());
        assert!(m.add(0, 3).is_err());
        assert_eq!(m.total(), 6);
        assert_eq!(m.precision(7), 0.0);
    }

    #[test]
    fn confusion_edge_cases() {
        let empty = Confusion::new(2);
        assert_eq!(empty.accuracy(), 0.0);
        assert_eq!(empty.macro_f1(), 0.0);
        let mut m = Confusion::new(4);
        m.add(0, 0).unwrap();
        m.add(1, 0).unwrap();
        // Class 1 never predicted: precision 0, recall 0, F1 0; classes 2 and 3 absent.
        assert_eq!(m.precision(1), 0.0);
        assert_eq!(m.f1(1), 0.0);
        let f1_0 = 2.0 * 0.5 * 1.0 / 1.5;
        assert!(close(m.macro_f1(), (f1_0 + 0.0) / 2.0));
        let mut none = Confusion::new(0);
        assert!(none.add(0, 0).is_err());
        assert!(none.to_table().contains("accuracy"));
    }

    #[test]
    fn confusion_from_scores() {
        let mut m = Confusion::new(2);
        m.add_scores(&[0.9, 0.1, 0.2, 0.8, 0.6, 0.4], &[0, 1, 1])
            .unwrap();
        assert_eq!(m.count(1, 0), 1);
        assert_eq!(m.count(1, 1), 1);
        assert!(m.add_scores(&[0.9, 0.1], &[0, 1]).is_err());
        assert!(m.add_scores(&[0.9, 0.1], &[2]).is_err());
        assert_eq!(m.total(), 3);
    }

    #[test]
    fn table_lists_counts_and_metrics() {
        let mut m = Confusion::new(2);
        for _ in 0..12 {
            m.add(1, 0).unwrap();
        }
        m.add(0, 0).unwrap();
        let table = m.to_table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[2].contains("12"), "{table}");
        assert!(table.contains("accuracy 0.0769"), "{table}");
        assert!(table.contains("samples 13"), "{table}");
    }

    #[test]
    fn running_accumulates() {
        let mut r = Running::new();
        assert_eq!(r.accuracy(), None);
        assert_eq!(r.mean_loss(), 0.0);
        // Batch 1: 2 samples, both right.
        r.add_batch(1.0, 2, &[0.9, 0.1, 0.3, 0.7], &[0, 1], 2, 1)
            .unwrap();
        // Batch 2: 1 sample, wrong at top-1, right at top-2.
        r.add_batch(4.0, 1, &[0.2, 0.5, 0.3], &[2], 3, 2).unwrap();
        assert!(close(r.mean_loss(), 2.0));
        assert!(close(r.accuracy().unwrap(), 2.0 / 3.0));
        assert!(close(r.top_k_accuracy().unwrap(), 1.0));
        assert_eq!(r.count(), 3);
        // Bad batches change nothing.
        let before = r.clone();
        assert!(r.add_batch(1.0, 2, &[0.1, 0.2], &[0], 2, 1).is_err());
        assert!(r.add_batch(1.0, 1, &[0.1, 0.2, 0.3], &[0], 2, 1).is_err());
        assert!(r.add_batch(1.0, 1, &[0.1, 0.2], &[5], 2, 1).is_err());
        assert!(r.add_batch(1.0, 0, &[], &[], 0, 1).is_ok());
        assert_eq!(r, before);
        // Loss-only batch.
        r.add_batch(5.0, 1, &[], &[], 0, 1).unwrap();
        assert!(close(r.mean_loss(), 11.0 / 4.0));
        assert!(close(r.accuracy().unwrap(), 2.0 / 3.0));
    }
}
