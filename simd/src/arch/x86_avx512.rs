//! x86-64 AVX-512 micro-kernels, chosen at run time when the CPU has AVX-512 F, BW, DQ
//! and VL and the OS saves the ZMM registers (see [`isa`](crate::isa)).
//!
//! Only the GEMM tile: the `6 × 32` tile is the AVX2 one's loop (the shared
//! `x86_tile!`) over 16-lane vectors, same contract and same tolerance against the
//! scalar path. The dot products, square roots and int8 kernels stay on AVX2 on these
//! CPUs.
//!
//! The CPU this crate is developed on has no AVX-512, nor does the emulator available
//! to it: this path is compiled and type-checked everywhere, and its tests (beside the
//! AVX2 ones, comparing with the scalar tile) run only where the CPU has it — they say
//! so when skipped. Everything but the six intrinsics named below is the code the
//! AVX2 tests exercise.

use core::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps,
    _mm512_setzero_ps, _mm512_storeu_ps,
};

/// Whether this path may run now: the CPU has AVX-512 (see [`isa`](crate::isa)) and no
/// lower limit is set.
#[inline]
pub(crate) fn available() -> bool {
    crate::isa::at_least(crate::isa::Isa::Avx512)
}

super::x86_tile::x86_tile! {
    /// The AVX-512 version of [`scalar::tile`](super::scalar::tile) for a panel of `V`
    /// vectors (`W = 16·V` columns), same contract.
    ///
    /// # Safety
    ///
    /// As for the scalar tile with `W = 16·V`, and [`available`] must have returned true.
    features = "avx512f,avx512bw,avx512dq,avx512vl,fma",
    vector = __m512,
    lanes = 16,
    zero = _mm512_setzero_ps,
    load = _mm512_loadu_ps,
    store = _mm512_storeu_ps,
    splat = _mm512_set1_ps,
    fmadd = _mm512_fmadd_ps,
    mul = _mm512_mul_ps,
    add = _mm512_add_ps,
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::arch::{Update, scalar};

    #[test]
    fn tile_matches_the_scalar_path() {
        if !available() {
            std::println!("skipped: this CPU has no AVX-512");
            return;
        }
        let values = |n: usize, seed: u32| -> std::vec::Vec<f32> {
            let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
            (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    (s % 9) as f32 - 4.0
                })
                .collect()
        };
        for update in [Update::Overwrite, Update::Accumulate, Update::Scale(-0.25)] {
            for kc in [1, 3, 17] {
                for nr in [1, 15, 16, 17, 32] {
                    for csc in [1, 2] {
                        let a = values(6 * kc, kc as u32);
                        let panel = values(kc * 32, 7 + nr as u32);
                        let rsc = 32 * csc + 1;
                        let c0 = values(6 * rsc, 3);
                        let (mut c1, mut c2) = (c0.clone(), c0);
                        // SAFETY: A is 6 × kc row-major, C rows rsc apart with
                        // nr·csc < rsc; AVX-512 is present (checked).
                        unsafe {
                            tile::<6, 2>(&a, kc, 1, &panel, 0.5, update, &mut c1, rsc, csc, nr);
                            scalar::tile::<6, 32>(
                                &a, kc, 1, &panel, 0.5, update, &mut c2, rsc, csc, nr,
                            );
                        }
                        // Small integers: every path is exact.
                        assert_eq!(c1, c2, "kc {kc} nr {nr} csc {csc} {update:?}");
                    }
                }
            }
        }
    }
}
