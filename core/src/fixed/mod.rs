//! Fixed-point arithmetic on raw `i32` values, bit-exact with TFLite and gemmlowp.
//!
//! A value in format `Qm.n` (m integer bits, n = 31 − m fraction bits) is a raw `i32`
//! `r` standing for `r / 2^n`. The primitives here are the building blocks of every
//! integer kernel; [`exp`], [`reciprocal`] and [`sigmoid`] build the transcendental
//! functions that integer softmax, logistic and tanh need on top of them.
//!
//! Every function is total: no input panics or overflows. Where TFLite leaves a case
//! undefined (a C++ signed overflow), the behaviour chosen here is stated.

pub mod exp;
pub mod reciprocal;
pub mod sigmoid;

pub use exp::{exp_on_interval_between_negative_one_quarter_and_0_excl, exp_on_negative_values};
pub use reciprocal::{one_minus_x_over_one_plus_x_for_x_in_0_1, one_over_one_plus_x_for_x_in_0_1};
pub use sigmoid::{logistic, tanh};

/// `1.0` in Q0.31, saturated: the largest raw value, `2^31 − 1`.
pub const ONE_Q0: i32 = i32::MAX;

/// Saturating rounding doubling high multiply: `round(a·b / 2^31)`.
///
/// This is the product of two Q0.31 values as a Q0.31 value (and in general, the
/// product of `Qa` and `Qb` as `Q(a+b)`). Ties round toward +∞ for a non-negative
/// product and toward −∞ for a negative one (the nudge is `2^30` or `1 − 2^30`, then the
/// division truncates toward zero). The one product that overflows, `(−2^31)·(−2^31)`,
/// saturates to `i32::MAX`.
#[inline]
pub const fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    // gemmlowp's form, `(ab + nudge) / 2^31` truncating with nudge 2^30 (ab ≥ 0) or
    // 1 − 2^30 (ab < 0), equals `⌊(ab + 2^30) / 2^31⌋` for every product: for ab < 0,
    // with t = ab + 2^30, trunc((t + 1 − 2^31) / 2^31) = ⌈(t + 1) / 2^31⌉ − 1 = ⌊t / 2^31⌋.
    // One multiply-accumulate and a shift on a 32-bit core (|ab| ≤ 2^62: no overflow).
    ((a as i64 * b as i64 + (1i64 << 30)) >> 31) as i32
}

/// Rounding divide by a power of two: `x / 2^exponent`, rounded to nearest with ties
/// away from zero.
///
/// `exponent` is taken modulo nothing: values above 31 are treated as 31 (the largest
/// TFLite allows), so the function never panics.
#[inline]
pub const fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let e = if exponent > 31 { 31 } else { exponent };
    let mask: i32 = ((1i64 << e) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> e) + (remainder > threshold) as i32
}

/// 64-bit rounding divide by a power of two, ties away from zero; `exponent` above 63
/// is treated as 63.
#[inline]
pub const fn rounding_divide_by_pot_i64(x: i64, exponent: u32) -> i64 {
    let e = if exponent > 63 { 63 } else { exponent };
    let mask: i64 = ((1i128 << e) - 1) as i64;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i64;
    (x >> e) + (remainder > threshold) as i64
}

/// Saturating left shift: `clamp(x · 2^exponent, i32::MIN, i32::MAX)`.
///
/// This is gemmlowp's `SaturatingRoundingMultiplyByPOT` for a positive exponent
/// (exponents above 31 are treated as 31).
#[inline]
pub const fn saturating_shift_left(x: i32, exponent: u32) -> i32 {
    let e = if exponent > 31 { 31 } else { exponent };
    let wide = (x as i64) << e;
    if wide > i32::MAX as i64 {
        i32::MAX
    } else if wide < i32::MIN as i64 {
        i32::MIN
    } else {
        wide as i32
    }
}

/// gemmlowp's `SaturatingRoundingMultiplyByPOT`: a saturating left shift for
/// `exponent ≥ 0`, a [`rounding_divide_by_pot`] for `exponent < 0`.
#[inline]
pub const fn saturating_rounding_multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent >= 0 {
        saturating_shift_left(x, exponent as u32)
    } else {
        rounding_divide_by_pot(x, exponent.unsigned_abs())
    }
}

/// gemmlowp's `Rescale`: changes a raw value from `Q(src).…` to `Q(dst).…`
/// (integer bits), saturating when the destination has fewer integer bits.
#[inline]
pub const fn rescale(x: i32, src_integer_bits: u32, dst_integer_bits: u32) -> i32 {
    saturating_rounding_multiply_by_pot(x, src_integer_bits as i32 - dst_integer_bits as i32)
}

/// `(a + b) / 2` rounded to nearest with ties away from zero, without overflow
/// (gemmlowp's `RoundingHalfSum`).
#[inline]
pub const fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = a as i64 + b as i64;
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// The raw value of `2^exponent` in a format with `fraction_bits` fraction bits
/// (gemmlowp's `ConstantPOT`), for `0 ≤ fraction_bits + exponent ≤ 30`.
#[inline]
pub(crate) const fn constant_pot(fraction_bits: u32, exponent: i32) -> i32 {
    1i32 << (fraction_bits as i32 + exponent) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gemmlowp's literal form (nudge by sign, truncating division), the reference of the
    /// one-shift form used above.
    fn srdhm_gemmlowp(a: i32, b: i32) -> i32 {
        if a == i32::MIN && b == i32::MIN {
            return i32::MAX;
        }
        let ab = a as i64 * b as i64;
        let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
        ((ab + nudge) / (1i64 << 31)) as i32
    }

    #[test]
    fn srdhm_is_gemmlowps_form() {
        let edges = [
            0,
            1,
            -1,
            2,
            -2,
            i32::MIN,
            i32::MIN + 1,
            i32::MAX,
            1 << 30,
            -(1 << 30),
            (1 << 30) + 1,
            -(1 << 30) - 1,
            1 << 15,
            -(1 << 15),
        ];
        for &a in &edges {
            for &b in &edges {
                assert_eq!(
                    saturating_rounding_doubling_high_mul(a, b),
                    srdhm_gemmlowp(a, b)
                );
            }
        }
        let mut rng = crate::rng::Rng::new(11);
        for i in 0..200_000u32 {
            let a = rng.next_u32() as i32 >> (i % 31);
            let b = rng.next_u32() as i32 >> ((i / 31) % 31);
            assert_eq!(
                saturating_rounding_doubling_high_mul(a, b),
                srdhm_gemmlowp(a, b),
                "{a} {b}"
            );
            // Exact ties: products ≡ 2^30 mod 2^31.
            let t = (a >> 1) | 1;
            assert_eq!(
                saturating_rounding_doubling_high_mul(t, 1 << 30),
                srdhm_gemmlowp(t, 1 << 30)
            );
        }
    }

    #[test]
    fn srdhm_basics() {
        // 0.5 * 0.5 = 0.25 in Q0.31.
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        // Tie: a*b = 2^30 exactly -> (2^30 + 2^30) / 2^31 = 1 (toward +inf).
        assert_eq!(saturating_rounding_doubling_high_mul(1 << 15, 1 << 15), 1);
        // Negative tie: -2^30 -> (-2^30 + 1 - 2^30) / 2^31 truncates to 0... = -0.99.. -> 0.
        assert_eq!(
            saturating_rounding_doubling_high_mul(-(1 << 15), 1 << 15),
            0
        );
        // Slightly more negative rounds to -1.
        assert_eq!(
            saturating_rounding_doubling_high_mul(-(1 << 15) - 1, 1 << 15),
            -1
        );
    }

    #[test]
    fn rdbpot_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(4, 1), 2);
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        assert_eq!(rounding_divide_by_pot(-5, 2), -1);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(7, 0), 7);
        assert_eq!(
            rounding_divide_by_pot(7, 200),
            rounding_divide_by_pot(7, 31)
        );
        assert_eq!(rounding_divide_by_pot_i64(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot_i64(i64::MIN, 63), -1);
    }

    #[test]
    fn saturating_shifts() {
        assert_eq!(saturating_shift_left(1 << 29, 1), 1 << 30);
        assert_eq!(saturating_shift_left(1 << 30, 1), i32::MAX);
        assert_eq!(saturating_shift_left(-(1 << 30), 1), i32::MIN);
        assert_eq!(saturating_shift_left(-(1 << 30) - 1, 1), i32::MIN);
        assert_eq!(saturating_rounding_multiply_by_pot(5, -1), 3);
        assert_eq!(rescale(1 << 26, 5, 0), i32::MAX);
        assert_eq!(rescale(-(1 << 24), 5, 0), -(1 << 29));
    }

    #[test]
    fn half_sum() {
        assert_eq!(rounding_half_sum(i32::MAX, i32::MAX), i32::MAX);
        assert_eq!(rounding_half_sum(i32::MIN, i32::MIN), i32::MIN);
        assert_eq!(rounding_half_sum(1, 2), 2);
        assert_eq!(rounding_half_sum(-1, -2), -2);
        assert_eq!(rounding_half_sum(0, i32::MAX), 1 << 30);
    }
}
