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
//!   (exact: every path returns the true sum mod 2^32);
//! - `requantize_i8`: int32 accumulators to int8 (TFLite's multiplier, zero point,
//!   clamp; exact on every path);
//! - `axpy`, `bias_act`: the f32 maps of [`map`](crate::map) (`y ← y + α·x`, fused on
//!   the vector paths; `y ← act(y + bias)`, the same bits on every path).
//!
//! The functions below are the dispatch point: each tries the paths from the highest
//! rung down and takes the first that is compiled, allowed by [`isa`](crate::isa) (its
//! limit; on bare metal fixed at compile time unless the `path-select` feature is on)
//! and suited to the arguments.
//!
//! | path | module | chosen | kernels |
//! |---|---|---|---|
//! | x86-64 AVX-512 | `x86_avx512` | at run time (CPUID, cached), off bare metal | `tile` (W 32) |
//! | x86-64 AVX2 + FMA | `x86_avx2` | at run time (CPUID, cached), off bare metal | `tile` (W 8 and 16), `dot`, `sqrt_in_place`, `dot_i8`, `dot_i8_offset` (≥ 16 bytes; offsets in ±32640), `axpy`, `bias_act` |
//! | aarch64 NEON | `aarch64_neon` | at compile time (`target_feature = "neon"`: every aarch64 target but the `-softfloat` ones) | `tile` (W 4, 8, 16), `dot`, `sqrt_in_place`, `dot_i8`, `dot_i8_offset` (SMULL + SADALP / SXTL + SMLAL, ≥ 8 bytes; offsets in ±32640), `axpy`, `bias_act` |
//! | aarch64 NEON + dotprod | `aarch64_neon` | at compile time (`target_feature = "dotprod"`) | `dot_i8`, `dot_i8_offset` with SDOT (≥ 16 bytes; any offsets), NEON for the tail |
//! | Arm Helium (MVE) | `arm_mve` | at compile time: `cfg(mote_arm_mve)` (integer) and `cfg(mote_arm_mve_fp)` (f32), from `+mve` / `+mve.fp` or `target-cpu` cortex-m55/m85 | `dot_i8`, `dot_i8_offset`, `requantize_i8` (double rounding), `requantize_i8_channels` (and its split-shift one- and two-row forms), the int8 tiles `dot_1x4`/`dot_1x2`/`gemm_2xn`/`gemm_2xn_raw` and `row_sums` (≥ 8 bytes, any offset), `gather`, `depthwise`/`depthwise_run` (≤ 64 taps, any offset), `window_max` (≥ 16 channels; runs from 4), `window_sum` (≥ 16 channels), all ≤ 64 taps; with `mve_fp` `dot`, `tile` (4 × 4), `axpy` and `bias_act` (≥ 8 floats per row) |
//! | Arm DSP | `arm_dsp` | at compile time: `cfg(mote_arm_dsp)` (Cortex-M4/M7, Armv8-M Mainline with `+dsp`, Armv7-A/R) | `dot_i8`, `dot_i8_offset` (offsets in ±32640) |
//! | Cortex-M FPU | `arm_fpu` | at compile time: `cfg(mote_arm_fpu)` (bare-metal hard-float `thumbv7em` / `thumbv8m.main`: Cortex-M4F/M7/M33/M55/M85) | `tile` (4 × 4, `VFMA.F32` on `s` registers; `A` with contiguous rows or columns, else scalar) |
//! | scalar | `scalar` | always | all |
//!
//! The Arm `cfg`s are set by `simd/build.rs` from the target and flags (stable rustc
//! sets no `target_feature` cfg for 32-bit Arm). Integer results are the same bits on
//! every path; `sqrt_in_place` too (every path rounds correctly); `dot` and `tile`
//! differ from the scalar path's only by the fused multiply-adds' missing roundings
//! (AVX2 and NEON give each other's bits).

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
pub(crate) mod aarch64_neon;
#[cfg(all(target_arch = "arm", mote_arm_dsp))]
pub(crate) mod arm_dsp;
#[cfg(all(target_arch = "arm", mote_arm_fpu))]
pub(crate) mod arm_fpu;
#[cfg(all(target_arch = "arm", mote_arm_mve))]
pub(crate) mod arm_mve;
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
    crate::isa::at_least(crate::isa::Isa::ArmDsp)
}

/// Whether the Cortex-M FPU path may run now (compiled in, and no lower limit set).
#[cfg(all(target_arch = "arm", mote_arm_fpu))]
#[inline(always)]
fn fpu() -> bool {
    crate::isa::at_least(crate::isa::Isa::ArmFpu)
}

/// Whether the aarch64 NEON path may run now (compiled in, and no lower limit set).
#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
#[inline(always)]
fn neon() -> bool {
    crate::isa::at_least(crate::isa::Isa::Neon)
}

/// Whether the aarch64 SDOT path may run now (compiled in, and no lower limit set).
#[cfg(all(
    target_arch = "aarch64",
    target_feature = "neon",
    target_feature = "dotprod"
))]
#[inline(always)]
fn dotprod() -> bool {
    crate::isa::at_least(crate::isa::Isa::NeonDotprod)
}

/// Whether the Helium path may run now (compiled in, and no lower limit set).
#[cfg(all(target_arch = "arm", mote_arm_mve))]
#[inline(always)]
fn mve() -> bool {
    crate::isa::at_least(crate::isa::Isa::ArmMve)
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
    /// `MR × NR_NEON` (aarch64 NEON).
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    Neon,
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
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    if neon() && n >= crate::tune::NR_NEON {
        return GemmShape::Neon;
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
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    if neon() {
        use aarch64_neon as neon;
        // SAFETY: forwarded from the caller; NEON is present (compiled for it).
        unsafe {
            match W {
                4 => neon::tile::<R, 1>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr),
                8 => neon::tile::<R, 2>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr),
                16 => neon::tile::<R, 4>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr),
                _ => scalar::tile::<R, W>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr),
            }
        };
        return;
    }
    #[cfg(all(target_arch = "arm", mote_arm_mve_fp))]
    if W == arm_mve::TILE_W && R >= 1 && R <= arm_mve::TILE_R && mve() {
        // SAFETY: forwarded from the caller; W = 4 and 1 ≤ R ≤ 4 (checked).
        unsafe { arm_mve::tile::<R>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr) };
        return;
    }
    #[cfg(all(target_arch = "arm", mote_arm_fpu))]
    if W == arm_fpu::TILE_W && R >= 1 && R <= arm_fpu::TILE_R && fpu() {
        // SAFETY: forwarded from the caller; W = 4 and 1 ≤ R ≤ 4 (checked).
        unsafe { arm_fpu::tile::<R>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr) };
        return;
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
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    if neon() {
        // SAFETY: NEON is present (compiled for it).
        unsafe { aarch64_neon::sqrt_in_place(x) };
        return;
    }
    scalar::sqrt_in_place(x);
}

/// Stamps out the dispatch of an element-wise map whose one branch-free scalar body is
/// compiled again for AVX2 (`x86_avx2::$name`, same bits: no FMA contraction).
macro_rules! multiversioned {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub(crate) fn $name(x: &mut [f32]) {
            #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
            if x86_avx2::available() {
                // SAFETY: AVX2 and FMA are present (checked).
                unsafe { x86_avx2::$name(x) };
                return;
            }
            scalar::$name(x);
        }
    )*};
}

multiversioned! {
    /// `x ← σ(x)` (see [`scalar::sigmoid_in_place`]).
    sigmoid_in_place;
    /// `x ← eˣ` on `[−87, 87]` (see [`scalar::exp_in_place`]).
    exp_in_place;
    /// `x ← tanh x` (see [`scalar::tanh_in_place`]).
    tanh_in_place;
}

/// The f32 dot product (see [`scalar::dot`]).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    if x86_avx2::available() {
        // SAFETY: AVX2 and FMA are present (checked).
        return unsafe { x86_avx2::dot(a, b) };
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    if neon() {
        // SAFETY: NEON is present (compiled for it).
        return unsafe { aarch64_neon::dot(a, b) };
    }
    // Helium from 32 elements: shorter rows cost less in the caller's inlined (often
    // fully unrolled) scalar loop than in a call (see arm_mve::MIN_LEN_F32).
    #[cfg(all(target_arch = "arm", mote_arm_mve_fp))]
    if a.len() >= arm_mve::MIN_LEN_F32 && mve() {
        return arm_mve::dot(a, b);
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
    // Helium from 8 elements: shorter runs cost less inline than a call (on the MNIST
    // CNN's 3-tap rows, MVE for every length was 8 % more instructions in all).
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if a.len() >= arm_mve::MIN_LEN && mve() {
        return arm_mve::dot_i8(a, b);
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if a.len() >= 4 && dsp() {
        return arm_dsp::dot_i8(a, b);
    }
    #[cfg(all(
        target_arch = "aarch64",
        target_feature = "neon",
        target_feature = "dotprod"
    ))]
    if a.len() >= 16 && dotprod() {
        // SAFETY: NEON and the dot-product extension are present (compiled for them).
        return unsafe { aarch64_neon::dot_i8_dotprod(a, b) };
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    if a.len() >= 8 && neon() {
        // SAFETY: NEON is present (compiled for it).
        return unsafe { aarch64_neon::dot_i8(a, b) };
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
    // Helium takes every offset (exact in ℤ/2^32, see arm_mve), from 8 elements.
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if x.len() >= arm_mve::MIN_LEN && mve() {
        return arm_mve::dot_i8_offset(x, x_offset, w, w_offset);
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    {
        // Runs shorter than one four-byte step stay inline (the scalar loop, no call).
        let lanes = arm_dsp::OFFSET_MIN..=arm_dsp::OFFSET_MAX;
        if x.len() >= 4 && lanes.contains(&x_offset) && lanes.contains(&w_offset) && dsp() {
            return arm_dsp::dot_i8_offset(x, x_offset, w, w_offset);
        }
    }
    #[cfg(all(
        target_arch = "aarch64",
        target_feature = "neon",
        target_feature = "dotprod"
    ))]
    if x.len() >= 16 && dotprod() {
        // SAFETY: NEON and the dot-product extension are present (compiled for them).
        return unsafe { aarch64_neon::dot_i8_offset_dotprod(x, x_offset, w, w_offset) };
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    {
        // Runs shorter than one eight-byte step stay inline (the scalar loop, no call).
        let lanes = aarch64_neon::OFFSET_MIN..=aarch64_neon::OFFSET_MAX;
        if x.len() >= 8 && lanes.contains(&x_offset) && lanes.contains(&w_offset) && neon() {
            // SAFETY: NEON is present (compiled for it).
            return unsafe { aarch64_neon::dot_i8_offset(x, x_offset, w, w_offset) };
        }
    }
    scalar::dot_i8_offset(x, x_offset, w, w_offset)
}

/// Requantisation of int32 accumulators to int8 (see [`scalar::requantize_i8`]).
#[inline]
pub(crate) fn requantize_i8(
    acc: &[i32],
    multiplier: mote_core::quant::QuantizedMultiplier,
    rounding: mote_core::quant::Rounding,
    zero_point: i32,
    min: i8,
    max: i8,
    out: &mut [i8],
) {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if rounding == mote_core::quant::Rounding::Double && !acc.is_empty() && mve() {
        arm_mve::requantize_i8_double(acc, multiplier, zero_point, min, max, out);
        return;
    }
    scalar::requantize_i8(acc, multiplier, rounding, zero_point, min, max, out);
}

/// Whether [`requantize_i8_channels`] takes a vector path now.
#[inline(always)]
pub(crate) fn requantize_i8_channels_vectorised() -> bool {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if mve() {
        return true;
    }
    false
}

/// Per-channel requantisation with double rounding (see
/// [`scalar::requantize_i8_channels`]); callers check the lengths, shifts and clamp.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn requantize_i8_channels(
    acc: &[i32],
    bias: &[i32],
    multipliers: &[i32],
    shifts: &[i32],
    zero_point: i32,
    min: i8,
    max: i8,
    out: &mut [i8],
) {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if !acc.is_empty() && mve() {
        arm_mve::requantize_i8_channels(acc, bias, multipliers, shifts, zero_point, min, max, out);
        return;
    }
    scalar::requantize_i8_channels(acc, bias, multipliers, shifts, zero_point, min, max, out);
}

/// Per-channel requantisation with the shifts split (see
/// `requant::requantize_i8_prepared`): `left = max(s, 0)`, `neg_right = min(s, 0)`.
/// Callers check the lengths (all equal), the shifts and the clamp.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn requantize_i8_channels_split(
    acc: &[i32],
    bias: &[i32],
    multipliers: &[i32],
    left: &[i32],
    neg_right: &[i32],
    zero_point: i32,
    min: i8,
    max: i8,
    out: &mut [i8],
) {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if !acc.is_empty() && mve() {
        arm_mve::requantize_i8_channels1(
            acc,
            bias,
            multipliers,
            left,
            neg_right,
            zero_point,
            min,
            max,
            out,
        );
        return;
    }
    scalar::requantize_i8_channels_split(
        acc,
        bias,
        multipliers,
        left,
        neg_right,
        zero_point,
        min,
        max,
        out,
    );
}

/// Per-channel requantisation of two rows over the same channels (see
/// `requant::requantize_i8_prepared2`), the shifts split as for
/// [`requantize_i8_channels_split`]. Callers check the lengths (all equal), the shifts
/// and the clamp.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn requantize_i8_channels2(
    acc: [&[i32]; 2],
    bias: &[i32],
    multipliers: &[i32],
    left: &[i32],
    neg_right: &[i32],
    zero_point: i32,
    min: i8,
    max: i8,
    out: [&mut [i8]; 2],
) {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if !acc[0].is_empty() && mve() {
        arm_mve::requantize_i8_channels2(
            acc,
            bias,
            multipliers,
            left,
            neg_right,
            zero_point,
            min,
            max,
            out,
        );
        return;
    }
    let [out0, out1] = out;
    for (a, o) in [(acc[0], out0), (acc[1], out1)] {
        scalar::requantize_i8_channels_split(
            a,
            bias,
            multipliers,
            left,
            neg_right,
            zero_point,
            min,
            max,
            o,
        );
    }
}

/// The int16 × int8 dot product with offsets, wrapping in i64 (see
/// [`scalar::dot_i16_i8`]). The vector paths take `x_offset = 0` (TFLite's int16
/// activations are symmetric) and weight offsets that keep their lanes exact.
#[inline]
pub(crate) fn dot_i16_i8(x: &[i16], x_offset: i32, w: &[i8], w_offset: i32) -> i64 {
    if x_offset == 0 {
        #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
        if x.len() >= 16
            && (x86_avx2::OFFSET16_MIN..=x86_avx2::OFFSET16_MAX).contains(&w_offset)
            && x86_avx2::available()
        {
            // SAFETY: AVX2 is present (checked), the offset within its range.
            return unsafe { x86_avx2::dot_i16_i8(x, w, w_offset) };
        }
        #[cfg(all(target_arch = "arm", mote_arm_mve))]
        if x.len() >= arm_mve::MIN_LEN
            && (arm_dsp::OFFSET_MIN..=arm_dsp::OFFSET_MAX).contains(&w_offset)
            && mve()
        {
            return arm_mve::dot_i16_i8(x, w, w_offset);
        }
        #[cfg(all(target_arch = "arm", mote_arm_dsp))]
        if x.len() >= 4 && (arm_dsp::OFFSET_MIN..=arm_dsp::OFFSET_MAX).contains(&w_offset) && dsp()
        {
            return arm_dsp::dot_i16_i8(x, w, w_offset);
        }
        #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
        if x.len() >= 8
            && (aarch64_neon::OFFSET_MIN..=aarch64_neon::OFFSET_MAX).contains(&w_offset)
            && neon()
        {
            // SAFETY: NEON is present (compiled for it).
            return unsafe { aarch64_neon::dot_i16_i8(x, w, w_offset) };
        }
    }
    scalar::dot_i16_i8(x, x_offset, w, w_offset)
}

/// Whether `x_offset` fits the Arm DSP path's 16-bit lanes.
#[cfg(all(target_arch = "arm", mote_arm_dsp))]
#[inline(always)]
fn lane_safe(x_offset: i32) -> bool {
    (arm_dsp::OFFSET_MIN..=arm_dsp::OFFSET_MAX).contains(&x_offset)
}

/// The int8 2 × 2 GEMM tile (see [`scalar::dot_2x2`]); callers check the lengths.
#[inline]
pub(crate) fn dot_2x2(x: [&[i8]; 2], x_offset: i32, w: [&[i8]; 2]) -> [i32; 4] {
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if x[0].len() >= 4 && lane_safe(x_offset) && dsp() {
        return arm_dsp::dot_2x2(x, x_offset, w);
    }
    scalar::dot_2x2(x, x_offset, w)
}

/// The int8 GEMV tile (see [`scalar::dot_1x4`]); callers check the lengths.
#[inline]
pub(crate) fn dot_1x4(x: &[i8], x_offset: i32, w: [&[i8]; 4]) -> [i32; 4] {
    // Helium takes every offset (exact in ℤ/2^32, see arm_mve).
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if x.len() >= arm_mve::MIN_LEN && mve() {
        return arm_mve::dot_1x4(x, x_offset, w);
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if x.len() >= 16 && lane_safe(x_offset) && dsp() {
        return arm_dsp::dot_1x4(x, x_offset, w);
    }
    // 32-bit targets: one loop for the four rows (64-bit hosts keep the two-row passes,
    // which LLVM vectorises). Not on Armv8.1-M (Helium cores): there LLVM turns the
    // two-row passes into low-overhead loops, 3.7 instructions per MAC for a fully
    // connected layer against 4.6 for this loop (and the Helium path's caller grew).
    #[cfg(all(
        target_pointer_width = "32",
        not(all(target_arch = "arm", mote_arm_mve))
    ))]
    if x.len() >= 8 {
        return scalar::dot_1x4_rows(x, x_offset, w);
    }
    scalar::dot_1x4(x, x_offset, w)
}

/// The int8 GEMV tile for two rows (see [`scalar::dot_1x2`]); callers check the lengths.
#[inline]
pub(crate) fn dot_1x2(x: &[i8], x_offset: i32, w: [&[i8]; 2]) -> [i32; 2] {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if x.len() >= arm_mve::MIN_LEN && mve() {
        return arm_mve::dot_1x2(x, x_offset, w);
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if x.len() >= 16 && lane_safe(x_offset) && dsp() {
        return arm_dsp::dot_1x2(x, x_offset, w);
    }
    scalar::dot_1x2(x, x_offset, w)
}

/// The int8 depthwise window (see [`scalar::depthwise`]).
///
/// # Safety
///
/// As for `arm_dsp::depthwise`: equal rows and cols, every tap's run of `out.len()`
/// bytes in bounds of `x` and of `w`.
#[inline]
pub(crate) unsafe fn depthwise(
    out: &mut [i32],
    x: &[i8],
    xs: crate::int8::Taps,
    x_offset: i32,
    w: &[i8],
    ws: crate::int8::Taps,
) {
    // Helium: any offset, windows of up to 64 taps.
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if out.len() >= 4 && xs.rows.saturating_mul(xs.cols) <= arm_mve::DEPTHWISE_TAPS && mve() {
        // SAFETY: forwarded from the caller; the tap count checked.
        unsafe { arm_mve::depthwise(out, x, xs, x_offset, w, ws) };
        return;
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if out.len() >= 4 && lane_safe(x_offset) && dsp() {
        // SAFETY: forwarded from the caller.
        unsafe { arm_dsp::depthwise(out, x, xs, x_offset, w, ws) };
        return;
    }
    // 32-bit targets: the sums in registers over every tap, without checking the bounds
    // again (see `scalar::depthwise_fit`). 64-bit hosts keep the reference loop, which
    // LLVM vectorises. Not on Armv8.1-M (Helium cores), where the reference loop
    // becomes a low-overhead loop and LLVM spilled in this one (the depthwise bench on
    // the Cortex-M55's scalar path: 9.0 instructions per MAC with the reference loop,
    // 9.7 with this).
    #[cfg(all(
        target_pointer_width = "32",
        not(all(target_arch = "arm", mote_arm_mve))
    ))]
    {
        // SAFETY: forwarded from the caller.
        unsafe { scalar::depthwise_fit(out, x, xs, x_offset, w, ws) };
    }
    #[cfg(not(all(
        target_pointer_width = "32",
        not(all(target_arch = "arm", mote_arm_mve))
    )))]
    scalar::depthwise(out, x, xs, x_offset, w, ws)
}

/// The int8 depthwise window for a run of pixels (see `int8::depthwise_run`): pixel
/// `p`'s window starts at `x[p·pixel_step]`, its sums go to
/// `out[p·channels..][..channels]`.
///
/// # Safety
///
/// `channels ≥ 1`, `out.len()` a multiple of `channels`; for every pixel `p`, the
/// contract of [`depthwise`] with `x[p·pixel_step..]` and `channels` outputs.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) unsafe fn depthwise_run(
    out: &mut [i32],
    channels: usize,
    x: &[i8],
    xs: crate::int8::Taps,
    x_offset: i32,
    pixel_step: usize,
    w: &[i8],
    ws: crate::int8::Taps,
) {
    // Helium: one tap table for the whole run.
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if channels >= 4 && xs.rows.saturating_mul(xs.cols) <= arm_mve::DEPTHWISE_TAPS && mve() {
        // SAFETY: forwarded from the caller; the tap count checked.
        unsafe { arm_mve::depthwise_run(out, channels, x, xs, x_offset, pixel_step, w, ws) };
        return;
    }
    for (p, o) in out.chunks_exact_mut(channels.max(1)).enumerate() {
        let xp = x.get(p.wrapping_mul(pixel_step)..).unwrap_or(&[]);
        // SAFETY: pixel `p`'s window, forwarded from the caller.
        unsafe { depthwise(o, xp, xs, x_offset, w, ws) };
    }
}

/// The int8 pooling maximum (see [`scalar::window_max`]).
///
/// # Safety
///
/// At least one tap, every tap's run of `out.len()` bytes in bounds of `x`.
#[inline]
pub(crate) unsafe fn window_max(out: &mut [i8], x: &[i8], taps: crate::int8::Taps) {
    // Helium from 16 channels (one full vector): with fewer the call and the tap table
    // outweigh the loop (2×2 windows of 8 channels: 44 instructions per output for
    // max pooling against 27 on the DSP path).
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if out.len() >= 16 && taps.rows.saturating_mul(taps.cols) <= arm_mve::DEPTHWISE_TAPS && mve() {
        // SAFETY: forwarded from the caller; the tap count checked.
        unsafe { arm_mve::window_max(out, x, taps) };
        return;
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if out.len() >= 4 && dsp() {
        // SAFETY: forwarded from the caller.
        unsafe { arm_dsp::window_max(out, x, taps) };
        return;
    }
    // 32-bit targets: the scalar loop that keeps the maxima in registers, without
    // checking the bounds again (see `scalar::window_max`).
    #[cfg(target_pointer_width = "32")]
    {
        // SAFETY: forwarded from the caller.
        unsafe { scalar::window_max_fit(out, x, taps) };
    }
    #[cfg(not(target_pointer_width = "32"))]
    scalar::window_max(out, x, taps)
}

/// The int8 pooling maximum for a run of pixels (see `int8::window_max_run`): pixel
/// `p`'s window starts at `x[p·pixel_step]`, its maxima go to
/// `out[p·channels..][..channels]`.
///
/// # Safety
///
/// `channels ≥ 1`, `out.len()` a multiple of `channels`; for every pixel `p`, the
/// contract of [`window_max`] with `x[p·pixel_step..]` and `channels` outputs.
#[inline(always)]
pub(crate) unsafe fn window_max_run(
    out: &mut [i8],
    channels: usize,
    x: &[i8],
    taps: crate::int8::Taps,
    pixel_step: usize,
) {
    // Helium from 4 channels: one tap table for the run, so fewer than 16 channels (one
    // predicated vector) pay too.
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if channels >= 4 && taps.rows.saturating_mul(taps.cols) <= arm_mve::DEPTHWISE_TAPS && mve() {
        // SAFETY: forwarded from the caller; the tap count checked.
        unsafe { arm_mve::window_max_run(out, channels, x, taps, pixel_step) };
        return;
    }
    for (p, o) in out.chunks_exact_mut(channels.max(1)).enumerate() {
        let xs = x.get(p.wrapping_mul(pixel_step)..).unwrap_or(&[]);
        // SAFETY: pixel `p`'s window, forwarded from the caller.
        unsafe { window_max(o, xs, taps) };
    }
}

/// The int8 pooling sum (see [`scalar::window_sum`]).
///
/// # Safety
///
/// Every tap's run of `out.len()` bytes in bounds of `x`.
#[inline]
pub(crate) unsafe fn window_sum(out: &mut [i32], x: &[i8], taps: crate::int8::Taps) {
    // Helium from 16 channels, as for `window_max` (2×2 windows of 8 channels: 56
    // instructions per output for average pooling against 35 on the DSP path).
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if out.len() >= 16 && taps.rows.saturating_mul(taps.cols) <= arm_mve::DEPTHWISE_TAPS && mve() {
        // SAFETY: forwarded from the caller; the tap count checked.
        unsafe { arm_mve::window_sum(out, x, taps) };
        return;
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if out.len() >= 4 && taps.rows.saturating_mul(taps.cols) <= 256 && dsp() {
        // SAFETY: forwarded from the caller.
        unsafe { arm_dsp::window_sum(out, x, taps) };
        return;
    }
    scalar::window_sum(out, x, taps)
}

/// Prepares two input rows for [`gemm_2xn`]: on the Arm DSP path (offset lane-safe, at
/// least one four-byte step) their offset-extended 16-bit lanes, written to `buf`
/// (`4·⌊k/4⌋` words, callers check) and returned first; on the scalar path of a 32-bit
/// target the same lanes (same layout, see [`scalar::expand_2`]), returned second (the
/// Arm DSP path's check stays the one it was); elsewhere nothing (empty slices), and
/// [`gemm_2xn`] reads the rows themselves.
#[inline]
pub(crate) fn expand_2<'a>(
    x: [&[i8]; 2],
    x_offset: i32,
    buf: &'a mut [u32],
) -> (&'a [u32], &'a [u32]) {
    // Helium reads the raw rows (any offset): nothing to prepare.
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if x[0].len() >= arm_mve::MIN_LEN && mve() {
        return (&[], &[]);
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if x[0].len() >= 4 && lane_safe(x_offset) && dsp() {
        let words = 4 * (x[0].len() / 4);
        let lanes = buf.get_mut(..words).unwrap_or(&mut []);
        arm_dsp::expand_2(x, x_offset, lanes);
        return (lanes, &[]);
    }
    // The scalar path on 32-bit targets (Cortex-M0/M3, M33 without DSP, or any core with
    // a lower limit set): the inner loop then loads each offset-added input once instead
    // of re-adding the offset per weight row (on the Cortex-M4, conv 1×1 went from 5.2
    // to 3.0 instructions per MAC; CMSIS-NN's pure C takes 3.1). 64-bit hosts keep the
    // raw rows: LLVM vectorises `scalar::gemm_2xn` there.
    #[cfg(target_pointer_width = "32")]
    if x[0].len() >= 4 && (scalar::OFFSET_MIN..=scalar::OFFSET_MAX).contains(&x_offset) {
        let words = 4 * (x[0].len() / 4);
        let lanes = buf.get_mut(..words).unwrap_or(&mut []);
        scalar::expand_2(x, x_offset, lanes);
        return (&[], lanes);
    }
    let _ = (x, x_offset, buf);
    (&[], &[])
}

/// Whether this build may prepare single rows ([`prepares_1`]) at all: 32-bit targets
/// without Helium compiled in. Not with Helium: its GEMV reads the raw row, and there
/// the scalar path (taken only under a lower limit) keeps [`dot_1x4`], so that the
/// Helium build's callers compile as before.
pub(crate) const MAY_PREPARE_1: bool = cfg!(all(
    target_pointer_width = "32",
    not(all(target_arch = "arm", mote_arm_mve))
));

/// Whether [`expand_1`] prepares a row of `k` elements with `x_offset` now: only where
/// [`MAY_PREPARE_1`], on the scalar path (the Arm DSP path not running), offsets in
/// [`scalar::OFFSET_MIN`, `scalar::OFFSET_MAX`], `k ≥ 8`. Elsewhere (64-bit hosts:
/// always) the paths read the raw row and nothing needs preparing.
#[inline]
pub(crate) fn prepares_1(k: usize, x_offset: i32) -> bool {
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if dsp() {
        return false;
    }
    MAY_PREPARE_1 && k >= 8 && (scalar::OFFSET_MIN..=scalar::OFFSET_MAX).contains(&x_offset)
}

/// Prepares one input row for [`gemv`] when [`prepares_1`] says so: its offset-added
/// 16-bit lanes, written to `buf` (`x.len()` lanes, callers check; need not be
/// initialised) and returned; else nothing (an empty slice), and [`gemv`] reads the row
/// itself.
#[inline]
pub(crate) fn expand_1<'a>(
    x: &[i8],
    x_offset: i32,
    buf: &'a mut [core::mem::MaybeUninit<i16>],
) -> &'a [i16] {
    if prepares_1(x.len(), x_offset)
        && let Some(lanes) = buf.get_mut(..x.len())
    {
        return scalar::expand_1(x, x_offset, lanes);
    }
    &[]
}

/// `out[j] = Σ_i (x[i] + x_offset)·w[j·k + i]` for `j < out.len()`, `k = x.len()`: from
/// the lanes [`expand_1`] prepared when there are any, else four weight rows per
/// [`dot_1x4`], then two, then one. Callers check the lengths.
#[inline]
pub(crate) fn gemv(x: &[i8], x_offset: i32, lanes: &[i16], w: &[i8], out: &mut [i32]) {
    let k = x.len();
    if !lanes.is_empty() && lanes.len() == k {
        scalar::gemv_lanes(lanes, w, out);
        return;
    }
    if k == 0 {
        out.fill(0);
        return;
    }
    let mut rows = w.chunks_exact(k);
    let mut quads = out.chunks_exact_mut(4);
    for o in quads.by_ref() {
        let (Some(a), Some(b), Some(c), Some(d)) =
            (rows.next(), rows.next(), rows.next(), rows.next())
        else {
            return;
        };
        o.copy_from_slice(&dot_1x4(x, x_offset, [a, b, c, d]));
    }
    let mut rest = quads.into_remainder().iter_mut();
    while let (Some(o0), Some(w0)) = (rest.next(), rows.next()) {
        match (rest.next(), rows.next()) {
            (Some(o1), Some(w1)) => [*o0, *o1] = dot_1x2(x, x_offset, [w0, w1]),
            _ => *o0 = dot_i8_offset(x, x_offset, w0, 0),
        }
    }
}

/// Two prepared input rows against `out[0].len()` weight rows of `k` (see
/// [`scalar::gemm_2xn`]); `lanes` is [`expand_2`]'s result (the Arm DSP path's lanes,
/// the scalar path's). Callers check the lengths.
#[inline]
pub(crate) fn gemm_2xn(
    x: [&[i8]; 2],
    x_offset: i32,
    lanes: (&[u32], &[u32]),
    k: usize,
    w: &[i8],
    out: [&mut [i32]; 2],
) {
    let (dsp_lanes, scalar_lanes) = lanes;
    // Helium reads the raw rows, whatever was prepared (the same sums either way).
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if dsp_lanes.is_empty() && k >= arm_mve::MIN_LEN && mve() {
        arm_mve::gemm_2xn(x, x_offset, k, w, out);
        return;
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp))]
    if !dsp_lanes.is_empty() {
        let steps = dsp_lanes.len() / 4;
        let tails = x.map(|row| row.get(4 * steps..).unwrap_or(&[]));
        arm_dsp::gemm_2xn(dsp_lanes, tails, x_offset, k, w, out);
        return;
    }
    let _ = dsp_lanes;
    if !scalar_lanes.is_empty() {
        let steps = scalar_lanes.len() / 4;
        let tails = x.map(|row| row.get(4 * steps..).unwrap_or(&[]));
        scalar::gemm_2xn_lanes(scalar_lanes, tails, x_offset, k, w, out);
        return;
    }
    scalar::gemm_2xn(x, x_offset, k, w, out)
}

/// Whether [`gemm_2xn_raw`] with the offset folded into the caller's bias
/// ([`row_sums`]) is the faster route to the sums of [`gemm_2xn`] now: on Helium, where
/// the offset term would cost two `VADDVA.S8` per 16 bytes and pair of weight rows.
#[inline(always)]
pub(crate) fn gemm_folds_offset() -> bool {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if mve() {
        return true;
    }
    false
}

/// Two input rows against `out[0].len()` weight rows of `k` without offset (see
/// `int8::gemm_2xn_raw`). Callers check the lengths.
#[inline]
pub(crate) fn gemm_2xn_raw(x: [&[i8]; 2], k: usize, w: &[i8], out: [&mut [i32]; 2]) {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if k >= arm_mve::MIN_LEN && mve() {
        arm_mve::gemm_2xn_raw(x, k, w, out);
        return;
    }
    scalar::gemm_2xn(x, 0, k, w, out)
}

/// The sums of the weight rows (see `int8::row_sums`); callers check the lengths.
#[inline]
pub(crate) fn row_sums(w: &[i8], k: usize, out: &mut [i32]) {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if k >= arm_mve::MIN_LEN && mve() {
        arm_mve::row_sums(w, k, out);
        return;
    }
    scalar::row_sums(w, k, out)
}

/// `dst[r·run..][..run] = src[r·stride..][..run]` for `r < rows` (see `int8::gather`).
///
/// # Safety
///
/// `rows·run` bytes writable at `dst`, `(rows − 1)·stride + run` readable at `src` (for
/// `rows, run ≥ 1`), not overlapping.
#[inline(always)]
pub(crate) unsafe fn gather(dst: &mut [i8], src: &[i8], rows: usize, run: usize, stride: usize) {
    #[cfg(all(target_arch = "arm", mote_arm_mve))]
    if rows >= 1 && run >= 1 && mve() {
        // SAFETY: forwarded from the caller.
        unsafe { arm_mve::gather(dst.as_mut_ptr(), src.as_ptr(), rows, run, stride) };
        return;
    }
    for (r, d) in dst.chunks_exact_mut(run.max(1)).take(rows).enumerate() {
        if let Some(s) = src.get(r * stride..r * stride + run) {
            d.copy_from_slice(s);
        }
    }
}

// ---------------------------------------------------------------------------------------
// f32 vector maps (`crate::map`).
// ---------------------------------------------------------------------------------------

/// `y ← y + α·x` (see [`scalar::axpy`]); callers check the lengths.
#[inline]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    if x86_avx2::available() {
        // SAFETY: AVX2 and FMA are present (checked).
        unsafe { x86_avx2::axpy(alpha, x, y) };
        return;
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    if neon() {
        // SAFETY: NEON is present (compiled for it).
        unsafe { aarch64_neon::axpy(alpha, x, y) };
        return;
    }
    #[cfg(all(target_arch = "arm", mote_arm_mve_fp))]
    if x.len() >= arm_mve::MIN_LEN_MAP && mve() {
        arm_mve::axpy(alpha, x, y);
        return;
    }
    scalar::axpy(alpha, x, y);
}

/// `y ← act(y + bias)` per row, or `act(y)` with an empty bias (see
/// [`scalar::bias_act`]); callers check that `bias.len()` divides `y.len()`.
#[inline]
pub(crate) fn bias_act(y: &mut [f32], bias: &[f32], act: crate::map::Act) {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    if x86_avx2::available() {
        // SAFETY: AVX2 and FMA are present (checked).
        unsafe { x86_avx2::bias_act(y, bias, act) };
        return;
    }
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    if neon() {
        // SAFETY: NEON is present (compiled for it).
        unsafe { aarch64_neon::bias_act(y, bias, act) };
        return;
    }
    #[cfg(all(target_arch = "arm", mote_arm_mve_fp))]
    {
        let row = if bias.is_empty() { y.len() } else { bias.len() };
        if row >= arm_mve::MIN_LEN_MAP && mve() {
            arm_mve::bias_act(y, bias, act);
            return;
        }
    }
    scalar::bias_act(y, bias, act);
}
