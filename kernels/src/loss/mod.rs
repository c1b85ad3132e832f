//! Losses with their gradients, over predictions laid out `[batch][features]`.
//!
//! Every loss function has the same shape:
//!
//! ```text
//! loss(&Params, <loss-specific scalars>, prediction, target, grad: Option<&mut [f32]>)
//!     -> Result<f32>
//! ```
//!
//! It returns the reduced loss and, when `grad` is `Some`, **adds** (`+=`) the gradient
//! of that reduced loss with respect to the predictions (or logits) to `grad`, like every
//! backward kernel of mote: the caller zeroes the buffer, and several losses can
//! accumulate into one buffer. Pass `None` to evaluate the loss alone.
//!
//! | module | losses | reduction by [`Reduction::Mean`] |
//! |---|---|---|
//! | [`regression`] | MSE, MAE, Huber | mean over all `batch·features` elements |
//! | [`binary`] | BCE on probabilities, BCE with logits | mean over all elements |
//! | [`categorical`] | categorical CE, sparse categorical CE, fused softmax + CE (dense and sparse labels) | mean over the batch (each row's loss is a sum over its classes) |
//!
//! The element-wise losses average over every element, like PyTorch's default
//! `reduction='mean'` (and Keras, which averages over the last axis, then the batch);
//! the cross-entropies sum over the classes of a row and average over the rows, like
//! both frameworks. [`Reduction::Sum`] sums instead, for callers that scale themselves
//! (e.g. across micro-batches).
//!
//! ```
//! use mote_kernels::loss::{Params, categorical};
//!
//! // Two samples, three classes: logits from the last dense layer, integer labels.
//! let logits = [2.0, 0.5, -1.0, 0.0, 0.0, 0.0];
//! let labels = [0, 2];
//! let mut grad = [0.0f32; 6]; // zeroed by the caller; the loss adds to it
//! let p = Params::new(2, 3);
//! let loss = categorical::sparse_softmax_cross_entropy(&p, 0.0, &logits, &labels, Some(&mut grad))?;
//! assert!((loss - 0.6700).abs() < 1e-4); // (0.2413 + ln 3) / 2
//! // Each row of the gradient is (softmax − onehot) / 2 and sums to 0.
//! assert!((grad[3] + grad[4] + grad[5]).abs() < 1e-6 && grad[5] < 0.0);
//! # Ok::<(), mote_core::Error>(())
//! ```
//!
//! No function allocates or needs scratch; sums are accumulated in f32. Shapes are
//! checked once at the top: a zero `batch` or `features` is an error (a mean over no
//! elements is undefined), as is any slice whose length is not the one `Params` implies.

pub mod binary;
pub mod categorical;
pub mod regression;

use mote_core::{Error, ErrorKind, Result};

/// How a loss reduces its per-element (or per-row) terms to one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reduction {
    /// The mean: over all elements for element-wise losses, over the batch for
    /// cross-entropies (see the [module docs](self)). The default, as in PyTorch and
    /// Keras.
    #[default]
    Mean,
    /// The plain sum of the terms.
    Sum,
}

/// The shape of a loss's input and how it is reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Number of rows (samples); must be non-zero.
    pub batch: usize,
    /// Values per row: outputs of a regression, independent binary targets, or
    /// classes of a categorical loss; must be non-zero.
    pub features: usize,
    /// How the terms are reduced; [`Reduction::Mean`] by default.
    pub reduction: Reduction,
}

impl Params {
    /// `batch` rows of `features` values, reduced by the mean.
    pub const fn new(batch: usize, features: usize) -> Self {
        Self {
            batch,
            features,
            reduction: Reduction::Mean,
        }
    }

    /// The same shape reduced by `reduction`.
    pub const fn with_reduction(self, reduction: Reduction) -> Self {
        Self { reduction, ..self }
    }

    /// Checks that `batch` and `features` are non-zero and that their product fits in
    /// `usize`; returns the number of elements `batch·features`.
    fn elements(&self, at: &'static str) -> Result<usize> {
        if self.batch == 0 || self.features == 0 {
            return Err(Error::zero(at));
        }
        self.batch
            .checked_mul(self.features)
            .ok_or(Error::new(ErrorKind::Overflow, at))
    }

    /// The divisor that turns a sum of `terms` terms into the configured reduction.
    fn scale(&self, terms: usize) -> f32 {
        match self.reduction {
            Reduction::Mean => 1.0 / terms as f32,
            Reduction::Sum => 1.0,
        }
    }
}

/// Where each argument of a loss is named in its errors.
#[derive(Clone, Copy)]
struct Names {
    params: &'static str,
    prediction: &'static str,
    target: &'static str,
    grad: &'static str,
}

/// Checks the shape and the three element-wise slices of a loss; returns the element
/// count.
fn check_elementwise(
    p: &Params,
    at: Names,
    prediction: &[f32],
    target: &[f32],
    grad: &Option<&mut [f32]>,
) -> Result<usize> {
    let n = p.elements(at.params)?;
    mote_core::error::check_len(at.prediction, n, prediction.len())?;
    mote_core::error::check_len(at.target, n, target.len())?;
    check_grad(at.grad, n, grad)?;
    Ok(n)
}

/// Drives an element-wise loss: `term(prediction, target)` returns one element's loss
/// and its derivative with respect to the prediction. Sums per row, then over rows (a
/// cheap guard against the rounding of one long f32 sum), scales by the reduction and
/// accumulates the scaled derivatives into `grad`.
fn elementwise(
    p: &Params,
    at: Names,
    prediction: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
    term: impl Fn(f32, f32) -> (f32, f32),
) -> Result<f32> {
    let n = check_elementwise(p, at, prediction, target, &grad)?;
    let scale = p.scale(n);
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
                    let (l, d) = term(x, t);
                    row += l;
                    *g += d * scale;
                }
                total += row;
            }
        }
        None => {
            for (x, t) in prediction.chunks_exact(f).zip(target.chunks_exact(f)) {
                total += x.iter().zip(t).map(|(&x, &t)| term(x, t).0).sum::<f32>();
            }
        }
    }
    Ok(total * scale)
}

/// Checks a loss's gradient buffer, if any, against the element count `len`.
fn check_grad(at: &'static str, len: usize, grad: &Option<&mut [f32]>) -> Result<()> {
    match grad {
        Some(g) => mote_core::error::check_len(at, len, g.len()),
        None => Ok(()),
    }
}

/// Checks that a scalar hyper-parameter is finite and lies in `[min, max]`.
fn check_float(at: &'static str, value: f32, min: f32, max: f32) -> Result<f32> {
    if value.is_finite() && value >= min && value <= max {
        Ok(value)
    } else {
        Err(Error::new(ErrorKind::InvalidFloat, at))
    }
}

/// Checks a probability clamp `ε ∈ [0, 0.5)`, so that `ε ≤ 1 − ε`.
fn check_epsilon(at: &'static str, epsilon: f32) -> Result<f32> {
    if (0.0..0.5).contains(&epsilon) {
        Ok(epsilon)
    } else {
        Err(Error::new(ErrorKind::InvalidFloat, at))
    }
}

/// `x` clamped (for probability losses' epsilon) to `[lo, hi]` (NaN passes through), and whether it was inside.
pub(crate) fn clamp(x: f32, lo: f32, hi: f32) -> (f32, bool) {
    if x < lo {
        (lo, false)
    } else if x > hi {
        (hi, false)
    } else {
        (x, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn len_checks_zero_and_overflow() {
        assert_eq!(Params::new(2, 3).elements("x"), Ok(6));
        assert_eq!(Params::new(0, 3).elements("x"), Err(Error::zero("x")));
        assert_eq!(Params::new(2, 0).elements("x"), Err(Error::zero("x")));
        assert_eq!(
            Params::new(usize::MAX, 2).elements("x"),
            Err(Error::new(ErrorKind::Overflow, "x"))
        );
    }

    #[test]
    fn scale_follows_reduction() {
        let p = Params::new(2, 4);
        assert_eq!(p.scale(8), 0.125);
        assert_eq!(p.with_reduction(Reduction::Sum).scale(8), 1.0);
    }

    #[test]
    fn float_checks() {
        assert!(check_float("x", 0.5, 0.0, 1.0).is_ok());
        assert!(check_float("x", f32::NAN, 0.0, 1.0).is_err());
        assert!(check_float("x", -0.1, 0.0, 1.0).is_err());
        assert!(check_float("x", f32::INFINITY, 0.0, f32::INFINITY).is_err());
    }
}
