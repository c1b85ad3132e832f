//! The mote-simd micro-kernels not covered by their own files (`f32_linear.rs` runs the
//! GEMM, `simd_int8_dot.rs` the int8 dot products), on every instruction-set path this
//! CPU has, each forced in turn through [`mote_tests::paths::for_each_path`]: the f32
//! dot product against an f64 reference, the square roots against libm (every path
//! rounds correctly: bit for bit), the int8 requantisation against
//! `QuantizedMultiplier::apply` element by element (bit for bit), the int16 × int8 dot
//! product against an i128 reference reduced mod 2^64 (bit for bit).
//!
//! Lengths 0, 1, 3, 15, 16, 17, 255 and random ones, sub-slices at every alignment.

use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_simd::dot::{dot_i16_i8, sdot};
use mote_simd::isa::{self, Isa};
use mote_simd::math::{exp_in_place, sigmoid_in_place, sqrt_in_place, tanh_in_place};
use mote_simd::requant::requantize_i8;
use mote_tests::config;
use mote_tests::paths::for_each_path;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(vec![0usize, 1, 3, 15, 16, 17, 31, 32, 33, 255]),
        0..400usize,
    ]
}

/// A buffer three elements longer than `n` and a start in it (every alignment).
fn f32_case() -> impl Strategy<Value = (Vec<f32>, Vec<f32>, usize, usize)> {
    len().prop_flat_map(|n| {
        (
            prop::collection::vec(-4.0f32..4.0, n + 3),
            prop::collection::vec(-4.0f32..4.0, n + 3),
            0..4usize,
            Just(n),
        )
    })
}

/// Runs `property` as a proptest of `cases` cases on every path.
fn on_every_path<S: Strategy>(
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    for_each_path(|_| {
        let mut runner = TestRunner::new(config(cases));
        if let Err(e) = runner.run(&strategy, &property) {
            panic!("{e}");
        }
    });
}

#[test]
fn sdot_is_within_its_bound_on_every_path() {
    on_every_path(256, f32_case(), |(a, b, start, n)| {
        let (x, y) = (&a[start..start + n], &b[start..start + n]);
        let exact: f64 = x.iter().zip(y).map(|(&p, &q)| p as f64 * q as f64).sum();
        let magnitude: f64 = x
            .iter()
            .zip(y)
            .map(|(&p, &q)| (p as f64 * q as f64).abs())
            .sum();
        let got = sdot(x, y).unwrap() as f64;
        // 2·γ_n·Σ|a·b| with γ_n = n·u/(1 − n·u), u = 2^-24: the bound of every path's
        // summation order, fused or not (see mote_simd::dot::sdot).
        let u = f64::powi(2.0, -24);
        let gamma = n as f64 * u / (1.0 - n as f64 * u);
        prop_assert!(
            (got - exact).abs() <= 2.0 * gamma * magnitude + 1e-30,
            "n {n}: {got} vs {exact}"
        );
        Ok(())
    });
}

#[test]
fn square_roots_are_correctly_rounded_on_every_path() {
    let case = len().prop_flat_map(|n| {
        (
            prop::collection::vec(0.0f32..1e30, n + 3),
            0..4usize,
            Just(n),
        )
    });
    on_every_path(256, case, |(mut v, start, n)| {
        let want: Vec<u32> = v[start..start + n]
            .iter()
            .map(|&x| libm::sqrtf(x).to_bits())
            .collect();
        sqrt_in_place(&mut v[start..start + n]);
        let got: Vec<u32> = v[start..start + n].iter().map(|x| x.to_bits()).collect();
        prop_assert_eq!(got, want);
        Ok(())
    });
}

/// The gate nonlinearities and the exponential give the scalar path's bits on every path (each path compiles
/// the same branch-free code for wider vectors, without FMA contraction).
#[test]
fn sigmoid_and_tanh_match_the_scalar_path_on_every_path() {
    let case = len().prop_flat_map(|n| {
        (
            prop::collection::vec(
                prop_oneof![
                    -30.0f32..30.0,
                    -1.0f32..1.0,
                    Just(0.625f32),
                    Just(f32::INFINITY)
                ],
                n + 3,
            ),
            0..4usize,
            Just(n),
        )
    });
    on_every_path(256, case, |(v, start, n)| {
        let run = |f: fn(&mut [f32]), limit: Option<Isa>| {
            let mut x = v.clone();
            if let Some(l) = limit {
                isa::set_limit(l);
            }
            f(&mut x[start..start + n]);
            x.iter().map(|x| x.to_bits()).collect::<Vec<u32>>()
        };
        let active = isa::active();
        for f in [
            sigmoid_in_place as fn(&mut [f32]),
            tanh_in_place,
            exp_in_place,
        ] {
            let here = run(f, None);
            let scalar = run(f, Some(Isa::Scalar));
            isa::set_limit(active);
            prop_assert_eq!(here, scalar);
        }
        Ok(())
    });
}

#[test]
fn requantisation_is_exact_on_every_path() {
    let multiplier = (1i32 << 30..=i32::MAX, -31i32..=30)
        .prop_filter_map("valid", |(m, s)| QuantizedMultiplier::new(m, s).ok());
    let acc = len().prop_flat_map(|n| {
        (
            prop::collection::vec(
                prop_oneof![4 => -100_000i32..100_000, 1 => any::<i32>(), 1 => Just(i32::MIN), 1 => Just(i32::MAX)],
                n + 3,
            ),
            0..4usize,
            Just(n),
        )
    });
    let rounding = prop_oneof![Just(Rounding::Double), Just(Rounding::Single)];
    let clamp = (-128i32..=127, -128i32..=127).prop_map(|(a, b)| (a.min(b) as i8, a.max(b) as i8));
    let case = (acc, multiplier, rounding, -128i32..=127, clamp);
    on_every_path(
        512,
        case,
        |((acc, start, n), m, rounding, zero_point, (min, max))| {
            let acc = &acc[start..start + n];
            let want: Vec<i8> = acc
                .iter()
                .map(|&a| {
                    let y = m.apply(a, rounding).saturating_add(zero_point);
                    y.clamp(min as i32, max as i32) as i8
                })
                .collect();
            let mut got = vec![0i8; n];
            requantize_i8(acc, m, rounding, zero_point, min, max, &mut got).unwrap();
            prop_assert_eq!(got, want);
            Ok(())
        },
    );
}

#[test]
fn int16_int8_dot_is_exact_on_every_path() {
    let x = prop_oneof![4 => any::<i16>(), 1 => Just(i16::MIN), 1 => Just(i16::MAX)];
    let w = prop_oneof![4 => any::<i8>(), 1 => Just(i8::MIN), 1 => Just(i8::MAX)];
    let offset = |lanes: bool| {
        prop_oneof![
            4 => Just(0i32),
            2 => -128i32..=128,
            1 => prop::sample::select(if lanes {
                vec![16256, -16256, 16257, -16257, 32640, -32640, 32641, -32641]
            } else {
                vec![1, -1, 32767, -32768]
            }),
            1 => any::<i32>(),
        ]
    };
    let case = len().prop_flat_map(move |n| {
        (
            prop::collection::vec(x.clone(), n + 3),
            prop::collection::vec(w.clone(), n + 3),
            0..4usize,
            0..4usize,
            Just(n),
        )
    });
    on_every_path(
        512,
        (case, offset(false), offset(true)),
        |((xs, ws, sx, sw, n), xo, wo)| {
            let (x, w) = (&xs[sx..sx + n], &ws[sw..sw + n]);
            let exact: i128 = x
                .iter()
                .zip(w)
                .map(|(&a, &b)| (a as i128 + xo as i128) * (b as i128 + wo as i128))
                .sum();
            prop_assert_eq!(dot_i16_i8(x, xo, w, wo).unwrap(), exact as i64);
            Ok(())
        },
    );
}
