//! Regression losses: mean squared error, mean absolute error, Huber.
//!
//! Predictions and targets are `[batch][features]`, `batch·features` values each; the
//! gradient buffer, when given, has the same length and receives `+=` the gradient of
//! the returned (reduced) loss with respect to the predictions. With
//! [`Reduction::Mean`](super::Reduction::Mean) each loss is the mean over all
//! `N = batch·features` elements, PyTorch's default (`MSELoss`, `L1Loss`, `HuberLoss`).

use super::{Names, Params, check_float, elementwise};
use mote_core::Result;

/// The Huber threshold of PyTorch's `HuberLoss` and Keras's `Huber`.
pub const HUBER_DELTA: f32 = 1.0;

/// Mean squared error `L = (1/N) Σ (x − t)²`; gradient `2 (x − t) / N`.
///
/// Errors: a zero `batch`/`features`, or a `prediction`, `target` or `grad` whose
/// length is not `batch·features`.
pub fn mse(
    p: &Params,
    prediction: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
) -> Result<f32> {
    const AT: Names = Names {
        params: "mse: params",
        prediction: "mse: prediction",
        target: "mse: target",
        grad: "mse: grad",
    };
    elementwise(p, AT, prediction, target, grad, |x, t| {
        let d = x - t;
        (d * d, 2.0 * d)
    })
}

/// Mean absolute error `L = (1/N) Σ |x − t|`; gradient `sign(x − t) / N`, taken as 0
/// where `x = t` (PyTorch's subgradient).
///
/// Errors: as [`mse`].
pub fn mae(
    p: &Params,
    prediction: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
) -> Result<f32> {
    const AT: Names = Names {
        params: "mae: params",
        prediction: "mae: prediction",
        target: "mae: target",
        grad: "mae: grad",
    };
    elementwise(p, AT, prediction, target, grad, |x, t| {
        let d = x - t;
        (libm::fabsf(d), sign(d))
    })
}

/// Huber loss with threshold `delta` (> 0, finite; [`HUBER_DELTA`] = 1 by default):
/// each element, with `d = x − t`, costs
///
/// ```text
/// ½ d²               if |d| < δ
/// δ (|d| − ½ δ)      otherwise
/// ```
///
/// and its derivative is `d` inside and `δ·sign(d)` outside: quadratic near the target,
/// linear (so robust to outliers) far from it. Equal to PyTorch's `HuberLoss(delta)` and
/// Keras's `Huber(delta)`; PyTorch's `SmoothL1Loss(beta)` is this divided by `beta`.
///
/// Errors: as [`mse`], and `delta` not finite and positive.
pub fn huber(
    p: &Params,
    delta: f32,
    prediction: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
) -> Result<f32> {
    const AT: Names = Names {
        params: "huber: params",
        prediction: "huber: prediction",
        target: "huber: target",
        grad: "huber: grad",
    };
    let delta = check_float("huber: delta", delta, f32::MIN_POSITIVE, f32::MAX)?;
    elementwise(p, AT, prediction, target, grad, |x, t| {
        let d = x - t;
        let a = libm::fabsf(d);
        if a < delta {
            (0.5 * d * d, d)
        } else {
            (delta * (a - 0.5 * delta), delta * sign(d))
        }
    })
}

/// `−1`, `0` or `1` by the sign of `x` (0 for 0 and NaN).
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::Reduction;
    use super::*;
    use mote_core::{Error, ErrorKind};

    #[test]
    fn mse_by_hand() {
        // d = [1, -2, 0.5, 0]: Σd² = 1 + 4 + 0.25 = 5.25, mean over 4 = 1.3125.
        let p = Params::new(2, 2);
        let mut g = [1.0; 4];
        let l = mse(
            &p,
            &[1.0, 0.0, 2.5, 3.0],
            &[0.0, 2.0, 2.0, 3.0],
            Some(&mut g),
        )
        .unwrap();
        assert_eq!(l, 1.3125);
        // 2d/4 = [0.5, -1, 0.25, 0], added to the ones already there.
        assert_eq!(g, [1.5, 0.0, 1.25, 1.0]);
        let s = mse(
            &p.with_reduction(Reduction::Sum),
            &[1.0, 0.0, 2.5, 3.0],
            &[0.0, 2.0, 2.0, 3.0],
            None,
        );
        assert_eq!(s, Ok(5.25));
    }

    #[test]
    fn mae_and_huber_by_hand() {
        let p = Params::new(1, 3);
        let x = [3.0, -1.0, 0.5];
        let t = [0.0, 0.0, 0.5];
        let mut g = [0.0; 3];
        // |d| = [3, 1, 0] → mean 4/3; sign = [1, -1, 0] / 3.
        let l = mae(&p, &x, &t, Some(&mut g)).unwrap();
        assert!((l - 4.0 / 3.0).abs() < 1e-6);
        assert_eq!(g, [1.0 / 3.0, -1.0 / 3.0, 0.0]);
        // δ = 2: 3 → 2(3 − 1) = 4 (linear), 1 → ½ (quadratic), 0 → 0; mean 4.5/3 = 1.5.
        let mut g = [0.0; 3];
        let l = huber(&p, 2.0, &x, &t, Some(&mut g)).unwrap();
        assert_eq!(l, 1.5);
        assert_eq!(g, [2.0 / 3.0, -1.0 / 3.0, 0.0]);
    }

    #[test]
    fn errors_name_the_argument() {
        let p = Params::new(2, 2);
        let x = [0.0; 4];
        assert_eq!(
            mse(&p, &x[..3], &x, None),
            Err(Error::length("mse: prediction", 4, 3))
        );
        let mut g = [0.0; 5];
        assert_eq!(
            mae(&p, &x, &x, Some(&mut g)),
            Err(Error::length("mae: grad", 4, 5))
        );
        assert_eq!(
            huber(&p, 0.0, &x, &x, None),
            Err(Error::new(ErrorKind::InvalidFloat, "huber: delta"))
        );
        assert_eq!(
            mse(&Params::new(0, 2), &[], &[], None),
            Err(Error::zero("mse: params"))
        );
    }
}
