//! The sequence helpers: embedding lookup and its scatter-add backward, sequence
//! pooling (global pooling over steps) and time-distributed dense, against direct
//! references and finite differences.

use mote_kernels::f32::embedding::{self, Params};
use mote_kernels::f32::{dense, pool};
use mote_tests::check::{assert_close, assert_gradient, dot, widen};
use mote_tests::config;
use mote_tests::strategy::values;
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(256))]

    /// Lookup copies rows; backward is the transpose of the lookup (finite differences
    /// of `Σ g·table[ids]` over the table), accumulated.
    #[test]
    fn embedding_lookup_and_scatter((vocab, dim, ids, table, g) in (1usize..6, 1usize..5, 0usize..9)
        .prop_flat_map(|(v, d, n)| (Just(v), Just(d), prop::collection::vec(0..v as u32, n),
            values(v * d, 1.0), values(n * d, 1.0)))) {
        let p = Params { vocab, dim };
        let mut y = vec![f32::NAN; ids.len() * dim];
        embedding::forward(&p, &ids, &table, &mut y).unwrap();
        for (k, &id) in ids.iter().enumerate() {
            prop_assert_eq!(&y[k * dim..(k + 1) * dim], &table[id as usize * dim..(id as usize + 1) * dim]);
        }
        let mut gt = vec![0.5f32; table.len()];
        embedding::backward(&p, &ids, &g, &mut gt).unwrap();
        let gt: Vec<f32> = gt.iter().map(|v| v - 0.5).collect();
        let g64 = widen(&g);
        assert_gradient("embedding: grad_table", &gt, &mut |t| {
            let y: Vec<f64> = ids.iter().flat_map(|&id| t[id as usize * dim..(id as usize + 1) * dim].to_vec()).collect();
            dot(&g64, &y)
        }, &widen(&table), 1e-3);
    }

    /// Mean and max over the steps of each sequence and feature.
    #[test]
    fn sequence_pooling((batch, steps, features, x) in (1usize..4, 1usize..7, 1usize..5)
        .prop_flat_map(|(b, s, f)| (Just(b), Just(s), Just(f), values(b * s * f, 1.0)))) {
        for kind in [pool::Kind::Average, pool::Kind::Max] {
            let p = pool::Global::sequence(kind, batch, steps, features);
            let mut y = vec![f32::NAN; batch * features];
            pool::global_forward(&p, &x, &mut y).unwrap();
            let want: Vec<f64> = (0..batch * features).map(|k| {
                let (b, f) = (k / features, k % features);
                let col = (0..steps).map(|t| x[(b * steps + t) * features + f] as f64);
                match kind {
                    pool::Kind::Average => col.sum::<f64>() / steps as f64,
                    pool::Kind::Max => col.fold(f64::NEG_INFINITY, f64::max),
                }
            }).collect();
            assert_close("sequence pool", &y, &want, 1e-6, 1e-6);
        }
    }

    /// A time-distributed dense layer is the same dense layer on every step.
    #[test]
    fn time_distributed_dense((batch, steps, n_in, n_out, x, w) in (1usize..3, 1usize..5, 1usize..4, 1usize..4)
        .prop_flat_map(|(b, s, i, o)| (Just(b), Just(s), Just(i), Just(o), values(b * s * i, 1.0), values(o * i, 1.0)))) {
        let p = dense::Params::time_distributed(batch, steps, n_in, n_out).unwrap();
        let mut y = vec![f32::NAN; batch * steps * n_out];
        dense::forward(&p, &x, &w, None, &mut y).unwrap();
        for (row, out) in x.chunks_exact(n_in).zip(y.chunks_exact(n_out)) {
            let mut one = vec![0.0f32; n_out];
            dense::forward(&dense::Params::new(1, n_in, n_out), row, &w, None, &mut one).unwrap();
            assert_close("time distributed", out, &widen(&one), 1e-6, 1e-6);
        }
    }
}

#[test]
fn time_distributed_overflow_is_none() {
    assert!(dense::Params::time_distributed(usize::MAX, 2, 1, 1).is_none());
}
