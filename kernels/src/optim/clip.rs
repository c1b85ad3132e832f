//! Gradient clipping, between backward and the optimiser step: element-wise by value
//! (Keras's `clipvalue`, PyTorch's `clip_grad_value_`) and by the global L2 norm of
//! several gradient slices together (PyTorch's `clip_grad_norm_`, TensorFlow's
//! `clip_by_global_norm`).
//!
//! The slice-of-slices arguments are generic over `AsRef<[f32]>` / `AsMut<[f32]>`, so
//! they take `&mut [&mut [f32]]` on a device and `&mut [Vec<f32>]` on a host alike.

use super::check_range;
use mote_core::Result;

/// What PyTorch's `clip_grad_norm_` adds to the norm before dividing by it.
pub const NORM_EPSILON: f32 = 1e-6;

/// Clamps every gradient to `[−limit, limit]` (`limit` finite and `≥ 0`); NaNs stay NaN.
///
/// Errors: `limit` negative or not finite.
pub fn by_value(limit: f32, grads: &mut [f32]) -> Result<()> {
    let limit = check_range("clip::by_value: limit", limit, 0.0, f32::MAX)?;
    for g in grads.iter_mut() {
        if *g > limit {
            *g = limit;
        } else if *g < -limit {
            *g = -limit;
        }
    }
    Ok(())
}

/// The L2 norm `√(Σ g²)` of all the slices' values taken together.
///
/// Finite values whose squares would overflow f32 are handled by rescaling with the
/// largest magnitude, so the result is finite whenever the true norm fits in f32. The
/// result is `+∞` if a value is infinite and NaN if a value is NaN.
pub fn global_norm<S: AsRef<[f32]>>(grads: &[S]) -> f32 {
    let squares: f32 = grads
        .iter()
        .map(|s| s.as_ref().iter().map(|&g| g * g).sum::<f32>())
        .sum();
    if squares.is_finite() || squares.is_nan() {
        return libm::sqrtf(squares);
    }
    // +∞: a value is infinite or the squares overflowed. Rescale by the largest value.
    let largest = grads
        .iter()
        .flat_map(|s| s.as_ref().iter())
        .fold(0.0f32, |m, &g| m.max(libm::fabsf(g)));
    if largest.is_infinite() {
        return f32::INFINITY;
    }
    let inv = 1.0 / largest;
    let scaled: f32 = grads
        .iter()
        .map(|s| {
            s.as_ref()
                .iter()
                .map(|&g| (g * inv) * (g * inv))
                .sum::<f32>()
        })
        .sum();
    largest * libm::sqrtf(scaled)
}

/// Scales all the slices by one factor so that their global L2 norm is at most
/// `max_norm` (finite, `≥ 0`), and returns the norm before clipping, as PyTorch's
/// `clip_grad_norm_`: with `N` = [`global_norm`], when `c = max_norm / (N + 1e-6)` is
/// below 1 every value is multiplied by `c`, which keeps the direction of the whole
/// gradient; otherwise nothing changes.
///
/// A non-finite norm (a NaN or infinite gradient) is returned as is and the gradients
/// are left untouched, so the caller can see it and skip the step (PyTorch would
/// multiply by 0 and spread NaNs).
///
/// Errors: `max_norm` negative or not finite.
pub fn by_global_norm<S: AsRef<[f32]> + AsMut<[f32]>>(
    max_norm: f32,
    grads: &mut [S],
) -> Result<f32> {
    let max_norm = check_range("clip::by_global_norm: max_norm", max_norm, 0.0, f32::MAX)?;
    let norm = global_norm(grads);
    if !norm.is_finite() {
        return Ok(norm);
    }
    let coef = max_norm / (norm + NORM_EPSILON);
    if coef < 1.0 {
        for s in grads.iter_mut() {
            for g in s.as_mut() {
                *g *= coef;
            }
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_clipping() {
        let mut g = [-3.0, 0.5, 2.0, f32::NAN];
        by_value(1.0, &mut g).unwrap();
        assert_eq!(&g[..3], &[-1.0, 0.5, 1.0]);
        assert!(g[3].is_nan());
        assert!(by_value(-1.0, &mut g).is_err());
    }

    #[test]
    fn norm_clipping_over_slices() {
        // ‖(3, 4, 0, 12)‖ = 13; clip to 6.5 halves everything (up to the 1e-6).
        let mut a = [3.0, 4.0];
        let mut b = [0.0, 12.0];
        let norm = by_global_norm(6.5, &mut [&mut a[..], &mut b[..]]).unwrap();
        assert_eq!(norm, 13.0);
        for (got, want) in a.iter().chain(&b).zip([1.5, 2.0, 0.0, 6.0]) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
        // Already within the bound: untouched.
        let (a0, b0) = (a, b);
        let norm = by_global_norm(100.0, &mut [&mut a[..], &mut b[..]]).unwrap();
        assert!((norm - 6.5).abs() < 1e-5);
        assert_eq!((a, b), (a0, b0));
    }

    #[test]
    fn norm_of_huge_values_does_not_overflow() {
        let g = [3e30f32, 4e30];
        let n = global_norm(&[&g[..]]);
        assert!((n / 5e30 - 1.0).abs() < 1e-6, "{n}");
        assert_eq!(global_norm(&[&[f32::INFINITY, 1.0][..]]), f32::INFINITY);
        assert!(global_norm(&[&[f32::NAN, 1.0][..]]).is_nan());
        let empty: [&[f32]; 0] = [];
        assert_eq!(global_norm(&empty), 0.0);
    }

    #[test]
    fn non_finite_norm_leaves_gradients_alone() {
        let mut g = [f32::INFINITY, 1.0];
        assert_eq!(by_global_norm(1.0, &mut [&mut g[..]]), Ok(f32::INFINITY));
        assert_eq!(g, [f32::INFINITY, 1.0]);
    }
}
