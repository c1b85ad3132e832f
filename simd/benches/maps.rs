//! The f32 maps on every instruction-set path this CPU has, in one run
//! (`maps/<kernel>/<path>/<n>`): `axpy` over `n` floats and `bias_act` with ReLU6 over
//! 64 rows of `n / 64` (an L1-resident `n = 4096` and an L2-sized `n = 65536`).
//!
//! `cargo bench -p mote-simd --bench maps`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mote_simd::isa::{self, Isa};
use mote_simd::map::{Act, axpy, bias_act};
use std::hint::black_box;

fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let paths: Vec<Isa> = isa::compiled()
        .iter()
        .copied()
        .filter(|&i| isa::available(i))
        .collect();
    let mut group = c.benchmark_group("maps");
    for n in [4096usize, 65536] {
        let x = values(n, 1);
        let bias = values(n / 64, 2);
        let mut y = values(n, 3);
        for &path in &paths {
            isa::set_limit(path);
            group.throughput(Throughput::Elements(2 * n as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("axpy/{}", path.name()), n),
                &n,
                |b, _| {
                    // α and −α in turn, so that y stays bounded.
                    b.iter(|| {
                        let _ = black_box(axpy(1e-3, black_box(&x), &mut y));
                        let _ = black_box(axpy(-1e-3, black_box(&x), &mut y));
                    })
                },
            );
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("bias_act_relu6/{}", path.name()), n),
                &n,
                |b, _| b.iter(|| black_box(bias_act(&mut y, black_box(&bias), Act::RELU6))),
            );
        }
        isa::clear_limit();
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
