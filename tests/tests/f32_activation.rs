//! Activations, softmax and log-softmax against their f64 references, backward against
//! finite differences, and invalid parameters.

use mote_kernels::f32::activation::{self, Activation, Axis, log_softmax, softmax};
use mote_tests::check::{SUM_FLOOR, assert_gradient_floored};
use mote_tests::check::{assert_close, dot, widen};
use mote_tests::config;
use mote_tests::reference::layers as reference;
use mote_tests::strategy::values;
use proptest::prelude::*;

fn act() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Identity),
        Just(Activation::Relu),
        Just(Activation::Relu6),
        (0.01f32..0.5).prop_map(|alpha| Activation::LeakyRelu { alpha }),
        (0.1f32..2.0).prop_map(|alpha| Activation::Elu { alpha }),
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Gelu),
        Just(Activation::GeluTanh),
        Just(Activation::Silu),
        Just(Activation::HardSigmoid),
        Just(Activation::HardSwish),
    ]
}

/// The points where the activation's derivative jumps.
fn kinks(act: &Activation) -> &'static [f32] {
    match act {
        Activation::Relu | Activation::LeakyRelu { .. } | Activation::Elu { .. } => &[0.0],
        Activation::Relu6 => &[0.0, 6.0],
        Activation::HardSigmoid | Activation::HardSwish => &[-3.0, 3.0],
        _ => &[],
    }
}

/// Moves values within 1e−2 of a kink 5e−2 away from it, so that finite differences
/// (step 1e−5) never straddle one.
fn away_from_kinks(act: &Activation, x: &mut [f32]) {
    for v in x {
        for &k in kinks(act) {
            if (*v - k).abs() < 1e-2 {
                *v = k + if *v < k { -5e-2 } else { 5e-2 };
            }
        }
    }
}

fn axis() -> impl Strategy<Value = Axis> {
    (1usize..4, 1usize..7, 1usize..4).prop_map(|(outer, axis, inner)| Axis { outer, axis, inner })
}

/// Values in [−5, 5] plus a common offset (0, +50 or −80): the max-shift must make the
/// results independent of the offset and free of overflow.
fn shifted(len: usize) -> impl Strategy<Value = Vec<f32>> {
    (
        values(len, 5.0),
        prop_oneof![Just(0.0f32), Just(50.0), Just(-80.0)],
    )
        .prop_map(|(v, o)| v.into_iter().map(|x| x + o).collect())
}

proptest! {
    #![proptest_config(config(512))]

    /// Forward (and in place) against the reference, backward against finite
    /// differences, on [−4, 4] away from kinks.
    #[test]
    fn activation_matches_reference(act in act(), x in values(24, 4.0), g in values(24, 1.0),
                                    prior in values(24, 1.0)) {
        let mut x = x;
        away_from_kinks(&act, &mut x);
        let mut y = vec![f32::NAN; x.len()];
        activation::forward(&act, &x, &mut y).unwrap();
        // A few f32 roundings of libm values (≤ 1 ulp each) and of x + 3 (hard-sigmoid/
        // swish: an absolute 2.4e−7 before the division by 6).
        let want = reference::activation(&act, &widen(&x));
        assert_close("activation", &y, &want, 1e-6, 1e-5);
        let mut z = x.clone();
        activation::forward_in_place(&act, &mut z).unwrap();
        prop_assert_eq!(&y, &z);
        // Accumulates on top of what the buffer holds.
        let mut gx = prior.clone();
        activation::backward(&act, &x, &y, &g, &mut gx).unwrap();
        let gx: Vec<f32> = gx.iter().zip(&prior).map(|(a, b)| a - b).collect();
        let g64 = widen(&g);
        // The derivative of GELU or SiLU sums terms that cancel near its zero: floored.
        assert_gradient_floored(&format!("{act:?}: grad_input"), &gx,
            &mut |x| dot(&g64, &reference::activation(&act, x)), &widen(&x), 1e-3, SUM_FLOOR);
    }

    /// Far outside the usual range the values stay finite and correct.
    #[test]
    fn activation_saturates_cleanly(act in act(), x in values(24, 60.0)) {
        let mut y = vec![f32::NAN; x.len()];
        activation::forward(&act, &x, &mut y).unwrap();
        prop_assert!(y.iter().all(|v| v.is_finite()));
        assert_close("activation (wide)", &y, &reference::activation(&act, &widen(&x)), 1e-6, 1e-5);
    }

    #[test]
    fn softmax_matches_reference(
        (p, x, g) in axis().prop_flat_map(|p| {
            let n = p.outer * p.axis * p.inner;
            (Just(p), shifted(n), values(n, 1.0))
        })
    ) {
        let mut y = vec![f32::NAN; x.len()];
        softmax::forward(&p, &x, &mut y).unwrap();
        // x − max is exact (Sterbenz); exp and the division add a few ulps.
        assert_close("softmax", &y, &reference::softmax(&p, &widen(&x)), 1e-7, 1e-5);
        let mut gx = vec![0.0; x.len()];
        softmax::backward(&p, &y, &g, &mut gx).unwrap();
        let g64 = widen(&g);
        assert_gradient_floored("softmax: grad_input", &gx,
            &mut |x| dot(&g64, &reference::softmax(&p, x)), &widen(&x), 1e-3, SUM_FLOOR);
    }

    #[test]
    fn log_softmax_matches_reference(
        (p, x, g) in axis().prop_flat_map(|p| {
            let n = p.outer * p.axis * p.inner;
            (Just(p), shifted(n), values(n, 1.0))
        })
    ) {
        let mut y = vec![f32::NAN; x.len()];
        log_softmax::forward(&p, &x, &mut y).unwrap();
        // |y| ≤ 10 + ln 6; (x − max) is exact, ln Σ is within an ulp or two.
        assert_close("log_softmax", &y, &reference::log_softmax(&p, &widen(&x)), 2e-6, 1e-6);
        let mut gx = vec![0.0; x.len()];
        log_softmax::backward(&p, &y, &g, &mut gx).unwrap();
        let g64 = widen(&g);
        assert_gradient_floored("log_softmax: grad_input", &gx,
            &mut |x| dot(&g64, &reference::log_softmax(&p, x)), &widen(&x), 1e-3, SUM_FLOOR);
    }

    /// Arbitrary (mostly invalid) parameters and lengths: an `Err` or `Ok`, never a panic.
    #[test]
    fn never_panics(
        act in act(), alpha in prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(0.1f32)],
        dims in prop::collection::vec(prop_oneof![0usize..5, Just(usize::MAX)], 3),
        lens in prop::collection::vec(0usize..40, 4),
    ) {
        let v = |i: usize| vec![0.5f32; lens[i]];
        let (x, y0, g) = (v(0), v(1), v(2));
        let (mut y, mut gx) = (v(1), v(3));
        for a in [act, Activation::LeakyRelu { alpha }, Activation::Elu { alpha }] {
            let _ = activation::forward(&a, &x, &mut y);
            let _ = activation::forward_in_place(&a, &mut y);
            let _ = activation::backward(&a, &x, &y0, &g, &mut gx);
        }
        let p = Axis { outer: dims[0], axis: dims[1], inner: dims[2] };
        let _ = softmax::forward(&p, &x, &mut y);
        let _ = softmax::backward(&p, &y0, &g, &mut gx);
        let _ = log_softmax::forward(&p, &x, &mut y);
        let _ = log_softmax::backward(&p, &y0, &g, &mut gx);
    }
}

/// Softmax of a lane equal everywhere is uniform; log-softmax of it is −ln n.
#[test]
fn uniform_lanes() {
    let p = Axis::last(2, 4);
    let x = [3.0f32; 8];
    let mut y = [0.0; 8];
    softmax::forward(&p, &x, &mut y).unwrap();
    assert!(y.iter().all(|&v| (v - 0.25).abs() < 1e-7));
    log_softmax::forward(&p, &x, &mut y).unwrap();
    assert!(y.iter().all(|&v| (v + 4f32.ln()).abs() < 1e-6));
}
