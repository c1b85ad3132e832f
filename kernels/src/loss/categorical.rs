//! Categorical cross-entropies: on probabilities (dense or integer labels) and fused
//! with a softmax on logits (dense or integer labels, optional label smoothing).
//!
//! Inputs are `[batch][classes]` (`Params::features` is the number of classes). A
//! row's loss is a sum over its classes; with [`Reduction::Mean`](super::Reduction::Mean)
//! the returned loss is the mean of the row losses over the batch, as in PyTorch's
//! `CrossEntropyLoss`/`NLLLoss` and Keras's `categorical_crossentropy`. The gradient
//! buffer, when given, is `[batch][classes]` and receives `+=` the gradient of the
//! returned loss with respect to the predictions or logits.
//!
//! Integer labels are `usize` class indices, one per row; a label `≥ classes` is an
//! [`ElementOutOfRange`](mote_core::ErrorKind::ElementOutOfRange) error carrying the row and the label, checked
//! before anything is written.
//!
//! Prefer the fused [`softmax_cross_entropy`] / [`sparse_softmax_cross_entropy`] when
//! training a classifier: the gradient through softmax and cross-entropy together is
//! simply `softmax(x) − t`, computed with a stable log-sum-exp, where the separate
//! kernels would divide by tiny probabilities.

use super::{Names, Params, check_elementwise, check_epsilon, check_float, check_grad, clamp};
use mote_core::error::check_len;
use mote_core::{Error, Result};

/// The probability clamp of [`categorical`] and [`sparse_categorical`], Keras's
/// `epsilon()` (`1e-7`).
pub const EPSILON: f32 = 1e-7;

/// Categorical cross-entropy on probabilities (a softmax's output) with dense targets
/// (one-hot or soft):
///
/// ```text
/// L = (1/B) Σ_b Σ_j −t[b][j] ln x̂[b][j],   x̂ = clamp(x, ε, 1 − ε)
/// ```
///
/// The clamp keeps the loss finite at `x = 0`, as Keras does (`ε` = [`EPSILON`]
/// there). Unlike Keras, rows are not renormalised to sum to 1: the predictions are
/// taken as given. The gradient is `−t / x̂ / B` inside the clamp range and 0 where the
/// clamp is active.
///
/// Errors: a zero `batch`/`features`; `prediction`, `target` or `grad` of a length other
/// than `batch·features`; `epsilon` not in `[0, 0.5)`.
pub fn categorical(
    p: &Params,
    epsilon: f32,
    prediction: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
) -> Result<f32> {
    const AT: Names = Names {
        params: "categorical: params",
        prediction: "categorical: prediction",
        target: "categorical: target",
        grad: "categorical: grad",
    };
    let lo = check_epsilon("categorical: epsilon", epsilon)?;
    let hi = 1.0 - lo;
    check_elementwise(p, AT, prediction, target, &grad)?;
    let scale = p.scale(p.batch);
    let f = p.features;
    let mut total = 0.0f32;
    match grad {
        Some(grad) => {
            let rows = prediction
                .chunks_exact(f)
                .zip(target.chunks_exact(f))
                .zip(grad.chunks_exact_mut(f));
            for ((x, t), g) in rows {
                let mut row = 0.0f32;
                for ((&x, &t), g) in x.iter().zip(t).zip(g.iter_mut()) {
                    let (q, inside) = clamp(x, lo, hi);
                    row -= t * libm::logf(q);
                    if inside {
                        *g -= t / q * scale;
                    }
                }
                total += row;
            }
        }
        None => {
            for (x, t) in prediction.chunks_exact(f).zip(target.chunks_exact(f)) {
                let row: f32 = x
                    .iter()
                    .zip(t)
                    .map(|(&x, &t)| -t * libm::logf(clamp(x, lo, hi).0))
                    .sum();
                total += row;
            }
        }
    }
    Ok(total * scale)
}

/// Sparse categorical cross-entropy on probabilities: as [`categorical`] with one-hot
/// targets given as class indices, `L = (1/B) Σ_b −ln x̂[b][labels[b]]`. The gradient
/// `−1 / x̂ / B` lands on each row's labelled class only (0 where the clamp is active).
///
/// Errors: those of [`categorical`], `labels` of a length other than `batch`, and a
/// label `≥ features` ([`ElementOutOfRange`](mote_core::ErrorKind::ElementOutOfRange) with the label
/// as `value`).
pub fn sparse_categorical(
    p: &Params,
    epsilon: f32,
    prediction: &[f32],
    labels: &[usize],
    grad: Option<&mut [f32]>,
) -> Result<f32> {
    let lo = check_epsilon("sparse_categorical: epsilon", epsilon)?;
    let hi = 1.0 - lo;
    check_sparse(
        p,
        SparseNames {
            params: "sparse_categorical: params",
            prediction: "sparse_categorical: prediction",
            labels: "sparse_categorical: labels",
            grad: "sparse_categorical: grad",
        },
        prediction,
        labels,
        &grad,
    )?;
    let scale = p.scale(p.batch);
    let f = p.features;
    let mut total = 0.0f32;
    match grad {
        Some(grad) => {
            let rows = prediction
                .chunks_exact(f)
                .zip(labels)
                .zip(grad.chunks_exact_mut(f));
            for ((x, &y), g) in rows {
                if let (Some(&x), Some(g)) = (x.get(y), g.get_mut(y)) {
                    let (q, inside) = clamp(x, lo, hi);
                    total -= libm::logf(q);
                    if inside {
                        *g -= scale / q;
                    }
                }
            }
        }
        None => {
            for (x, &y) in prediction.chunks_exact(f).zip(labels) {
                if let Some(&x) = x.get(y) {
                    total -= libm::logf(clamp(x, lo, hi).0);
                }
            }
        }
    }
    Ok(total * scale)
}

/// Softmax followed by categorical cross-entropy, on logits, with dense targets (one-hot
/// or soft) and optional label smoothing `ε ∈ [0, 1]` (0 for none):
///
/// ```text
/// t'  = (1 − ε)·t + ε / C
/// L   = (1/B) Σ_b Σ_j t'[b][j] (lse(x[b]) − x[b][j]),   lse(x) = m + ln Σ_j e^(x_j − m),  m = max_j x_j
/// ∂L/∂x[b][j] = ((Σ_k t'[b][k])·softmax(x[b])_j − t'[b][j]) / B
/// ```
///
/// which is `(softmax(x) − t) / B` for targets that sum to 1 and no smoothing. The
/// log-sum-exp never exponentiates a positive number, so any finite logits give a finite
/// loss. Matches PyTorch's `CrossEntropyLoss(label_smoothing=ε)` with probability
/// targets and Keras's `categorical_crossentropy(from_logits=True, label_smoothing=ε)`.
/// Each row's exponentials are computed twice when a gradient is wanted (once for the
/// sum, once for the softmax), so no scratch is needed.
///
/// Errors: a zero `batch`/`features`; `logits`, `target` or `grad` of a length other
/// than `batch·features`; `label_smoothing` not in `[0, 1]`.
pub fn softmax_cross_entropy(
    p: &Params,
    label_smoothing: f32,
    logits: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
) -> Result<f32> {
    const AT: Names = Names {
        params: "softmax_cross_entropy: params",
        prediction: "softmax_cross_entropy: logits",
        target: "softmax_cross_entropy: target",
        grad: "softmax_cross_entropy: grad",
    };
    let eps = check_float(
        "softmax_cross_entropy: label_smoothing",
        label_smoothing,
        0.0,
        1.0,
    )?;
    check_elementwise(p, AT, logits, target, &grad)?;
    let scale = p.scale(p.batch);
    let f = p.features;
    let keep = 1.0 - eps;
    let spread = eps / f as f32;
    let mut total = 0.0f32;
    match grad {
        Some(grad) => {
            let rows = logits
                .chunks_exact(f)
                .zip(target.chunks_exact(f))
                .zip(grad.chunks_exact_mut(f));
            for ((x, t), g) in rows {
                let (m, sum) = max_and_sum_exp(x);
                let lse = m + libm::logf(sum);
                let inv = 1.0 / sum;
                let mut row = 0.0f32;
                let mut t_sum = 0.0f32;
                for (&x, &t) in x.iter().zip(t) {
                    let t = keep * t + spread;
                    row += t * (lse - x);
                    t_sum += t;
                }
                for ((&x, &t), g) in x.iter().zip(t).zip(g.iter_mut()) {
                    let t = keep * t + spread;
                    let softmax = libm::expf(x - m) * inv;
                    *g += (t_sum * softmax - t) * scale;
                }
                total += row;
            }
        }
        None => {
            for (x, t) in logits.chunks_exact(f).zip(target.chunks_exact(f)) {
                let (m, sum) = max_and_sum_exp(x);
                let lse = m + libm::logf(sum);
                let row: f32 = x
                    .iter()
                    .zip(t)
                    .map(|(&x, &t)| (keep * t + spread) * (lse - x))
                    .sum();
                total += row;
            }
        }
    }
    Ok(total * scale)
}

/// Softmax followed by categorical cross-entropy, on logits, with integer labels and
/// optional label smoothing `ε ∈ [0, 1]`: [`softmax_cross_entropy`] with one-hot
/// targets, computed without them. A row's loss is
/// `(1 − ε)(lse(x) − x_y) + (ε/C) Σ_j (lse(x) − x_j)` and its gradient
/// `(softmax(x) − ε/C − (1 − ε)·onehot(y)) / B`. PyTorch's `CrossEntropyLoss` with class
/// indices; Keras's `sparse_categorical_crossentropy(from_logits=True)`.
///
/// Errors: those of [`softmax_cross_entropy`], `labels` of a length other than `batch`,
/// and a label `≥ features` ([`ElementOutOfRange`](mote_core::ErrorKind::ElementOutOfRange) with the
/// label as `value`).
pub fn sparse_softmax_cross_entropy(
    p: &Params,
    label_smoothing: f32,
    logits: &[f32],
    labels: &[usize],
    grad: Option<&mut [f32]>,
) -> Result<f32> {
    let eps = check_float(
        "sparse_softmax_cross_entropy: label_smoothing",
        label_smoothing,
        0.0,
        1.0,
    )?;
    check_sparse(
        p,
        SparseNames {
            params: "sparse_softmax_cross_entropy: params",
            prediction: "sparse_softmax_cross_entropy: logits",
            labels: "sparse_softmax_cross_entropy: labels",
            grad: "sparse_softmax_cross_entropy: grad",
        },
        logits,
        labels,
        &grad,
    )?;
    let scale = p.scale(p.batch);
    let f = p.features;
    let keep = 1.0 - eps;
    let spread = eps / f as f32;
    // One row's loss from its max, exp-sum and labelled logit.
    let row_loss = |x: &[f32], y: usize, m: f32, sum: f32| {
        let lse = m + libm::logf(sum);
        let labelled = x.get(y).map_or(0.0, |&xy| keep * (lse - xy));
        if spread == 0.0 {
            labelled
        } else {
            labelled + spread * x.iter().map(|&x| lse - x).sum::<f32>()
        }
    };
    let mut total = 0.0f32;
    match grad {
        Some(grad) => {
            let rows = logits
                .chunks_exact(f)
                .zip(labels)
                .zip(grad.chunks_exact_mut(f));
            for ((x, &y), g) in rows {
                let (m, sum) = max_and_sum_exp(x);
                total += row_loss(x, y, m, sum);
                let inv = 1.0 / sum;
                for (&x, g) in x.iter().zip(g.iter_mut()) {
                    *g += (libm::expf(x - m) * inv - spread) * scale;
                }
                if let Some(g) = g.get_mut(y) {
                    *g -= keep * scale;
                }
            }
        }
        None => {
            for (x, &y) in logits.chunks_exact(f).zip(labels) {
                let (m, sum) = max_and_sum_exp(x);
                total += row_loss(x, y, m, sum);
            }
        }
    }
    Ok(total * scale)
}

/// Where each argument of a sparse loss is named in its errors.
struct SparseNames {
    params: &'static str,
    prediction: &'static str,
    labels: &'static str,
    grad: &'static str,
}

/// Checks a sparse loss's shape, slices and labels.
fn check_sparse(
    p: &Params,
    at: SparseNames,
    prediction: &[f32],
    labels: &[usize],
    grad: &Option<&mut [f32]>,
) -> Result<()> {
    let n = p.elements(at.params)?;
    check_len(at.prediction, n, prediction.len())?;
    check_len(at.labels, p.batch, labels.len())?;
    check_grad(at.grad, n, grad)?;
    for (row, &y) in labels.iter().enumerate() {
        if y >= p.features {
            return Err(Error::element_out_of_range(
                at.labels,
                row,
                i64::try_from(y).unwrap_or(i64::MAX),
                0,
                i64::try_from(p.features - 1).unwrap_or(i64::MAX),
            ));
        }
    }
    Ok(())
}

/// A row's maximum `m` and `Σ e^(x − m)` (at least 1 for finite logits).
fn max_and_sum_exp(x: &[f32]) -> (f32, f32) {
    let m = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let sum = x.iter().map(|&v| libm::expf(v - m)).sum();
    (m, sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::ErrorKind;

    #[test]
    fn categorical_by_hand() {
        // Row 0: −ln 0.5; row 1: −(0.5 ln 0.25 + 0.5 ln 0.5) = 1.5 ln 2. Mean: 1.25 ln 2.
        let p = Params::new(2, 2);
        let x = [0.5, 0.5, 0.25, 0.5];
        let t = [1.0, 0.0, 0.5, 0.5];
        let mut g = [0.0; 4];
        let l = categorical(&p, EPSILON, &x, &t, Some(&mut g)).unwrap();
        assert!((l - 1.25 * core::f32::consts::LN_2).abs() < 1e-6);
        // −t/x/2: [−1, 0, −1, −0.5].
        assert_eq!(g, [-1.0, 0.0, -1.0, -0.5]);
        let mut gs = [0.0; 4];
        let ls = sparse_categorical(&p, EPSILON, &x, &[0, 1], Some(&mut gs)).unwrap();
        assert!((ls - core::f32::consts::LN_2).abs() < 1e-6);
        assert_eq!(gs, [-1.0, 0.0, 0.0, -1.0]);
    }

    #[test]
    fn softmax_ce_of_equal_logits_is_ln_classes() {
        let p = Params::new(1, 4);
        let mut g = [0.0; 4];
        let l = sparse_softmax_cross_entropy(&p, 0.0, &[3.0; 4], &[2], Some(&mut g)).unwrap();
        assert!((l - libm::logf(4.0)).abs() < 1e-6);
        assert_eq!(g, [0.25, 0.25, -0.75, 0.25]);
        let mut gd = [0.0; 4];
        let ld = softmax_cross_entropy(&p, 0.0, &[3.0; 4], &[0.0, 0.0, 1.0, 0.0], Some(&mut gd));
        assert_eq!(ld, Ok(l));
        assert_eq!(gd, g);
        // Full smoothing makes the target uniform, which the uniform softmax matches.
        let mut g = [0.0; 4];
        sparse_softmax_cross_entropy(&p, 1.0, &[3.0; 4], &[2], Some(&mut g)).unwrap();
        assert_eq!(g, [0.0; 4]);
    }

    #[test]
    fn softmax_ce_survives_huge_logits() {
        let p = Params::new(1, 3);
        let l = sparse_softmax_cross_entropy(&p, 0.1, &[1e30, -1e30, 0.0], &[1], None).unwrap();
        assert!(l.is_finite(), "{l}");
        let l = sparse_softmax_cross_entropy(&p, 0.0, &[80.0, -80.0, 0.0], &[1], None).unwrap();
        assert!((l - 160.0).abs() < 1e-3, "{l}");
    }

    #[test]
    fn labels_out_of_range_are_errors() {
        let p = Params::new(2, 3);
        let mut g = [0.0; 6];
        let e = sparse_softmax_cross_entropy(&p, 0.0, &[0.0; 6], &[0, 3], Some(&mut g));
        assert_eq!(
            e,
            Err(Error::element_out_of_range(
                "sparse_softmax_cross_entropy: labels",
                1,
                3,
                0,
                2
            ))
        );
        assert_eq!(
            g, [0.0; 6],
            "nothing is written before the labels are checked"
        );
        let e = sparse_categorical(&p, EPSILON, &[0.5; 6], &[usize::MAX, 0], None);
        // usize::MAX is 2^32 − 1 on 32-bit targets and saturates to i64::MAX on 64-bit.
        let huge = i64::try_from(usize::MAX).unwrap_or(i64::MAX);
        assert_eq!(
            e.map_err(|e| e.kind),
            Err(ErrorKind::ElementOutOfRange {
                index: 0,
                value: huge,
                min: 0,
                max: 2
            })
        );
    }
}
