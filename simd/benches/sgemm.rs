//! SGEMM `C = A·B` on square row-major matrices (256, 512, 1024), one thread, on every
//! instruction-set path this CPU has (`sgemm/<path>/<n>`). `benches/sgemm/run.sh` runs
//! this beside OpenBLAS (through numpy) in the same run and prints the ratios.
//!
//! `MOTE_SGEMM_SIZES=256,512` limits the sizes; `MOTE_SGEMM_PATHS=best` runs only the
//! best path.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use mote_simd::isa::{self, Isa};
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

fn sizes() -> Vec<usize> {
    std::env::var("MOTE_SGEMM_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![256, 512, 1024])
}

fn bench(c: &mut Criterion) {
    let only_best = std::env::var("MOTE_SGEMM_PATHS").is_ok_and(|v| v == "best");
    let paths: Vec<Isa> = isa::compiled()
        .iter()
        .copied()
        .filter(|&i| isa::available(i) && (!only_best || i == isa::best()))
        .collect();
    let mut group = c.benchmark_group("sgemm");
    for n in sizes() {
        let (a, b) = (values(n * n, 1), values(n * n, 2));
        let mut out = vec![0.0f32; n * n];
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        group.sample_size(if n >= 1024 { 10 } else { 20 });
        for &path in &paths {
            isa::set_limit(path);
            group.bench_with_input(BenchmarkId::new(path.name(), n), &n, |bench, &n| {
                bench.iter(|| {
                    let (a, b) = (
                        MatRef::row_major(&a, n, n).ok(),
                        MatRef::row_major(&b, n, n).ok(),
                    );
                    let c = MatMut::row_major(&mut out, n, n).ok();
                    if let (Some(a), Some(b), Some(c)) = (a, b, c) {
                        let _ = black_box(sgemm(1.0, a, b, 0.0, c));
                    }
                })
            });
        }
        isa::clear_limit();
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
