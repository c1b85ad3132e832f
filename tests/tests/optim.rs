//! The optimisers, penalties and gradient clipping.
//!
//! - Fixed small cases whose expected values were worked out by hand from the published
//!   update rules (PyTorch's documentation of `SGD`, `Adam`, `AdamW`, `RMSprop`,
//!   `Adagrad`), with the arithmetic in the comments.
//! - Properties over random hyper-parameters, parameters and gradient sequences against
//!   the f64 re-implementation of PyTorch's single-tensor updates in
//!   `mote_tests::reference::train`, after every step.
//! - Penalties against their f64 values and finite differences; clipping by value and by
//!   global norm; invalid arguments are errors and nothing panics.

use mote_core::{Error, ErrorKind};
use mote_kernels::optim::{adagrad, adam, clip, penalty, rmsprop, sgd};
use mote_tests::check::{assert_close, assert_gradient, widen};
use mote_tests::config;
use mote_tests::reference::train as reference;
use mote_tests::strategy::values;
use proptest::prelude::*;

/// Hand-worked values are exact decimals or rounded to 1e-9; the kernels store f32
/// (ulp ≤ 2.4e-7 below 2) after a handful of roundings per step: 1e-6 absolute.
const HAND: f64 = 1e-6;

fn assert_params(what: &str, got: &[f32], want: &[f64]) {
    assert_close(what, got, want, HAND, 0.0);
}

// ---- worked by hand -------------------------------------------------------------------

#[test]
fn sgd_nesterov_with_weight_decay_by_hand() {
    // lr 0.1, μ 0.9, wd 0.1, Nesterov, dampening 0; p = (1, −2).
    let cfg = sgd::Params {
        momentum: 0.9,
        nesterov: true,
        weight_decay: 0.1,
        ..sgd::Params::default()
    };
    let mut p = [1.0f32, -2.0];
    let mut b = [0.0f32; 2];
    // t = 1, g = (0.5, 1):
    //   d = g + 0.1·p = (0.5 + 0.1, 1 − 0.2) = (0.6, 0.8);  b = d = (0.6, 0.8)
    //   d + 0.9·b = (0.6 + 0.54, 0.8 + 0.72) = (1.14, 1.52)
    //   p = (1 − 0.114, −2 − 0.152) = (0.886, −2.152)
    sgd::step(&cfg, 0.1, 1, &mut p, &[0.5, 1.0], &mut b).unwrap();
    assert_params("sgd t=1 b", &b, &[0.6, 0.8]);
    assert_params("sgd t=1", &p, &[0.886, -2.152]);
    // t = 2, g = (−1, 0):
    //   d = (−1 + 0.0886, 0 − 0.2152) = (−0.9114, −0.2152)
    //   b = 0.9·(0.6, 0.8) + d = (0.54 − 0.9114, 0.72 − 0.2152) = (−0.3714, 0.5048)
    //   d + 0.9·b = (−0.9114 − 0.33426, −0.2152 + 0.45432) = (−1.24566, 0.23912)
    //   p = (0.886 + 0.124566, −2.152 − 0.023912) = (1.010566, −2.175912)
    sgd::step(&cfg, 0.1, 2, &mut p, &[-1.0, 0.0], &mut b).unwrap();
    assert_params("sgd t=2 b", &b, &[-0.3714, 0.5048]);
    assert_params("sgd t=2", &p, &[1.010566, -2.175912]);
    // t = 3, g = (0.25, 0.5):
    //   d = (0.25 + 0.1010566, 0.5 − 0.2175912) = (0.3510566, 0.2824088)
    //   b = 0.9·(−0.3714, 0.5048) + d = (−0.33426 + 0.3510566, 0.45432 + 0.2824088)
    //     = (0.0167966, 0.7367288)
    //   d + 0.9·b = (0.3510566 + 0.01511694, 0.2824088 + 0.66305592)
    //             = (0.36617354, 0.94546472)
    //   p = (1.010566 − 0.036617354, −2.175912 − 0.094546472) = (0.973948646, −2.270458472)
    sgd::step(&cfg, 0.1, 3, &mut p, &[0.25, 0.5], &mut b).unwrap();
    assert_params("sgd t=3 b", &b, &[0.0167966, 0.7367288]);
    assert_params("sgd t=3", &p, &[0.973948646, -2.270458472]);
}

/// β₁ = 0.5 and β₂ = 0.75 keep the bias corrections round numbers.
fn adam_by_hand_cfg() -> adam::Params {
    adam::Params {
        beta1: 0.5,
        beta2: 0.75,
        ..adam::Params::adam()
    }
}

#[test]
fn adam_with_bias_correction_by_hand() {
    // lr 0.1, β (0.5, 0.75), ε 1e-8 (moves the results by < 1e-8); p = (1, −1).
    let cfg = adam_by_hand_cfg();
    let mut p = [1.0f32, -1.0];
    let mut s = [0.0f32; 4]; // [m | v]
    // t = 1, g = (1, −2):
    //   m = 0.5·g = (0.5, −1);  v = 0.25·g² = (0.25, 1)
    //   1 − β₁ = 0.5, 1 − β₂ = 0.25: m̂ = (1, −2), √v̂ = √(1, 4) = (1, 2)
    //   p −= 0.1·(1/1, −2/2) → p = (0.9, −0.9)
    adam::step(&cfg, 0.1, 1, &mut p, &[1.0, -2.0], &mut s).unwrap();
    assert_params("adam t=1 [m|v]", &s, &[0.5, -1.0, 0.25, 1.0]);
    assert_params("adam t=1", &p, &[0.9, -0.9]);
    // t = 2, g = (2, 0):
    //   m = 0.5·(0.5, −1) + 0.5·(2, 0) = (1.25, −0.5)
    //   v = 0.75·(0.25, 1) + 0.25·(4, 0) = (1.1875, 0.75)
    //   1 − β₁² = 0.75, 1 − β₂² = 0.4375
    //   √v/√0.4375 = (1.0897247/0.6614378, 0.8660254/0.6614378) = (1.6475090, 1.3093074)
    //   p −= (0.1/0.75)·(1.25/1.6475090, −0.5/1.3093074) = (0.1011628, −0.0509175)
    //   p = (0.7988372, −0.8490825)
    adam::step(&cfg, 0.1, 2, &mut p, &[2.0, 0.0], &mut s).unwrap();
    assert_params("adam t=2 [m|v]", &s, &[1.25, -0.5, 1.1875, 0.75]);
    assert_params("adam t=2", &p, &[0.798837172, -0.849082493]);
}

#[test]
fn adamw_decoupled_decay_by_hand() {
    // As above with decoupled weight decay 0.5: before each update p ← p·(1 − 0.1·0.5),
    // and the moments, which never see p, are the same.
    let cfg = adam::Params {
        weight_decay: 0.5,
        decay: adam::Decay::Decoupled,
        ..adam_by_hand_cfg()
    };
    let mut p = [1.0f32, -1.0];
    let mut s = [0.0f32; 4];
    // t = 1: p = (0.95, −0.95) − (0.1, −0.1) = (0.85, −0.85)
    adam::step(&cfg, 0.1, 1, &mut p, &[1.0, -2.0], &mut s).unwrap();
    assert_params("adamw t=1", &p, &[0.85, -0.85]);
    // t = 2: p = (0.8075, −0.8075) − (0.1011628, −0.0509175) = (0.7063372, −0.7565825)
    adam::step(&cfg, 0.1, 2, &mut p, &[2.0, 0.0], &mut s).unwrap();
    assert_params("adamw t=2", &p, &[0.706337172, -0.756582493]);
    // The same steps with L2 decay instead feed 0.5·p into the gradient:
    // t = 1, g' = (1 + 0.5, −2 − 0.5) = (1.5, −2.5): still a step of lr·sign → (0.9, −0.9).
    let l2 = adam::Params {
        decay: adam::Decay::L2,
        ..cfg
    };
    let mut p = [1.0f32, -1.0];
    adam::step(&l2, 0.1, 1, &mut p, &[1.0, -2.0], &mut s).unwrap();
    assert_params("adam-l2 t=1", &p, &[0.9, -0.9]);
}

#[test]
fn rmsprop_centered_with_momentum_by_hand() {
    // lr 0.1, α 0.5, μ 0.5, centered, ε 1e-8 (moves the results by < 1e-8); p = (1, −1).
    let cfg = rmsprop::Params {
        alpha: 0.5,
        momentum: 0.5,
        centered: true,
        ..rmsprop::Params::default()
    };
    let mut p = [1.0f32, -1.0];
    let mut s = [0.0f32; 6]; // [v | b | ḡ]
    // t = 1, g = (2, −1):
    //   v = 0.5·g² = (2, 0.5);  ḡ = 0.5·g = (1, −0.5)
    //   v − ḡ² = (2 − 1, 0.5 − 0.25) = (1, 0.25), √ = (1, 0.5)
    //   b = g/√ = (2, −2);  p = (1 − 0.2, −1 + 0.2) = (0.8, −0.8)
    rmsprop::step(&cfg, 0.1, 1, &mut p, &[2.0, -1.0], &mut s).unwrap();
    assert_params("rmsprop t=1 [v|b|ḡ]", &s, &[2.0, 0.5, 2.0, -2.0, 1.0, -0.5]);
    assert_params("rmsprop t=1", &p, &[0.8, -0.8]);
    // t = 2, g = (1, 1):
    //   v = 0.5·(2, 0.5) + 0.5·(1, 1) = (1.5, 0.75);  ḡ = 0.5·(1, −0.5) + 0.5·(1, 1) = (1, 0.25)
    //   v − ḡ² = (0.5, 0.6875), √ = (0.70710678, 0.82915620)
    //   g/√ = (1.41421356, 1.20604538)
    //   b = 0.5·(2, −2) + (1.41421356, 1.20604538) = (2.41421356, 0.20604538)
    //   p = (0.8 − 0.241421356, −0.8 − 0.020604538) = (0.558578644, −0.820604538)
    rmsprop::step(&cfg, 0.1, 2, &mut p, &[1.0, 1.0], &mut s).unwrap();
    assert_params(
        "rmsprop t=2 [v|b|ḡ]",
        &s,
        &[1.5, 0.75, 2.41421356, 0.20604538, 1.0, 0.25],
    );
    assert_params("rmsprop t=2", &p, &[0.558578644, -0.820604538]);
}

#[test]
fn adagrad_by_hand() {
    // lr 0.1, lr_decay 0.5, initial accumulator 7, ε 1e-10; p = (1, −1).
    let cfg = adagrad::Params {
        lr_decay: 0.5,
        initial_accumulator_value: 7.0,
        ..adagrad::Params::default()
    };
    let mut p = [1.0f32, -1.0];
    let mut s = [0.0f32; 2];
    // t = 1, lr₁ = 0.1, g = (3, −3): S = 7 + 9 = (16, 16), √S = 4
    //   p = (1 − 0.1·3/4, −1 + 0.1·3/4) = (0.925, −0.925)
    adagrad::step(&cfg, 0.1, 1, &mut p, &[3.0, -3.0], &mut s).unwrap();
    assert_params("adagrad t=1 S", &s, &[16.0, 16.0]);
    assert_params("adagrad t=1", &p, &[0.925, -0.925]);
    // t = 2, lr₂ = 0.1/(1 + 0.5) = 0.0666…, g = (−3, 0): S = (25, 16), √S = (5, 4)
    //   p = (0.925 + 0.0666…·3/5, −0.925) = (0.965, −0.925)
    adagrad::step(&cfg, 0.1, 2, &mut p, &[-3.0, 0.0], &mut s).unwrap();
    assert_params("adagrad t=2", &p, &[0.965, -0.925]);
    // t = 3, lr₃ = 0.1/(1 + 1) = 0.05, g = (12, 3): S = (25 + 144, 16 + 9) = (169, 25)
    //   p = (0.965 − 0.05·12/13, −0.925 − 0.05·3/5) = (0.965 − 0.0461538, −0.955)
    //     = (0.9188462, −0.955)
    adagrad::step(&cfg, 0.1, 3, &mut p, &[12.0, 3.0], &mut s).unwrap();
    assert_params("adagrad t=3 S", &s, &[169.0, 25.0]);
    assert_params("adagrad t=3", &p, &[0.918846154, -0.955]);
}

// ---- against the f64 reference --------------------------------------------------------

/// Parameters after each step within `1e-5·(|p| + Σ|Δp|)` of the reference, `Σ|Δp|` the
/// reference's total movement so far. Each step's update costs ~10 f32 roundings,
/// amplified at most ~30× by the conditioning these strategies allow (the centered
/// RMSprop variance `v − ḡ²` keeps ≥ α^t ≥ 1/64 of `v`; see `rmsprop_cfg`), on top of one
/// rounding of `p` per step: well within 1e-5 of the magnitudes involved.
fn assert_tracks(what: &str, t: u64, got: &[f32], want: &[f64], movement: &[f64]) {
    for (i, ((&g, &w), &m)) in got.iter().zip(want).zip(movement).enumerate() {
        let tol = 1e-5 * (w.abs() + m);
        assert!(
            (g as f64 - w).abs() <= tol,
            "{what} step {t} [{i}]: got {g}, want {w} (tolerance {tol:e})"
        );
    }
}

/// A run: starting parameters, one gradient per step, and a learning rate.
#[derive(Debug, Clone)]
struct Run {
    p0: Vec<f32>,
    grads: Vec<Vec<f32>>,
    lr: f32,
}

/// 1..=8 parameters in [-2, 2], 1..=6 steps of gradients in [-1, 1] (some exactly 0),
/// learning rate in [1e-4, 0.3].
fn run() -> impl Strategy<Value = Run> {
    (1usize..=8, 1usize..=6).prop_flat_map(|(n, steps)| {
        let grad = prop_oneof![9 => -1.0f32..=1.0, 1 => Just(0.0f32)];
        (
            values(n, 2.0),
            prop::collection::vec(prop::collection::vec(grad, n), steps),
            1e-4f32..=0.3,
        )
            .prop_map(|(p0, grads, lr)| Run { p0, grads, lr })
    })
}

/// An optimiser kernel with its configuration bound: `(t, params, grads, state)`.
type KernelStep<'a> = &'a mut dyn FnMut(u64, &mut [f32], &[f32], &mut [f32]);
/// A reference update with its configuration and state bound: `(t, params, grads)`.
type ReferenceStep<'a> = &'a mut dyn FnMut(u64, &mut [f64], &[f64]);

/// Drives the kernel and the reference through a run and compares after every step.
fn track(
    what: &str,
    r: &Run,
    state_len: usize,
    kernel: KernelStep,
    reference: ReferenceStep,
) -> Vec<f32> {
    let mut p = r.p0.clone();
    let mut p64 = widen(&r.p0);
    // Garbage in the state: step 1 must initialise it.
    let mut state = vec![f32::NAN; state_len];
    let mut movement = vec![0.0f64; p.len()];
    for (i, g) in r.grads.iter().enumerate() {
        let t = i as u64 + 1;
        let before = p64.clone();
        kernel(t, &mut p, g, &mut state);
        reference(t, &mut p64, &widen(g));
        for ((m, a), b) in movement.iter_mut().zip(&p64).zip(&before) {
            *m += (a - b).abs();
        }
        assert_tracks(what, t, &p, &p64, &movement);
    }
    state
}

fn sgd_cfg() -> impl Strategy<Value = sgd::Params> {
    (
        prop_oneof![Just(0.0f32), 0.0f32..0.99],
        prop_oneof![Just(0.0f32), 0.0f32..=1.0],
        any::<bool>(),
        prop_oneof![Just(0.0f32), 0.0f32..0.1],
    )
        .prop_map(|(momentum, dampening, nesterov, weight_decay)| {
            let nesterov = nesterov && momentum > 0.0;
            sgd::Params {
                momentum,
                dampening: if nesterov { 0.0 } else { dampening },
                nesterov,
                weight_decay,
            }
        })
}

fn adam_cfg() -> impl Strategy<Value = adam::Params> {
    (
        0.0f32..0.99,
        prop_oneof![Just(0.999f32), 0.5f32..0.9999],
        prop_oneof![Just(1e-8f32), 1e-8f32..1e-3],
        prop_oneof![Just(0.0f32), 0.0f32..0.1],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(beta1, beta2, eps, weight_decay, decoupled, amsgrad)| adam::Params {
                beta1,
                beta2,
                eps,
                weight_decay,
                decay: if decoupled {
                    adam::Decay::Decoupled
                } else {
                    adam::Decay::L2
                },
                amsgrad,
            },
        )
}

/// Centered runs use α ≥ 0.5: with α → 0 the centered variance is the difference of two
/// nearly equal squares (0 in exact arithmetic at α = 0), which no f32 kernel resolves.
fn rmsprop_cfg() -> impl Strategy<Value = rmsprop::Params> {
    (
        prop_oneof![Just(0.99f32), 0.0f32..0.999],
        prop_oneof![Just(1e-8f32), 1e-8f32..1e-3],
        prop_oneof![Just(0.0f32), 0.0f32..0.1],
        prop_oneof![Just(0.0f32), 0.0f32..0.95],
        any::<bool>(),
    )
        .prop_map(
            |(alpha, eps, weight_decay, momentum, centered)| rmsprop::Params {
                alpha: if centered { alpha.max(0.5) } else { alpha },
                eps,
                weight_decay,
                momentum,
                centered,
            },
        )
}

fn adagrad_cfg() -> impl Strategy<Value = adagrad::Params> {
    (
        prop_oneof![Just(0.0f32), 0.0f32..1.0],
        prop_oneof![Just(0.0f32), 0.0f32..0.1],
        prop_oneof![Just(0.0f32), 0.0f32..2.0],
        prop_oneof![Just(1e-10f32), 1e-10f32..1e-3],
    )
        .prop_map(
            |(lr_decay, weight_decay, initial_accumulator_value, eps)| adagrad::Params {
                lr_decay,
                weight_decay,
                initial_accumulator_value,
                eps,
            },
        )
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn sgd_tracks_reference(cfg in sgd_cfg(), r in run()) {
        let mut buf = None;
        let lr = r.lr;
        let state = track(
            "sgd", &r, sgd::state_len(&cfg, r.p0.len()),
            &mut |t, p, g, s| sgd::step(&cfg, lr, t, p, g, s).unwrap(),
            &mut |_, p, g| reference::sgd_step(&cfg, lr as f64, p, g, &mut buf),
        );
        if let Some(b) = buf {
            assert_close("sgd momentum buffer", &state, &b, 1e-6, 1e-5);
        }
    }

    #[test]
    fn adam_tracks_reference(cfg in adam_cfg(), r in run()) {
        let mut s64 = reference::AdamState::default();
        let lr = r.lr;
        let n = r.p0.len();
        let state = track(
            "adam", &r, adam::state_len(&cfg, n),
            &mut |t, p, g, s| adam::step(&cfg, lr, t, p, g, s).unwrap(),
            &mut |t, p, g| reference::adam_step(&cfg, lr as f64, t, p, g, &mut s64),
        );
        // Layout [m | v | v̂]: moments of gradients ≤ 1 (+ wd·p), to 1e-6.
        assert_close("adam m", &state[..n], &s64.m, 1e-6, 1e-5);
        assert_close("adam v", &state[n..2 * n], &s64.v, 1e-6, 1e-5);
        if cfg.amsgrad {
            assert_close("adam v̂", &state[2 * n..], &s64.v_max, 1e-6, 1e-5);
        }
    }

    #[test]
    fn rmsprop_tracks_reference(cfg in rmsprop_cfg(), r in run()) {
        let mut s64 = reference::RmspropState::default();
        let lr = r.lr;
        let n = r.p0.len();
        let state = track(
            "rmsprop", &r, rmsprop::state_len(&cfg, n),
            &mut |t, p, g, s| rmsprop::step(&cfg, lr, t, p, g, s).unwrap(),
            &mut |_, p, g| reference::rmsprop_step(&cfg, lr as f64, p, g, &mut s64),
        );
        // Layout [v | b | ḡ], b and ḡ only when enabled. The averages of gradients ≤ 1.2
        // are compared to 1e-6; the momentum buffer b, whose scale is set by 1/√variance,
        // is checked through the parameters it moves.
        assert_close("rmsprop v", &state[..n], &s64.square_avg, 1e-6, 1e-5);
        if cfg.centered {
            let offset = if cfg.momentum > 0.0 { 2 * n } else { n };
            assert_close("rmsprop ḡ", &state[offset..], &s64.grad_avg, 1e-6, 1e-5);
        }
    }

    #[test]
    fn adagrad_tracks_reference(cfg in adagrad_cfg(), r in run()) {
        let mut s64 = Vec::new();
        let lr = r.lr;
        let state = track(
            "adagrad", &r, adagrad::state_len(&cfg, r.p0.len()),
            &mut |t, p, g, s| adagrad::step(&cfg, lr, t, p, g, s).unwrap(),
            &mut |t, p, g| reference::adagrad_step(&cfg, lr as f64, t, p, g, &mut s64),
        );
        assert_close("adagrad S", &state, &s64, 1e-6, 1e-5);
    }

    /// A zero learning rate leaves parameters exactly as they are (AdamW's decay
    /// included), whatever the state does.
    #[test]
    fn zero_lr_is_a_no_op(
        sgd_c in sgd_cfg(), adam_c in adam_cfg(), rms_c in rmsprop_cfg(), ada_c in adagrad_cfg(),
        r in run(),
    ) {
        let n = r.p0.len();
        for (t, g) in r.grads.iter().enumerate() {
            let t = t as u64 + 1;
            let mut p = r.p0.clone();
            sgd::step(&sgd_c, 0.0, t, &mut p, g, &mut vec![0.0; sgd::state_len(&sgd_c, n)]).unwrap();
            adam::step(&adam_c, 0.0, t, &mut p, g, &mut vec![0.0; adam::state_len(&adam_c, n)]).unwrap();
            rmsprop::step(&rms_c, 0.0, t, &mut p, g, &mut vec![0.0; rmsprop::state_len(&rms_c, n)]).unwrap();
            adagrad::step(&ada_c, 0.0, t, &mut p, g, &mut vec![0.0; n]).unwrap();
            prop_assert_eq!(&p, &r.p0);
        }
    }

    // ---- penalties ----------------------------------------------------------------------

    /// Values within f32 rounding of the f64 sums (≤ 8 terms ≤ 4); gradients match finite
    /// differences of the f64 values (parameters ≥ 0.01 from L1's kink at 0) and are
    /// added to the buffer.
    #[test]
    fn penalties(
        p in prop::collection::vec((0.01f32..2.0, any::<bool>()).prop_map(|(m, neg)| if neg { -m } else { m }), 1..8),
        lambda in prop_oneof![Just(0.0f32), 0.0f32..1.0],
    ) {
        let p64 = widen(&p);
        let l = lambda as f64;
        assert_close("l1", &[penalty::l1(lambda, &p).unwrap()], &[reference::l1(l, &p64)], 1e-6, 1e-6);
        assert_close("l2", &[penalty::l2(lambda, &p).unwrap()], &[reference::l2(l, &p64)], 1e-6, 1e-6);
        let mut g1 = vec![0.0; p.len()];
        penalty::l1_grad(lambda, &p, &mut g1).unwrap();
        assert_gradient("l1 gradient", &g1, &mut |x| reference::l1(l, x), &p64, 1e-3);
        let mut g2 = vec![0.0; p.len()];
        penalty::l2_grad(lambda, &p, &mut g2).unwrap();
        assert_gradient("l2 gradient", &g2, &mut |x| reference::l2(l, x), &p64, 1e-3);
        // Accumulation: a second call adds the same again, exactly.
        penalty::l2_grad(lambda, &p, &mut g2).unwrap();
        penalty::l1_grad(lambda, &p, &mut g1).unwrap();
        for (i, &v) in p.iter().enumerate() {
            prop_assert_eq!(g2[i], 2.0 * lambda * v);
            prop_assert_eq!(g1[i], 2.0 * lambda * v.signum());
        }
    }

    // ---- clipping -----------------------------------------------------------------------

    /// Clipping by value is a clamp, exactly.
    #[test]
    fn clip_by_value(mut g in values(12, 5.0), limit in prop_oneof![Just(0.0f32), 0.0f32..4.0]) {
        let want: Vec<f32> = g.iter().map(|v| v.clamp(-limit, limit)).collect();
        clip::by_value(limit, &mut g).unwrap();
        prop_assert_eq!(g, want);
    }

    /// Over 1..4 slices of 0..8 values at scales from 1e-3 to 1e3 (and 1e25, whose
    /// squares overflow f32): the returned norm is the f64 global norm (a sum of ≤ 32
    /// squares: 1e-5 relative); afterwards the norm is ≤ max (up to f32 rounding of the
    /// scaling, 1e-5 relative) and every value is the original times one common factor
    /// `max/(norm + 1e-6)` (the direction is kept); below the bound nothing changes.
    #[test]
    fn clip_by_global_norm(
        grads in prop::collection::vec(prop::collection::vec(-1.0f32..=1.0, 0..8), 1..4),
        scale in prop_oneof![Just(1e-3f32), Just(1.0f32), Just(30.0f32), Just(1e3f32), Just(1e25f32)],
        max_norm in prop_oneof![Just(0.0f32), 0.0f32..10.0, Just(1e30f32)],
    ) {
        let mut grads: Vec<Vec<f32>> = grads.iter().map(|s| s.iter().map(|v| v * scale).collect()).collect();
        let before = grads.clone();
        let wide: Vec<Vec<f64>> = before.iter().map(|s| widen(s)).collect();
        let want_norm = reference::global_norm(&wide);
        let norm = clip::by_global_norm(max_norm, &mut grads).unwrap();
        assert_close("pre-clip norm", &[norm], &[want_norm], 0.0, 1e-5);
        let after: Vec<Vec<f64>> = grads.iter().map(|s| widen(s)).collect();
        let after_norm = reference::global_norm(&after);
        let max = max_norm as f64;
        let coef = max / (want_norm + 1e-6);
        if grads != before {
            // Clipped: only when the factor is below 1 (up to the f32 rounding of the
            // factor itself, which decides at the boundary).
            prop_assert!(coef < 1.0 + 1e-5, "clipped with factor {}", coef);
            prop_assert!(after_norm <= max * (1.0 + 1e-5), "norm {} after clipping to {}", after_norm, max);
            for (a, b) in grads.iter().zip(&wide) {
                let want: Vec<f64> = b.iter().map(|v| v * coef).collect();
                assert_close("clipped", a, &want, 0.0, 1e-5);
            }
        } else {
            // Unchanged: the factor is at least 1, or every value is 0 (which any
            // factor leaves as it is).
            prop_assert!(coef > 1.0 - 1e-5 || want_norm == 0.0, "unclipped with factor {}", coef);
        }
    }

    // ---- invalid arguments --------------------------------------------------------------

    /// Arbitrary hyper-parameters (NaN, infinite, negative), learning rates, step counts
    /// and slice lengths: every kernel returns, never panics; the errors every optimiser
    /// must report (negative or NaN lr, t = 0, gradient length) are reported.
    #[test]
    fn never_panics(
        h in prop::collection::vec(prop_oneof![any::<f32>(), -1.0f32..2.0, Just(0.0f32), Just(f32::NAN)], 6),
        flags in prop::collection::vec(any::<bool>(), 3),
        lr in prop_oneof![any::<f32>(), -1.0f32..1.0, Just(f32::NAN)],
        t in prop_oneof![Just(0u64), 1u64..4, any::<u64>()],
        lens in prop::collection::vec(0usize..10, 3),
    ) {
        let mut p = vec![0.5f32; lens[0]];
        let g = vec![0.25f32; lens[1]];
        let mut s = vec![0.0f32; lens[2]];
        let must_fail = !(lr >= 0.0 && lr.is_finite()) || t == 0 || lens[0] != lens[1];
        let results = [
            sgd::step(&sgd::Params { momentum: h[0], dampening: h[1], nesterov: flags[0], weight_decay: h[2] }, lr, t, &mut p, &g, &mut s),
            adam::step(&adam::Params {
                beta1: h[0], beta2: h[1], eps: h[2], weight_decay: h[3],
                decay: if flags[0] { adam::Decay::Decoupled } else { adam::Decay::L2 }, amsgrad: flags[1],
            }, lr, t, &mut p, &g, &mut s),
            rmsprop::step(&rmsprop::Params { alpha: h[0], eps: h[1], weight_decay: h[2], momentum: h[3], centered: flags[2] }, lr, t, &mut p, &g, &mut s),
            adagrad::step(&adagrad::Params { lr_decay: h[0], weight_decay: h[1], initial_accumulator_value: h[2], eps: h[3] }, lr, t, &mut p, &g, &mut s),
        ];
        for r in results {
            if must_fail {
                prop_assert!(r.is_err());
            }
        }
        let _ = penalty::l1(h[4], &p);
        let _ = penalty::l2(h[4], &p);
        let r1 = penalty::l1_grad(h[4], &p, &mut s);
        let r2 = penalty::l2_grad(h[5], &p, &mut s);
        if lens[0] != lens[2] {
            prop_assert!(r1.is_err() && r2.is_err());
        }
        let _ = clip::by_value(h[4], &mut s);
        let _ = clip::by_global_norm(h[5], &mut [&mut p[..], &mut s[..]]);
    }
}

#[test]
fn invalid_hyper_parameters_are_errors() {
    let invalid = |at| Err(Error::new(ErrorKind::InvalidFloat, at));
    let (mut p, g) = ([0.0f32; 2], [0.0f32; 2]);
    let mut s = [0.0f32; 6];
    let bad_sgd = [
        (
            sgd::Params {
                momentum: -0.1,
                ..Default::default()
            },
            "sgd: momentum",
        ),
        (
            sgd::Params {
                dampening: 1.5,
                ..Default::default()
            },
            "sgd: dampening",
        ),
        (
            sgd::Params {
                weight_decay: f32::NAN,
                ..Default::default()
            },
            "sgd: weight_decay",
        ),
        (
            sgd::Params {
                momentum: 0.9,
                dampening: 0.1,
                nesterov: true,
                ..Default::default()
            },
            "sgd: nesterov",
        ),
    ];
    for (cfg, at) in bad_sgd {
        assert_eq!(cfg.validate(), invalid(at));
        assert_eq!(
            sgd::step(&cfg, 0.1, 1, &mut p, &g, &mut s[..2]),
            invalid(at)
        );
    }
    for (cfg, at) in [
        (
            adam::Params {
                beta1: 1.0,
                ..adam::Params::adam()
            },
            "adam: beta1",
        ),
        (
            adam::Params {
                beta2: -0.5,
                ..adam::Params::adamw()
            },
            "adam: beta2",
        ),
        (
            adam::Params {
                eps: -1e-8,
                ..adam::Params::adam()
            },
            "adam: eps",
        ),
        (
            adam::Params {
                weight_decay: f32::INFINITY,
                ..adam::Params::adamw()
            },
            "adam: weight_decay",
        ),
    ] {
        assert_eq!(
            adam::step(&cfg, 0.1, 1, &mut p, &g, &mut s[..4]),
            invalid(at)
        );
    }
    let rms = rmsprop::Params {
        alpha: 1.5,
        ..Default::default()
    };
    assert_eq!(
        rmsprop::step(&rms, 0.1, 1, &mut p, &g, &mut s[..2]),
        invalid("rmsprop: alpha")
    );
    let ada = adagrad::Params {
        lr_decay: -1.0,
        ..Default::default()
    };
    assert_eq!(
        adagrad::step(&ada, 0.1, 1, &mut p, &g, &mut s[..2]),
        invalid("adagrad: lr_decay")
    );
    // Shared arguments.
    let cfg = adam::Params::default();
    assert_eq!(
        adam::step(&cfg, -0.1, 1, &mut p, &g, &mut s[..4]),
        invalid("adam: lr")
    );
    assert_eq!(
        adam::step(&cfg, 0.1, 0, &mut p, &g, &mut s[..4]),
        Err(Error::zero("adam: t"))
    );
    assert_eq!(
        adam::step(&cfg, 0.1, 1, &mut p, &g[..1], &mut s[..4]),
        Err(Error::length("adam: grads", 2, 1))
    );
    assert_eq!(
        adam::step(&cfg, 0.1, 1, &mut p, &g, &mut s[..3]),
        Err(Error::length("adam: state", 4, 3))
    );
    assert_eq!(
        clip::by_global_norm(-1.0, &mut [&mut p[..]]),
        Err(Error::new(
            ErrorKind::InvalidFloat,
            "clip::by_global_norm: max_norm"
        ))
    );
    assert_eq!(
        clip::by_value(f32::NAN, &mut p),
        invalid("clip::by_value: limit")
    );
    // Parameters are untouched by a failed step.
    assert_eq!(p, [0.0; 2]);
}

/// PyTorch's documented defaults.
#[test]
fn defaults_are_pytorch_defaults() {
    assert_eq!(
        sgd::Params::default(),
        sgd::Params {
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0
        }
    );
    let a = adam::Params::default();
    assert_eq!(
        (a.beta1, a.beta2, a.eps, a.weight_decay),
        (0.9, 0.999, 1e-8, 0.0)
    );
    assert_eq!((a.decay, a.amsgrad), (adam::Decay::L2, false));
    let w = adam::Params::adamw();
    assert_eq!((w.weight_decay, w.decay), (0.01, adam::Decay::Decoupled));
    let r = rmsprop::Params::default();
    assert_eq!(
        (r.alpha, r.eps, r.weight_decay, r.momentum, r.centered),
        (0.99, 1e-8, 0.0, 0.0, false)
    );
    let g = adagrad::Params::default();
    assert_eq!(
        (
            g.lr_decay,
            g.weight_decay,
            g.initial_accumulator_value,
            g.eps
        ),
        (0.0, 0.0, 0.0, 1e-10)
    );
}
