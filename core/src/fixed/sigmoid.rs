//! Logistic and tanh in fixed point, bit-exact with gemmlowp (TFLite's integer
//! logistic/tanh kernels call these on a Q4.27 input).

use super::ONE_Q0;
use super::exp::exp_on_negative_values_bits;
use super::reciprocal::{
    one_minus_x_over_one_plus_x_for_x_in_0_1, one_over_one_plus_x_for_x_in_0_1,
};

/// `1 / (1 + e^(−a))` for `a` in `Q(I).(31−I)`, as Q0.31 (gemmlowp's `logistic`).
///
/// `I ≤ 29`, checked at compile time. `a = 0` gives exactly ½.
#[inline]
pub const fn logistic<const I: u32>(a: i32) -> i32 {
    const { assert!(I <= 29, "logistic: at most 29 integer bits") };
    if a == 0 {
        return 1 << 30;
    }
    let abs = if a > 0 { a } else { a.wrapping_neg() };
    let positive =
        one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values_bits(abs.wrapping_neg(), I));
    if a > 0 {
        positive
    } else {
        ONE_Q0.wrapping_sub(positive)
    }
}

/// `tanh(a)` for `a` in `Q(I).(31−I)`, as Q0.31 (gemmlowp's `tanh`).
///
/// `I ≤ 28`, checked at compile time (the function evaluates `exp(2a)` with one more
/// integer bit). `a = 0` gives exactly 0.
#[inline]
pub const fn tanh<const I: u32>(a: i32) -> i32 {
    const { assert!(I <= 28, "tanh: at most 28 integer bits") };
    if a == 0 {
        return 0;
    }
    let negative = if a < 0 { a } else { a.wrapping_neg() };
    // −tanh(n) for n < 0 is (1 − e^(2n)) / (1 + e^(2n)); reading n with one more integer
    // bit doubles it for free.
    let t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values_bits(negative, I + 1));
    if a < 0 { t.wrapping_neg() } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(x: f64, integer_bits: u32) -> i32 {
        (x * (1u64 << (31 - integer_bits)) as f64) as i32
    }

    #[test]
    fn close_to_libm() {
        // Bounds follow from exp's 2.3e-7 (see fixed::exp): 1/(1+x) passes it on scaled
        // by ≤ 1, (1−x)/(1+x) by ≤ 2; the Newton division adds ~1e-9.
        for x in [-7.9, -3.0, -1.0, -0.25, 0.001, 0.5, 2.0, 7.9] {
            let s = logistic::<4>(q(x, 4)) as f64 / 2f64.powi(31);
            assert!(
                (s - 1.0 / (1.0 + libm::exp(-x))).abs() < 3e-7,
                "logistic {x}: {s}"
            );
            let t = tanh::<4>(q(x, 4)) as f64 / 2f64.powi(31);
            assert!((t - libm::tanh(x)).abs() < 5e-7, "tanh {x}: {t}");
        }
        assert_eq!(logistic::<4>(0), 1 << 30);
        assert_eq!(tanh::<4>(0), 0);
    }
}
