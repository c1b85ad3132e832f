//! x86-64 AVX2 + FMA micro-kernels, chosen at run time when the CPU (and the OS, which
//! must save the 256-bit registers) supports them.
//!
//! The tile keeps each of its `R` rows of `NR = 8` accumulators in one 256-bit register
//! and updates them with fused multiply-adds: every product is added unrounded, so
//! results differ from the scalar path's in the last bits (each accumulator still sums
//! its `k` products in order `p = 0, 1, …`). `dot` keeps the scalar path's eight lanes
//! and pairwise combination, with fused multiply-adds in the lanes.

use super::scalar::Update;
use core::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps,
    _mm256_setzero_ps, _mm256_sqrt_ps, _mm256_storeu_ps,
};

/// Whether this path may run now: the CPU has AVX2 + FMA (see
/// [`isa`](crate::isa)) and no lower limit is set.
#[inline]
pub(crate) fn available() -> bool {
    crate::isa::active() >= crate::isa::Isa::Avx2
}

/// The AVX2 + FMA version of [`scalar::tile`](super::scalar::tile) for a panel of
/// `V` vectors (`W = 8·V` columns), same contract.
///
/// # Safety
///
/// As for the scalar tile with `W = 8·V`, and [`available`] must have returned true.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn tile<const R: usize, const V: usize>(
    a: &[f32],
    rsa: usize,
    csa: usize,
    panel: &[f32],
    alpha: f32,
    update: Update,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
    nr: usize,
) {
    let w = 8 * V;
    debug_assert!(nr <= w && panel.len() % w == 0);
    let mut acc = [[_mm256_setzero_ps(); V]; R];
    let mut col = 0;
    for b in panel.chunks_exact(w) {
        let mut bv = [_mm256_setzero_ps(); V];
        for (v, lane) in bv.iter_mut().enumerate() {
            // SAFETY: `b` holds 8·V floats; vector v reads 8 of them from 8·v.
            *lane = unsafe { _mm256_loadu_ps(b.as_ptr().add(8 * v)) };
        }
        for (i, acc_i) in acc.iter_mut().enumerate() {
            let at = i * rsa + col;
            debug_assert!(at < a.len());
            // SAFETY: `i·rsa + p·csa` with i < R, p < kc is in bounds by the caller's
            // contract.
            let ai = _mm256_set1_ps(unsafe { *a.get_unchecked(at) });
            for (x, &bj) in acc_i.iter_mut().zip(&bv) {
                *x = _mm256_fmadd_ps(ai, bj, *x);
            }
        }
        col += csa;
    }
    let scale = _mm256_set1_ps(alpha);
    for (i, acc_i) in acc.iter().enumerate() {
        let row = i * rsc;
        for (v, x) in acc_i.iter().enumerate() {
            let v0 = 8 * v;
            if v0 >= nr {
                break;
            }
            let x = _mm256_mul_ps(*x, scale);
            if csc == 1 && v0 + 8 <= nr {
                debug_assert!(row + v0 + 8 <= c.len());
                // SAFETY: i < R, columns v0..v0 + 8 ≤ nr: in bounds by the caller's
                // contract.
                let p = unsafe { c.as_mut_ptr().add(row + v0) };
                // SAFETY: `p` points at 8 in-bounds floats (above).
                let out = match update {
                    Update::Overwrite => x,
                    Update::Scale(beta) => unsafe {
                        _mm256_fmadd_ps(_mm256_loadu_ps(p), _mm256_set1_ps(beta), x)
                    },
                    Update::Accumulate => unsafe { _mm256_add_ps(_mm256_loadu_ps(p), x) },
                };
                // SAFETY: as for the loads.
                unsafe { _mm256_storeu_ps(p, out) };
                continue;
            }
            let mut lanes = [0.0f32; 8];
            // SAFETY: `lanes` holds 8 floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), x) };
            for (j, &y) in lanes.iter().enumerate().take(nr - v0) {
                let at = row + (v0 + j) * csc;
                debug_assert!(at < c.len());
                // SAFETY: i < R, v0 + j < nr: in bounds by the caller's contract.
                let cij = unsafe { c.get_unchecked_mut(at) };
                *cij = match update {
                    Update::Overwrite => y,
                    Update::Scale(beta) => y + beta * *cij,
                    Update::Accumulate => *cij + y,
                };
            }
        }
    }
}

/// The AVX2 + FMA version of [`scalar::dot`](super::scalar::dot).
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let body = n - n % 8;
    let mut acc: __m256 = _mm256_setzero_ps();
    let mut i = 0;
    while i < body {
        // SAFETY: i + 8 ≤ body ≤ the length of both slices.
        acc = unsafe {
            _mm256_fmadd_ps(
                _mm256_loadu_ps(a.as_ptr().add(i)),
                _mm256_loadu_ps(b.as_ptr().add(i)),
                acc,
            )
        };
        i += 8;
    }
    let mut l = [0.0f32; 8];
    // SAFETY: `l` holds 8 floats.
    unsafe { _mm256_storeu_ps(l.as_mut_ptr(), acc) };
    let mut tail = 0.0f32;
    for (&x, &y) in a[body..n].iter().zip(&b[body..n]) {
        tail += x * y;
    }
    let even = (l[0] + l[4]) + (l[2] + l[6]);
    let odd = (l[1] + l[5]) + (l[3] + l[7]);
    (even + odd) + tail
}

/// `x[i] ← √x[i]`, eight at a time (`vsqrtps` is correctly rounded, like the scalar
/// path).
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sqrt_in_place(x: &mut [f32]) {
    let mut chunks = x.chunks_exact_mut(8);
    for c in &mut chunks {
        // SAFETY: `c` holds 8 floats.
        unsafe { _mm256_storeu_ps(c.as_mut_ptr(), _mm256_sqrt_ps(_mm256_loadu_ps(c.as_ptr()))) };
    }
    super::scalar::sqrt_in_place(chunks.into_remainder());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::scalar;

    /// A small deterministic generator (no dependency in a no_std crate's tests).
    fn values(n: usize, seed: u32, integers: bool) -> [f32; 512] {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        core::array::from_fn(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            if i >= n {
                0.0
            } else if integers {
                (s % 9) as f32 - 4.0
            } else {
                (s % 20_001) as f32 / 10_000.0 - 1.0
            }
        })
    }

    /// Runs the AVX2 and scalar tiles on the same arguments, returns both outputs.
    fn both<const R: usize, const W: usize>(
        kc: usize,
        nr: usize,
        csc: usize,
        update: Update,
        integers: bool,
    ) -> ([f32; 512], [f32; 512]) {
        let a = values(R * kc, 1 + kc as u32, integers);
        let panel = values(kc * W, 7 + nr as u32, integers);
        let c0 = values(512, 3, integers);
        let (mut c1, mut c2) = (c0, c0);
        let rsc = W * csc + 1;
        // SAFETY: A is R × kc row-major (rsa = kc, csa = 1) inside 512 floats; C rows
        // are rsc apart with nr·csc < rsc, R·rsc ≤ 512; nr ≤ W.
        unsafe {
            let p = &panel[..kc * W];
            if W == 8 {
                tile::<R, 1>(&a, kc, 1, p, 0.5, update, &mut c1, rsc, csc, nr);
            } else {
                tile::<R, 2>(&a, kc, 1, p, 0.5, update, &mut c1, rsc, csc, nr);
            }
            scalar::tile::<R, W>(&a, kc, 1, p, 0.5, update, &mut c2, rsc, csc, nr);
        }
        (c1, c2)
    }

    #[test]
    fn tiles_match_the_scalar_path() {
        if !available() {
            return;
        }
        for update in [Update::Overwrite, Update::Accumulate, Update::Scale(-0.25)] {
            for kc in [1, 3, 8, 21] {
                for nr in [1, 5, 8] {
                    for csc in [1, 2] {
                        // Exact integer sums: identical bits.
                        let (x, y) = both::<4, 8>(kc, nr, csc, update, true);
                        assert_eq!(x, y, "kc {kc} nr {nr} csc {csc} {update:?}");
                        let (x, y) = both::<3, 8>(kc, nr, csc, update, true);
                        assert_eq!(x, y);
                        // Rounded sums: within a few ulps of the sum's magnitude.
                        let (x, y) = both::<4, 8>(kc, nr, csc, update, false);
                        for (p, q) in x.iter().zip(&y) {
                            assert!((p - q).abs() <= 1e-5 * (kc as f32), "{p} vs {q}");
                        }
                    }
                }
                for nr in [1, 8, 9, 16] {
                    for csc in [1, 2] {
                        let (x, y) = both::<4, 16>(kc, nr, csc, update, true);
                        assert_eq!(x, y, "wide: kc {kc} nr {nr} csc {csc} {update:?}");
                        let (x, y) = both::<2, 16>(kc, nr, csc, update, true);
                        assert_eq!(x, y);
                    }
                }
            }
        }
    }

    #[test]
    fn dot_matches_the_scalar_path() {
        if !available() {
            return;
        }
        for len in 0..40 {
            let a = values(len, 5, true);
            let b = values(len, 9, true);
            // SAFETY: AVX2 and FMA are available (checked above).
            let fast = unsafe { dot(&a[..len], &b[..len]) };
            assert_eq!(fast, scalar::dot(&a[..len], &b[..len]));
        }
    }
}
