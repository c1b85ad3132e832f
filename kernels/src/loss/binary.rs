//! Binary cross-entropy, on probabilities and on logits.
//!
//! Each of the `batch·features` values is an independent binary prediction (one output
//! per sample for a yes/no classifier, several for multi-label) with a target in
//! `[0, 1]` (hard 0/1 labels or soft ones). With [`Reduction::Mean`](super::Reduction::Mean)
//! the loss is the mean over all elements, as PyTorch's `BCELoss`/`BCEWithLogitsLoss`
//! and Keras's `binary_crossentropy` compute it. The gradient buffer, when given, has
//! the predictions' length and receives `+=` the gradient of the returned loss.
//!
//! Prefer [`bce_with_logits`] when training: it fuses the sigmoid into the loss, stays
//! finite for any logit, and its gradient `σ(x) − t` does not vanish where a saturated
//! sigmoid's would.

use super::{Names, Params, check_epsilon, clamp, elementwise};
use mote_core::Result;

/// The probability clamp of [`bce`], Keras's `epsilon()` (`1e-7`).
pub const EPSILON: f32 = 1e-7;

/// Binary cross-entropy on probabilities `x ∈ [0, 1]` (a sigmoid's output):
///
/// ```text
/// L = (1/N) Σ −[t ln x̂ + (1 − t) ln(1 − x̂)],   x̂ = clamp(x, ε, 1 − ε)
/// ```
///
/// The clamp keeps the loss finite at `x = 0` or `1`, as Keras does (`ε` =
/// [`EPSILON`] there; PyTorch instead floors each log at −100). The gradient is
/// `(x̂ − t) / (x̂ (1 − x̂)) / N` inside `[ε, 1 − ε]` and 0 where the clamp is active,
/// the derivative of the function computed (and TensorFlow's).
///
/// Errors: a zero `batch`/`features`; `prediction`, `target` or `grad` of a length
/// other than `batch·features`; `epsilon` not in `[0, 0.5)`.
pub fn bce(
    p: &Params,
    epsilon: f32,
    prediction: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
) -> Result<f32> {
    const AT: Names = Names {
        params: "bce: params",
        prediction: "bce: prediction",
        target: "bce: target",
        grad: "bce: grad",
    };
    let lo = check_epsilon("bce: epsilon", epsilon)?;
    let hi = 1.0 - lo;
    elementwise(p, AT, prediction, target, grad, |x, t| {
        let (q, d_on) = clamp(x, lo, hi);
        let l = -(t * libm::logf(q) + (1.0 - t) * libm::logf(1.0 - q));
        let d = if d_on { (q - t) / (q * (1.0 - q)) } else { 0.0 };
        (l, d)
    })
}

/// Binary cross-entropy on logits, `L = (1/N) Σ ℓ(x, t)` with `ℓ` the cross-entropy of
/// `σ(x)` written in its stable form
///
/// ```text
/// ℓ(x, t) = max(x, 0) − x·t + ln(1 + e^−|x|)
/// ```
///
/// (no exponential of a positive number, no log of a tiny one), so it is finite and
/// accurate for every finite logit. The gradient is `(σ(x) − t) / N`, with `σ`
/// evaluated from the same `e^−|x|`. PyTorch's `BCEWithLogitsLoss` (without
/// `pos_weight`) and Keras's `binary_crossentropy(from_logits=True)`.
///
/// Errors: a zero `batch`/`features`; `prediction`, `target` or `grad` of a length
/// other than `batch·features`.
pub fn bce_with_logits(
    p: &Params,
    logits: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
) -> Result<f32> {
    const AT: Names = Names {
        params: "bce_with_logits: params",
        prediction: "bce_with_logits: logits",
        target: "bce_with_logits: target",
        grad: "bce_with_logits: grad",
    };
    elementwise(p, AT, logits, target, grad, |x, t| {
        let e = libm::expf(-libm::fabsf(x));
        let l = x.max(0.0) - x * t + libm::log1pf(e);
        let sigmoid = if x >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        };
        (l, sigmoid - t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::{Error, ErrorKind};

    #[test]
    fn bce_by_hand() {
        // x = 0.5 costs ln 2 whatever t; x = 0.8, t = 1 costs −ln 0.8.
        let p = Params::new(2, 1);
        let mut g = [0.0; 2];
        let l = bce(&p, EPSILON, &[0.5, 0.8], &[0.0, 1.0], Some(&mut g)).unwrap();
        let want = (core::f32::consts::LN_2 - libm::logf(0.8)) / 2.0;
        assert!((l - want).abs() < 1e-6, "{l} vs {want}");
        // (x − t) / (x (1 − x)) / 2: 0.5/0.25/2 = 1; −0.2/0.16/2 = −0.625.
        assert!(
            (g[0] - 1.0).abs() < 1e-6 && (g[1] + 0.625).abs() < 1e-6,
            "{g:?}"
        );
    }

    #[test]
    fn bce_clamps_certain_mistakes() {
        let p = Params::new(1, 2);
        let mut g = [0.0; 2];
        let l = bce(&p, EPSILON, &[0.0, 1.0], &[1.0, 0.0], Some(&mut g)).unwrap();
        assert!(l.is_finite() && l > 15.0, "{l}");
        assert_eq!(g, [0.0, 0.0]);
        assert_eq!(
            bce(&p, 0.5, &[0.0; 2], &[0.0; 2], None),
            Err(Error::new(ErrorKind::InvalidFloat, "bce: epsilon"))
        );
    }

    #[test]
    fn logits_are_stable() {
        let p = Params::new(1, 4);
        let mut g = [0.0; 4];
        let x = [100.0, -100.0, 0.0, 30.0];
        let t = [0.0, 0.0, 1.0, 1.0];
        let l = bce_with_logits(&p, &x, &t, Some(&mut g)).unwrap();
        // 100 + ln(1 + e^−100) ≈ 100; ≈ 0; ln 2; ≈ e^−30.
        let want = (100.0 + core::f32::consts::LN_2) / 4.0;
        assert!((l - want).abs() < 1e-5, "{l} vs {want}");
        // σ − t over 4: [1, e^−100 (subnormal in f32), −½, σ(30) − 1 (rounds to 0)] / 4.
        assert_eq!([g[0], g[2], g[3]], [0.25, -0.125, 0.0]);
        assert!(g[1] >= 0.0 && g[1] < 1e-40, "{}", g[1]);
    }
}
