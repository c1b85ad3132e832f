//! The losses against their f64 references (`mote_tests::reference::train`), over
//! random shapes: every value within f32 rounding of the reference, every gradient
//! within relative error 1e-3 of central finite differences of the f64 loss, the
//! gradient *added* to what the buffer held, the value identical with and without a
//! gradient, and the sum reduction equal to the mean times its count. Then the special
//! properties: the fused softmax + cross-entropy gradient is `(softmax − onehot) / B`,
//! BCE with logits stays finite and exact for logits up to ±100, labels out of range
//! are errors, and arbitrary parameters never panic.
//!
//! Finite-difference checks need inputs where they are meaningful, as max-pool needs
//! tie-free inputs: MAE and Huber differences are kept 0.01 away from their kinks,
//! probabilities away from the clamp, and for the losses whose gradient is a difference
//! of two O(1) quantities (`σ(x) − t`, `softmax(x) − t`) the inputs are moved until no
//! gradient component is within a small margin of 0, where the f32 result (absolute
//! error ~1e-7) cannot meet a *relative* bound. Those near-cancelling points are still
//! checked, against the exact gradient with an absolute f32 bound, by
//! `softmax_ce_gradient_is_softmax_minus_onehot` and `bce_with_logits_is_finite_and_exact`.

use mote_core::rng::Rng;
use mote_core::{Error, ErrorKind, Result};
use mote_kernels::loss::{Params, Reduction, binary, categorical, regression};
use mote_tests::check::{assert_close, assert_gradient, numeric_gradient, widen};
use mote_tests::config;
use mote_tests::reference::train as reference;
use mote_tests::strategy::values;
use proptest::prelude::*;

// ---- the shared check -----------------------------------------------------------------

/// A loss kernel with its targets bound: `(params, prediction, grad) → loss`.
type Kernel<'a> = &'a dyn Fn(&Params, &[f32], Option<&mut [f32]>) -> Result<f32>;

/// Checks one loss at `x` (targets bound inside `kernel` and `reference`):
/// 1. the value is within `abs + rel·|want|` of the f64 reference;
/// 2. the value computed without a gradient is bit-identical;
/// 3. the gradient matches central differences of the reference (relative error 1e-3);
/// 4. the gradient is added to the buffer's previous contents (random values in
///    `[-1, 1]`): the result is within two f32 roundings of the exact sum (≤ 2.5e-7
///    relative, 4e-7 absolute for sums ≤ 2 that partly cancel);
/// 5. with [`Reduction::Sum`], the value is the mean times `count` (two roundings of
///    the scale: 1e-6 relative) and so is the gradient (plus, where the kernel adds two
///    scaled terms, two roundings of O(1) values: 4e-7 absolute).
fn check_loss(
    what: &str,
    p: Params,
    count: usize,
    kernel: Kernel,
    reference: &dyn Fn(&[f64]) -> f64,
    x: &[f32],
    seed: u64,
) {
    let (abs, rel) = VALUE_TOL;
    let n = x.len();
    let x64 = widen(x);
    let mut grad = vec![0.0f32; n];
    let value = kernel(&p, x, Some(&mut grad)).unwrap();
    assert_close(
        &format!("{what}: value"),
        &[value],
        &[reference(&x64)],
        abs,
        rel,
    );

    let alone = kernel(&p, x, None).unwrap();
    assert_eq!(
        alone.to_bits(),
        value.to_bits(),
        "{what}: value without gradient"
    );

    assert_gradient(
        &format!("{what}: gradient"),
        &grad,
        &mut |x| reference(x),
        &x64,
        1e-3,
    );

    let mut before = vec![0.0f32; n];
    Rng::new(seed).fill_uniform(&mut before, -1.0, 1.0);
    let mut acc = before.clone();
    kernel(&p, x, Some(&mut acc)).unwrap();
    let want: Vec<f64> = before
        .iter()
        .zip(&grad)
        .map(|(&b, &g)| b as f64 + g as f64)
        .collect();
    assert_close(
        &format!("{what}: accumulated gradient"),
        &acc,
        &want,
        4e-7,
        2.5e-7,
    );

    let sum = p.with_reduction(Reduction::Sum);
    let mut grad_sum = vec![0.0f32; n];
    let value_sum = kernel(&sum, x, Some(&mut grad_sum)).unwrap();
    let k = count as f64;
    assert_close(
        &format!("{what}: sum"),
        &[value_sum],
        &[value as f64 * k],
        1e-30,
        1e-6,
    );
    let scaled: Vec<f64> = grad.iter().map(|&g| g as f64 * k).collect();
    assert_close(
        &format!("{what}: sum gradient"),
        &grad_sum,
        &scaled,
        4e-7,
        1e-6,
    );
}

/// Moves the entries of `x` by 0.37 until no component of the exact gradient of `f` is
/// within `margin` of zero (see the module docs); false if 32 rounds did not suffice.
fn away_from_cancellation(x: &mut [f32], f: &mut dyn FnMut(&[f64]) -> f64, margin: f64) -> bool {
    for _ in 0..32 {
        let g = numeric_gradient(f, &widen(x), 1e-5);
        let mut clear = true;
        for (x, g) in x.iter_mut().zip(&g) {
            if g.abs() < margin {
                *x += 0.37;
                clear = false;
            }
        }
        if clear {
            return true;
        }
    }
    false
}

// ---- strategies -----------------------------------------------------------------------

/// Batch 1..=6, features (or classes) 1..=8.
fn shape() -> impl Strategy<Value = (usize, usize)> {
    (1usize..=6, 1usize..=8)
}

/// Predictions in [-2, 2] and signed differences whose magnitude is in [0.01, 1.5]: the
/// targets `x − d` stay 0.01 away from `x`, MAE's and Huber's kink.
fn regression_case() -> impl Strategy<Value = (Params, Vec<f32>, Vec<f32>)> {
    shape().prop_flat_map(|(b, f)| {
        let n = b * f;
        (
            Just(Params::new(b, f)),
            values(n, 2.0),
            prop::collection::vec((0.01f32..1.5, any::<bool>()), n),
        )
            .prop_map(|(p, x, d)| {
                let d = d
                    .into_iter()
                    .map(|(m, neg)| if neg { -m } else { m })
                    .collect();
                (p, x, d)
            })
    })
}

fn targets_from(x: &[f32], d: &[f32]) -> Vec<f32> {
    x.iter().zip(d).map(|(x, d)| x - d).collect()
}

/// Probabilities in [0.02, 0.98] (away from any clamp) and targets in [0, 1].
fn probability_case() -> impl Strategy<Value = (Params, Vec<f32>, Vec<f32>)> {
    shape().prop_flat_map(|(b, f)| {
        let n = b * f;
        (
            Just(Params::new(b, f)),
            prop::collection::vec(0.02f32..=0.98, n),
            prop::collection::vec(0.0f32..=1.0, n),
        )
    })
}

fn epsilon() -> impl Strategy<Value = f32> {
    prop_oneof![Just(binary::EPSILON), Just(1e-3f32), Just(0.01f32)]
}

fn smoothing() -> impl Strategy<Value = f32> {
    prop_oneof![Just(0.0f32), 0.0f32..=0.5, Just(1.0f32)]
}

/// Logits in [-4, 4] with one label per row.
fn labelled_logits() -> impl Strategy<Value = (Params, Vec<f32>, Vec<usize>)> {
    shape().prop_flat_map(|(b, f)| {
        (
            Just(Params::new(b, f)),
            values(b * f, 4.0),
            prop::collection::vec(0..f, b),
        )
    })
}

// ---- properties -----------------------------------------------------------------------

/// Values are sums of ≤ 48 terms of size ≤ 16 (MSE), ≤ 4 (MAE, Huber), ≤ 16 (BCE with
/// ε = 1e-7) and ≤ 8 per row (cross-entropies of logits in [-4, 4]): f32 rounding of
/// each term and of the sum stays below 1e-5 relative, and below 1e-5 absolute where
/// terms cancel (`lse − x`, `max(x, 0) − x·t`).
const VALUE_TOL: (f64, f64) = (1e-5, 1e-5);

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn mse((p, x, d) in regression_case(), seed in any::<u64>()) {
        let t = targets_from(&x, &d);
        let t64 = widen(&t);
        check_loss(
            "mse", p, x.len(),
            &|p, x, g| regression::mse(p, x, &t, g),
            &|x| reference::mse(x, &t64),
            &x, seed,
        );
    }

    #[test]
    fn mae((p, x, d) in regression_case(), seed in any::<u64>()) {
        let t = targets_from(&x, &d);
        let t64 = widen(&t);
        check_loss(
            "mae", p, x.len(),
            &|p, x, g| regression::mae(p, x, &t, g),
            &|x| reference::mae(x, &t64),
            &x, seed,
        );
    }

    /// δ in [0.1, 2]; differences within 0.01 of ±δ are pushed 0.02 further out.
    #[test]
    fn huber((p, x, d) in regression_case(), delta in 0.1f32..2.0, seed in any::<u64>()) {
        let d: Vec<f32> = d
            .iter()
            .map(|&d| if (d.abs() - delta).abs() < 0.01 { d + 0.02f32.copysign(d) } else { d })
            .collect();
        let t = targets_from(&x, &d);
        let t64 = widen(&t);
        check_loss(
            "huber", p, x.len(),
            &|p, x, g| regression::huber(p, delta, x, &t, g),
            &|x| reference::huber(x, &t64, delta as f64),
            &x, seed,
        );
    }

    #[test]
    fn bce((p, x, t) in probability_case(), eps in epsilon(), seed in any::<u64>()) {
        let t64 = widen(&t);
        check_loss(
            "bce", p, x.len(),
            &|p, x, g| binary::bce(p, eps, x, &t, g),
            &|x| reference::bce(x, &t64, eps),
            &x, seed,
        );
    }

    /// Clamped probabilities (0 and 1 mixed in): the value matches the reference's clamp
    /// and the gradient there is exactly 0.
    #[test]
    fn bce_clamps(
        (p, mut x, t) in probability_case(),
        eps in epsilon(),
        ends in prop::collection::vec(prop_oneof![Just(None), Just(Some(0.0f32)), Just(Some(1.0f32))], 48),
    ) {
        for (x, e) in x.iter_mut().zip(&ends) {
            if let Some(e) = e {
                *x = *e;
            }
        }
        let mut g = vec![0.0; x.len()];
        let value = binary::bce(&p, eps, &x, &t, Some(&mut g)).unwrap();
        prop_assert!(value.is_finite());
        assert_close("bce clamped", &[value], &[reference::bce(&widen(&x), &widen(&t), eps)], 1e-5, 1e-5);
        for ((&x, &g), e) in x.iter().zip(&g).zip(&ends) {
            if e.is_some() {
                prop_assert_eq!(g, 0.0, "clamped x = {}", x);
            }
        }
    }

    /// Logits in [-8, 8]; targets within 0.02 of σ(x) are moved 0.3 away from it.
    #[test]
    fn bce_with_logits(
        (p, x, t) in shape().prop_flat_map(|(b, f)| (
            Just(Params::new(b, f)), values(b * f, 8.0), prop::collection::vec(0.0f32..=1.0, b * f),
        )),
        seed in any::<u64>(),
    ) {
        let t: Vec<f32> = x
            .iter()
            .zip(&t)
            .map(|(&x, &t)| {
                let s = reference::sigmoid(x as f64) as f32;
                if (s - t).abs() >= 0.02 { t } else if s >= 0.5 { s - 0.3 } else { s + 0.3 }
            })
            .collect();
        let t64 = widen(&t);
        check_loss(
            "bce_with_logits", p, x.len(),
            &|p, x, g| binary::bce_with_logits(p, x, &t, g),
            &|x| reference::bce_with_logits(x, &t64),
            &x, seed,
        );
    }

    /// |x| up to 100: no overflow, the value within f32 rounding of the f64 softplus
    /// form (each term `max(x, 0) − x·t + ln(1 + e^−|x|)` costs about two roundings at
    /// magnitude ≤ 100, 8e-6, whatever the cancellation: 2e-5 absolute), and the
    /// gradient `(σ(x) − t)/N` within 4e-7/N (σ = 1/(1 + e) or e/(1 + e) costs three
    /// roundings of values ≤ 2, the subtraction and the scale one each), near-cancelling
    /// points included.
    #[test]
    fn bce_with_logits_is_finite_and_exact(
        (p, x, t) in shape().prop_flat_map(|(b, f)| (
            Just(Params::new(b, f)),
            prop::collection::vec(prop_oneof![-100.0f32..=100.0, Just(100.0f32), Just(-100.0f32)], b * f),
            prop::collection::vec(prop_oneof![0.0f32..=1.0, Just(0.0f32), Just(1.0f32)], b * f),
        )),
    ) {
        let n = x.len() as f64;
        let mut g = vec![0.0; x.len()];
        let value = binary::bce_with_logits(&p, &x, &t, Some(&mut g)).unwrap();
        prop_assert!(value.is_finite());
        assert_close("bce_with_logits value", &[value], &[reference::bce_with_logits(&widen(&x), &widen(&t))], 2e-5, 1e-5);
        let want: Vec<f64> = x.iter().zip(&t).map(|(&x, &t)| (reference::sigmoid(x as f64) - t as f64) / n).collect();
        assert_close("bce_with_logits gradient", &g, &want, 4e-7 / n, 0.0);
    }

    /// Probabilities in [0.02, 0.98], soft targets in [0, 1] (rows not normalised: the
    /// kernel takes them as given).
    #[test]
    fn categorical((p, x, t) in probability_case(), eps in epsilon(), seed in any::<u64>()) {
        let t64 = widen(&t);
        let c = p.features;
        check_loss(
            "categorical", p, p.batch,
            &|p, x, g| categorical::categorical(p, eps, x, &t, g),
            &|x| reference::categorical(x, &t64, c, eps),
            &x, seed,
        );
    }

    #[test]
    fn sparse_categorical(
        (p, x, labels) in shape().prop_flat_map(|(b, f)| (
            Just(Params::new(b, f)), prop::collection::vec(0.02f32..=0.98, b * f), prop::collection::vec(0..f, b),
        )),
        eps in epsilon(),
        seed in any::<u64>(),
    ) {
        let c = p.features;
        check_loss(
            "sparse_categorical", p, p.batch,
            &|p, x, g| categorical::sparse_categorical(p, eps, x, &labels, g),
            &|x| reference::sparse_categorical(x, &labels, c, eps),
            &x, seed,
        );
    }

    /// Dense targets: one-hot rows, or soft rows of total mass in [0.5, 2] (1 for a
    /// distribution; the loss `Σ t'(lse − x)` and its gradient `(Σt')·softmax − t'` hold for
    /// any mass), with label smoothing.
    #[test]
    fn softmax_cross_entropy(
        (p, mut x, weights, hot, mass) in shape().prop_flat_map(|(b, f)| (
            Just(Params::new(b, f)), values(b * f, 4.0), prop::collection::vec(0.01f32..=1.0, b * f),
            prop::option::of(prop::collection::vec(0..f, b)),
            prop_oneof![Just(1.0f32), 0.5f32..2.0],
        )),
        eps in smoothing(),
        seed in any::<u64>(),
    ) {
        let c = p.features;
        let t: Vec<f32> = match hot {
            Some(labels) => reference::one_hot(&labels, c).iter().map(|&v| v as f32).collect(),
            None => weights
                .chunks(c)
                .flat_map(|w| {
                    let s: f32 = w.iter().sum::<f32>() / mass;
                    w.iter().map(move |v| v / s)
                })
                .collect(),
        };
        let t64 = widen(&t);
        let f = |x: &[f64]| reference::softmax_cross_entropy(x, &t64, c, eps as f64);
        // One class: the loss is identically 0 and so is its gradient, exactly.
        if c > 1 {
            prop_assume!(away_from_cancellation(&mut x, &mut { f }, 5e-3 / p.batch as f64));
        }
        check_loss(
            "softmax_cross_entropy", p, p.batch,
            &|p, x, g| categorical::softmax_cross_entropy(p, eps, x, &t, g),
            &f,
            &x, seed,
        );
    }

    #[test]
    fn sparse_softmax_cross_entropy((p, mut x, labels) in labelled_logits(), eps in smoothing(), seed in any::<u64>()) {
        let c = p.features;
        let f = |x: &[f64]| reference::sparse_softmax_cross_entropy(x, &labels, c, eps as f64);
        if c > 1 {
            prop_assume!(away_from_cancellation(&mut x, &mut { f }, 5e-3 / p.batch as f64));
        }
        check_loss(
            "sparse_softmax_cross_entropy", p, p.batch,
            &|p, x, g| categorical::sparse_softmax_cross_entropy(p, eps, x, &labels, g),
            &f,
            &x, seed,
        );
    }

    /// Without smoothing the fused gradient is exactly `(softmax(x) − onehot) / B`, for
    /// dense one-hot targets and integer labels alike, over logits in [-8, 8]
    /// (near-cancelling points included). f32 bound on `s − t` for `s`, `t` ≤ 1: the
    /// positive sum of ≤ 8 exponentials errs by ≤ 7 half-ulps (4.2e-7 relative), the
    /// exp, reciprocal and product by ≤ 1.8e-7 more, the subtraction and the scale by
    /// one half-ulp each: 8e-7, then / B.
    #[test]
    fn softmax_ce_gradient_is_softmax_minus_onehot(
        (p, labels, x) in shape().prop_flat_map(|(b, f)| (
            Just(Params::new(b, f)), prop::collection::vec(0..f, b), values(b * f, 8.0),
        )),
    ) {
        let c = p.features;
        let bsz = p.batch as f64;
        let hot = reference::one_hot(&labels, c);
        let want: Vec<f64> = widen(&x)
            .chunks(c)
            .zip(hot.chunks(c))
            .flat_map(|(x, t)| reference::softmax(x).into_iter().zip(t).map(|(s, t)| (s - t) / bsz).collect::<Vec<_>>())
            .collect();
        let mut sparse = vec![0.0; x.len()];
        categorical::sparse_softmax_cross_entropy(&p, 0.0, &x, &labels, Some(&mut sparse)).unwrap();
        assert_close("sparse softmax-CE gradient", &sparse, &want, 8e-7 / bsz, 0.0);
        let hot32: Vec<f32> = hot.iter().map(|&v| v as f32).collect();
        let mut dense = vec![0.0; x.len()];
        categorical::softmax_cross_entropy(&p, 0.0, &x, &hot32, Some(&mut dense)).unwrap();
        assert_close("dense softmax-CE gradient", &dense, &want, 8e-7 / bsz, 0.0);
        // Each row of the gradient sums to 0: the softmax sums to 1, like the one-hot.
        for row in sparse.chunks(c) {
            prop_assert!(row.iter().map(|&g| g as f64).sum::<f64>().abs() < 8.0 * 8e-7);
        }
    }

    /// One label at a random row is `classes + k`: an ElementOutOfRange error carrying
    /// the row and the label, from both sparse losses, and the gradient buffer untouched.
    #[test]
    fn labels_out_of_range_are_errors(
        (p, x, mut labels) in labelled_logits(),
        row in any::<prop::sample::Index>(),
        k in prop_oneof![0usize..3, Just(usize::MAX - 8)],
    ) {
        let c = p.features;
        let bad = c.saturating_add(k);
        let row = row.index(p.batch);
        labels[row] = bad;
        let expected = |at| Err(Error::element_out_of_range(at, row, i64::try_from(bad).unwrap_or(i64::MAX), 0, c as i64 - 1));
        let mut g = vec![0.5; x.len()];
        prop_assert_eq!(
            categorical::sparse_softmax_cross_entropy(&p, 0.1, &x, &labels, Some(&mut g)),
            expected("sparse_softmax_cross_entropy: labels")
        );
        let probs: Vec<f32> = x.iter().map(|v| reference::sigmoid(*v as f64) as f32).collect();
        prop_assert_eq!(
            categorical::sparse_categorical(&p, categorical::EPSILON, &probs, &labels, Some(&mut g)),
            expected("sparse_categorical: labels")
        );
        prop_assert!(g.iter().all(|&v| v == 0.5));
    }

    /// Arbitrary shapes (zero, huge), slice lengths, labels and hyper-parameters (NaN,
    /// infinite, negative): every loss returns, never panics; mismatches are errors.
    #[test]
    fn never_panics(
        batch in prop_oneof![0usize..4, Just(usize::MAX / 2)],
        features in prop_oneof![0usize..4, Just(3usize)],
        lens in prop::collection::vec(0usize..12, 3),
        labels in prop::collection::vec(prop_oneof![0usize..4, any::<usize>()], 0..4),
        scalar in prop_oneof![any::<f32>(), -1.0f32..2.0, Just(f32::NAN), Just(0.5f32), Just(1e-7f32)],
        sum in any::<bool>(),
    ) {
        let mut p = Params::new(batch, features);
        if sum {
            p = p.with_reduction(Reduction::Sum);
        }
        let x = vec![0.25f32; lens[0]];
        let t = vec![0.5f32; lens[1]];
        let mut g = vec![0.0f32; lens[2]];
        let n = batch.checked_mul(features);
        let consistent = n.is_some_and(|n| n > 0 && n == x.len() && n == t.len() && n == g.len());
        let results = [
            regression::mse(&p, &x, &t, Some(&mut g)),
            regression::mae(&p, &x, &t, Some(&mut g)),
            regression::huber(&p, scalar, &x, &t, Some(&mut g)),
            binary::bce(&p, scalar, &x, &t, Some(&mut g)),
            binary::bce_with_logits(&p, &x, &t, Some(&mut g)),
            categorical::categorical(&p, scalar, &x, &t, Some(&mut g)),
            categorical::softmax_cross_entropy(&p, scalar, &x, &t, Some(&mut g)),
        ];
        for r in results {
            if !consistent {
                prop_assert!(r.is_err());
            }
        }
        let _ = categorical::sparse_categorical(&p, scalar, &x, &labels, Some(&mut g));
        let r = categorical::sparse_softmax_cross_entropy(&p, scalar, &x, &labels, Some(&mut g));
        if labels.len() != batch {
            prop_assert!(r.is_err());
        }
    }
}

#[test]
fn invalid_hyper_parameters_are_errors() {
    let p = Params::new(1, 2);
    let x = [0.5f32; 2];
    let invalid = |at| Err(Error::new(ErrorKind::InvalidFloat, at));
    for delta in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        assert_eq!(
            regression::huber(&p, delta, &x, &x, None),
            invalid("huber: delta")
        );
    }
    for eps in [-1e-7, 0.5, 1.0, f32::NAN] {
        assert_eq!(binary::bce(&p, eps, &x, &x, None), invalid("bce: epsilon"));
        assert_eq!(
            categorical::categorical(&p, eps, &x, &x, None),
            invalid("categorical: epsilon")
        );
    }
    for s in [-0.1, 1.1, f32::NAN] {
        assert_eq!(
            categorical::softmax_cross_entropy(&p, s, &x, &x, None),
            invalid("softmax_cross_entropy: label_smoothing")
        );
        assert_eq!(
            categorical::sparse_softmax_cross_entropy(&p, s, &x, &[0], None),
            invalid("sparse_softmax_cross_entropy: label_smoothing")
        );
    }
}
