//! Batch normalisation (training, inference, folding) and layer normalisation against
//! their f64 references, backward against finite differences, and invalid parameters.

use mote_kernels::f32::norm::batch_norm::{self, Running, RunningMut, WeightLayout};
use mote_kernels::f32::norm::{Affine, Grads, layer_norm};
use mote_tests::check::{SUM_FLOOR, assert_gradient_floored};
use mote_tests::check::{assert_close, dot, widen};
use mote_tests::config;
use mote_tests::reference::layers as reference;
use mote_tests::strategy::{tie_free, values};
use proptest::prelude::*;

/// Per-channel parameters: γ of either sign with magnitude in [0.5, 1.5], β in [−1, 1].
fn gamma_beta(c: usize) -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    (
        prop::collection::vec((0.5f32..1.5, any::<bool>()), c)
            .prop_map(|v| v.into_iter().map(|(m, s)| if s { m } else { -m }).collect()),
        values(c, 1.0),
    )
}

fn epsilon() -> impl Strategy<Value = f32> {
    prop_oneof![Just(1e-5f32), Just(1e-3f32)]
}

/// A training case: rows × channels inputs whose values are distinct (tie-free, gap 0.2)
/// so that no channel has a near-zero variance, and an upstream gradient.
#[allow(clippy::type_complexity)]
fn bn_case() -> impl Strategy<
    Value = (
        batch_norm::Params,
        Vec<f32>,
        (Vec<f32>, Vec<f32>),
        Vec<f32>,
        (Vec<f32>, Vec<f32>),
    ),
> {
    (2usize..13, 1usize..5, epsilon(), 0.0f32..=1.0).prop_flat_map(|(rows, c, eps, m)| {
        let p = batch_norm::Params {
            rows,
            channels: c,
            epsilon: eps,
            momentum: m,
        };
        (
            Just(p),
            tie_free(rows * c, 0.2),
            gamma_beta(c),
            values(rows * c, 1.0),
            (values(c, 1.0), prop::collection::vec(0.1f32..2.0, c)),
        )
    })
}

proptest! {
    #![proptest_config(config(512))]

    /// Training forward: output, saved statistics and the running update.
    #[test]
    fn batch_norm_train_forward((p, x, (gamma, beta), _g, (rm0, rv0)) in bn_case()) {
        let (rows, c) = (p.rows, p.channels);
        let mut y = vec![f32::NAN; rows * c];
        let (mut rm, mut rv) = (rm0.clone(), rv0.clone());
        let mut saved = vec![f32::NAN; batch_norm::saved_len(&p)];
        batch_norm::forward_train(&p, &x, &mut y, Affine { gamma: &gamma, beta: &beta },
            RunningMut { mean: &mut rm, var: &mut rv }, &mut saved).unwrap();
        let x64 = widen(&x);
        let eps = p.epsilon as f64;
        let want = reference::batch_norm_train(rows, c, eps, &x64, &widen(&gamma), &widen(&beta));
        // |x̂| ≤ √rows < 4; each value carries a few f32 roundings of terms of that size.
        assert_close("batch norm train: output", &y, &want, 1e-5, 1e-5);
        let (mean, var) = reference::channel_moments(rows, c, &x64);
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        assert_close("batch norm train: saved mean", &saved[..c], &mean, 1e-6, 1e-6);
        assert_close("batch norm train: saved inv_std", &saved[c..], &inv_std, 1e-6, 1e-5);
        let m = p.momentum as f64;
        let n = rows as f64;
        let want_rm: Vec<f64> = (0..c).map(|i| (1.0 - m) * rm0[i] as f64 + m * mean[i]).collect();
        let want_rv: Vec<f64> = (0..c)
            .map(|i| (1.0 - m) * rv0[i] as f64 + m * var[i] * n / (n - 1.0))
            .collect();
        assert_close("batch norm train: running mean", &rm, &want_rm, 1e-6, 1e-6);
        assert_close("batch norm train: running var", &rv, &want_rv, 1e-6, 1e-5);
    }

    /// Training backward through the batch statistics: input, γ and β.
    #[test]
    fn batch_norm_train_backward((p, x, (gamma, beta), g, (mut rm, mut rv)) in bn_case()) {
        let (rows, c) = (p.rows, p.channels);
        let mut y = vec![0.0; rows * c];
        let mut saved = vec![0.0; batch_norm::saved_len(&p)];
        batch_norm::forward_train(&p, &x, &mut y, Affine { gamma: &gamma, beta: &beta },
            RunningMut { mean: &mut rm, var: &mut rv }, &mut saved).unwrap();
        let (mut gx, mut gg, mut gb) = (vec![0.0; rows * c], vec![0.0; c], vec![0.0; c]);
        let mut scratch = vec![0.0; batch_norm::scratch_len(&p)];
        batch_norm::backward_train(&p, &x, &gamma, &saved, &g,
            Grads { input: Some(&mut gx), gamma: Some(&mut gg), beta: Some(&mut gb) },
            &mut scratch).unwrap();
        let (x64, g64, gamma64, beta64) = (widen(&x), widen(&g), widen(&gamma), widen(&beta));
        let eps = p.epsilon as f64;
        // The terms of grad_input are of size |γ|·s·|g| and those of grad_gamma of size
        // |x̂|·|g|: the floor scales with them (see SUM_FLOOR).
        let gs = (0..c).map(|i| (gamma[i] * saved[c + i]).abs() as f64).fold(1.0, f64::max);
        let xhat = x.iter().enumerate()
            .map(|(i, &v)| ((v - saved[i % c]) * saved[c + i % c]).abs() as f64)
            .fold(1.0, f64::max);
        assert_gradient_floored("batch norm train: grad_input", &gx,
            &mut |x| dot(&g64, &reference::batch_norm_train(rows, c, eps, x, &gamma64, &beta64)),
            &x64, 1e-3, SUM_FLOOR * gs);
        assert_gradient_floored("batch norm train: grad_gamma", &gg,
            &mut |gm| dot(&g64, &reference::batch_norm_train(rows, c, eps, &x64, gm, &beta64)),
            &gamma64, 1e-3, SUM_FLOOR * xhat);
        assert_gradient_floored("batch norm train: grad_beta", &gb,
            &mut |b| dot(&g64, &reference::batch_norm_train(rows, c, eps, &x64, &gamma64, b)),
            &beta64, 1e-3, SUM_FLOOR);
        // Each gradient alone accumulates the same values, on top of what is there.
        let mut gx2 = vec![1.0; rows * c];
        batch_norm::backward_train(&p, &x, &gamma, &saved, &g,
            Grads { input: Some(&mut gx2), ..Grads::default() }, &mut scratch).unwrap();
        for (a, b) in gx2.iter().zip(&gx) {
            prop_assert!((a - 1.0 - b).abs() <= 1e-5 * (1.0 + b.abs()));
        }
    }

    /// Inference forward and backward with fixed running statistics.
    #[test]
    fn batch_norm_inference((p, x, (gamma, beta), g, (rm, rv)) in bn_case()) {
        let (rows, c) = (p.rows, p.channels);
        let running = Running { mean: &rm, var: &rv };
        let mut y = vec![f32::NAN; rows * c];
        let mut scratch = vec![0.0; batch_norm::scratch_len(&p)];
        batch_norm::forward_inference(&p, &x, &mut y, Affine { gamma: &gamma, beta: &beta },
            running, &mut scratch).unwrap();
        let eps = p.epsilon as f64;
        let (rm64, rv64, g64) = (widen(&rm), widen(&rv), widen(&g));
        let (x64, gamma64, beta64) = (widen(&x), widen(&gamma), widen(&beta));
        let f = |x: &[f64], gm: &[f64], b: &[f64]| {
            reference::normalise_channels(x, &rm64, &rv64, gm, b, eps)
        };
        // |x − mean| ≤ 3.5, scale ≤ 1.5/√0.1 ≈ 4.7: outputs up to ~17.
        assert_close("batch norm inference", &y, &f(&x64, &gamma64, &beta64), 1e-5, 1e-5);
        let (mut gx, mut gg, mut gb) = (vec![0.0; rows * c], vec![0.0; c], vec![0.0; c]);
        batch_norm::backward_inference(&p, &x, &gamma, running, &g,
            Grads { input: Some(&mut gx), gamma: Some(&mut gg), beta: Some(&mut gb) },
            &mut scratch).unwrap();
        assert_gradient_floored("batch norm inference: grad_input", &gx,
            &mut |x| dot(&g64, &f(x, &gamma64, &beta64)), &x64, 1e-3, SUM_FLOOR);
        // Terms of grad_gamma are of size |x̂|·|g| (see SUM_FLOOR).
        let xhat = x.iter().enumerate()
            .map(|(i, &v)| ((v - rm[i % c]) as f64 / (rv[i % c] as f64 + eps).sqrt()).abs())
            .fold(1.0, f64::max);
        assert_gradient_floored("batch norm inference: grad_gamma", &gg,
            &mut |gm| dot(&g64, &f(&x64, gm, &beta64)), &gamma64, 1e-3, SUM_FLOOR * xhat);
        assert_gradient_floored("batch norm inference: grad_beta", &gb,
            &mut |b| dot(&g64, &f(&x64, &gamma64, b)), &beta64, 1e-3, SUM_FLOOR);
    }

    /// Folding into a dense layer: dense(folded) = inference BN ∘ dense.
    #[test]
    fn fold_into_dense(
        (inputs, outputs, batch) in (1usize..6, 1usize..5, 1usize..4),
        seed in any::<u64>(), eps in epsilon(),
    ) {
        let mut rng = mote_core::rng::Rng::new(seed);
        let mut uniform = |n: usize, lo: f32, hi: f32| {
            let mut v = vec![0.0; n];
            rng.fill_uniform(&mut v, lo, hi);
            v
        };
        let (w, b, x) = (uniform(outputs * inputs, -1.0, 1.0), uniform(outputs, -1.0, 1.0),
                         uniform(batch * inputs, -1.0, 1.0));
        let (gamma, beta) = (uniform(outputs, -1.5, 1.5), uniform(outputs, -1.0, 1.0));
        let (rm, rv) = (uniform(outputs, -1.0, 1.0), uniform(outputs, 0.1, 2.0));
        let dense = |w: &[f64], b: &[f64]| -> Vec<f64> {
            (0..batch * outputs)
                .map(|i| {
                    let (n, o) = (i / outputs, i % outputs);
                    b[o] + (0..inputs).map(|k| w[o * inputs + k] * x[n * inputs + k] as f64).sum::<f64>()
                })
                .collect()
        };
        let want = reference::normalise_channels(&dense(&widen(&w), &widen(&b)), &widen(&rm),
            &widen(&rv), &widen(&gamma), &widen(&beta), eps as f64);
        let (mut wf, mut bf) = (w.clone(), b.clone());
        let p = batch_norm::Params { epsilon: eps, ..batch_norm::Params::new(batch, outputs) };
        batch_norm::fold(&p, Affine { gamma: &gamma, beta: &beta }, Running { mean: &rm, var: &rv },
            WeightLayout::OutputMajor, &mut wf, &mut bf).unwrap();
        let got: Vec<f32> = dense(&widen(&wf), &widen(&bf)).iter().map(|&v| v as f32).collect();
        // Folding rounds each weight and bias once (2⁻²⁴ relative); the scale is at most
        // 1.5/√0.1 ≈ 4.7 and up to 5 inputs of magnitude ≤ 1 contribute.
        assert_close("fold dense", &got, &want, 5e-6, 1e-6);
    }

    /// Folding into a convolution (OHWI, VALID, stride 1) and a depthwise convolution
    /// (`[kh][kw][C·m]`, output channel innermost).
    #[test]
    fn fold_into_conv_and_depthwise(
        (h, w, cin, cout, k, mult) in (1usize..5, 1usize..5, 1usize..4, 1usize..4, 1usize..4, 1usize..3),
        seed in any::<u64>(),
    ) {
        let k = k.min(h).min(w);
        let (oh, ow) = (h - k + 1, w - k + 1);
        let mut rng = mote_core::rng::Rng::new(seed);
        let mut uniform = |n: usize, lo: f32, hi: f32| {
            let mut v = vec![0.0; n];
            rng.fill_uniform(&mut v, lo, hi);
            v
        };
        let x = uniform(h * w * cin, -1.0, 1.0);
        // Direct conv: y[oy][ox][o] = b[o] + Σ W[o][ky][kx][i]·x[oy+ky][ox+kx][i].
        let conv = |wt: &[f64], b: &[f64]| -> Vec<f64> {
            let mut y = Vec::new();
            for oy in 0..oh { for ox in 0..ow { for o in 0..cout {
                let mut s = b[o];
                for ky in 0..k { for kx in 0..k { for i in 0..cin {
                    s += wt[((o * k + ky) * k + kx) * cin + i]
                        * x[((oy + ky) * w + ox + kx) * cin + i] as f64;
                }}}
                y.push(s);
            }}}
            y
        };
        // Direct depthwise: output channel o = c·mult + m reads input channel c.
        let cdw = cin * mult;
        let depthwise = |wt: &[f64], b: &[f64]| -> Vec<f64> {
            let mut y = Vec::new();
            for oy in 0..oh { for ox in 0..ow { for o in 0..cdw {
                let mut s = b[o];
                for ky in 0..k { for kx in 0..k {
                    s += wt[(ky * k + kx) * cdw + o] * x[((oy + ky) * w + ox + kx) * cin + o / mult] as f64;
                }}
                y.push(s);
            }}}
            y
        };
        for (layout, channels, weights_len) in [
            (WeightLayout::OutputMajor, cout, cout * k * k * cin),
            (WeightLayout::OutputMinor, cdw, k * k * cdw),
        ] {
            let (wt, b) = (uniform(weights_len, -1.0, 1.0), uniform(channels, -1.0, 1.0));
            let (gamma, beta) = (uniform(channels, -1.5, 1.5), uniform(channels, -1.0, 1.0));
            let (rm, rv) = (uniform(channels, -1.0, 1.0), uniform(channels, 0.1, 2.0));
            let layer = |wt: &[f64], b: &[f64]| if layout == WeightLayout::OutputMajor {
                conv(wt, b)
            } else {
                depthwise(wt, b)
            };
            let want = reference::normalise_channels(&layer(&widen(&wt), &widen(&b)), &widen(&rm),
                &widen(&rv), &widen(&gamma), &widen(&beta), 1e-5);
            let (mut wf, mut bf) = (wt.clone(), b.clone());
            let p = batch_norm::Params::new(oh * ow, channels);
            batch_norm::fold(&p, Affine { gamma: &gamma, beta: &beta },
                Running { mean: &rm, var: &rv }, layout, &mut wf, &mut bf).unwrap();
            let got: Vec<f32> = layer(&widen(&wf), &widen(&bf)).iter().map(|&v| v as f32).collect();
            // As for dense, with up to 3·3·3 = 27 products of magnitude ≤ 4.7:
            // 27·4.7·2⁻²⁴ ≈ 7.6e−6 from the weights plus ≈ 2e−6 from the bias.
            assert_close("fold conv", &got, &want, 2e-5, 1e-6);
        }
    }

    /// Layer norm forward (with and without saved statistics) and backward.
    #[test]
    fn layer_norm_matches_reference(
        (p, x, (gamma, beta), g) in (1usize..5, 2usize..9, epsilon()).prop_flat_map(|(rows, f, eps)| {
            let p = layer_norm::Params { rows, features: f, epsilon: eps };
            (Just(p), tie_free(rows * f, 0.2), gamma_beta(f), values(rows * f, 1.0))
        })
    ) {
        let (rows, f) = (p.rows, p.features);
        let mut y = vec![f32::NAN; rows * f];
        let mut saved = vec![f32::NAN; layer_norm::saved_len(&p)];
        let affine = Affine { gamma: &gamma, beta: &beta };
        layer_norm::forward(&p, &x, &mut y, affine, Some(&mut saved)).unwrap();
        let eps = p.epsilon as f64;
        let (x64, g64, gamma64, beta64) = (widen(&x), widen(&g), widen(&gamma), widen(&beta));
        assert_close("layer norm", &y, &reference::layer_norm(f, eps, &x64, &gamma64, &beta64),
            1e-5, 1e-5);
        let mut y2 = vec![f32::NAN; rows * f];
        layer_norm::forward(&p, &x, &mut y2, affine, None).unwrap();
        prop_assert_eq!(&y, &y2);
        let (mut gx, mut gg, mut gb) = (vec![0.0; rows * f], vec![0.0; f], vec![0.0; f]);
        layer_norm::backward(&p, &x, &gamma, &saved, &g,
            Grads { input: Some(&mut gx), gamma: Some(&mut gg), beta: Some(&mut gb) }).unwrap();
        // Terms of grad_input are of size |γ|·s·|g|, those of grad_gamma |x̂|·|g|.
        let s_max = saved[rows..].iter().fold(0.0f32, |m, &v| m.max(v));
        let gs = gamma.iter().map(|g| (g * s_max).abs() as f64).fold(1.0, f64::max);
        let xhat = x.iter().enumerate()
            .map(|(i, &v)| ((v - saved[i / f]) * saved[rows + i / f]).abs() as f64)
            .fold(1.0, f64::max);
        assert_gradient_floored("layer norm: grad_input", &gx,
            &mut |x| dot(&g64, &reference::layer_norm(f, eps, x, &gamma64, &beta64)),
            &x64, 1e-3, SUM_FLOOR * gs);
        assert_gradient_floored("layer norm: grad_gamma", &gg,
            &mut |gm| dot(&g64, &reference::layer_norm(f, eps, &x64, gm, &beta64)),
            &gamma64, 1e-3, SUM_FLOOR * xhat);
        assert_gradient_floored("layer norm: grad_beta", &gb,
            &mut |b| dot(&g64, &reference::layer_norm(f, eps, &x64, &gamma64, b)), &beta64, 1e-3, SUM_FLOOR);
    }

    /// Arbitrary (mostly invalid) parameters and lengths: an `Err` or `Ok`, never a panic.
    #[test]
    fn never_panics(
        rows in prop_oneof![0usize..5, Just(usize::MAX)], c in prop_oneof![0usize..5, Just(usize::MAX / 2)],
        eps in prop_oneof![Just(1e-5f32), Just(0.0), Just(-1.0), Just(f32::NAN), Just(f32::INFINITY)],
        m in prop_oneof![Just(0.1f32), Just(-0.5), Just(1.5), Just(f32::NAN)],
        lens in prop::collection::vec(0usize..20, 12),
    ) {
        let v = |i: usize| vec![0.5f32; lens[i]];
        let p = batch_norm::Params { rows, channels: c, epsilon: eps, momentum: m };
        let (gamma, beta, x) = (v(0), v(1), v(2));
        let (mut y, mut rm, mut rv, mut saved, mut scratch) = (v(3), v(4), v(5), v(6), v(7));
        let (mut gx, mut gg, mut gb) = (v(8), v(9), v(10));
        let affine = Affine { gamma: &gamma, beta: &beta };
        let _ = batch_norm::forward_train(&p, &x, &mut y, affine,
            RunningMut { mean: &mut rm, var: &mut rv }, &mut saved);
        let running = Running { mean: &rm, var: &rv };
        let _ = batch_norm::forward_inference(&p, &x, &mut y, affine, running, &mut scratch);
        let _ = batch_norm::backward_train(&p, &x, &gamma, &saved, &y,
            Grads { input: Some(&mut gx), gamma: Some(&mut gg), beta: Some(&mut gb) }, &mut scratch);
        let _ = batch_norm::backward_inference(&p, &x, &gamma, running, &y,
            Grads { input: Some(&mut gx), gamma: None, beta: Some(&mut gb) }, &mut scratch);
        let mut wt = v(11);
        for layout in [WeightLayout::OutputMajor, WeightLayout::OutputMinor] {
            let _ = batch_norm::fold(&p, affine, running, layout, &mut wt, &mut gb);
        }
        let lp = layer_norm::Params { rows, features: c, epsilon: eps };
        let _ = layer_norm::forward(&lp, &x, &mut y, affine, Some(&mut saved));
        let _ = layer_norm::forward(&lp, &x, &mut y, affine, None);
        let _ = layer_norm::backward(&lp, &x, &gamma, &saved, &y,
            Grads { input: Some(&mut gx), gamma: Some(&mut gg), beta: None });
        let _ = (batch_norm::scratch_len(&p), batch_norm::saved_len(&p), layer_norm::saved_len(&lp));
    }
}
