//! The int8 dot products of mote-simd ([`dot_i8`], [`dot_i8_offset`]) against an i64
//! reference truncated to i32 (the int8 kernels' former accumulation): lengths around
//! the four-byte step (0, 1, 3, 15, 16, 17, 255 and random), sub-slices at every
//! alignment, extreme values (−128, 127) and offsets (int8 zero points, ±128..±255, the
//! Arm DSP path's 16-bit lane limits ±32640 and just past them, any i32).
//!
//! [`dots_match_the_reference_on_every_path`] runs them on every path this CPU has, each
//! forced in turn: natively on x86-64 scalar and AVX2; under qemu-arm
//! (`cargo test -p mote-tests --test simd_int8_dot --target armv7-unknown-linux-gnueabihf`)
//! scalar and the Arm DSP path (SXTB16/SXTAB16 + SMLAD); under qemu-aarch64
//! (`--target aarch64-unknown-linux-gnu`) scalar and NEON (SMULL + SADALP, SXTL + SMLAL),
//! and with `RUSTFLAGS="-C target-feature=+dotprod"` SDOT too; [`isa_is_the_expected_one`]
//! proves which is the best. The other tests run on the best path.

use mote_simd::dot::{dot_i8, dot_i8_offset};
use mote_simd::isa::{self, Isa};
use mote_tests::config;
use proptest::prelude::*;

/// `Σ (x + xo)·(w + wo)` exactly in i64 (wrapping sum), truncated to i32.
fn reference(x: &[i8], xo: i32, w: &[i8], wo: i32) -> i32 {
    x.iter().zip(w).fold(0i64, |s, (&x, &w)| {
        s.wrapping_add((x as i64 + xo as i64) * (w as i64 + wo as i64))
    }) as i32
}

/// The path `mote_simd` must report on this target.
fn expected_isa() -> Isa {
    if cfg!(all(target_arch = "arm", target_os = "linux")) {
        Isa::ArmDsp
    } else if cfg!(all(target_arch = "aarch64", target_feature = "dotprod")) {
        Isa::NeonDotprod
    } else if cfg!(target_arch = "aarch64") {
        Isa::Neon
    } else {
        // Whichever the CPU has; the int8 dot products are scalar on x86-64 either way.
        isa::best()
    }
}

#[test]
fn isa_is_the_expected_one() {
    println!("mote_simd::isa::best() = {:?}", isa::best());
    assert_eq!(isa::best(), expected_isa());
}

fn value() -> impl Strategy<Value = i8> {
    prop_oneof![2 => any::<i8>(), 1 => Just(-128i8), 1 => Just(127i8)]
}

fn offset() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => -127..=128i32,
        2 => prop_oneof![Just(0), Just(128), Just(-128), Just(255), Just(-255)],
        2 => prop_oneof![128..=255i32, -255..=-128i32],
        1 => prop_oneof![Just(32640), Just(-32640), Just(32641), Just(-32641)],
        1 => any::<i32>(),
    ]
}

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop_oneof![
            Just(0usize),
            Just(1),
            Just(3),
            Just(15),
            Just(16),
            Just(17),
            Just(255)
        ],
        0..600usize,
    ]
}

/// Two buffers three bytes longer than `len` and a start in each (0..4): every
/// alignment of each slice.
fn case() -> impl Strategy<Value = (Vec<i8>, usize, Vec<i8>, usize, usize)> {
    len().prop_flat_map(|n| {
        (
            proptest::collection::vec(value(), n + 3),
            0..4usize,
            proptest::collection::vec(value(), n + 3),
            0..4usize,
            Just(n),
        )
    })
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn dot_i8_matches_i64_reference((a, sa, b, sb, n) in case()) {
        let (x, w) = (&a[sa..sa + n], &b[sb..sb + n]);
        prop_assert_eq!(dot_i8(x, w).unwrap(), reference(x, 0, w, 0));
    }

    #[test]
    fn dot_i8_offset_matches_i64_reference(
        (a, sa, b, sb, n) in case(),
        xo in offset(),
        wo in offset(),
    ) {
        let (x, w) = (&a[sa..sa + n], &b[sb..sb + n]);
        prop_assert_eq!(dot_i8_offset(x, xo, w, wo).unwrap(), reference(x, xo, w, wo));
    }

    #[test]
    fn unequal_lengths_are_errors(n in 0..40usize, d in 1..5usize) {
        let (x, w) = (vec![1i8; n], vec![1i8; n + d]);
        prop_assert!(dot_i8(&x, &w).is_err());
        prop_assert!(dot_i8(&w, &x).is_err());
        prop_assert!(dot_i8_offset(&x, 0, &w, 0).is_err());
        prop_assert!(dot_i8_offset(&w, 3, &x, -3).is_err());
    }
}

/// The random cases above on every path this CPU has, each forced in turn.
#[test]
fn dots_match_the_reference_on_every_path() {
    use proptest::test_runner::TestRunner;
    mote_tests::paths::for_each_path(|_| {
        let mut runner = TestRunner::new(config(512));
        let outcome = runner.run(
            &(case(), offset(), offset()),
            |((a, sa, b, sb, n), xo, wo)| {
                let (x, w) = (&a[sa..sa + n], &b[sb..sb + n]);
                prop_assert_eq!(dot_i8(x, w).unwrap(), reference(x, 0, w, 0));
                prop_assert_eq!(
                    dot_i8_offset(x, xo, w, wo).unwrap(),
                    reference(x, xo, w, wo)
                );
                Ok(())
            },
        );
        if let Err(e) = outcome {
            panic!("{e}");
        }
        every_byte_pair_in_every_lane();
    });
}

/// Every pair of bytes in every lane position, with the extreme offsets, in runs of 25:
/// one 16-byte AVX2, NEON, SDOT or Helium step (Helium's second, predicated), one 8-byte
/// NEON step, six four-byte DSP steps, and a scalar tail on each.
fn every_byte_pair_in_every_lane() {
    let offsets = [0, 128, -128, 255, -255, 32640, -32640];
    for x in i8::MIN..=i8::MAX {
        for w in i8::MIN..=i8::MAX {
            let (x25, w25) = ([x; 25], [w; 25]);
            {
                let n = 25;
                let (xs, ws) = (&x25[..n], &w25[..n]);
                assert_eq!(dot_i8(xs, ws).unwrap(), n as i32 * x as i32 * w as i32);
                for &(xo, wo) in &[(offsets[1], offsets[4]), (offsets[5], offsets[6]), (-1, 0)] {
                    assert_eq!(
                        dot_i8_offset(xs, xo, ws, wo).unwrap(),
                        reference(xs, xo, ws, wo),
                        "x {x}, w {w}, n {n}, offsets {xo}, {wo}"
                    );
                }
            }
        }
    }
    for &xo in &offsets {
        for &wo in &offsets {
            let (xs, ws) = (
                [
                    -128i8, 127, -1, 0, 5, -128, 127, -128, -128, -128, 127, 127, 0, 1, -1, 3, -128,
                ],
                [
                    127i8, -128, -128, 1, -7, -128, 127, -128, -128, -128, -128, 127, 0, 1, 1, -3,
                    -128,
                ],
            );
            assert_eq!(
                dot_i8_offset(&xs, xo, &ws, wo).unwrap(),
                reference(&xs, xo, &ws, wo)
            );
        }
    }
}

/// Sums past 2^31 wrap exactly as the truncated i64 sum does.
#[test]
fn long_sums_wrap_like_the_truncated_i64_sum() {
    let (x, w) = (vec![-128i8; 140_001], vec![-128i8; 140_001]);
    for (xo, wo) in [
        (0, 0),
        (-255, -255),
        (255, -255),
        (32640, 32640),
        (i32::MAX, 7),
    ] {
        let want = reference(&x, xo, &w, wo);
        assert_eq!(dot_i8_offset(&x, xo, &w, wo).unwrap(), want);
    }
    assert_eq!(dot_i8(&x, &w).unwrap(), reference(&x, 0, &w, 0));
    // 140,001 · 2^14 > 2^31: the sum really wrapped.
    assert_ne!(reference(&x, 0, &w, 0) as i64, 140_001i64 << 14);
}
