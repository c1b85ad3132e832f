//! Properties of mote-core's integer arithmetic against exact models of its definitions
//! (i128 arithmetic, floor division), including saturation and exact ties.

use mote_core::fixed::{
    rounding_divide_by_pot, rounding_divide_by_pot_i64, rounding_half_sum,
    saturating_rounding_doubling_high_mul as srdhm, saturating_shift_left,
};
use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_tests::{ARITH_CASES, config};
use proptest::prelude::*;

// ---- exact models -------------------------------------------------------------------

fn clamp32(x: i128) -> i32 {
    x.clamp(i32::MIN as i128, i32::MAX as i128) as i32
}

/// round(a·b / 2^31), ties toward +∞, saturated.
fn srdhm_model(a: i32, b: i32) -> i32 {
    let p = a as i128 * b as i128;
    clamp32((p + (1 << 30)).div_euclid(1 << 31))
}

/// x / 2^e rounded to nearest, ties away from zero.
fn rdbpot_model(x: i128, e: u32) -> i128 {
    if e == 0 {
        return x;
    }
    let magnitude = (x.abs() + (1i128 << (e - 1))) >> e;
    if x < 0 { -magnitude } else { magnitude }
}

/// TFLite's double rounding on an int32 accumulator, with the left shift saturated.
fn requant_double_model(x: i32, m: i32, s: i32) -> i32 {
    let shifted = clamp32((x as i128) << s.max(0));
    rdbpot_model(srdhm_model(shifted, m) as i128, (-s).max(0) as u32) as i32
}

/// One rounding: round(x·m / 2^(31 − s)), ties toward +∞, saturated.
fn requant_single_model(x: i32, m: i32, s: i32) -> i32 {
    let den = 1i128 << (31 - s);
    clamp32((x as i128 * m as i128 + den / 2).div_euclid(den))
}

/// TFLite's int64 form: 16-bit reduced multiplier, one rounding, saturated.
fn requant64_model(x: i64, m: i32, s: i32) -> i32 {
    let reduced: i128 = if m < 0x7FFF_0000 {
        (m as i128 + (1 << 15)).div_euclid(1 << 16)
    } else {
        0x7FFF
    };
    let t = 15 - s;
    let p = x as i128 * reduced;
    if t >= 1 {
        clamp32((p + (1i128 << (t - 1))).div_euclid(1i128 << t))
    } else {
        clamp32(p << (-t))
    }
}

/// QuantizeMultiplier from the bits of the f64: shift = unbiased exponent + 1, then an
/// exact power-of-two scaling and one rounding (ties away from zero).
fn quantize_model(real: f64) -> Option<(i32, i32)> {
    if real == 0.0 {
        return Some((0, 0));
    }
    let (scaled, extra) = if real.abs() < f64::MIN_POSITIVE {
        (real * 2f64.powi(64), -64)
    } else {
        (real, 0)
    };
    let exponent = ((scaled.to_bits() >> 52) & 0x7FF) as i32 - 1023;
    let mut shift = exponent + 1 + extra;
    let mut m = (real * 2f64.powi(31 - shift)).round() as i64;
    if m == 1 << 31 {
        m /= 2;
        shift += 1;
    }
    if shift < -31 {
        return Some((0, 0));
    }
    if shift > 30 {
        return None;
    }
    Some((m as i32, shift))
}

// ---- strategies ---------------------------------------------------------------------

/// i32 with the edges (extremes, zero, ±1, powers of two) well represented.
fn edgy_i32() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => any::<i32>(),
        1 => prop_oneof![Just(i32::MIN), Just(i32::MAX), Just(0), Just(1), Just(-1), Just(i32::MIN + 1)],
        1 => (0u32..31, any::<bool>()).prop_map(|(k, neg)| if neg { -(1 << k) } else { 1 << k }),
        2 => -70_000i32..70_000,
    ]
}

fn multiplier() -> impl Strategy<Value = i32> {
    prop_oneof![4 => (1i32 << 30)..=i32::MAX, 1 => any::<i32>(), 1 => Just(1 << 30), 1 => Just(i32::MAX)]
}

fn shift() -> impl Strategy<Value = i32> {
    QuantizedMultiplier::MIN_SHIFT..=QuantizedMultiplier::MAX_SHIFT
}

fn real_multiplier() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => (0.5f64..1.0, -45i32..32, any::<bool>())
            .prop_map(|(q, e, neg)| if neg { -q * 2f64.powi(e) } else { q * 2f64.powi(e) }),
        1 => (0u64..1 << 20).prop_map(|k| 1.0 - k as f64 * 2f64.powi(-40)),
        1 => prop_oneof![Just(0.0), Just(1.0), Just(-1.0), Just(2f64.powi(-32)), Just(2f64.powi(-33)), Just(f64::MIN_POSITIVE / 4.0)],
    ]
}

// ---- properties ---------------------------------------------------------------------

proptest! {
    #![proptest_config(config(ARITH_CASES))]

    #[test]
    fn srdhm_matches_model(a in edgy_i32(), b in edgy_i32()) {
        prop_assert_eq!(srdhm(a, b), srdhm_model(a, b));
    }

    /// a·b = odd · 2^30 is an exact tie: it must round toward +∞.
    #[test]
    fn srdhm_ties_round_up(k in -(1i32 << 20)..(1 << 20), neg in any::<bool>()) {
        let a = 2 * k + 1;
        let b = if neg { -(1 << 30) } else { 1 << 30 };
        let exact_halves = a as i64 * b as i64 / (1 << 30); // odd number of halves
        let want = (exact_halves + 1).div_euclid(2) as i32;
        prop_assert_eq!(srdhm(a, b), want);
    }

    #[test]
    fn rdbpot_matches_model(x in edgy_i32(), e in 0u32..=31) {
        prop_assert_eq!(rounding_divide_by_pot(x, e) as i128, rdbpot_model(x as i128, e));
    }

    /// x = odd · 2^(e−1) is an exact tie: it must round away from zero.
    #[test]
    fn rdbpot_ties_away_from_zero(k in -(1i32 << 20)..(1 << 20), e in 1u32..=10) {
        let x = (2 * k + 1) << (e - 1);
        let halves = x >> (e - 1); // odd
        let away = if halves > 0 { (halves + 1) / 2 } else { (halves - 1) / 2 };
        prop_assert_eq!(rounding_divide_by_pot(x, e), away);
    }

    #[test]
    fn rdbpot_i64_matches_model(x in any::<i64>(), e in 0u32..=63) {
        prop_assert_eq!(rounding_divide_by_pot_i64(x, e) as i128, rdbpot_model(x as i128, e));
    }

    #[test]
    fn saturating_shift_matches_model(x in edgy_i32(), e in 0u32..=31) {
        prop_assert_eq!(saturating_shift_left(x, e), clamp32((x as i128) << e));
    }

    #[test]
    fn half_sum_matches_model(a in edgy_i32(), b in edgy_i32()) {
        let s = a as i128 + b as i128;
        let magnitude = (s.abs() + 1) / 2;
        prop_assert_eq!(rounding_half_sum(a, b) as i128, if s < 0 { -magnitude } else { magnitude });
    }

    #[test]
    fn requant_double_matches_model(x in edgy_i32(), m in multiplier(), s in shift()) {
        let q = QuantizedMultiplier::new(m, s).unwrap();
        prop_assert_eq!(q.apply(x, Rounding::Double), requant_double_model(x, m, s));
    }

    #[test]
    fn requant_single_matches_model(x in edgy_i32(), m in multiplier(), s in shift()) {
        let q = QuantizedMultiplier::new(m, s).unwrap();
        prop_assert_eq!(q.apply(x, Rounding::Single), requant_single_model(x, m, s));
    }

    #[test]
    fn requant_i64_matches_model(
        x in prop_oneof![any::<i64>(), -(1i64 << 47)..(1 << 47), (-1i64 << 20)..(1 << 20)],
        m in multiplier(),
        s in shift(),
    ) {
        let q = QuantizedMultiplier::new(m, s).unwrap();
        prop_assert_eq!(q.apply_i64(x), requant64_model(x, m, s));
    }

    /// Single and double rounding never differ by more than 1 when neither saturates.
    #[test]
    fn single_and_double_within_one(x in -(1i32 << 24)..(1 << 24), m in (1i32 << 30)..=i32::MAX, s in -31i32..=0) {
        let q = QuantizedMultiplier::new(m, s).unwrap();
        let d = q.apply(x, Rounding::Double) as i64;
        let r = q.apply(x, Rounding::Single) as i64;
        prop_assert!((d - r).abs() <= 1, "double {} single {}", d, r);
    }

    /// When x·m is a multiple of 2^31 the high multiply is exact, so the two forms
    /// differ exactly on negative ties of the final division: double rounds them away
    /// from zero, single toward +∞.
    #[test]
    fn single_and_double_differ_exactly_on_negative_ties(
        k in -(1i32 << 15)..(1 << 15),
        j in 1u32..=15,
        r in any::<u32>(),
        s in -31i32..=30,
    ) {
        // Keep x·2^s inside i32, where double rounding does not saturate before the
        // multiply (|k| < 2^15, so |k / 2^s| · 2^(j + s) < 2^30).
        let x = (k / (1 << s.max(0))) << j;
        let m = (((r >> 1) as i32 | (1 << 30)) >> (31 - j)) << (31 - j);
        prop_assume!(m >= 1 << 30);
        let q = QuantizedMultiplier::new(m, s).unwrap();
        let num = x as i128 * m as i128;
        prop_assert_eq!(num % (1 << 31), 0);
        let den = 1i128 << (31 - s);
        let tie = (2 * num) % den == 0 && num % den != 0;
        let d = q.apply(x, Rounding::Double);
        let sg = q.apply(x, Rounding::Single);
        if tie && num < 0 {
            prop_assert_eq!(d, sg - 1);
        } else {
            prop_assert_eq!(d, sg);
        }
    }

    #[test]
    fn quantize_multiplier_matches_model(real in real_multiplier()) {
        let got = QuantizedMultiplier::from_real(real).ok().map(|q| (q.multiplier(), q.shift()));
        prop_assert_eq!(got, quantize_model(real));
    }

    /// A non-flushed multiplier represents the real within half a unit of its last place.
    #[test]
    fn quantize_multiplier_is_nearest(real in real_multiplier()) {
        if let Ok(q) = QuantizedMultiplier::from_real(real)
            && q != QuantizedMultiplier::ZERO {
                let m = q.multiplier() as i64;
                prop_assert!((1i64 << 30..=1 << 31).contains(&m.abs()), "{}", m);
                let ulp = 2f64.powi(q.shift() - 31);
                prop_assert!((q.to_real() - real).abs() <= ulp / 2.0);
            }
    }
}

#[test]
fn quantize_multiplier_rejects_non_finite() {
    assert!(QuantizedMultiplier::from_real(f64::NAN).is_err());
    assert!(QuantizedMultiplier::from_real(f64::INFINITY).is_err());
    assert!(QuantizedMultiplier::from_real(f64::NEG_INFINITY).is_err());
}
