//! Throughput of the f32 linear kernels and the GEMM under them.
//!
//! `cargo bench -p mote-kernels --bench f32_kernels`
//!
//! Throughput is reported as `Throughput::Elements(flops)`: criterion's "elem/s" are
//! FLOP/s, counting a multiply–add as 2 FLOPs (and a bias or gradient add as 1). The
//! naive GEMM (a plain triple loop over indexed slices) runs in the same group as
//! `sgemm` for comparison. Samples are few and short so the whole run takes well under
//! two minutes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mote_core::padding::Padding;
use mote_core::rng::Rng;
use mote_kernels::f32::{conv, dense, depthwise};
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use std::hint::black_box;
use std::time::Duration;

fn data(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// `c[i][j] = Σ_p a[i][p]·w[j][p]`: the textbook triple loop, for comparison.
fn naive_gemm(m: usize, n: usize, k: usize, a: &[f32], w: &[f32], c: &mut [f32]) {
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for p in 0..k {
                s += a[i * k + p] * w[j * k + p];
            }
            c[i * n + j] = s;
        }
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

/// The GEMM of a dense layer's forward pass: 64 × 784 inputs times (128 × 784)ᵀ.
fn gemm(c: &mut Criterion) {
    let (m, n, k) = (64, 128, 784);
    let (a, w) = (data(m * k, 1), data(n * k, 2));
    let mut out = vec![0.0; m * n];
    let mut g = c.benchmark_group("gemm 64x128x784 (A·Bᵀ)");
    g.throughput(Throughput::Elements((2 * m * n * k) as u64));
    g.bench_function("sgemm", |b| {
        b.iter(|| {
            sgemm(
                1.0,
                MatRef::row_major(black_box(&a), m, k).unwrap(),
                MatRef::row_major(black_box(&w), n, k).unwrap().t(),
                0.0,
                MatMut::row_major(&mut out, m, n).unwrap(),
            )
            .unwrap()
        })
    });
    g.bench_function("naive triple loop", |b| {
        b.iter(|| naive_gemm(m, n, k, black_box(&a), black_box(&w), &mut out))
    });
    g.finish();
}

/// Dense 784 → 128 on a batch of 64.
fn dense(c: &mut Criterion) {
    let p = dense::Params::new(64, 784, 128);
    let (x, w, bias, dy) = (
        data(64 * 784, 3),
        data(128 * 784, 4),
        data(128, 5),
        data(64 * 128, 6),
    );
    let (mut y, mut dx, mut dw, mut db) = (
        vec![0.0; 64 * 128],
        vec![0.0; 64 * 784],
        vec![0.0; 128 * 784],
        vec![0.0; 128],
    );
    let mac = (64 * 784 * 128) as u64;
    let mut g = c.benchmark_group("dense 64x784->128");
    g.throughput(Throughput::Elements(2 * mac + 64 * 128));
    g.bench_function("forward", |b| {
        b.iter(|| dense::forward(&p, black_box(&x), black_box(&w), Some(&bias), &mut y).unwrap())
    });
    g.throughput(Throughput::Elements(4 * mac + 64 * 128));
    g.bench_function("backward (input, weights, bias)", |b| {
        b.iter(|| {
            dense::backward(
                &p,
                black_box(&x),
                black_box(&w),
                black_box(&dy),
                Some(&mut dx),
                Some(&mut dw),
                Some(&mut db),
            )
            .unwrap()
        })
    });
    g.finish();
}

/// 3×3 convolution, SAME padding, 28×28×16 → 28×28×16, batch 1.
fn conv2d(c: &mut Criterion) {
    let p = conv::Params::new(1, 28, 28, 16, 16, 3, 3).with_padding(Padding::Same);
    let (x, w, bias) = (data(28 * 28 * 16, 7), data(16 * 9 * 16, 8), data(16, 9));
    let mut y = vec![0.0; 28 * 28 * 16];
    let mut scratch = vec![0.0; conv::scratch_len(&p)];
    // Every output pixel × channel: 9·16 multiply–adds (padding taps included) + bias.
    let flops = (28 * 28 * 16 * (2 * 9 * 16 + 1)) as u64;
    let mut g = c.benchmark_group("conv2d 3x3 28x28x16->16 same");
    g.throughput(Throughput::Elements(flops));
    g.bench_function("forward im2col", |b| {
        b.iter(|| {
            conv::forward(
                &p,
                black_box(&x),
                black_box(&w),
                Some(&bias),
                &mut y,
                &mut scratch,
            )
            .unwrap()
        })
    });
    g.bench_function("forward direct", |b| {
        b.iter(|| {
            conv::forward_direct(&p, black_box(&x), black_box(&w), Some(&bias), &mut y).unwrap()
        })
    });
    let dy = data(28 * 28 * 16, 10);
    let (mut dx, mut dw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
    g.throughput(Throughput::Elements(2 * flops));
    g.bench_function("backward im2col (input, weights)", |b| {
        b.iter(|| {
            conv::backward(
                &p,
                &x,
                &w,
                black_box(&dy),
                Some(&mut dx),
                Some(&mut dw),
                None,
                &mut scratch,
            )
            .unwrap()
        })
    });
    g.bench_function("backward direct (input, weights)", |b| {
        b.iter(|| {
            conv::backward_direct(
                &p,
                &x,
                &w,
                black_box(&dy),
                Some(&mut dx),
                Some(&mut dw),
                None,
            )
            .unwrap()
        })
    });
    g.finish();
}

/// 3×3 depthwise convolution, SAME padding, 28×28×16, multiplier 1, batch 1.
fn depthwise(c: &mut Criterion) {
    let p = depthwise::Params::new(1, 28, 28, 16, 1, 3, 3).with_padding(Padding::Same);
    let (x, w, bias) = (data(28 * 28 * 16, 11), data(9 * 16, 12), data(16, 13));
    let mut y = vec![0.0; 28 * 28 * 16];
    let flops = (28 * 28 * 16 * (2 * 9 + 1)) as u64;
    let mut g = c.benchmark_group("depthwise 3x3 28x28x16 same");
    g.throughput(Throughput::Elements(flops));
    g.bench_function("forward", |b| {
        b.iter(|| {
            depthwise::forward(&p, black_box(&x), black_box(&w), Some(&bias), &mut y).unwrap()
        })
    });
    let dy = data(28 * 28 * 16, 14);
    let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; 16]);
    g.throughput(Throughput::Elements(2 * flops));
    g.bench_function("backward (input, weights, bias)", |b| {
        b.iter(|| {
            depthwise::backward(
                &p,
                &x,
                &w,
                black_box(&dy),
                Some(&mut dx),
                Some(&mut dw),
                Some(&mut db),
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = gemm, dense, conv2d, depthwise
}
criterion_main!(benches);
