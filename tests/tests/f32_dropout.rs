//! Dropout: mask statistics, determinism from the seed, inverted scaling, identity at
//! inference, backward through the same mask, and invalid parameters.

use mote_core::rng::Rng;
use mote_kernels::f32::dropout::{self, Params};
use mote_tests::check::{assert_gradient, dot, widen};
use mote_tests::config;
use mote_tests::strategy::values;
use proptest::prelude::*;

/// The fraction kept over 100,000 values is 1 − rate within 5 standard deviations
/// (σ = √(rate·(1 − rate)/n) ≤ 1.6e−3), and the mean output equals the mean input.
#[test]
fn mask_statistics() {
    let n = 100_000;
    let x = vec![1.0f32; n];
    let mut y = vec![0.0; n];
    let mut mask = vec![0u8; n];
    for (seed, rate) in [(1u64, 0.1f32), (2, 0.25), (3, 0.5), (4, 0.8)] {
        let p = Params { rate };
        dropout::forward_train(&p, &mut Rng::new(seed), &x, &mut y, &mut mask).unwrap();
        let kept = mask.iter().filter(|&&m| m == 1).count() as f64 / n as f64;
        let sigma = (rate as f64 * (1.0 - rate as f64) / n as f64).sqrt();
        assert!(
            (kept - (1.0 - rate as f64)).abs() < 5.0 * sigma,
            "rate {rate}: kept {kept}"
        );
        assert!(mask.iter().all(|&m| m <= 1));
        let mean = y.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        assert!(
            (mean - 1.0).abs() < 5.0 * sigma / (1.0 - rate as f64),
            "rate {rate}: mean {mean}"
        );
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Same seed, same mask and output; the output is the input scaled by 1/(1 − rate)
    /// where kept, 0 elsewhere; backward passes the gradient through the same mask.
    #[test]
    fn seeded_inverted_and_reused(seed in any::<u64>(), rate in 0.05f32..0.95,
                                  x in values(200, 2.0), g in values(200, 1.0)) {
        let p = Params { rate };
        let n = x.len();
        let (mut y1, mut y2) = (vec![0.0; n], vec![0.0; n]);
        let (mut m1, mut m2) = (vec![0u8; n], vec![0u8; n]);
        dropout::forward_train(&p, &mut Rng::new(seed), &x, &mut y1, &mut m1).unwrap();
        dropout::forward_train(&p, &mut Rng::new(seed), &x, &mut y2, &mut m2).unwrap();
        prop_assert_eq!(&m1, &m2);
        prop_assert_eq!(&y1, &y2);
        let mut m3 = vec![0u8; n];
        dropout::draw_mask(&p, &mut Rng::new(seed), &mut m3).unwrap();
        prop_assert_eq!(&m1, &m3);
        // Another seed gives another mask: two independent masks of 200 values agree
        // with probability (r² + (1 − r)²)²⁰⁰ ≤ 0.905²⁰⁰ ≈ 2e−9.
        let mut m4 = vec![0u8; n];
        dropout::draw_mask(&p, &mut Rng::new(seed ^ 0x9E37_79B9), &mut m4).unwrap();
        prop_assert_ne!(&m1, &m4);
        let scale = 1.0 / (1.0 - rate);
        for i in 0..n {
            prop_assert_eq!(y1[i], if m1[i] == 1 { x[i] * scale } else { 0.0 });
        }
        // Backward = the transpose of x ↦ x·mask·scale, accumulated.
        let mut gx = vec![0.5f32; n];
        dropout::backward(&p, &m1, &g, &mut gx).unwrap();
        for i in 0..n {
            prop_assert_eq!(gx[i], 0.5 + if m1[i] == 1 { g[i] * scale } else { 0.0 });
        }
        let gx: Vec<f32> = gx.iter().map(|v| v - 0.5).collect();
        let (g64, mask) = (widen(&g), m1.clone());
        assert_gradient("dropout: grad_input", &gx, &mut |x| {
            let y: Vec<f64> = x.iter().zip(&mask)
                .map(|(&v, &m)| if m == 1 { v / (1.0 - rate as f64) } else { 0.0 }).collect();
            dot(&g64, &y)
        }, &widen(&x), 1e-3);
        // Inference is the identity.
        let mut z = vec![0.0; n];
        dropout::forward_inference(&x, &mut z).unwrap();
        prop_assert_eq!(&z, &x);
    }

    /// Arbitrary (mostly invalid) parameters and lengths: an `Err` or `Ok`, never a panic.
    #[test]
    fn never_panics(rate in prop_oneof![-1.0f32..2.0, Just(f32::NAN), Just(f32::INFINITY)],
                    lens in prop::collection::vec(0usize..20, 4), seed in any::<u64>()) {
        let p = Params { rate };
        let x = vec![0.5f32; lens[0]];
        let mut y = vec![0.0f32; lens[1]];
        let mut mask = vec![0u8; lens[2]];
        let mut gx = vec![0.0f32; lens[3]];
        let mut rng = Rng::new(seed);
        let r = dropout::forward_train(&p, &mut rng, &x, &mut y, &mut mask);
        prop_assert!(r.is_err() || (0.0..=1.0).contains(&rate));
        let _ = dropout::draw_mask(&p, &mut rng, &mut mask);
        let _ = dropout::backward(&p, &mask, &x, &mut gx);
        let _ = dropout::forward_inference(&x, &mut y);
        let _ = p.scale();
    }
}
