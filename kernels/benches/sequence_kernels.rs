//! Time of the sequence layers' forward and backward passes at the sizes of the
//! examples and of the reference measurements.
//!
//! `cargo bench -p mote-kernels --bench sequence_kernels`
//!
//! - `lstm h64 28x28 b64`: an LSTM of 64 units over a batch of 64 MNIST digits read as
//!   28 steps of 28 pixels (examples/mnist-lstm.toml), forward then backward
//!   through time with every gradient; one iteration is one training batch, so an epoch
//!   of 8,000 digits is 125 iterations.
//! - `mha d64 h4 s64 b32`: multi-head self-attention, model width 64, 4 heads of 16,
//!   over 32 sequences of 64 steps, forward, and forward then backward.
//!
//! One thread. Samples are few and short so the run stays within a minute.

use criterion::{Criterion, criterion_group, criterion_main};
use mote_core::rng::Rng;
use mote_kernels::f32::attention;
use mote_kernels::f32::recurrent::{Params, StateMut, StateRef, WeightGrads, Weights, lstm};
use std::hint::black_box;
use std::time::Duration;

fn data(len: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.uniform(-scale, scale)).collect()
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

fn lstm_h64(c: &mut Criterion) {
    let (batch, steps, inputs, hidden) = (64, 28, 28, 64);
    let p = Params::new(batch, steps, inputs, hidden);
    let g = 4 * hidden;
    let x = data(batch * steps * inputs, 1, 1.0);
    let (w, u, b) = (
        data(g * inputs, 2, 0.2),
        data(g * hidden, 3, 0.2),
        data(g, 4, 0.1),
    );
    let weights = Weights {
        input: &w,
        recurrent: &u,
        bias: Some(&b),
        recurrent_bias: None,
    };
    let cell = lstm::Cell::default();
    let mut y = vec![0.0; batch * hidden];
    let mut saved = vec![0.0; lstm::saved_len(&p).unwrap()];
    let mut scratch = vec![0.0; lstm::backward_scratch_len(&p).unwrap()];
    let dy = data(batch * hidden, 5, 1.0);
    let (mut dx, mut dw, mut du, mut db) = (
        vec![0.0; x.len()],
        vec![0.0; w.len()],
        vec![0.0; u.len()],
        vec![0.0; g],
    );
    let mut group = c.benchmark_group("lstm h64 28x28 b64");
    group.bench_function("forward", |bench| {
        bench.iter(|| {
            lstm::forward(
                &p,
                &cell,
                black_box(&x),
                &weights,
                StateRef::default(),
                &mut y,
                &mut saved,
            )
            .unwrap()
        })
    });
    group.bench_function("forward+backward", |bench| {
        bench.iter(|| {
            lstm::forward(
                &p,
                &cell,
                black_box(&x),
                &weights,
                StateRef::default(),
                &mut y,
                &mut saved,
            )
            .unwrap();
            let grads = WeightGrads {
                input: Some(&mut dw),
                recurrent: Some(&mut du),
                bias: Some(&mut db),
                recurrent_bias: None,
            };
            lstm::backward(
                &p,
                &cell,
                &x,
                &weights,
                StateRef::default(),
                &saved,
                &dy,
                StateRef::default(),
                Some(&mut dx),
                grads,
                StateMut::default(),
                &mut scratch,
            )
            .unwrap()
        })
    });
    group.finish();
}

fn mha_d64(c: &mut Criterion) {
    let p = attention::Params::self_attention(32, 64, 64, 4).unwrap();
    let inner = p.heads * p.head_dim;
    let x = data(p.batch * p.q_steps * p.dim, 1, 1.0);
    let ws: Vec<Vec<f32>> = (0..4).map(|i| data(inner * p.dim, 10 + i, 0.2)).collect();
    let weights = attention::Weights {
        q: &ws[0],
        k: &ws[1],
        v: &ws[2],
        o: &ws[3],
        q_bias: None,
        k_bias: None,
        v_bias: None,
        o_bias: None,
    };
    let mut y = vec![0.0; x.len()];
    let mut saved = vec![0.0; attention::saved_len(&p).unwrap()];
    let mut scratch = vec![0.0; attention::backward_scratch_len(&p).unwrap()];
    let dy = data(x.len(), 5, 1.0);
    let mut dx = vec![0.0; x.len()];
    let mut dws: Vec<Vec<f32>> = (0..4).map(|_| vec![0.0; inner * p.dim]).collect();
    let mut group = c.benchmark_group("mha d64 h4 s64 b32");
    group.bench_function("forward", |bench| {
        bench.iter(|| {
            attention::forward(&p, black_box(&x), None, &weights, None, &mut y, &mut saved).unwrap()
        })
    });
    group.bench_function("forward+backward", |bench| {
        bench.iter(|| {
            attention::forward(&p, black_box(&x), None, &weights, None, &mut y, &mut saved)
                .unwrap();
            let [q, k, v, o] = &mut dws[..] else {
                unreachable!()
            };
            let grads = attention::WeightGrads {
                q: Some(q),
                k: Some(k),
                v: Some(v),
                o: Some(o),
                ..Default::default()
            };
            attention::backward(
                &p,
                &x,
                None,
                &weights,
                &saved,
                &dy,
                Some(&mut dx),
                None,
                grads,
                &mut scratch,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = lstm_h64, mha_d64
}
criterion_main!(benches);
