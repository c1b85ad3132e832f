//! The recurrent layers (LSTM, GRU, simple RNN) against f64 references written from
//! their gate equations; backward through time against finite differences of those
//! references; long sequences; invalid parameters.

use mote_kernels::f32::recurrent::{
    Params, StateMut, StateRef, WeightGrads, Weights, gru, lstm, rnn,
};
use mote_tests::check::{SUM_FLOOR, assert_close, assert_gradient_floored, dot, widen};
use mote_tests::config;
use mote_tests::reference::recurrent as reference;
use mote_tests::strategy::values;
use proptest::prelude::*;

/// One layer's inputs, parameters and upstream gradients.
#[derive(Clone, Debug)]
struct Case {
    p: Params,
    x: Vec<f32>,
    w: Vec<f32>,
    u: Vec<f32>,
    b: Option<Vec<f32>>,
    bu: Option<Vec<f32>>,
    h0: Option<Vec<f32>>,
    c0: Option<Vec<f32>>,
    /// Upstream gradients of the output and of the final `h` and `c`.
    gy: Vec<f32>,
    gh: Option<Vec<f32>>,
    gc: Option<Vec<f32>>,
}

fn maybe(len: usize, range: f32) -> impl Strategy<Value = Option<Vec<f32>>> {
    prop::option::of(values(len, range))
}

/// A layer of `gates` blocks; `cell` adds an initial cell state and its gradient.
fn case(gates: usize, cell: bool) -> impl Strategy<Value = Case> {
    (
        1usize..4,
        1usize..6,
        1usize..5,
        1usize..5,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(move |(batch, steps, inputs, hidden, seq, rev)| {
            let p = Params::new(batch, steps, inputs, hidden)
                .sequences(seq)
                .reversed(rev);
            let (g, state) = (gates * hidden, batch * hidden);
            let out = p.output_len().unwrap_or(0);
            let cell_len = if cell { state } else { 0 };
            (
                (
                    Just(p),
                    values(batch * steps * inputs, 1.0),
                    values(g * inputs, 0.7),
                    values(g * hidden, 0.7),
                ),
                (maybe(g, 0.5), maybe(g, 0.5), maybe(state, 0.8)),
                (
                    if cell {
                        maybe(cell_len, 0.8).boxed()
                    } else {
                        Just(None).boxed()
                    },
                    values(out, 1.0),
                    maybe(state, 1.0),
                    if cell {
                        maybe(cell_len, 1.0).boxed()
                    } else {
                        Just(None).boxed()
                    },
                ),
            )
                .prop_map(|((p, x, w, u), (b, bu, h0), (c0, gy, gh, gc))| Case {
                    p,
                    x,
                    w,
                    u,
                    b,
                    bu,
                    h0,
                    c0,
                    gy,
                    gh,
                    gc,
                })
        })
}

fn forget_bias() -> impl Strategy<Value = f32> {
    prop_oneof![Just(0.0f32), Just(1.0f32), -0.5f32..0.5]
}

/// The f64 form of an optional buffer (zeros of `len` when absent).
fn wide_or_zero(v: &Option<Vec<f32>>, len: usize) -> Vec<f64> {
    v.as_deref().map_or(vec![0.0; len], widen)
}

/// The gradients a backward pass produced, one per differentiable buffer.
struct Grads {
    x: Vec<f32>,
    w: Vec<f32>,
    u: Vec<f32>,
    b: Vec<f32>,
    bu: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
}

/// A layer under test.
#[derive(Clone, Copy, Debug)]
enum Layer {
    Lstm(f32),
    Gru(gru::Reset),
    Rnn(rnn::Activation),
}

/// Runs a layer's kernel forward and backward; returns the output, final state and
/// every gradient (accumulated onto buffers of 0.25, then the 0.25 taken off, so that a
/// kernel which overwrote instead of adding fails).
fn kernel(c: &Case, layer: Layer) -> (Vec<f32>, Vec<f32>, Vec<f32>, Grads) {
    let p = &c.p;
    let state = p.batch * p.hidden;
    let weights = Weights {
        input: &c.w,
        recurrent: &c.u,
        bias: c.b.as_deref(),
        recurrent_bias: c.bu.as_deref(),
    };
    let initial = StateRef {
        h: c.h0.as_deref(),
        c: c.c0.as_deref(),
    };
    let mut y = vec![f32::NAN; p.output_len().unwrap()];
    let saved_len = match layer {
        Layer::Lstm(_) => lstm::saved_len(p),
        Layer::Gru(_) => gru::saved_len(p),
        Layer::Rnn(_) => rnn::saved_len(p),
    };
    let mut saved = vec![f32::NAN; saved_len.unwrap()];
    let (h_n, c_n) = match layer {
        Layer::Lstm(forget_bias) => {
            let cell = lstm::Cell { forget_bias };
            lstm::forward(p, &cell, &c.x, &weights, initial, &mut y, &mut saved).unwrap();
            let (mut h, mut cs) = (vec![f32::NAN; state], vec![f32::NAN; state]);
            lstm::final_state(p, &saved, &mut h, &mut cs).unwrap();
            (h, cs)
        }
        Layer::Gru(reset) => {
            gru::forward(p, reset, &c.x, &weights, initial, &mut y, &mut saved).unwrap();
            let mut h = vec![f32::NAN; state];
            gru::final_state(p, &saved, &mut h).unwrap();
            (h, vec![])
        }
        Layer::Rnn(act) => {
            rnn::forward(p, act, &c.x, &weights, initial, &mut y, &mut saved).unwrap();
            let mut h = vec![f32::NAN; state];
            rnn::final_state(p, &saved, &mut h).unwrap();
            (h, vec![])
        }
    };
    let prior = 0.25f32;
    let mut g = Grads {
        x: vec![prior; c.x.len()],
        w: vec![prior; c.w.len()],
        u: vec![prior; c.u.len()],
        b: vec![prior; c.w.len() / p.inputs],
        bu: vec![prior; c.w.len() / p.inputs],
        h0: vec![prior; state],
        c0: vec![prior; state],
    };
    let grad_final = StateRef {
        h: c.gh.as_deref(),
        c: c.gc.as_deref(),
    };
    let grads = WeightGrads {
        input: Some(&mut g.w),
        recurrent: Some(&mut g.u),
        bias: Some(&mut g.b),
        recurrent_bias: Some(&mut g.bu),
    };
    match layer {
        Layer::Lstm(forget_bias) => {
            let cell = lstm::Cell { forget_bias };
            let mut scratch = vec![f32::NAN; lstm::backward_scratch_len(p).unwrap()];
            let grad_initial = StateMut {
                h: Some(&mut g.h0),
                c: Some(&mut g.c0),
            };
            lstm::backward(
                p,
                &cell,
                &c.x,
                &weights,
                initial,
                &saved,
                &c.gy,
                grad_final,
                Some(&mut g.x),
                grads,
                grad_initial,
                &mut scratch,
            )
            .unwrap();
        }
        Layer::Gru(reset) => {
            let mut scratch = vec![f32::NAN; gru::backward_scratch_len(p).unwrap()];
            let grad_initial = StateMut {
                h: Some(&mut g.h0),
                c: None,
            };
            gru::backward(
                p,
                reset,
                &c.x,
                &weights,
                initial,
                &saved,
                &c.gy,
                grad_final,
                Some(&mut g.x),
                grads,
                grad_initial,
                &mut scratch,
            )
            .unwrap();
        }
        Layer::Rnn(act) => {
            let mut scratch = vec![f32::NAN; rnn::backward_scratch_len(p).unwrap()];
            let grad_initial = StateMut {
                h: Some(&mut g.h0),
                c: None,
            };
            rnn::backward(
                p,
                act,
                &c.x,
                &weights,
                initial,
                &saved,
                &c.gy,
                grad_final,
                Some(&mut g.x),
                grads,
                grad_initial,
                &mut scratch,
            )
            .unwrap();
        }
    }
    for v in [
        &mut g.x, &mut g.w, &mut g.u, &mut g.b, &mut g.bu, &mut g.h0, &mut g.c0,
    ] {
        v.iter_mut().for_each(|x| *x -= prior);
    }
    (y, h_n, c_n, g)
}

/// The buffers of a case in f64, the order the gradient check perturbs them in.
fn wide(c: &Case) -> [Vec<f64>; 7] {
    let g = c.w.len() / c.p.inputs;
    let state = c.p.batch * c.p.hidden;
    [
        widen(&c.x),
        widen(&c.w),
        widen(&c.u),
        wide_or_zero(&c.b, g),
        wide_or_zero(&c.bu, g),
        wide_or_zero(&c.h0, state),
        wide_or_zero(&c.c0, state),
    ]
}

/// `Σ gy·y + Σ gh·h_n + Σ gc·c_n` of a reference outcome.
fn loss(c: &Case, o: &reference::Outcome) -> f64 {
    let state = c.p.batch * c.p.hidden;
    dot(&widen(&c.gy), &o.output)
        + dot(&wide_or_zero(&c.gh, state), &o.h)
        + if o.c.is_empty() {
            0.0
        } else {
            dot(&wide_or_zero(&c.gc, state), &o.c)
        }
}

/// Checks every gradient of `got` against finite differences of `f(buffers)`, each
/// buffer in turn (an initial state only when the case has one — otherwise the kernel
/// still reports the gradient of the zeros it used, which is checked too).
fn check_grads(
    name: &str,
    c: &Case,
    got: &Grads,
    f: &dyn Fn(&[Vec<f64>; 7]) -> f64,
    with_cell: bool,
) {
    let base = wide(c);
    let analytic = [&got.x, &got.w, &got.u, &got.b, &got.bu, &got.h0, &got.c0];
    let names = [
        "input",
        "weights",
        "recurrent",
        "bias",
        "recurrent_bias",
        "h0",
        "c0",
    ];
    for k in 0..7 {
        if k == 6 && !with_cell {
            continue;
        }
        let mut at = base.clone();
        assert_gradient_floored(
            &format!("{name}: grad {}", names[k]),
            analytic[k],
            &mut |v| {
                at[k].copy_from_slice(v);
                f(&at)
            },
            &base[k],
            2e-3,
            SUM_FLOOR,
        );
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// LSTM forward (output, final state) against the f64 reference; backward through
    /// time against its finite differences.
    #[test]
    fn lstm_matches_reference(c in case(4, true), fb in forget_bias()) {
        let (y, h_n, c_n, g) = kernel(&c, Layer::Lstm(fb));
        let run = |v: &[Vec<f64>; 7]| {
            let w = reference::Weights { input: &v[1], recurrent: &v[2], bias: &v[3], recurrent_bias: &v[4] };
            reference::lstm(&c.p, fb as f64, &v[0], &w, &v[5], &v[6])
        };
        let want = run(&wide(&c));
        assert_close("lstm: output", &y, &want.output, 1e-5, 1e-5);
        assert_close("lstm: final h", &h_n, &want.h, 1e-5, 1e-5);
        assert_close("lstm: final c", &c_n, &want.c, 1e-5, 1e-5);
        check_grads("lstm", &c, &g, &|v| loss(&c, &run(v)), true);
    }
}

fn reset() -> impl Strategy<Value = gru::Reset> {
    prop_oneof![Just(gru::Reset::After), Just(gru::Reset::Before)]
}

proptest! {
    #![proptest_config(config(256))]

    /// GRU (both reset placements) forward against the f64 reference; backward through
    /// time against its finite differences.
    #[test]
    fn gru_matches_reference(c in case(3, false), reset in reset()) {
        let (y, h_n, _, g) = kernel(&c, Layer::Gru(reset));
        let after = reset == gru::Reset::After;
        let run = |v: &[Vec<f64>; 7]| {
            let w = reference::Weights { input: &v[1], recurrent: &v[2], bias: &v[3], recurrent_bias: &v[4] };
            reference::gru(&c.p, after, &v[0], &w, &v[5])
        };
        let want = run(&wide(&c));
        assert_close("gru: output", &y, &want.output, 1e-5, 1e-5);
        assert_close("gru: final h", &h_n, &want.h, 1e-5, 1e-5);
        check_grads("gru", &c, &g, &|v| loss(&c, &run(v)), false);
    }
}

fn rnn_activation() -> impl Strategy<Value = rnn::Activation> {
    prop_oneof![Just(rnn::Activation::Tanh), Just(rnn::Activation::Relu)]
}

proptest! {
    #![proptest_config(config(256))]

    /// Simple RNN (tanh, ReLU) forward against the f64 reference; backward through time
    /// against its finite differences (ReLU cases with a pre-activation within 1e−3 of
    /// the kink are skipped: finite differences straddle it).
    #[test]
    fn rnn_matches_reference(c in case(1, false), act in rnn_activation()) {
        let relu = act == rnn::Activation::Relu;
        let run = |v: &[Vec<f64>; 7]| {
            let w = reference::Weights { input: &v[1], recurrent: &v[2], bias: &v[3], recurrent_bias: &v[4] };
            reference::rnn(&c.p, relu, &v[0], &w, &v[5])
        };
        let (want, closest) = run(&wide(&c));
        prop_assume!(!relu || closest > 1e-3);
        let (y, h_n, _, g) = kernel(&c, Layer::Rnn(act));
        assert_close("rnn: output", &y, &want.output, 1e-5, 1e-5);
        assert_close("rnn: final h", &h_n, &want.h, 1e-5, 1e-5);
        check_grads("rnn", &c, &g, &|v| loss(&c, &run(v).0), false);
    }
}

/// Every layer kind the tests cover, with its options.
fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![
        forget_bias().prop_map(Layer::Lstm),
        reset().prop_map(Layer::Gru),
        rnn_activation().prop_map(Layer::Rnn),
    ]
}

fn gates(layer: Layer) -> usize {
    match layer {
        Layer::Lstm(_) => 4,
        Layer::Gru(_) => 3,
        Layer::Rnn(_) => 1,
    }
}

proptest! {
    #![proptest_config(config(16))]

    /// 300 steps of large inputs and weights: every output and gradient stays finite
    /// (the gates saturate; nothing overflows). A ReLU RNN is unbounded by design (its
    /// state grows like ‖U‖ᵗ), so it gets a contracting `U` (row sums below 1).
    #[test]
    fn long_sequences_stay_finite(layer in layer(), seed in any::<u64>()) {
        let (steps, hidden, inputs) = (300, 3, 2);
        let g = gates(layer);
        let relu = matches!(layer, Layer::Rnn(rnn::Activation::Relu));
        let p = Params::new(2, steps, inputs, hidden).sequences(true);
        let mut rng = mote_core::rng::Rng::new(seed);
        let mut draw = |len: usize, scale: f32| -> Vec<f32> {
            (0..len).map(|_| (rng.next_f32() * 2.0 - 1.0) * scale).collect()
        };
        let c = Case {
            p,
            x: draw(2 * steps * inputs, 20.0),
            w: draw(g * hidden * inputs, 3.0),
            u: draw(g * hidden * hidden, if relu { 0.3 } else { 3.0 }),
            b: Some(draw(g * hidden, 3.0)),
            bu: None,
            h0: None,
            c0: None,
            gy: draw(2 * steps * hidden, 1.0),
            gh: None,
            gc: None,
        };
        let (y, h_n, c_n, gr) = kernel(&c, layer);
        for v in [&y, &h_n, &c_n, &gr.x, &gr.w, &gr.u, &gr.b, &gr.bu, &gr.h0, &gr.c0] {
            prop_assert!(v.iter().all(|x| x.is_finite()));
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Arbitrary geometry and buffer lengths (mostly wrong): `Err` or `Ok`, never a panic.
    #[test]
    fn never_panics(layer in layer(), dims in prop::collection::vec(0usize..4, 4),
                    lens in prop::collection::vec(0usize..40, 12), flags in any::<(bool, bool, bool)>()) {
        let p = Params::new(dims[0], dims[1], dims[2], dims[3]).sequences(flags.0).reversed(flags.1);
        let v = |i: usize| vec![0.5f32; lens[i]];
        let (x, w, u, b, h0, c0) = (v(0), v(1), v(2), v(3), v(4), v(5));
        let (mut y, mut saved, mut scratch, mut gx, mut gw, mut gh0) = (v(6), v(7), v(8), v(9), v(10), v(11));
        let weights = Weights { input: &w, recurrent: &u, bias: Some(&b), recurrent_bias: flags.2.then_some(&b[..]) };
        let initial = StateRef { h: Some(&h0), c: flags.2.then_some(&c0[..]) };
        let grads = || WeightGrads::default();
        match layer {
            Layer::Lstm(fb) => {
                let cell = lstm::Cell { forget_bias: fb };
                let _ = lstm::forward(&p, &cell, &x, &weights, initial, &mut y, &mut saved);
                let _ = lstm::final_state(&p, &saved, &mut gx, &mut gw);
                let _ = lstm::backward(&p, &cell, &x, &weights, initial, &saved, &y, initial,
                    Some(&mut gx), WeightGrads { input: Some(&mut gw), ..grads() },
                    StateMut { h: Some(&mut gh0), c: None }, &mut scratch);
            }
            Layer::Gru(reset) => {
                let _ = gru::forward(&p, reset, &x, &weights, initial, &mut y, &mut saved);
                let _ = gru::final_state(&p, &saved, &mut gx);
                let _ = gru::backward(&p, reset, &x, &weights, initial, &saved, &y, initial,
                    Some(&mut gx), WeightGrads { input: Some(&mut gw), ..grads() },
                    StateMut { h: Some(&mut gh0), c: None }, &mut scratch);
            }
            Layer::Rnn(act) => {
                let _ = rnn::forward(&p, act, &x, &weights, initial, &mut y, &mut saved);
                let _ = rnn::final_state(&p, &saved, &mut gx);
                let _ = rnn::backward(&p, act, &x, &weights, initial, &saved, &y, initial,
                    Some(&mut gx), WeightGrads { input: Some(&mut gw), ..grads() },
                    StateMut { h: Some(&mut gh0), c: None }, &mut scratch);
            }
        }
    }
}

/// Wrong buffers are named in the error.
#[test]
fn errors_name_the_buffer() {
    let p = Params::new(2, 3, 4, 5);
    let (x, w, u) = (
        vec![0.0f32; 2 * 3 * 4],
        vec![0.0f32; 20 * 4],
        vec![0.0f32; 20 * 5],
    );
    let mut y = vec![0.0f32; 10];
    let mut saved = vec![0.0f32; lstm::saved_len(&p).unwrap()];
    let weights = Weights {
        input: &w,
        recurrent: &u,
        bias: None,
        recurrent_bias: None,
    };
    let cell = lstm::Cell::default();
    let run = |x: &[f32],
               weights: &Weights<'_>,
               initial: StateRef<'_>,
               y: &mut [f32],
               saved: &mut [f32]| {
        lstm::forward(&p, &cell, x, weights, initial, y, saved).map_err(|e| e.at)
    };
    assert_eq!(
        run(&x, &weights, StateRef::default(), &mut y, &mut saved),
        Ok(())
    );
    assert_eq!(
        run(&x[1..], &weights, StateRef::default(), &mut y, &mut saved),
        Err("lstm: input")
    );
    let short = Weights {
        recurrent: &u[1..],
        ..weights
    };
    assert_eq!(
        run(&x, &short, StateRef::default(), &mut y, &mut saved),
        Err("recurrent: recurrent weights")
    );
    let h0 = [0.0f32; 3];
    let bad_state = StateRef {
        h: Some(&h0),
        c: None,
    };
    assert_eq!(
        run(&x, &weights, bad_state, &mut y, &mut saved),
        Err("lstm: initial state")
    );
    assert_eq!(
        run(&x, &weights, StateRef::default(), &mut y[1..], &mut saved),
        Err("lstm: output")
    );
    // A GRU has no cell state.
    let c0 = [0.0f32; 10];
    let wg = vec![0.0f32; 15 * 4];
    let ug = vec![0.0f32; 15 * 5];
    let gw = Weights {
        input: &wg,
        recurrent: &ug,
        bias: None,
        recurrent_bias: None,
    };
    let mut gsaved = vec![0.0f32; gru::saved_len(&p).unwrap()];
    let with_cell = StateRef {
        h: None,
        c: Some(&c0),
    };
    let e = gru::forward(
        &p,
        gru::Reset::After,
        &x,
        &gw,
        with_cell,
        &mut y,
        &mut gsaved,
    )
    .unwrap_err();
    assert_eq!(e.kind, mote_core::ErrorKind::Unsupported);
    assert_eq!(
        Params::new(0, 3, 4, 5).output_len().map_err(|e| e.kind),
        Err(mote_core::ErrorKind::Zero)
    );
}
