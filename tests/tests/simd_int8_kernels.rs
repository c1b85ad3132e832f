//! The int8 tiles and windows of `mote_simd::int8` ([`dot_2x2`], [`gemm_2xn`],
//! [`dot_1x4`], [`dot_1x2`], [`depthwise`], [`window_max`], [`window_sum`] and their `_run` forms) on
//! every instruction-set path compiled
//! for the target (`isa::compiled()`, each forced in turn with `isa::set_limit`) against
//! an i64 reference truncated to i32: lengths and channel counts around the four-byte
//! step (0, 1, 3, 15, 16, 17, 255 and random), sub-slices at every alignment, extreme
//! values (−128, 127) and offsets (int8 zero points, the Arm DSP path's 16-bit lane
//! limits ±32640 and just past them, any i32). The int8 layers that use them (dense,
//! conv, depthwise, pooling) must give the same bytes on every path, too.
//!
//! Natively this checks the scalar path (x86-64 has no int8 path of its own); under
//! qemu-arm (`cargo test -p mote-tests --test simd_int8_kernels --target
//! armv7-unknown-linux-gnueabihf`) the scalar and the Arm DSP paths.

use std::sync::Mutex;

use mote_core::quant::QuantizedMultiplier;
use mote_kernels::int8;
use mote_simd::int8::{
    Rows2, Taps, depthwise, dot_1x2, dot_1x4, dot_2x2, gemm_2xn, rows2_scratch_len, window_max,
    window_max_run, window_sum, window_sum_run,
};
use mote_simd::isa::{self, Isa};
use mote_tests::config;
use proptest::prelude::*;

/// Held while a test forces paths: the limit is global.
static PATHS: Mutex<()> = Mutex::new(());

/// Runs `f` once per compiled path (forced with `set_limit`), then clears the limit.
fn on_every_path(mut f: impl FnMut(Isa)) {
    let _held = PATHS.lock().unwrap_or_else(|e| e.into_inner());
    for &path in isa::compiled() {
        isa::set_limit(path);
        f(path);
    }
    isa::clear_limit();
}

/// `Σ (x + xo)·w` exactly in i64 (wrapping sum), truncated to i32.
fn reference(x: &[i8], xo: i32, w: &[i8]) -> i32 {
    x.iter().zip(w).fold(0i64, |s, (&x, &w)| {
        s.wrapping_add((x as i64 + xo as i64) * w as i64)
    }) as i32
}

fn value() -> impl Strategy<Value = i8> {
    prop_oneof![2 => any::<i8>(), 1 => Just(-128i8), 1 => Just(127i8)]
}

fn offset() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => -127..=128i32,
        2 => prop_oneof![Just(0), Just(128), Just(-128), Just(255), Just(-255)],
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
        0..300usize,
    ]
}

/// A buffer `n + 3` long and a start in `0..4`: every alignment of an `n`-long slice.
fn buf(n: usize) -> impl Strategy<Value = (Vec<i8>, usize)> {
    (proptest::collection::vec(value(), n + 3), 0..4usize)
}

/// A small window geometry over an NHWC image: `(rows, cols, width, channels)` with
/// the image `rows × width` pixels of `channels`.
fn window() -> impl Strategy<Value = (usize, usize, usize, usize)> {
    (
        0..4usize,
        0..4usize,
        0..3usize,
        prop_oneof![
            Just(1usize),
            Just(3),
            Just(4),
            Just(15),
            Just(16),
            Just(17),
            1..70usize
        ],
    )
        .prop_map(|(r, c, extra, ch)| (r, c, c + extra, ch))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn dot_2x2_matches_reference(
        n in len(),
        seed in any::<u64>(),
        xo in offset(),
    ) {
        let mut rng = mote_core::rng::Rng::new(seed);
        let mut row = |pad: usize| -> Vec<i8> {
            (0..n + pad).map(|_| rng.next_u32() as i8).collect()
        };
        let (a, b, c, d) = (row(1), row(2), row(3), row(0));
        let (x0, x1, w0, w1) = (&a[1..], &b[2..], &c[3..], &d[..]);
        let want = [
            [reference(x0, xo, w0), reference(x0, xo, w1)],
            [reference(x1, xo, w0), reference(x1, xo, w1)],
        ];
        on_every_path(|path| {
            assert_eq!(dot_2x2([x0, x1], xo, [w0, w1]).unwrap(), want, "{path:?}");
        });
    }

    #[test]
    fn dot_1x4_matches_reference(
        ((x, sx), (w, sw)) in len().prop_flat_map(|n| (buf(n), buf(4 * n + 3))),
        xo in offset(),
    ) {
        let n = x.len() - 3;
        let x = &x[sx..sx + n];
        let ws: Vec<&[i8]> = (0..4).map(|j| &w[sw + j * n..sw + (j + 1) * n]).collect();
        let want: Vec<i32> = ws.iter().map(|w| reference(x, xo, w)).collect();
        on_every_path(|path| {
            let got = dot_1x4(x, xo, [ws[0], ws[1], ws[2], ws[3]]).unwrap();
            assert_eq!(&got[..], &want[..], "{path:?}");
            let got = dot_1x2(x, xo, [ws[2], ws[3]]).unwrap();
            assert_eq!(&got[..], &want[2..], "{path:?}");
        });
    }

    #[test]
    fn gemm_2xn_matches_reference(
        k in len(),
        rows in 0..7usize,
        seed in any::<u64>(),
        xo in offset(),
        shift in 0..4usize,
    ) {
        let mut rng = mote_core::rng::Rng::new(seed);
        let mut bytes = |n: usize| -> Vec<i8> { (0..n).map(|_| rng.next_u32() as i8).collect() };
        let (a, b, w) = (bytes(k + shift), bytes(k + 1), bytes(rows * k + shift));
        let (x0, x1, w) = (&a[shift..], &b[1..], &w[shift..]);
        let want: Vec<[i32; 2]> = (0..rows)
            .map(|j| {
                let wj = &w[j * k..(j + 1) * k];
                [reference(x0, xo, wj), reference(x1, xo, wj)]
            })
            .collect();
        on_every_path(|path| {
            let mut scratch = vec![0u32; rows2_scratch_len(k)];
            let prepared = Rows2::new([x0, x1], xo, &mut scratch).unwrap();
            let (mut p, mut q) = (vec![5i32; rows], vec![5i32; rows]);
            gemm_2xn(&prepared, w, [&mut p, &mut q]).unwrap();
            let got: Vec<[i32; 2]> = p.iter().zip(&q).map(|(&p, &q)| [p, q]).collect();
            assert_eq!(got, want, "{path:?}");
        });
    }

    #[test]
    fn window_runs_match_per_pixel_windows(
        ((rows, cols, width, ch), (x, sx)) in window().prop_flat_map(|(r, c, wd, ch)| {
            (Just((r, c, wd, ch)), buf(r.max(1) * (wd.max(1) + 8) * ch))
        }),
        pixels in 0..4usize,
        stride in 1..3usize,
    ) {
        let x = &x[sx..];
        let width = width + 8;
        let t = Taps::new(rows, cols, width * ch, ch);
        let step = stride * ch;
        on_every_path(|path| {
            let mut sums = vec![1i32; pixels * ch];
            window_sum_run(&mut sums, ch, x, t, step).unwrap();
            let mut maxes = vec![1i8; pixels * ch];
            let r = window_max_run(&mut maxes, ch, x, t, step);
            assert_eq!(r.is_err(), rows * cols == 0, "{path:?}");
            for p in 0..pixels {
                let mut s = vec![0i32; ch];
                window_sum(&mut s, &x[p * step..], t).unwrap();
                assert_eq!(&sums[p * ch..(p + 1) * ch], &s[..], "{path:?}");
                if rows * cols > 0 {
                    let mut m = vec![0i8; ch];
                    window_max(&mut m, &x[p * step..], t).unwrap();
                    assert_eq!(&maxes[p * ch..(p + 1) * ch], &m[..], "{path:?}");
                }
            }
        });
    }

    #[test]
    fn depthwise_matches_reference(
        ((rows, cols, width, ch), (x, sx), (w, sw)) in window().prop_flat_map(|(r, c, wd, ch)| {
            (Just((r, c, wd, ch)), buf(r.max(1) * wd.max(1) * ch), buf(r.max(1) * c.max(1) * ch))
        }),
        xo in offset(),
    ) {
        let x = &x[sx..];
        let w = &w[sw..];
        let xt = Taps::new(rows, cols, width * ch, ch);
        let wt = Taps::new(rows, cols, cols * ch, ch);
        let want: Vec<i32> = (0..ch)
            .map(|c| {
                let mut s = 0i64;
                for r in 0..rows {
                    for t in 0..cols {
                        let xv = x[r * width * ch + t * ch + c] as i64 + xo as i64;
                        s = s.wrapping_add(xv * w[r * cols * ch + t * ch + c] as i64);
                    }
                }
                s as i32
            })
            .collect();
        on_every_path(|path| {
            let mut out = vec![7i32; ch];
            depthwise(&mut out, x, xt, xo, w, wt).unwrap();
            assert_eq!(out, want, "{path:?}");
        });
    }

    #[test]
    fn windows_match_reference(
        ((rows, cols, width, ch), (x, sx)) in window().prop_flat_map(|(r, c, wd, ch)| {
            (Just((r, c, wd, ch)), buf(r.max(1) * wd.max(1) * ch))
        }),
    ) {
        let x = &x[sx..];
        let t = Taps::new(rows, cols, width * ch, ch);
        let taps = |c: usize| {
            (0..rows).flat_map(move |r| (0..cols).map(move |k| r * width * ch + k * ch + c))
        };
        let sums: Vec<i32> = (0..ch).map(|c| taps(c).map(|i| x[i] as i32).sum()).collect();
        let maxes: Vec<i8> = (0..ch).map(|c| taps(c).map(|i| x[i]).max().unwrap_or(0)).collect();
        on_every_path(|path| {
            let mut s = vec![9i32; ch];
            window_sum(&mut s, x, t).unwrap();
            assert_eq!(s, sums, "{path:?}");
            let mut m = vec![9i8; ch];
            let r = window_max(&mut m, x, t);
            if rows * cols == 0 {
                assert!(r.is_err());
            } else {
                r.unwrap();
                assert_eq!(m, maxes, "{path:?}");
            }
        });
    }

    #[test]
    fn mismatched_arguments_are_errors(n in 1..40usize, d in 1..5usize) {
        let (a, b) = (vec![1i8; n], vec![1i8; n + d]);
        prop_assert!(dot_2x2([&a, &b], 0, [&a, &a]).is_err());
        prop_assert!(dot_2x2([&a, &a], 0, [&a, &b]).is_err());
        prop_assert!(dot_1x4(&a, 0, [&a, &a, &a, &b]).is_err());
        prop_assert!(dot_1x2(&a, 0, [&b, &a]).is_err());
        let mut out = vec![0i32; n + 1];
        prop_assert!(window_sum(&mut out, &a, Taps::new(1, 1, 0, 0)).is_err());
        prop_assert!(depthwise(&mut out, &b, Taps::new(1, 1, 0, 0), 0, &a, Taps::new(1, 1, 0, 0)).is_err());
        let mut m = vec![0i8; n];
        prop_assert!(window_max(&mut m, &a, Taps::new(2, 1, 1, 0)).is_err());
        let mut scratch = vec![0u32; n];
        prop_assert!(Rows2::new([&a, &b], 0, &mut scratch).is_err());
        let rows = Rows2::new([&a, &a], 0, &mut scratch).unwrap();
        let (mut p, mut q) = (vec![0i32; 2], vec![0i32; 3]);
        prop_assert!(gemm_2xn(&rows, &vec![0i8; 2 * n + 1], [&mut p, &mut q[..2]]).is_err());
        prop_assert!(gemm_2xn(&rows, &a, [&mut p, &mut q]).is_err());
        let mut short = vec![0u32; 0];
        if n >= 4 {
            prop_assert!(Rows2::new([&a, &a], 0, &mut short).is_err());
        }
        let mut o = vec![0i8; 2 * n + 1];
        prop_assert!(window_max_run(&mut o, n + 1, &b, Taps::new(1, 1, 0, 0), 0).is_err());
    }
}

/// Every byte pair at every lane position (4 SIMD lanes + 1 tail) with the extreme
/// offsets, through the tiles.
#[test]
fn every_byte_pair_in_every_lane() {
    for xo in [0, 128, -128, 255, -255, 32640, -32640, 32641] {
        for x in [i8::MIN, -1, 0, 1, i8::MAX] {
            for w in i8::MIN..=i8::MAX {
                let (xs, ws) = ([x; 5], [w; 5]);
                let want = reference(&xs, xo, &ws);
                on_every_path(|path| {
                    assert_eq!(
                        dot_2x2([&xs, &xs], xo, [&ws, &ws]).unwrap(),
                        [[want; 2]; 2],
                        "{path:?}"
                    );
                    assert_eq!(dot_1x4(&xs, xo, [&ws; 4]).unwrap(), [want; 4], "{path:?}");
                    assert_eq!(dot_1x2(&xs, xo, [&ws; 2]).unwrap(), [want; 2], "{path:?}");
                    let mut out = [0i32; 5];
                    depthwise(
                        &mut out,
                        &xs,
                        Taps::new(1, 1, 0, 0),
                        xo,
                        &ws,
                        Taps::new(1, 1, 0, 0),
                    )
                    .unwrap();
                    assert_eq!(out, [want / 5; 5], "{path:?}");
                });
            }
        }
    }
    // Windows of 256 taps at the i8 extremes: the DSP path's 16-bit lanes hold them.
    for v in [i8::MIN, i8::MAX] {
        let x = [v; 4];
        on_every_path(|path| {
            let mut s = [0i32; 4];
            window_sum(&mut s, &x, Taps::new(16, 16, 0, 0)).unwrap();
            assert_eq!(s, [256 * v as i32; 4], "{path:?}");
            window_sum(&mut s, &x, Taps::new(16, 17, 0, 0)).unwrap();
            assert_eq!(s, [272 * v as i32; 4], "{path:?}");
        });
    }
}

/// A deterministic int8 buffer.
fn bytes(seed: u64, n: usize) -> Vec<i8> {
    let mut rng = mote_core::rng::Rng::new(seed);
    (0..n).map(|_| rng.next_u32() as i8).collect()
}

/// The int8 layers built on the tiles give the same bytes on every path (shapes with
/// odd channel and pixel counts, padding, batch 1 and 3).
#[test]
fn layers_agree_on_every_path() {
    let m = [QuantizedMultiplier::from_real(0.0123).unwrap()];
    let ms = [m[0]; 64];
    for (izp, batch) in [(-128, 1), (5, 3), (127, 2)] {
        let mut results: Vec<Vec<i8>> = Vec::new();
        let mut first = true;
        on_every_path(|path| {
            let mut all = Vec::new();
            // Dense 37 → 11.
            let p = int8::dense::Params::new(batch, 37, 11);
            let q = int8::dense::Quant::new(izp, 0, -3, &m, -128, 127);
            let mut y = vec![0i8; batch * 11];
            let bias: Vec<i32> = (0..11).map(|i| i * 1000 - 5000).collect();
            int8::dense::forward(
                &p,
                &q,
                &bytes(1, batch * 37),
                &bytes(2, 11 * 37),
                Some(&bias),
                &mut y,
            )
            .unwrap();
            all.extend(y);
            // Conv 3×3 SAME on 7×5×6 → 9 channels, and 1×1 on 5×3×17 → 5.
            let pad = mote_core::padding::Padding::Same;
            let p = int8::conv::Params::new(batch, 7, 5, 6, 9, 3, 3).with_paddings(pad, pad);
            let mut y = vec![0i8; batch * 7 * 5 * 9];
            int8::conv::forward(
                &p,
                &q,
                &bytes(3, batch * 7 * 5 * 6),
                &bytes(4, 9 * 9 * 6),
                None,
                &mut y,
            )
            .unwrap();
            all.extend(y);
            let p = int8::conv::Params::new(batch, 5, 3, 17, 5, 1, 1);
            let mut y = vec![0i8; batch * 5 * 3 * 5];
            int8::conv::forward(
                &p,
                &q,
                &bytes(5, batch * 5 * 3 * 17),
                &bytes(6, 5 * 17),
                None,
                &mut y,
            )
            .unwrap();
            all.extend(y);
            // Depthwise 3×3 stride 1 pad 1 on 6×5×19.
            let p = int8::depthwise::Params {
                batch,
                in_h: 6,
                in_w: 5,
                in_c: 19,
                multiplier: 1,
                out_h: 6,
                out_w: 5,
                kernel_h: 3,
                kernel_w: 3,
                stride_h: 1,
                stride_w: 1,
                dilation_h: 1,
                dilation_w: 1,
                pad_h: 1,
                pad_w: 1,
            };
            let dq = int8::depthwise::Quant {
                input_zero_point: izp,
                output_zero_point: 2,
                act_min: -128,
                act_max: 127,
                rounding: Default::default(),
            };
            let mut y = vec![0i8; batch * 6 * 5 * 19];
            int8::depthwise::forward(
                &p,
                &dq,
                &ms[..19],
                &bytes(7, batch * 6 * 5 * 19),
                &bytes(8, 9 * 19),
                None,
                &mut y,
            )
            .unwrap();
            all.extend(y);
            // Pooling 3×3 stride 2 pad 1 on 7×6×13.
            let p = int8::pool::Params {
                batch,
                input_h: 7,
                input_w: 6,
                channels: 13,
                output_h: 4,
                output_w: 3,
                kernel_h: 3,
                kernel_w: 3,
                stride_h: 2,
                stride_w: 2,
                pad_h: 1,
                pad_w: 1,
                act_min: -100,
                act_max: 120,
            };
            let x = bytes(9, batch * 7 * 6 * 13);
            let mut y = vec![0i8; batch * 4 * 3 * 13];
            int8::pool::max_pool_s8(&p, &x, &mut y).unwrap();
            all.extend(y.iter().copied());
            int8::pool::avg_pool_s8(&p, &x, &mut y).unwrap();
            all.extend(y);
            if first {
                first = false;
            } else {
                assert_eq!(all, results[0], "{path:?}, input zero point {izp}");
            }
            results.push(all);
        });
    }
}

#[test]
fn the_dsp_path_is_compiled_on_arm_linux() {
    if cfg!(all(target_arch = "arm", target_os = "linux")) {
        assert!(isa::compiled().contains(&Isa::ArmDsp));
    }
}
