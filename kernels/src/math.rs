//! The transcendental functions the f32 kernels use, in one place, so that one feature
//! switch chooses how they are computed.
//!
//! By default every function goes to [`libm`] (a software port of musl's maths: the same
//! results on every target, within 1 ulp or so of the exact value). With the crate
//! feature `fast-math`, [`exp`] — and so [`sigmoid`] and the kernels built on them
//! (sigmoid, SiLU/swish, GELU's derivative, softmax, log-softmax) — uses the much cheaper
//! approximation of the `micromath` crate instead; every other function stays on libm.
//!
//! ## Measured error of the micromath functions (micromath 2.1.0)
//!
//! Relative error is `|a − e| / |e|`, with `e` the f64 libm value of the exact function
//! at the same f32 input and `a` the approximation, widened to f64.
//!
//! | function | used | domain swept | max relative error | max absolute error |
//! |---|---|---|---|---|
//! | `exp` | yes, by [`exp`] | `[−87.3365, 88.7228]` (normal results) | 2.390e−3 (at x ≈ −85.95) | 2.390e−3·eˣ (relative error dominates) |
//! | `sqrt` | **no** | all positive normal f32 | 6.07e−2 | — |
//! | `ln` | **never** | all positive normal f32 | 5.1e2 (near x = 1, where ln x → 0) | 0.118 (for 0 < x < 1) |
//!
//! The `exp` figure is the maximum over *every* f32 in its domain (an exhaustive sweep);
//! the unit test `fast_exp_error_bound` re-measures it over a dense grid and asserts the
//! bound. Outside the domain [`exp`] returns 0 below (where libm would return a
//! subnormal smaller than 1.2e−38) and +∞ above, and NaN for NaN. micromath's `sqrt`
//! (a bit trick, 6 % off) would skew normalisation statistics and its `ln` is wrong by up
//! to 0.118 on (0, 1) — both are kept on libm; tests `micromath_sqrt_is_not_good_enough`
//! and `micromath_ln_is_wrong` record why. A relative error of 2.4e−3 in `exp` is below
//! an int8 quantisation step (1/256 ≈ 3.9e−3 of the range), which is why it is
//! acceptable for activations; the backward kernels of sigmoid, SiLU and softmax use the
//! forward outputs, so forward and backward stay consistent in both modes.
//!
//! The property tests of the kernels run in the default (libm) mode.

/// `eˣ`. libm's `expf`, or micromath's approximation with the `fast-math` feature (see
/// the [module docs](self) for its measured error).
#[inline]
pub fn exp(x: f32) -> f32 {
    #[cfg(feature = "fast-math")]
    {
        fast_exp(x)
    }
    #[cfg(not(feature = "fast-math"))]
    {
        libm::expf(x)
    }
}

/// The smallest input whose exponential is a normal f32: `ln(f32::MIN_POSITIVE)`.
#[cfg(feature = "fast-math")]
const EXP_LOW: f32 = -87.336_54;
/// The largest input whose exponential is finite: `ln(f32::MAX)`.
#[cfg(feature = "fast-math")]
const EXP_HIGH: f32 = 88.722_83;

/// micromath's `exp`, with the ends of the range and NaN handled here (micromath maps
/// NaN to a number and builds a malformed float just below the normal range).
#[cfg(feature = "fast-math")]
#[inline]
fn fast_exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x < EXP_LOW {
        return 0.0;
    }
    if x > EXP_HIGH {
        return f32::INFINITY;
    }
    micromath::F32(x).exp().0
}

/// `eˣ − 1`, exact near 0 (libm's `expm1f` in both modes: ELU needs it near 0).
#[inline]
pub fn expm1(x: f32) -> f32 {
    libm::expm1f(x)
}

/// Natural logarithm (libm in both modes: micromath's `ln` is not accurate enough).
#[inline]
pub fn ln(x: f32) -> f32 {
    libm::logf(x)
}

/// Hyperbolic tangent (libm in both modes).
#[inline]
pub fn tanh(x: f32) -> f32 {
    libm::tanhf(x)
}

/// The error function (libm in both modes).
#[inline]
pub fn erf(x: f32) -> f32 {
    libm::erff(x)
}

/// Square root (libm in both modes).
#[inline]
pub fn sqrt(x: f32) -> f32 {
    libm::sqrtf(x)
}

/// The logistic sigmoid `1 / (1 + e⁻ˣ)`, evaluated without overflow for either sign
/// (`eˣ / (1 + eˣ)` for negative x). Follows [`exp`]'s mode.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_stable_and_symmetric() {
        for &x in &[-200.0f32, -30.0, -1.5, 0.0, 0.5, 30.0, 200.0] {
            let s = sigmoid(x);
            assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{x} → {s}");
            assert!((s + sigmoid(-x) - 1.0).abs() < 1e-2);
        }
        assert_eq!(sigmoid(0.0), 0.5);
    }

    #[test]
    fn libm_functions() {
        assert!((ln(core::f32::consts::E) - 1.0).abs() < 1e-6);
        assert!((sqrt(2.0) - core::f32::consts::SQRT_2).abs() < 1e-6);
        assert!((tanh(0.5) - 0.462_117_16).abs() < 1e-6);
        assert!((erf(1.0) - 0.842_700_8).abs() < 1e-6);
        assert!((expm1(1e-7) - 1e-7).abs() < 1e-13);
    }

    #[cfg(not(feature = "fast-math"))]
    #[test]
    fn default_exp_is_libm() {
        for &x in &[-87.0f32, -1.0, 0.0, 1e-3, 2.5, 88.0] {
            assert_eq!(exp(x), libm::expf(x));
        }
    }

    /// Maximum relative error `|a − e| / |e|` of `f` against `exact` over `points`.
    #[cfg(feature = "fast-math")]
    fn max_relative_error(
        points: impl Iterator<Item = f32>,
        f: impl Fn(f32) -> f32,
        exact: impl Fn(f64) -> f64,
    ) -> (f64, f32) {
        let mut worst = (0.0f64, 0.0f32);
        for x in points {
            let e = exact(x as f64);
            let a = f(x) as f64;
            let r = (a - e).abs() / e.abs();
            assert!(!r.is_nan(), "NaN error at {x}");
            if r > worst.0 {
                worst = (r, x);
            }
        }
        worst
    }

    /// A dense grid over [lo, hi]: `n + 1` evenly spaced points.
    #[cfg(feature = "fast-math")]
    fn grid(lo: f32, hi: f32, n: u32) -> impl Iterator<Item = f32> {
        let (lo64, hi64) = (lo as f64, hi as f64);
        (0..=n).map(move |i| (lo64 + (hi64 - lo64) * (i as f64 / n as f64)) as f32)
    }

    /// All positive normal f32 with a stride in the bit pattern: a log-uniform grid.
    #[cfg(feature = "fast-math")]
    fn log_grid(step: usize) -> impl Iterator<Item = f32> {
        (f32::MIN_POSITIVE.to_bits()..f32::MAX.to_bits())
            .step_by(step)
            .map(f32::from_bits)
    }

    /// The documented bound on micromath's `exp` (2.390e−3 measured exhaustively), over
    /// a grid of 4 million points spanning the whole domain, plus dense grids near 0 and
    /// the ends; and the handling outside the domain.
    #[cfg(feature = "fast-math")]
    #[test]
    fn fast_exp_error_bound() {
        const BOUND: f64 = 2.4e-3;
        let (worst, at) = max_relative_error(grid(EXP_LOW, EXP_HIGH, 4_000_000), exp, libm::exp);
        assert!(worst <= BOUND, "exp: {worst:e} at {at}");
        // The grid does find errors close to the bound: the figure is not loose.
        assert!(worst > 2.0e-3, "exp: {worst:e}");
        for (lo, hi) in [(-1.0f32, 1.0f32), (-87.336, -80.0), (80.0, 88.722)] {
            let (w, at) = max_relative_error(grid(lo, hi, 1_000_000), exp, libm::exp);
            assert!(w <= BOUND, "exp on [{lo}, {hi}]: {w:e} at {at}");
        }
        assert_eq!(exp(-90.0), 0.0);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert!(exp(0.0) == 1.0);
    }

    /// micromath's `sqrt` is off by up to 6.07 % (the reason it is not used).
    #[cfg(feature = "fast-math")]
    #[test]
    fn micromath_sqrt_is_not_good_enough() {
        let (worst, at) = max_relative_error(
            log_grid(101),
            |x| micromath::F32(x).sqrt().0,
            |x: f64| x.sqrt(),
        );
        assert!(worst <= 6.07e-2, "sqrt: {worst:e} at {at}");
        assert!(worst > 6.0e-2, "sqrt: {worst:e} at {at}");
    }

    /// micromath 2.1.0's `ln` is wrong by more than 0.1 on (0, 1) (why it is never used).
    #[cfg(feature = "fast-math")]
    #[test]
    fn micromath_ln_is_wrong() {
        let mut worst = 0.0f64;
        for x in log_grid(101).take_while(|&x| x < 1.0) {
            let a = micromath::F32(x).ln().0 as f64;
            worst = worst.max((a - libm::log(x as f64)).abs());
        }
        assert!(worst > 0.1 && worst <= 0.118, "ln: {worst}");
    }
}
