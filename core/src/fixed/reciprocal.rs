//! `1 / (1 + x)` and `(1 − x) / (1 + x)` for `x` in `[0, 1)` in fixed point, by
//! gemmlowp's three Newton–Raphson steps (bit-exact).

use super::{ONE_Q0, rescale, rounding_half_sum, saturating_rounding_doubling_high_mul};

/// `round(48/17 · 2^29)` in Q2.29.
const FORTY_EIGHT_OVER_SEVENTEEN: i32 = 1_515_870_810;
/// `round(−32/17 · 2^29)` in Q2.29.
const MINUS_THIRTY_TWO_OVER_SEVENTEEN: i32 = -1_010_580_540;
/// `1.0` in Q2.29.
const ONE_Q2: i32 = 1 << 29;

/// `1 / (1 + a)` in Q2.29 after three Newton–Raphson steps on `½(1 + a)`.
const fn reciprocal_of_half_denominator(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, ONE_Q0);
    let mut x = FORTY_EIGHT_OVER_SEVENTEEN.wrapping_add(saturating_rounding_doubling_high_mul(
        half_denominator,
        MINUS_THIRTY_TWO_OVER_SEVENTEEN,
    ));
    let mut i = 0;
    while i < 3 {
        let half_denominator_times_x = saturating_rounding_doubling_high_mul(half_denominator, x);
        let one_minus = ONE_Q2.wrapping_sub(half_denominator_times_x);
        // Q2 × Q2 = Q4, rescaled to Q2 with saturation.
        x = x.wrapping_add(rescale(
            saturating_rounding_doubling_high_mul(x, one_minus),
            4,
            2,
        ));
        i += 1;
    }
    x
}

/// `1 / (1 + a)` for `a` in Q0.31 within `[0, 1)`, as Q0.31.
///
/// The Newton iteration computes `1 / (½(1 + a))` in Q2.29; reading it as Q1.30 halves
/// it, and a saturating shift gives Q0.31.
pub const fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    rescale(reciprocal_of_half_denominator(a), 1, 0)
}

/// `(1 − a) / (1 + a)` for `a` in Q0.31 within `[0, 1)`, as Q0.31 (the core of
/// gemmlowp's tanh).
pub const fn one_minus_x_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    rescale(reciprocal_of_half_denominator(a).wrapping_sub(ONE_Q2), 2, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_real_division() {
        for x in [0.0, 0.1, 0.25, 0.5, 0.75, 0.999] {
            let raw = (x * 2f64.powi(31)) as i32;
            let r = one_over_one_plus_x_for_x_in_0_1(raw) as f64 / 2f64.powi(31);
            assert!((r - 1.0 / (1.0 + x)).abs() < 1e-8, "{x}: {r}");
            let t = one_minus_x_over_one_plus_x_for_x_in_0_1(raw) as f64 / 2f64.powi(31);
            assert!((t - (1.0 - x) / (1.0 + x)).abs() < 1e-8, "{x}: {t}");
        }
    }
}
