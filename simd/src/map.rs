//! Element-wise f32 vector maps: [`axpy`] (`y ← y + α·x`, the optimiser update) and
//! the bias + activation epilogue of a layer ([`bias_act`], [`act_in_place`]).
//!
//! | kernel | paths | exactness against the scalar path |
//! |---|---|---|
//! | [`axpy`] | scalar; x86-64 AVX2 + FMA; aarch64 NEON; Helium (`+mve.fp`) | fused on the SIMD paths (one rounding instead of two): within the bound at [`axpy`]; AVX2, NEON and Helium give each other's bits |
//! | [`bias_act`], [`act_in_place`] | the same | bit for bit (one addition, then compares and selects, or one multiplication for the leaky ReLU; NaN payloads aside) |
//!
//! The activations here are the cheap piecewise-linear ones ([`Act`]); sigmoid, tanh,
//! GELU and the others stay on the scalar loops of `mote_kernels::f32::activation`
//! (their cost is the transcendental function, not the loop).
//!
//! On Helium, floating-point vector instructions may flush subnormal inputs and results
//! to zero and return the default NaN: the results agree with the scalar path's within
//! 1e-30 absolute there, NaN for NaN.

use crate::arch;
use mote_core::error::check_len;
use mote_core::{Error, ErrorKind, Result};

/// A piecewise-linear activation applied by [`bias_act`] and [`act_in_place`].
///
/// Each is defined by compares and selects so that every path gives the same bits
/// (the scalar reference is the specification):
///
/// | variant | `act(v)` | NaN |
/// |---|---|---|
/// | `Identity` | `v` | NaN |
/// | `Relu` | `if v > 0 { v } else { +0.0 }` | `+0.0` (as `f32::max(v, 0.0)`) |
/// | `Clamp { lo, hi }` | `v.clamp(lo, hi)`: `lo` if `v < lo`, `hi` if `v > hi`, else `v` (ReLU6 is `Clamp { lo: 0.0, hi: 6.0 }`) | NaN (as `f32::clamp`) |
/// | `LeakyRelu { slope }` | `if v > 0 { v } else { slope·v }` | NaN |
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    /// No activation: only the bias is added.
    Identity,
    /// `max(v, 0)`.
    Relu,
    /// `clamp(v, lo, hi)`; needs `lo ≤ hi`, neither NaN.
    Clamp {
        /// Lower bound.
        lo: f32,
        /// Upper bound.
        hi: f32,
    },
    /// `v` for `v > 0`, else `slope·v`; needs a finite `slope`.
    LeakyRelu {
        /// Slope for `v ≤ 0`.
        slope: f32,
    },
}

impl Act {
    /// ReLU6, `clamp(v, 0, 6)`.
    pub const RELU6: Act = Act::Clamp { lo: 0.0, hi: 6.0 };

    /// Checks the parameters: a clamp's bounds ordered and not NaN (infinities are
    /// fine), a leaky ReLU's slope finite.
    ///
    /// Errors: `InvalidFloat`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Act::Clamp { lo, hi } if lo.is_nan() || hi.is_nan() || lo > hi => {
                Err(Error::new(ErrorKind::InvalidFloat, "act: clamp bounds"))
            }
            Act::LeakyRelu { slope } if !slope.is_finite() => {
                Err(Error::new(ErrorKind::InvalidFloat, "act: slope"))
            }
            _ => Ok(()),
        }
    }

    /// `act(v)` for one value, the scalar definition every path matches.
    #[inline(always)]
    pub fn apply(&self, v: f32) -> f32 {
        arch::scalar::act_one(*self, v)
    }
}

/// `y[i] ← y[i] + α·x[i]`.
///
/// The scalar path rounds the product and then the sum (`y + fl(α·x)`); the x86-64
/// AVX2 + FMA, aarch64 NEON and Helium (`+mve.fp`) paths use one fused multiply-add
/// (`fl(y + α·x)`), so element by element the two differ by at most
/// `u·(2·|y + α·x| + (1 + u)·|α·x|)`, `u = 2^-24` (each is within `u·|y + α·x|` of
/// the fused result's exact value, plus the scalar product's own `u·|α·x|`); integer
/// data with exact products gives the same bits. The SIMD paths agree with each other
/// bit for bit.
///
/// ```
/// let mut y = [1.0, 2.0, 3.0];
/// mote_simd::map::axpy(-0.5, &[2.0, 2.0, 4.0], &mut y)?;
/// assert_eq!(y, [0.0, 1.0, 1.0]);
/// assert!(mote_simd::map::axpy(1.0, &[1.0], &mut y).is_err());
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when the lengths differ.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) -> Result<()> {
    check_len("axpy: y", x.len(), y.len())?;
    arch::axpy(alpha, x, y);
    Ok(())
}

/// `y[r][j] ← act(y[r][j] + bias[j])` for a row-major `[rows × n]` matrix `y`,
/// `n = bias.len()`: a layer's output stage after its GEMM.
///
/// Exact: the same bits on every path (one rounded addition, then [`Act`]'s compares and
/// selects or one multiplication; see the module docs for Helium's subnormals).
///
/// ```
/// use mote_simd::map::{Act, bias_act};
///
/// let mut y = [-1.0, 2.0, 5.0, 0.5, -3.0, 7.0];
/// bias_act(&mut y, &[0.5, -1.0, 0.0], Act::RELU6)?;
/// assert_eq!(y, [0.0, 1.0, 5.0, 1.0, 0.0, 6.0]);
/// assert!(bias_act(&mut y, &[0.0; 4], Act::Relu).is_err());
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `ShapeMismatch` when `y.len()` is not a multiple of `bias.len()` (an empty
/// bias with an empty `y` is fine); `InvalidFloat` for invalid [`Act`] parameters.
#[inline]
pub fn bias_act(y: &mut [f32], bias: &[f32], act: Act) -> Result<()> {
    act.validate()?;
    if y.is_empty() {
        return Ok(());
    }
    if bias.is_empty() || !y.len().is_multiple_of(bias.len()) {
        return Err(Error::new(ErrorKind::ShapeMismatch, "bias_act: bias"));
    }
    arch::bias_act(y, bias, act);
    Ok(())
}

/// `y[i] ← act(y[i])`: [`bias_act`] without a bias. Exact on every path.
///
/// ```
/// use mote_simd::map::{Act, act_in_place};
///
/// let mut y = [-2.0, 3.0];
/// act_in_place(&mut y, Act::LeakyRelu { slope: 0.25 })?;
/// assert_eq!(y, [-0.5, 3.0]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `InvalidFloat` for invalid [`Act`] parameters.
#[inline]
pub fn act_in_place(y: &mut [f32], act: Act) -> Result<()> {
    act.validate()?;
    if act != Act::Identity && !y.is_empty() {
        arch::bias_act(y, &[], act);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_parameters() {
        assert!(Act::Clamp { lo: 1.0, hi: 0.0 }.validate().is_err());
        assert!(
            Act::Clamp {
                lo: f32::NAN,
                hi: 0.0
            }
            .validate()
            .is_err()
        );
        assert!(
            Act::Clamp {
                lo: f32::NEG_INFINITY,
                hi: f32::INFINITY
            }
            .validate()
            .is_ok()
        );
        assert!(
            Act::LeakyRelu {
                slope: f32::INFINITY
            }
            .validate()
            .is_err()
        );
        let mut y = [1.0f32; 6];
        assert!(bias_act(&mut y, &[], Act::Relu).is_err());
        assert!(bias_act(&mut [], &[], Act::Relu).is_ok());
        assert!(act_in_place(&mut y, Act::Clamp { lo: 2.0, hi: 1.0 }).is_err());
    }

    #[test]
    fn scalar_definitions() {
        let relu6 = Act::RELU6;
        assert_eq!(relu6.apply(-1.0), 0.0);
        assert_eq!(relu6.apply(7.0), 6.0);
        assert!(relu6.apply(f32::NAN).is_nan());
        assert_eq!(Act::Relu.apply(f32::NAN), 0.0);
        assert_eq!(Act::Relu.apply(-0.0).to_bits(), 0);
        assert_eq!(Act::LeakyRelu { slope: 0.5 }.apply(-4.0), -2.0);
        assert_eq!(Act::Identity.apply(-4.0), -4.0);
    }

    #[test]
    fn rows_take_the_bias_per_column() {
        let mut y: [f32; 12] = core::array::from_fn(|i| i as f32 - 6.0);
        bias_act(&mut y, &[1.0, 2.0, 3.0], Act::Identity).unwrap();
        let want: [f32; 12] = core::array::from_fn(|i| i as f32 - 6.0 + (i % 3 + 1) as f32);
        assert_eq!(y, want);
    }
}
