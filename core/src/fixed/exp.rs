//! `exp(x)` for `x ≤ 0` in fixed point, bit-exact with gemmlowp (and so with TFLite's
//! integer softmax).

use super::{
    ONE_Q0, constant_pot, rescale, rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
};

/// `round(e^(−1/8) · 2^31)`.
const EXP_MINUS_ONE_EIGHTH: i32 = 1_895_147_668;
/// `round(2^31 / 3)`.
const ONE_THIRD: i32 = 715_827_883;

/// `round(e^(−2^k) · 2^31)` for the barrel shifter, k = −2 … 4.
const EXP_MINUS_POT: [(i32, i32); 7] = [
    (-2, 1_672_461_947),
    (-1, 1_302_514_674),
    (0, 790_015_084),
    (1, 290_630_308),
    (2, 39_332_535),
    (3, 720_401),
    (4, 242),
];

/// `exp(a)` for `a` in Q0.31 within `[−1/4, 0)`, as Q0.31.
///
/// A fourth-order Taylor expansion around −1/8, evaluated exactly as gemmlowp does.
/// Outside its interval the result is meaningless but still defined (no panic).
pub const fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    let x = a.wrapping_add(1 << 28);
    let x2 = saturating_rounding_doubling_high_mul(x, x);
    let x3 = saturating_rounding_doubling_high_mul(x2, x);
    let x4 = saturating_rounding_doubling_high_mul(x2, x2);
    let x4_over_4 = rounding_divide_by_pot(x4, 2);
    let poly = rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x4_over_4.wrapping_add(x3), ONE_THIRD)
            .wrapping_add(x2),
        1,
    );
    EXP_MINUS_ONE_EIGHTH.wrapping_add(saturating_rounding_doubling_high_mul(
        EXP_MINUS_ONE_EIGHTH,
        x.wrapping_add(poly),
    ))
}

/// `exp(a)` for `a ≤ 0` given in `Q(I).(31−I)`, as Q0.31 (gemmlowp's
/// `exp_on_negative_values<int32, I>`).
///
/// `I` is checked at compile time to be at most 29 (the format needs two fraction bits
/// for the constant 1/4). For `I > 5`, inputs below −32 give exactly 0; `a = 0` gives
/// `i32::MAX` (1.0 saturated). Positive inputs are outside the domain and give an
/// unspecified (but deterministic) value.
#[inline]
pub const fn exp_on_negative_values<const I: u32>(a: i32) -> i32 {
    const { assert!(I <= 29, "exp_on_negative_values: at most 29 integer bits") };
    exp_on_negative_values_bits(a, I)
}

/// [`exp_on_negative_values`] with the integer bits as a run-time value in `0..=29`
/// (checked by the callers in this crate).
#[inline]
pub(crate) const fn exp_on_negative_values_bits(a: i32, integer_bits: u32) -> i32 {
    let fraction_bits = 31 - integer_bits;
    let one_quarter = constant_pot(fraction_bits, -2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(rescale(
        a_mod_quarter_minus_one_quarter,
        integer_bits,
        0,
    ));
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);

    let mut i = 0;
    while i < EXP_MINUS_POT.len() {
        let (exponent, multiplier) = EXP_MINUS_POT[i];
        if integer_bits as i32 > exponent {
            let bit = (fraction_bits as i32 + exponent) as u32;
            if remainder & (1 << bit) != 0 {
                result = saturating_rounding_doubling_high_mul(result, multiplier);
            }
        }
        i += 1;
    }

    if integer_bits > 5 {
        // −32 in Q(I): below it exp underflows Q0.31 entirely.
        let clamp = -(1i32 << (36 - integer_bits));
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 {
        result = ONE_Q0;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_f64(raw: i32, integer_bits: u32) -> f64 {
        raw as f64 / (1u64 << (31 - integer_bits)) as f64
    }

    #[test]
    fn interval_matches_exp() {
        for raw in [-(1 << 29), -(1 << 28), -12345678, -1] {
            let got = to_f64(
                exp_on_interval_between_negative_one_quarter_and_0_excl(raw),
                0,
            );
            let want = libm::exp(to_f64(raw, 0));
            // Truncation of the 4th-order Taylor series: e^(-1/8)·(1/8)^5/5! ≈ 2.25e-7.
            assert!((got - want).abs() < 2.3e-7, "{raw}: {got} vs {want}");
        }
    }

    #[test]
    fn q5_matches_exp() {
        for x in [-0.001, -0.3, -1.0, -2.5, -7.75, -15.9, -31.0] {
            let raw = (x * (1u64 << 26) as f64) as i32;
            let got = to_f64(exp_on_negative_values::<5>(raw), 0);
            let want = libm::exp(to_f64(raw, 5));
            // The interval's truncation error, scaled by factors e^(-2^k) < 1, plus one
            // rounding per barrel step.
            assert!((got - want).abs() < 2.5e-7, "{x}: {got} vs {want}");
        }
        assert_eq!(exp_on_negative_values::<5>(0), i32::MAX);
    }

    #[test]
    fn clamps_below_minus_32() {
        let raw = -(33i32 << 24); // -33 in Q7.24
        assert_eq!(exp_on_negative_values::<7>(raw), 0);
        assert_eq!(exp_on_negative_values::<7>(i32::MIN), 0);
    }
}
