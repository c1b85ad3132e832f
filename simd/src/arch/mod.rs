//! One module per instruction set, behind one dispatch point.
//!
//! Each module provides the same micro-kernels with the same contracts (see
//! [`scalar`], the reference every other path is compared with):
//!
//! - `tile::<R>`: an `R × NR` register tile of the GEMM (`R ≤ MR`, see
//!   [`tune`](crate::tune)), `k` steps over a packed `B` panel;
//! - `dot`: the f32 dot product of two equal-length slices;
//! - `sqrt_in_place`: the correctly rounded square root of every element;
//! - `dot_i8`, `dot_i8_offset`: the int8 dot products with a wrapping i32 accumulator
//!   (exact: every path returns the true sum mod 2^32).
//!
//! The functions below are the dispatch point. On x86-64 (outside bare metal) the AVX2 +
//! FMA path is chosen at run time when the CPU has it (probed once with CPUID, cached);
//! everything else runs the portable scalar path. On 32-bit Arm with the DSP extension
//! (`cfg(mote_arm_dsp)`, set by the build script from the target: Cortex-M4/M7,
//! Armv8-M Mainline with `+dsp`, Armv7-A/R) the int8 dot products take the `arm_dsp`
//! path, chosen at compile time. Paths for Helium (`arm_mve`) and aarch64 NEON will be
//! chosen here the same way.

#[cfg(all(target_arch = "arm", mote_arm_dsp))]
pub(crate) mod arm_dsp;
pub(crate) mod scalar;
#[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
pub(crate) mod x86_avx2;
#[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
pub(crate) mod x86_avx512;
#[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
pub(crate) mod x86_detect;
#[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
pub(crate) mod x86_tile;

pub(crate) use scalar::Update;

/// Whether the Arm DSP path may run now (compiled in, and no lower limit set).
#[cfg(all(target_arch = "arm", mote_arm_dsp))]
#[inline(always)]
fn dsp() -> bool {
    crate::isa::active() >= crate::isa::Isa::ArmDsp
}

/// The register-tile shape [`sgemm`](crate::gemm::sgemm) uses (see
/// [`tune`](crate::tune)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GemmShape {
    /// `MR × NR`: the scalar path's, and every path without a wider tile.
    Base,
    /// `MR_AVX2 × NR_AVX2` (x86-64 AVX2 + FMA).
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    Avx2,
    /// `MR_AVX512 × NR_AVX512` (x86-64 AVX-512).
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    Avx512,
}

/// The tile shape for a product `n` columns wide on the path in use: the wide tiles
/// only when `n` fills at least one of their panels.
#[inline]
pub(crate) fn gemm_shape(n: usize) -> GemmShape {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    {
        use crate::isa::{Isa, active};
        use crate::tune::{NR_AVX2, NR_AVX512};
        let isa = active();
        if isa >= Isa::Avx512 && n >= NR_AVX512 {
            return GemmShape::Avx512;
        }
        if isa >= Isa::Avx2 && n >= NR_AVX2 {
            return GemmShape::Avx2;
        }
    }
    let _ = n;
    GemmShape::Base
}

/// One `R × W` register tile, `W` the panel width (see [`scalar::tile`]).
///
/// # Safety
///
/// As for [`scalar::tile`].
///
/// Never inlined: each `R × W` instantiation is its own function, so the scalar tile's
/// accumulators get the whole register file (inlined into the blocking loops, LLVM
/// spilled them to the stack and ran 5× slower).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(crate) unsafe fn tile<const R: usize, const W: usize>(
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
    {
        if W == 32 && x86_avx512::available() {
            // SAFETY: forwarded from the caller; AVX-512 is present (checked).
            unsafe { x86_avx512::tile::<R, 2>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr) };
            return;
        }
        if x86_avx2::available() {
            // SAFETY: forwarded from the caller; AVX2 and FMA are present (checked).
            unsafe {
                match W {
                    8 => x86_avx2::tile::<R, 1>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr),
                    16 => {
                        x86_avx2::tile::<R, 2>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr)
                    }
                    _ => scalar::tile::<R, W>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr),
                }
            };
            return;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { scalar::tile::<R, W>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr) }
}

/// `x[i] ← √x[i]` (see [`scalar::sqrt_in_place`]).
#[inline]
pub(crate) fn sqrt_in_place(x: &mut [f32]) {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    if x86_avx2::available() {
        // SAFETY: AVX2 is present (checked).
        unsafe { x86_avx2::sqrt_in_place(x) };
        return;
    }
    scalar::sqrt_in_place(x);
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

/// The int8 dot product, wrapping in i32 (see [`scalar::dot_i8`]).
#[inline]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    if a.len() >= 16 && x86_avx2::available() {
        // SAFETY: AVX2 is present (checked).
        return unsafe { x86_avx2::dot_i8(a, b) };
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if a.len() >= 4 && dsp() {
        return arm_dsp::dot_i8(a, b);
    }
    scalar::dot_i8(a, b)
}

/// The int8 dot product with offsets, wrapping in i32 (see [`scalar::dot_i8_offset`]).
#[inline]
pub(crate) fn dot_i8_offset(x: &[i8], x_offset: i32, w: &[i8], w_offset: i32) -> i32 {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    {
        let lanes = x86_avx2::OFFSET_MIN..=x86_avx2::OFFSET_MAX;
        if x.len() >= 16
            && lanes.contains(&x_offset)
            && lanes.contains(&w_offset)
            && x86_avx2::available()
        {
            // SAFETY: AVX2 is present (checked), offsets within the lane limits.
            return unsafe { x86_avx2::dot_i8_offset(x, x_offset, w, w_offset) };
        }
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    {
        // Runs shorter than one four-byte step stay inline (the scalar loop, no call).
        let lanes = arm_dsp::OFFSET_MIN..=arm_dsp::OFFSET_MAX;
        if x.len() >= 4 && lanes.contains(&x_offset) && lanes.contains(&w_offset) && dsp() {
            return arm_dsp::dot_i8_offset(x, x_offset, w, w_offset);
        }
    }
    scalar::dot_i8_offset(x, x_offset, w, w_offset)
}
