//! The GPU (feature `cuda`): cuBLAS's SGEMM through `device::Gpu` against the CPU's
//! `mote_simd::gemm::sgemm`. Skipped, with a message, where no GPU is usable (every
//! machine without an NVIDIA driver, cuBLAS and NVRTC).
#![cfg(feature = "cuda")]

use mote_core::rng::Rng;
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use mote_trainer::device::Gpu;

#[test]
fn cublas_sgemm_matches_the_cpu() {
    let gpu = match Gpu::probe() {
        Ok(gpu) => gpu,
        Err(why) => {
            eprintln!("skipped: no usable GPU ({why})");
            return;
        }
    };
    eprintln!("GPU: {} ({} MiB)", gpu.name(), gpu.memory_bytes() >> 20);
    let mut rng = Rng::new(3);
    for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (64, 784, 128), (256, 512, 300)] {
        let mut a = vec![0f32; m * k];
        let mut b = vec![0f32; k * n];
        rng.fill_uniform(&mut a, -1.0, 1.0);
        rng.fill_uniform(&mut b, -1.0, 1.0);
        let got = gpu.sgemm(&a, &b, m, k, n).unwrap();
        let mut want = vec![0f32; m * n];
        let (av, bv) = (
            MatRef::row_major(&a, m, k).unwrap(),
            MatRef::row_major(&b, k, n).unwrap(),
        );
        sgemm(
            1.0,
            av,
            bv,
            0.0,
            MatMut::row_major(&mut want, m, n).unwrap(),
        )
        .unwrap();
        // Two f32 sums of k products of values in [−1, 1], in different orders: each
        // within k·2⁻²³·k of the exact sum, so within 2·k²·2⁻²³ of each other.
        let tol = 2.0 * (k * k) as f32 * f32::EPSILON;
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= tol, "{m}×{k}×{n} [{i}]: GPU {g}, CPU {w}");
        }
    }
    assert!(gpu.sgemm(&[1.0], &[1.0, 2.0], 1, 1, 1).is_err());
}
