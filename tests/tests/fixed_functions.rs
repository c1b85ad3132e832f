//! Properties of the gemmlowp fixed-point transcendental functions: accuracy against
//! libm over their whole domains and the exact symmetries of their definitions. (Their
//! bit-exactness with TFLite is checked by the softmax golden vectors in
//! `golden_arith.rs`.)

use mote_core::fixed::{
    exp_on_interval_between_negative_one_quarter_and_0_excl, exp_on_negative_values, logistic,
    one_minus_x_over_one_plus_x_for_x_in_0_1, one_over_one_plus_x_for_x_in_0_1, tanh,
};
use mote_tests::{ARITH_CASES, config};
use proptest::prelude::*;

fn real(raw: i32, integer_bits: u32) -> f64 {
    raw as f64 / 2f64.powi(31 - integer_bits as i32)
}

/// Error bound of gemmlowp's exp: the Taylor truncation e^(−1/8)·(1/8)^5/5! ≈ 2.25e-7
/// plus a few roundings of 2^−31 (see mote_core::fixed::exp).
const EXP_BOUND: f64 = 2.3e-7;

fn non_positive() -> impl Strategy<Value = i32> {
    prop_oneof![
        i32::MIN..=0,
        -(1i32 << 26)..=0,
        Just(0),
        Just(i32::MIN),
        Just(-1)
    ]
}

proptest! {
    #![proptest_config(config(ARITH_CASES))]

    #[test]
    fn exp_interval_accuracy(a in -(1i32 << 29)..0) {
        let got = real(exp_on_interval_between_negative_one_quarter_and_0_excl(a), 0);
        prop_assert!((got - f64::exp(real(a, 0))).abs() <= EXP_BOUND);
    }

    #[test]
    fn exp_accuracy_q5(a in non_positive()) {
        let got = real(exp_on_negative_values::<5>(a), 0);
        prop_assert!((got - f64::exp(real(a, 5))).abs() <= EXP_BOUND, "{} vs {}", got, f64::exp(real(a, 5)));
    }

    #[test]
    fn exp_accuracy_other_formats(a in non_positive()) {
        for (got, x) in [
            (exp_on_negative_values::<0>(a), real(a, 0)),
            (exp_on_negative_values::<1>(a), real(a, 1)),
            (exp_on_negative_values::<3>(a), real(a, 3)),
            (exp_on_negative_values::<12>(a), real(a, 12)),
            (exp_on_negative_values::<24>(a), real(a, 24)),
        ] {
            let got = real(got, 0);
            prop_assert!((got - f64::exp(x)).abs() <= EXP_BOUND, "x {}: {} vs {}", x, got, f64::exp(x));
        }
    }

    #[test]
    fn reciprocals_accuracy(a in 0i32..=i32::MAX) {
        let x = real(a, 0);
        let r = real(one_over_one_plus_x_for_x_in_0_1(a), 0);
        prop_assert!((r - 1.0 / (1.0 + x)).abs() <= 1e-8, "{}: {}", x, r);
        let t = real(one_minus_x_over_one_plus_x_for_x_in_0_1(a), 0);
        prop_assert!((t - (1.0 - x) / (1.0 + x)).abs() <= 1e-8, "{}: {}", x, t);
    }

    /// logistic passes exp's error on scaled by ≤ 1 (d/du 1/(1+u) ≤ 1).
    #[test]
    fn logistic_accuracy_and_symmetry(a in any::<i32>()) {
        let got = real(logistic::<4>(a), 0);
        let want = 1.0 / (1.0 + f64::exp(-real(a, 4)));
        prop_assert!((got - want).abs() <= EXP_BOUND + 1e-8, "{} vs {}", got, want);
        if a != 0 && a != i32::MIN {
            prop_assert_eq!(logistic::<4>(a) as i64 + logistic::<4>(-a) as i64, i32::MAX as i64);
        }
    }

    /// tanh passes exp's error on scaled by ≤ 2 (d/du (1−u)/(1+u) ≤ 2).
    #[test]
    fn tanh_accuracy_and_symmetry(a in any::<i32>()) {
        let got = real(tanh::<4>(a), 0);
        let want = f64::tanh(real(a, 4));
        prop_assert!((got - want).abs() <= 2.0 * EXP_BOUND + 1e-8, "{} vs {}", got, want);
        if a != i32::MIN {
            prop_assert_eq!(tanh::<4>(-a), -tanh::<4>(a));
        }
    }

    #[test]
    fn logistic_other_formats(a in any::<i32>()) {
        for (got, x) in [(logistic::<0>(a), real(a, 0)), (logistic::<8>(a), real(a, 8))] {
            let want = 1.0 / (1.0 + f64::exp(-x));
            prop_assert!((real(got, 0) - want).abs() <= EXP_BOUND + 1e-8);
        }
        let t = real(tanh::<2>(a), 0);
        prop_assert!((t - f64::tanh(real(a, 2))).abs() <= 2.0 * EXP_BOUND + 1e-8);
    }
}

#[test]
fn exact_points() {
    assert_eq!(exp_on_negative_values::<5>(0), i32::MAX);
    assert_eq!(logistic::<4>(0), 1 << 30);
    assert_eq!(tanh::<4>(0), 0);
    // Below −32 the Q7 exp is flushed to exactly zero.
    assert_eq!(exp_on_negative_values::<7>(-(32 << 24) - 1), 0);
}
