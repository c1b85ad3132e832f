//! mote-simd's f32 maps ([`mote_simd::map`]) on every instruction-set path this CPU
//! has (each forced in turn through [`mote_tests::paths::for_each_path`]), and the
//! im2col ([`mote_simd::im2col`]) against a naive reference.
//!
//! - `bias_act` / `act_in_place`: every activation, against [`Act::apply`] (the scalar
//!   definition) bit for bit, NaN for NaN — with NaN, ±0, ±∞ and values on the clamp
//!   bounds among the inputs;
//! - `axpy`: against the exact `y + α·x` (f64) within the bound of its docs, and bit for
//!   bit against the scalar path's `y + fl(α·x)` on integer data (exact products);
//! - lengths 0, 1, 3, 15, 16, 17, 255 and random ones, slices starting 0 or 1 element
//!   into their buffers (unaligned for the vector loads), rows of every such length;
//! - im2col: random geometries (stride, dilation, padding, channel groups, both
//!   layouts, runs of pixels) for f32 and int8, and the errors on bad geometry.

use mote_simd::im2col::{Im2col, Layout, im2col};
use mote_simd::map::{Act, act_in_place, axpy, bias_act};
use mote_tests::config;
use mote_tests::paths::for_each_path;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

const LENGTHS: [usize; 7] = [0, 1, 3, 15, 16, 17, 255];

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![prop::sample::select(LENGTHS.to_vec()), 0..300usize]
}

/// Mostly ordinary values, with the edge cases every activation must agree on.
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -8.0f32..8.0,
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            6.0,
            -1.5,
            1.0e30,
        ]),
    ]
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        Just(Act::Identity),
        Just(Act::Relu),
        Just(Act::RELU6),
        (-4.0f32..0.0, 0.0f32..4.0).prop_map(|(lo, hi)| Act::Clamp { lo, hi }),
        Just(Act::Clamp { lo: -1.5, hi: -1.5 }),
        Just(Act::Clamp {
            lo: f32::NEG_INFINITY,
            hi: 0.0
        }),
        prop::sample::select(vec![0.0f32, 0.01, 0.3, -1.0, 2.5])
            .prop_map(|slope| Act::LeakyRelu { slope }),
    ]
}

/// Bit for bit, or both NaN (NaN payloads may differ).
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
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
fn bias_act_is_exact_on_every_path() {
    let case = (len(), 1..4usize, 0..2usize, act()).prop_flat_map(|(n, rows, start, act)| {
        (
            prop::collection::vec(value(), rows * n + start),
            prop::collection::vec(value(), n + start),
            Just((n, start, act)),
        )
    });
    on_every_path(400, case, |(y0, b0, (n, start, act))| {
        let bias = &b0[start..];
        let mut y = y0.clone();
        let res = bias_act(&mut y[start..], bias, act);
        if n == 0 {
            prop_assert!(res.is_err() || y0.len() == start);
            return Ok(());
        }
        res.unwrap();
        prop_assert!(same_slices(&y[..start], &y0[..start]));
        for (i, (&got, &was)) in y[start..].iter().zip(&y0[start..]).enumerate() {
            let want = act.apply(was + bias[i % n]);
            prop_assert!(
                same(got, want),
                "{act:?} element {i}: {was} + {} gave {got}, want {want}",
                bias[i % n]
            );
        }
        Ok(())
    });
}

fn same_slices(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| same(x, y))
}

#[test]
fn act_in_place_is_exact_on_every_path() {
    let case = (len(), 0..2usize, act()).prop_flat_map(|(n, start, act)| {
        (
            prop::collection::vec(value(), n + start),
            Just((start, act)),
        )
    });
    on_every_path(400, case, |(y0, (start, act))| {
        let mut y = y0.clone();
        act_in_place(&mut y[start..], act).unwrap();
        prop_assert!(same_slices(&y[..start], &y0[..start]));
        for (i, (&got, &was)) in y[start..].iter().zip(&y0[start..]).enumerate() {
            let want = act.apply(was);
            prop_assert!(
                same(got, want),
                "{act:?} element {i}: {was} gave {got}, want {want}"
            );
        }
        Ok(())
    });
}

#[test]
fn every_length_and_activation_on_every_path() {
    // The fixed lengths with every activation, deterministic data (no shrinking needed).
    let acts = [
        Act::Identity,
        Act::Relu,
        Act::RELU6,
        Act::Clamp { lo: -0.5, hi: 0.25 },
        Act::LeakyRelu { slope: 0.1 },
    ];
    for_each_path(|path| {
        for &n in &LENGTHS {
            for start in 0..2 {
                for act in acts {
                    let rows = 3;
                    let y0: Vec<f32> = (0..rows * n + start)
                        .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.75)
                        .collect();
                    let b0: Vec<f32> = (0..n + start).map(|i| (i % 5) as f32 - 2.0).collect();
                    let mut y = y0.clone();
                    if n > 0 {
                        bias_act(&mut y[start..], &b0[start..], act).unwrap();
                        for (i, (&g, &w)) in y[start..].iter().zip(&y0[start..]).enumerate() {
                            let want = act.apply(w + b0[start + i % n]);
                            assert!(
                                same(g, want),
                                "{} {act:?} n {n} start {start} element {i}",
                                path.name()
                            );
                        }
                    }
                    let mut y = y0.clone();
                    act_in_place(&mut y[start..], act).unwrap();
                    for (i, (&g, &w)) in y[start..].iter().zip(&y0[start..]).enumerate() {
                        assert!(
                            same(g, act.apply(w)),
                            "{} {act:?} in place n {n} element {i}",
                            path.name()
                        );
                    }
                }
            }
        }
    });
}

#[test]
fn axpy_is_within_its_bound_on_every_path() {
    let u = f64::from(f32::EPSILON) / 2.0;
    let case = (len(), 0..2usize, -4.0f32..4.0).prop_flat_map(|(n, start, alpha)| {
        (
            prop::collection::vec(-8.0f32..8.0, n + start),
            prop::collection::vec(-8.0f32..8.0, n + start),
            Just((start, alpha)),
        )
    });
    on_every_path(400, case, move |(x0, y0, (start, alpha))| {
        let x = &x0[start..];
        let mut y = y0.clone();
        axpy(alpha, x, &mut y[start..]).unwrap();
        prop_assert!(same_slices(&y[..start], &y0[..start]));
        for (i, ((&got, &was), &xi)) in y[start..].iter().zip(&y0[start..]).zip(x).enumerate() {
            let prod = f64::from(alpha) * f64::from(xi);
            let exact = f64::from(was) + prod;
            let bound = u * (exact.abs() + 1.0001 * prod.abs());
            let err = (f64::from(got) - exact).abs();
            prop_assert!(
                err <= bound,
                "element {i}: {was} + {alpha}·{xi} gave {got}, exact {exact}"
            );
        }
        Ok(())
    });
}

#[test]
fn axpy_exact_data_and_every_length_on_every_path() {
    for_each_path(|path| {
        for &n in &LENGTHS {
            for start in 0..2 {
                let x: Vec<f32> = (0..n + start).map(|i| (i % 13) as f32 - 6.0).collect();
                let y0: Vec<f32> = (0..n + start).map(|i| (i % 7) as f32 * 0.5).collect();
                let mut y = y0.clone();
                axpy(-0.25, &x[start..], &mut y[start..]).unwrap();
                for i in start..n + start {
                    let want = y0[i] + -0.25 * x[i];
                    assert_eq!(
                        y[i].to_bits(),
                        want.to_bits(),
                        "{} n {n} element {i}",
                        path.name()
                    );
                }
            }
        }
        let mut y = [0.0f32; 3];
        assert!(axpy(1.0, &[1.0; 4], &mut y).is_err());
        assert!(bias_act(&mut [0.0; 5], &[0.0; 2], Act::Relu).is_err());
        assert!(bias_act(&mut [0.0; 4], &[0.0; 2], Act::Clamp { lo: 1.0, hi: 0.0 }).is_err());
        assert!(act_in_place(&mut y, Act::LeakyRelu { slope: f32::NAN }).is_err());
    });
}

/// The definition of an im2col row, tap by tap.
fn naive<T: Copy>(g: &Im2col, x: &[T], pad: T, p: usize, row: &mut [T]) {
    let [kh, kw] = g.kernel;
    let (oy, ox) = (p / g.out[1], p % g.out[1]);
    let src = |axis: usize, o: usize, k: usize| {
        (o * g.stride[axis] + k * g.dilation[axis])
            .checked_sub(g.pad[axis])
            .filter(|&i| i < g.input[axis])
    };
    for ky in 0..kh {
        for kx in 0..kw {
            for c in 0..g.channels {
                let at = match g.layout {
                    Layout::TapMajor => (ky * kw + kx) * g.channels + c,
                    Layout::ChannelMajor => c * kh * kw + ky * kw + kx,
                };
                row[at] = match (src(0, oy, ky), src(1, ox, kx)) {
                    (Some(iy), Some(ix)) => x[(iy * g.input[1] + ix) * g.input[2] + g.c0 + c],
                    _ => pad,
                };
            }
        }
    }
}

fn geometry() -> impl Strategy<Value = (Im2col, usize, usize)> {
    (
        (1..7usize, 1..8usize, 1..6usize),
        (1..5usize, 1..6usize),
        (1..4usize, 1..4usize, 1..4usize, 1..4usize),
        (1..3usize, 1..3usize, 0..4usize, 0..4usize),
        any::<bool>(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_flat_map(
            |((h, w, c), (oh, ow), (kh, kw, sh, sw), (dh, dw, ph, pw), cm, i0, i1)| {
                let c0 = i0.index(c);
                let channels = 1 + i1.index(c - c0);
                let g = Im2col::new([h, w, c], [oh, ow], [kh, kw])
                    .with_stride([sh, sw])
                    .with_dilation([dh, dw])
                    .with_pad([ph, pw])
                    .with_channels(c0, channels)
                    .with_layout(if cm {
                        Layout::ChannelMajor
                    } else {
                        Layout::TapMajor
                    });
                let pixels = oh * ow;
                (Just(g), 0..pixels)
                    .prop_flat_map(move |(g, first)| (Just(g), Just(first), 0..=pixels - first))
            },
        )
}

#[test]
fn im2col_matches_the_definition() {
    let mut runner = TestRunner::new(config(1000));
    let case = (geometry(), any::<u32>());
    runner
        .run(&case, |((g, first, count), seed)| {
            let k = g.row_len().unwrap();
            let image = g.input.iter().product::<usize>();
            // f32 (pad 0) and int8 (pad: a zero point).
            let x: Vec<f32> = (0..image).map(|i| (i as u32 ^ seed) as f32 + 1.0).collect();
            let mut got = vec![f32::NAN; count * k];
            im2col(&g, &x, 0.0, first, &mut got).unwrap();
            let mut want = vec![f32::NAN; count * k];
            for (i, row) in want.chunks_exact_mut(k).enumerate() {
                naive(&g, &x, 0.0, first + i, row);
            }
            prop_assert!(same_slices(&got, &want), "{g:?} pixels {first}+{count}");
            let xb: Vec<i8> = (0..image)
                .map(|i| (i as u32).wrapping_mul(seed | 1) as i8)
                .collect();
            let zp = seed as i8;
            let mut got = vec![0x55i8; count * k];
            im2col(&g, &xb, zp, first, &mut got).unwrap();
            let mut want = vec![0x55i8; count * k];
            for (i, row) in want.chunks_exact_mut(k).enumerate() {
                naive(&g, &xb, zp, first + i, row);
            }
            prop_assert_eq!(got, want, "{:?} pixels {}+{}", g, first, count);
            Ok(())
        })
        .unwrap();
}

#[test]
fn im2col_rejects_bad_geometry() {
    let g = Im2col::new([4, 4, 3], [2, 2], [3, 3]).with_pad([1, 1]);
    let x = [0.0f32; 48];
    let mut rows = [0.0f32; 4 * 27];
    assert!(im2col(&g, &x, 0.0, 0, &mut rows).is_ok());
    let bad = [
        Im2col::new([0, 4, 3], [2, 2], [3, 3]),
        Im2col::new([4, 4, 3], [2, 2], [0, 3]),
        g.with_stride([1, 0]),
        g.with_dilation([0, 1]),
        g.with_channels(2, 2),
        g.with_channels(0, 0),
        g.with_channels(usize::MAX, 2),
        g.with_dilation([usize::MAX, 1]),
    ];
    for b in bad {
        assert!(im2col(&b, &x, 0.0, 0, &mut rows[..27]).is_err(), "{b:?}");
    }
    // Wrong image length, a partial row, pixels past the last.
    assert!(im2col(&g, &x[..47], 0.0, 0, &mut rows).is_err());
    assert!(im2col(&g, &x, 0.0, 0, &mut rows[..26]).is_err());
    assert!(im2col(&g, &x, 0.0, 1, &mut rows).is_err());
    assert!(im2col(&g, &x, 0.0, usize::MAX, &mut rows[..27]).is_err());
    // An empty run is fine anywhere up to the end.
    assert!(im2col(&g, &x, 0.0, 4, &mut []).is_ok());
}
