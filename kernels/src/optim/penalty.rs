//! L1 and L2 weight penalties: their values (to add to the reported loss) and their
//! gradients (accumulated, `+=`, into the parameters' gradient buffers after backward).
//!
//! | penalty | value | gradient |
//! |---|---|---|
//! | L1 | `λ Σ |p|` | `λ·sign(p)` (0 at `p = 0`) |
//! | L2 | `½ λ Σ p²` | `λ·p` |
//!
//! The L2 value carries the ½ so that its gradient is `λ·p`, the same as the
//! `weight_decay` of PyTorch's optimisers; Keras's `l2(k)` regulariser (`k Σ p²`)
//! corresponds to `λ = 2k`. `λ` must be finite and `≥ 0`.

use super::check_range;
use mote_core::Result;
use mote_core::error::check_len;

/// The L1 penalty `λ Σ |p|`.
///
/// Errors: `lambda` negative or not finite.
pub fn l1(lambda: f32, params: &[f32]) -> Result<f32> {
    let lambda = check_range("penalty::l1: lambda", lambda, 0.0, f32::MAX)?;
    Ok(lambda * params.iter().map(|&p| libm::fabsf(p)).sum::<f32>())
}

/// Accumulates the L1 penalty's gradient: `grads += λ·sign(p)`, with sign(0) = 0.
///
/// Errors: `lambda` negative or not finite; `grads` not as long as `params`.
pub fn l1_grad(lambda: f32, params: &[f32], grads: &mut [f32]) -> Result<()> {
    let lambda = check_range("penalty::l1_grad: lambda", lambda, 0.0, f32::MAX)?;
    check_len("penalty::l1_grad: grads", params.len(), grads.len())?;
    for (g, &p) in grads.iter_mut().zip(params) {
        if p > 0.0 {
            *g += lambda;
        } else if p < 0.0 {
            *g -= lambda;
        }
    }
    Ok(())
}

/// The L2 penalty `½ λ Σ p²`.
///
/// Errors: `lambda` negative or not finite.
pub fn l2(lambda: f32, params: &[f32]) -> Result<f32> {
    let lambda = check_range("penalty::l2: lambda", lambda, 0.0, f32::MAX)?;
    Ok(0.5 * lambda * params.iter().map(|&p| p * p).sum::<f32>())
}

/// Accumulates the L2 penalty's gradient: `grads += λ·p`.
///
/// Errors: `lambda` negative or not finite; `grads` not as long as `params`.
pub fn l2_grad(lambda: f32, params: &[f32], grads: &mut [f32]) -> Result<()> {
    let lambda = check_range("penalty::l2_grad: lambda", lambda, 0.0, f32::MAX)?;
    check_len("penalty::l2_grad: grads", params.len(), grads.len())?;
    for (g, &p) in grads.iter_mut().zip(params) {
        *g += lambda * p;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::Error;

    #[test]
    fn values_and_gradients_by_hand() {
        let p = [2.0, -1.0, 0.0];
        assert_eq!(l1(0.5, &p), Ok(1.5));
        assert_eq!(l2(0.5, &p), Ok(1.25));
        let mut g = [1.0; 3];
        l1_grad(0.5, &p, &mut g).unwrap();
        assert_eq!(g, [1.5, 0.5, 1.0]);
        l2_grad(0.5, &p, &mut g).unwrap();
        assert_eq!(g, [2.5, 0.0, 1.0]);
    }

    #[test]
    fn errors() {
        assert!(l1(-1.0, &[]).is_err());
        assert!(l2(f32::NAN, &[]).is_err());
        assert_eq!(
            l2_grad(1.0, &[0.0], &mut []),
            Err(Error::length("penalty::l2_grad: grads", 1, 0))
        );
    }
}
