//! Element-wise math over slices, for the loops that LLVM cannot vectorise on its own
//! because their function (the square root) comes from a library call.

use crate::arch;

/// `x[i] ← √x[i]` for every element, correctly rounded (IEEE 754) on every path, so
/// the result is the same bits whichever path runs; negative inputs give NaN.
///
/// ```
/// let mut x = [4.0, 2.25, 0.0];
/// mote_simd::math::sqrt_in_place(&mut x);
/// assert_eq!(x, [2.0, 1.5, 0.0]);
/// ```
pub fn sqrt_in_place(x: &mut [f32]) {
    arch::sqrt_in_place(x);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_rounds_like_the_scalar_square_root() {
        let mut x: [f32; 37] = core::array::from_fn(|i| (i as f32) * 0.731 + 1e-3);
        let want: [f32; 37] = core::array::from_fn(|i| libm::sqrtf(x[i]));
        sqrt_in_place(&mut x);
        assert_eq!(x, want);
        let mut neg = [-1.0f32];
        sqrt_in_place(&mut neg);
        assert!(neg[0].is_nan());
    }
}
