//! Pooling (max, average, 1D, 2D, global) against the f64 reference, backward against
//! finite differences, and invalid parameters.

use mote_core::padding::{Padding, Window};
use mote_kernels::f32::pool::{self, Global, Kind, Params};
use mote_tests::check::{SUM_FLOOR, assert_gradient_floored};
use mote_tests::check::{assert_close, dot, widen};
use mote_tests::config;
use mote_tests::reference::layers as reference;
use mote_tests::strategy::{tie_free, values};
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Max), Just(Kind::Average)]
}

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Valid),
        Just(Padding::Same),
        (0usize..3, 0usize..3).prop_map(|(before, after)| Padding::Explicit { before, after }),
    ]
}

/// Windows of 1–5 taps (often larger than the 1–6 inputs), stride 1–3, dilation 1–2.
fn window() -> impl Strategy<Value = Window> {
    (
        1usize..6,
        1usize..4,
        prop_oneof![3 => Just(1usize), 1 => Just(2usize)],
    )
        .prop_map(|(size, stride, dilation)| Window::new(size, stride).dilated(dilation))
}

fn params() -> impl Strategy<Value = Params> {
    (
        kind(),
        1usize..3,
        1usize..7,
        1usize..7,
        1usize..4,
        window(),
        window(),
        padding(),
        padding(),
    )
        .prop_map(
            |(kind, batch, height, width, channels, wh, ww, ph, pw)| Params {
                kind,
                batch,
                height,
                width,
                channels,
                window_h: wh,
                window_w: ww,
                padding_h: ph,
                padding_w: pw,
            },
        )
}

fn params_1d() -> impl Strategy<Value = Params> {
    (kind(), 1usize..3, 1usize..9, 1usize..4, window(), padding()).prop_map(
        |(kind, batch, length, channels, w, p)| Params::one_d(kind, batch, length, channels, w, p),
    )
}

fn input_len(p: &Params) -> usize {
    p.batch * p.height * p.width * p.channels
}

/// Forward against the reference; an invalid geometry must be an error in both.
fn check_forward(p: &Params, x: &[f32]) {
    let want = reference::pool(p, &widen(x));
    match (p.output_shape(), want) {
        (Ok(shape), Some(want)) => {
            let mut y = vec![f32::NAN; shape.iter().product()];
            pool::forward(p, x, &mut y).unwrap();
            // Max is exact; the average adds at most 25 values of magnitude ≤ 1.
            assert_close("pool", &y, &want, 1e-6, 1e-6);
        }
        (Err(_), None) => assert!(pool::forward(p, x, &mut []).is_err()),
        (shape, want) => panic!("{p:?}: kernel {shape:?}, reference {}", want.is_some()),
    }
}

/// Backward against central differences of the reference, with upstream gradient `g`.
fn check_backward(p: &Params, x: &[f32], g: &[f32]) {
    let Ok(shape) = p.output_shape() else { return };
    let g = &g[..shape.iter().product::<usize>()];
    let mut gx = vec![0.0; x.len()];
    pool::backward(p, x, g, &mut gx).unwrap();
    let g64 = widen(g);
    assert_gradient_floored(
        "pool: grad_input",
        &gx,
        &mut |x| dot(&g64, &reference::pool(p, x).unwrap()),
        &widen(x),
        1e-3,
        SUM_FLOOR,
    );
}

fn case(p: impl Strategy<Value = Params>) -> impl Strategy<Value = (Params, Vec<f32>, Vec<f32>)> {
    p.prop_flat_map(|p| {
        let n = input_len(&p);
        // Tie-free inputs (gaps of 0.05) keep the max of every window apart from the
        // rest by far more than the finite-difference step.
        (Just(p), tie_free(n, 0.05), values(n * 40, 1.0))
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn pool_2d_matches_reference((p, x, g) in case(params())) {
        check_forward(&p, &x);
        check_backward(&p, &x, &g);
    }

    #[test]
    fn pool_1d_matches_reference((p, x, g) in case(params_1d())) {
        check_forward(&p, &x);
        check_backward(&p, &x, &g);
    }

    /// A window larger than the input is fine with SAME (every output averages the
    /// in-bounds taps) and an error with VALID.
    #[test]
    fn large_windows(kind in kind(), len in 1usize..4, extra in 1usize..4, stride in 1usize..3,
                     x in values(8, 1.0)) {
        let w = Window::new(len + extra, stride);
        let same = Params::one_d(kind, 1, len, 2, w, Padding::Same);
        check_forward(&same, &x[..2 * len]);
        let valid = Params::one_d(kind, 1, len, 2, w, Padding::Valid);
        prop_assert!(pool::forward(&valid, &x[..2 * len], &mut [0.0; 8]).is_err());
    }

    #[test]
    fn global_pool_matches_reference(
        (p, x, g) in (kind(), 1usize..3, 1usize..6, 1usize..6, 1usize..4).prop_flat_map(
            |(kind, batch, height, width, channels)| {
                let n = batch * height * width * channels;
                (Just(Global { kind, batch, height, width, channels }), tie_free(n, 0.05),
                 values(batch * channels, 1.0))
            })
    ) {
        let mut y = vec![0.0; p.batch * p.channels];
        pool::global_forward(&p, &x, &mut y).unwrap();
        assert_close("global pool", &y, &reference::global_pool(&p, &widen(&x)), 1e-6, 1e-6);
        let mut gx = vec![0.0; x.len()];
        pool::global_backward(&p, &x, &g, &mut gx).unwrap();
        let g64 = widen(&g);
        assert_gradient_floored("global pool: grad_input", &gx,
            &mut |x| dot(&g64, &reference::global_pool(&p, x)), &widen(&x), 1e-3, SUM_FLOOR);
    }

    /// Arbitrary (mostly invalid) parameters and lengths: an `Err` or `Ok`, never a panic.
    #[test]
    fn never_panics(
        dims in prop::collection::vec(0usize..5, 4), win in prop::collection::vec(0usize..6, 6),
        pads in prop::collection::vec(0usize..6, 4), lens in prop::collection::vec(0usize..200, 3),
        huge in any::<usize>(), which in 0usize..8,
    ) {
        let mut dims = dims;
        dims[which % 4] = if which >= 4 { huge } else { dims[which % 4] };
        let p = Params {
            kind: if which % 2 == 0 { Kind::Max } else { Kind::Average },
            batch: dims[0], height: dims[1], width: dims[2], channels: dims[3],
            window_h: Window::new(win[0], win[1]).dilated(win[2]),
            window_w: Window::new(win[3], win[4]).dilated(win[5]),
            padding_h: if pads[0] % 3 == 0 { Padding::Same } else {
                Padding::Explicit { before: pads[0], after: pads[1] } },
            padding_w: if pads[2] % 3 == 0 { Padding::Valid } else {
                Padding::Explicit { before: pads[2], after: pads[3] } },
        };
        let x = vec![0.5f32; lens[0]];
        let mut y = vec![0.0f32; lens[1]];
        let mut gx = vec![0.0f32; lens[2]];
        let _ = p.output_shape();
        let _ = pool::forward(&p, &x, &mut y);
        let _ = pool::backward(&p, &x, &y.clone(), &mut gx);
        let g = Global { kind: p.kind, batch: dims[0], height: dims[1], width: dims[2], channels: dims[3] };
        let _ = pool::global_forward(&g, &x, &mut y);
        let _ = pool::global_backward(&g, &x, &y.clone(), &mut gx);
        // With the exact lengths, whatever the window, stride, dilation and padding.
        if let Ok(shape) = p.output_shape() {
            let (n_in, n_out) = (input_len(&p), shape.iter().product::<usize>());
            if n_in <= 4096 && n_out <= 4096 {
                let x = vec![0.5f32; n_in];
                let mut y = vec![0.0f32; n_out];
                pool::forward(&p, &x, &mut y).unwrap();
                pool::backward(&p, &x, &y.clone(), &mut vec![0.0; n_in]).unwrap();
            }
        }
    }
}
