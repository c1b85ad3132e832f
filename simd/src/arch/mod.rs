//! One module per instruction set, behind one dispatch point.
//!
//! Each module provides the same micro-kernels with the same contracts (see
//! [`scalar`], the reference every other path is compared with):
//!
//! - `tile::<R>`: an `R × NR` register tile of the GEMM (`R ≤ MR`, see
//!   [`tune`](crate::tune)), `k` steps over a packed `B` panel;
//! - `dot`: the f32 dot product of two equal-length slices.
//!
//! The functions below are the dispatch point. On x86-64 (outside bare metal) the AVX2 +
//! FMA path is chosen at run time when the CPU has it (probed once with CPUID, cached);
//! everything else runs the portable scalar path. Instruction-set paths for Cortex-M
//! (`arm_dsp`, `arm_mve`) and aarch64 NEON will be chosen here at compile time from
//! `cfg(target_feature)`.

pub(crate) mod scalar;
#[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
pub(crate) mod x86_avx2;

pub(crate) use scalar::Update;

/// Whether the fastest path of this CPU is in use (for benchmarks and tests): `"avx2"`
/// or `"scalar"`.
pub(crate) fn name() -> &'static str {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    if x86_avx2::available() {
        return "avx2+fma";
    }
    "scalar"
}

/// One `R × NR` register tile (see [`scalar::tile`]).
///
/// # Safety
///
/// As for [`scalar::tile`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn tile<const R: usize>(
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
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    if x86_avx2::available() {
        // SAFETY: forwarded from the caller; AVX2 and FMA are present (checked).
        unsafe { x86_avx2::tile::<R>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr) };
        return;
    }
    // SAFETY: forwarded from the caller.
    unsafe { scalar::tile::<R>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr) }
}

/// The f32 dot product (see [`scalar::dot`]).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    if x86_avx2::available() {
        // SAFETY: AVX2 and FMA are present (checked).
        return unsafe { x86_avx2::dot(a, b) };
    }
    scalar::dot(a, b)
}
