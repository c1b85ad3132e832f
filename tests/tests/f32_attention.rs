//! Multi-head attention against its f64 reference (self and cross, causal and padding
//! masks), backward against finite differences, large logits, invalid parameters.

use mote_kernels::f32::attention::{self, Params, WeightGrads, Weights};
use mote_tests::check::{SUM_FLOOR, assert_close, assert_gradient_floored, dot, widen};
use mote_tests::config;
use mote_tests::reference::attention as reference;
use mote_tests::strategy::values;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Case {
    p: Params,
    cross: bool,
    x_q: Vec<f32>,
    x_kv: Vec<f32>,
    /// w_q, w_k, w_v, w_o, then b_q, b_k, b_v, b_o (absent biases as `None`).
    w: [Vec<f32>; 4],
    b: [Option<Vec<f32>>; 4],
    mask: Option<Vec<u8>>,
    g: Vec<f32>,
}

fn case(logit_scale: f32) -> impl Strategy<Value = Case> {
    (
        (1usize..3, 1usize..5, 1usize..5, 1usize..5, 1usize..4),
        (1usize..3, 1usize..4, any::<bool>(), any::<bool>()),
    )
        .prop_flat_map(
            move |((batch, tq, tk, dim, kv_dim), (heads, head_dim, cross, causal))| {
                let (tk, kv_dim) = if cross { (tk, kv_dim) } else { (tq, dim) };
                let causal = causal && tq == tk;
                let p = Params {
                    batch,
                    q_steps: tq,
                    kv_steps: tk,
                    dim,
                    kv_dim,
                    heads,
                    head_dim,
                    causal,
                };
                let inner = heads * head_dim;
                let ws = logit_scale;
                (
                    Just((p, cross)),
                    values(batch * tq * dim, 1.0),
                    values(batch * tk * kv_dim, 1.0),
                    (
                        values(inner * dim, ws),
                        values(inner * kv_dim, ws),
                        values(inner * kv_dim, 1.0),
                        values(dim * inner, 1.0),
                    ),
                    (
                        prop::option::of(values(inner, 0.5)),
                        prop::option::of(values(inner, 0.5)),
                        prop::option::of(values(inner, 0.5)),
                        prop::option::of(values(dim, 0.5)),
                    ),
                    prop::option::of(prop::collection::vec(
                        prop_oneof![3 => Just(1u8), 1 => Just(0u8)],
                        batch * tk,
                    )),
                    values(batch * tq * dim, 1.0),
                )
            },
        )
        .prop_map(
            |((p, cross), x_q, x_kv, (wq, wk, wv, wo), (bq, bk, bv, bo), mask, g)| Case {
                p,
                cross,
                x_q,
                x_kv,
                w: [wq, wk, wv, wo],
                b: [bq, bk, bv, bo],
                mask,
                g,
            },
        )
}

fn weights(c: &Case) -> Weights<'_> {
    Weights {
        q: &c.w[0],
        k: &c.w[1],
        v: &c.w[2],
        o: &c.w[3],
        q_bias: c.b[0].as_deref(),
        k_bias: c.b[1].as_deref(),
        v_bias: c.b[2].as_deref(),
        o_bias: c.b[3].as_deref(),
    }
}

/// Every buffer of a case in f64: x_q, x_kv, the four weights, the four biases.
fn wide(c: &Case) -> Vec<Vec<f64>> {
    let inner = c.p.heads * c.p.head_dim;
    let mut v = vec![widen(&c.x_q), widen(&c.x_kv)];
    v.extend(c.w.iter().map(|w| widen(w)));
    for (b, len) in c.b.iter().zip([inner, inner, inner, c.p.dim]) {
        v.push(b.as_deref().map_or(vec![0.0; len], widen));
    }
    v
}

fn run_reference(c: &Case, v: &[Vec<f64>]) -> Vec<f64> {
    let w = reference::Weights {
        q: &v[2],
        k: &v[3],
        v: &v[4],
        o: &v[5],
        q_bias: &v[6],
        k_bias: &v[7],
        v_bias: &v[8],
        o_bias: &v[9],
    };
    let kv = if c.cross { &v[1] } else { &v[0] };
    reference::attention(&c.p, &v[0], kv, &w, c.mask.as_deref())
}

/// Forward and backward through the kernel; gradients accumulated on 0.25 and returned
/// without it, in `wide`'s order.
fn kernel(c: &Case) -> (Vec<f32>, Vec<Vec<f32>>) {
    let p = &c.p;
    let w = weights(c);
    let x_kv = c.cross.then_some(&c.x_kv[..]);
    let mut y = vec![f32::NAN; c.x_q.len()];
    let mut saved = vec![f32::NAN; attention::saved_len(p).unwrap()];
    attention::forward(p, &c.x_q, x_kv, &w, c.mask.as_deref(), &mut y, &mut saved).unwrap();
    let inner = p.heads * p.head_dim;
    let lens = [
        c.x_q.len(),
        c.x_kv.len(),
        c.w[0].len(),
        c.w[1].len(),
        c.w[2].len(),
        c.w[3].len(),
        inner,
        inner,
        inner,
        p.dim,
    ];
    let mut g: Vec<Vec<f32>> = lens.iter().map(|&n| vec![0.25f32; n]).collect();
    let mut scratch = vec![f32::NAN; attention::backward_scratch_len(p).unwrap()];
    {
        let [gx, gkv, gwq, gwk, gwv, gwo, gbq, gbk, gbv, gbo] = &mut g[..] else {
            unreachable!()
        };
        let grads = WeightGrads {
            q: Some(gwq),
            k: Some(gwk),
            v: Some(gwv),
            o: Some(gwo),
            q_bias: Some(gbq),
            k_bias: Some(gbk),
            v_bias: Some(gbv),
            o_bias: Some(gbo),
        };
        let gkv = if c.cross { Some(&mut gkv[..]) } else { None };
        attention::backward(
            p,
            &c.x_q,
            x_kv,
            &w,
            &saved,
            &c.g,
            Some(gx),
            gkv,
            grads,
            &mut scratch,
        )
        .unwrap();
    }
    for v in &mut g {
        v.iter_mut().for_each(|x| *x -= 0.25);
    }
    (y, g)
}

proptest! {
    #![proptest_config(config(256))]

    /// Forward against the reference; every gradient against finite differences of
    /// `Σ g·y`.
    #[test]
    fn attention_matches_reference(c in case(1.0)) {
        let (y, g) = kernel(&c);
        let base = wide(&c);
        assert_close("attention: output", &y, &run_reference(&c, &base), 1e-5, 1e-5);
        let g64 = widen(&c.g);
        let names = ["x_q", "x_kv", "w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o"];
        for k in 0..base.len() {
            if k == 1 && !c.cross {
                prop_assert!(g[1].iter().all(|&v| v == 0.0));
                continue;
            }
            let mut at = base.clone();
            assert_gradient_floored(&format!("attention: grad {}", names[k]), &g[k], &mut |v| {
                at[k].copy_from_slice(v);
                dot(&g64, &run_reference(&c, &at))
            }, &base[k], 2e-3, SUM_FLOOR);
        }
    }

    /// Logits in the thousands: outputs and gradients finite and still equal to the
    /// reference (the row maximum is subtracted before exponentiating).
    #[test]
    fn large_logits_stay_finite(c in case(60.0)) {
        let (y, g) = kernel(&c);
        prop_assert!(y.iter().chain(g.iter().flatten()).all(|v| v.is_finite()));
        assert_close("attention (large logits)", &y, &run_reference(&c, &wide(&c)), 1e-3, 1e-3);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Arbitrary (mostly invalid) geometry and lengths: `Err` or `Ok`, never a panic.
    #[test]
    fn never_panics(dims in prop::collection::vec(0usize..4, 7), causal in any::<bool>(),
                    lens in prop::collection::vec(0usize..40, 12), cross in any::<bool>()) {
        let p = Params { batch: dims[0], q_steps: dims[1], kv_steps: dims[2], dim: dims[3],
            kv_dim: dims[4], heads: dims[5], head_dim: dims[6], causal };
        let v = |i: usize| vec![0.5f32; lens[i]];
        let (xq, xkv, wq, wk, wv, wo, b) = (v(0), v(1), v(2), v(3), v(4), v(5), v(6));
        let (mut y, mut saved, mut scratch, mut gx) = (v(7), v(8), v(9), v(10));
        let mask = vec![1u8; lens[11]];
        let w = Weights { q: &wq, k: &wk, v: &wv, o: &wo, q_bias: Some(&b), k_bias: None, v_bias: None, o_bias: Some(&b) };
        let kv = cross.then_some(&xkv[..]);
        let _ = attention::forward(&p, &xq, kv, &w, Some(&mask), &mut y, &mut saved);
        let _ = attention::backward(&p, &xq, kv, &w, &saved, &y, Some(&mut gx), None, WeightGrads::default(), &mut scratch);
        let _ = attention::saved_len(&p);
        let _ = attention::backward_scratch_len(&p);
    }
}

/// A fully masked row attends to nothing: its output is the output bias.
#[test]
fn fully_masked_rows_give_the_output_bias() {
    let p = Params::self_attention(1, 2, 2, 1).unwrap();
    let x = [1.0f32, 2.0, 3.0, 4.0];
    let w = [1.0f32, 0.0, 0.0, 1.0];
    let bo = [0.5f32, -0.5];
    let weights = Weights {
        q: &w,
        k: &w,
        v: &w,
        o: &w,
        q_bias: None,
        k_bias: None,
        v_bias: None,
        o_bias: Some(&bo),
    };
    let mut y = [f32::NAN; 4];
    let mut saved = vec![0.0; attention::saved_len(&p).unwrap()];
    attention::forward(&p, &x, None, &weights, Some(&[0, 0]), &mut y, &mut saved).unwrap();
    assert_eq!(y, [0.5, -0.5, 0.5, -0.5]);
    // Causal with the first key masked: row 0 sees nothing, row 1 sees key 1 only.
    attention::forward(
        &p.causal(true),
        &x,
        None,
        &weights,
        Some(&[0, 1]),
        &mut y,
        &mut saved,
    )
    .unwrap();
    assert_eq!(y, [0.5, -0.5, 3.5, 3.5]);
    assert!(Params::self_attention(1, 2, 3, 2).is_none());
    let cross = Params {
        kv_steps: 3,
        ..p.causal(true)
    };
    assert!(attention::saved_len(&cross).is_err());
}
