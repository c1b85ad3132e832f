//! Element-wise add/sub/mul with broadcasting, and concatenation along channels,
//! against their f64 references; backward against finite differences; invalid
//! parameters.

use mote_kernels::f32::elementwise::{self, Broadcast, Op, Params, concat};
use mote_tests::check::{SUM_FLOOR, assert_gradient_floored};
use mote_tests::check::{assert_close, dot, widen};
use mote_tests::config;
use mote_tests::reference::layers as reference;
use mote_tests::strategy::values;
use proptest::prelude::*;

fn params() -> impl Strategy<Value = Params> {
    (
        prop_oneof![Just(Op::Add), Just(Op::Sub), Just(Op::Mul)],
        prop_oneof![
            Just(Broadcast::Same),
            Just(Broadcast::Channels),
            Just(Broadcast::Scalar)
        ],
    )
        .prop_map(|(op, broadcast)| Params { op, broadcast })
}

/// `(params, a, b, upstream gradient)` with `a` of `rows × channels` values.
fn case() -> impl Strategy<Value = (Params, Vec<f32>, Vec<f32>, Vec<f32>)> {
    (params(), 1usize..9, 1usize..5).prop_flat_map(|(p, rows, c)| {
        let n = rows * c;
        let b_len = match p.broadcast {
            Broadcast::Same => n,
            Broadcast::Channels => c,
            Broadcast::Scalar => 1,
        };
        (Just(p), values(n, 2.0), values(b_len, 2.0), values(n, 1.0))
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn elementwise_matches_reference((p, a, b, g) in case()) {
        let mut out = vec![f32::NAN; a.len()];
        elementwise::forward(&p, &a, &b, &mut out).unwrap();
        let (a64, b64, g64) = (widen(&a), widen(&b), widen(&g));
        // One rounding per value.
        assert_close("elementwise", &out, &reference::elementwise(&p, &a64, &b64), 0.0, 1e-7);
        let (mut ga, mut gb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
        elementwise::backward(&p, &a, &b, &g, Some(&mut ga), Some(&mut gb)).unwrap();
        assert_gradient_floored("elementwise: grad_a", &ga,
            &mut |a| dot(&g64, &reference::elementwise(&p, a, &b64)), &a64, 1e-3, SUM_FLOOR);
        // grad_b sums up to 32 terms of size ≤ 2 (see SUM_FLOOR).
        assert_gradient_floored("elementwise: grad_b", &gb,
            &mut |b| dot(&g64, &reference::elementwise(&p, &a64, b)), &b64, 1e-3, 2.0 * SUM_FLOOR);
        // One gradient alone is the same, accumulated on top of what is there.
        let mut gb2 = vec![1.0; b.len()];
        elementwise::backward(&p, &a, &b, &g, None, Some(&mut gb2)).unwrap();
        for (x, y) in gb2.iter().zip(&gb) {
            prop_assert!((x - 1.0 - y).abs() <= 1e-6 * (1.0 + y.abs()));
        }
    }

    #[test]
    fn concat_matches_reference(
        (rows, channels, inputs, g) in (1usize..6, prop::collection::vec(1usize..5, 1..5))
            .prop_flat_map(|(rows, channels)| {
                let total: usize = channels.iter().sum();
                let inputs: Vec<_> = channels.iter().map(|&c| values(rows * c, 1.0)).collect();
                (Just(rows), Just(channels), inputs, values(rows * total, 1.0))
            })
    ) {
        let p = concat::Params { rows, channels: &channels };
        let total: usize = channels.iter().sum();
        let refs: Vec<&[f32]> = inputs.iter().map(|v| v.as_slice()).collect();
        let mut out = vec![f32::NAN; rows * total];
        concat::forward(&p, &refs, &mut out).unwrap();
        let inputs64: Vec<Vec<f64>> = inputs.iter().map(|v| widen(v)).collect();
        assert_close("concat", &out, &reference::concat(rows, &channels, &inputs64), 0.0, 0.0);
        let mut grads: Vec<Vec<f32>> = channels.iter().map(|&c| vec![0.0; rows * c]).collect();
        {
            let mut opts: Vec<Option<&mut [f32]>> =
                grads.iter_mut().map(|v| Some(v.as_mut_slice())).collect();
            concat::backward(&p, &g, &mut opts).unwrap();
        }
        let g64 = widen(&g);
        for (i, grad) in grads.iter().enumerate() {
            assert_gradient_floored("concat: grad_input", grad, &mut |x| {
                let mut all = inputs64.clone();
                all[i] = x.to_vec();
                dot(&g64, &reference::concat(rows, &channels, &all))
            }, &inputs64[i], 1e-3, SUM_FLOOR);
        }
    }

    /// Arbitrary (mostly invalid) parameters and lengths: an `Err` or `Ok`, never a panic.
    #[test]
    fn never_panics(p in params(), lens in prop::collection::vec(0usize..30, 5),
                    rows in prop_oneof![0usize..5, Just(usize::MAX)],
                    channels in prop::collection::vec(prop_oneof![0usize..4, Just(usize::MAX)], 0..4)) {
        let v = |i: usize| vec![0.5f32; lens[i]];
        let (a, b, g) = (v(0), v(1), v(2));
        let (mut out, mut gb) = (v(3), v(4));
        let mut ga = v(0);
        let _ = elementwise::forward(&p, &a, &b, &mut out);
        let _ = elementwise::backward(&p, &a, &b, &g, Some(&mut ga), Some(&mut gb));
        let _ = elementwise::backward(&p, &a, &b, &g, None, None);
        let cp = concat::Params { rows, channels: &channels };
        let inputs: Vec<&[f32]> = channels.iter().map(|_| a.as_slice()).collect();
        let _ = concat::forward(&cp, &inputs, &mut out);
        let mut opts: Vec<Option<&mut [f32]>> = vec![Some(&mut ga), None, Some(&mut gb)];
        opts.truncate(channels.len());
        let _ = concat::backward(&cp, &g, &mut opts);
        let _ = cp.output_channels();
    }
}
