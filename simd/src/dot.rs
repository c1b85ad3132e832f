//! The dot products: f32 ([`sdot`]) and int8 with a wrapping int32 accumulator
//! ([`dot_i8`], [`dot_i8_offset`], the inner loop of the int8 dense and conv kernels).

use crate::arch;
use mote_core::Result;
use mote_core::error::check_len;

/// `Σ a[i]·b[i]`.
///
/// Summation order: eight interleaved partial sums combined pairwise, then the last
/// `len mod 8` products in order (the scalar path's documented order); products are rounded
/// before addition. The error is that of a sum of `len` rounded products, with the
/// partial sums about `√8` times shorter than a sequential loop's. The fused paths
/// (x86-64 AVX2 + FMA and aarch64 NEON: the scalar path's eight lanes, which give the
/// same bits on both; Arm Helium with `+mve.fp`: four lanes, `(l0 + l2) + (l1 + l3)`)
/// add products unrounded and agree with the scalar path within `2·γ_n·Σ|a[i]·b[i]|`,
/// `γ_n = n·u/(1 − n·u)`, `u = 2^-24` (integer-valued data with exact sums: the same
/// bits).
///
/// ```
/// let a = [1.0, 2.0, 3.0];
/// assert_eq!(mote_simd::dot::sdot(&a, &[4.0, 5.0, 6.0])?, 32.0);
/// assert!(mote_simd::dot::sdot(&a, &[1.0]).is_err());
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when the lengths differ.
pub fn sdot(a: &[f32], b: &[f32]) -> Result<f32> {
    check_len("dot: b", a.len(), b.len())?;
    Ok(arch::dot(a, b))
}

/// `Σ a[i]·b[i]` in a wrapping `i32` accumulator: the true sum mod 2^32.
///
/// Exact on every path (scalar; x86-64 AVX2's VPMADDWD and aarch64 NEON's SMULL + SADALP
/// or SDOT, sixteen bytes per step; Arm DSP's SMLAD, four bytes per step; Helium's
/// VMLADAVA.S8, sixteen bytes per step from 8 elements on): the result never depends on
/// the CPU. It wraps only past 2^31 / 2^14 ≈ 131,000 products of ±128.
///
/// ```
/// assert_eq!(mote_simd::dot::dot_i8(&[1, -2, 3], &[4, 5, -6])?, 4 - 10 - 18);
/// assert!(mote_simd::dot::dot_i8(&[1], &[]).is_err());
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when the lengths differ.
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> Result<i32> {
    check_len("dot_i8: b", a.len(), b.len())?;
    Ok(arch::dot_i8(a, b))
}

/// `Σ (x[i] + x_offset)·(w[i] + w_offset)`, every operation wrapping in `i32`: the true
/// sum mod 2^32, which is also what an i64 sum truncated with `as i32` gives (proof at
/// the scalar reference, `arch::scalar::dot_i8_offset`).
///
/// The offsets are CMSIS-NN's (`x_offset = −input_zero_point`, `w_offset =
/// −weights_zero_point`). Exact on every path and for any offsets; the x86-64 AVX2, Arm
/// DSP and aarch64 NEON paths handle offsets in [−32640, 32640] (so that `x + offset`
/// fits a 16-bit lane — every int8 zero point does) and hand any other to the scalar
/// path; the aarch64 SDOT and Helium paths take every offset (they expand the product
/// and apply the offsets once, exactly, in ℤ/2^32).
///
/// ```
/// // (1 + 1)·(2 − 1) + (−3 + 1)·(4 − 1) = 2 − 6
/// assert_eq!(mote_simd::dot::dot_i8_offset(&[1, -3], 1, &[2, 4], -1)?, -4);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when the lengths differ.
#[inline]
pub fn dot_i8_offset(x: &[i8], x_offset: i32, w: &[i8], w_offset: i32) -> Result<i32> {
    check_len("dot_i8_offset: w", x.len(), w.len())?;
    Ok(arch::dot_i8_offset(x, x_offset, w, w_offset))
}

/// `Σ (x[i] + x_offset)·(w[i] + w_offset)` for int16 activations and int8 weights, in
/// a wrapping `i64` accumulator: the inner loop of the 16x8 kernels (TFLite's int16
/// activations with int8 weights and int64 accumulators). Pass `x_offset =
/// −input_zero_point` (0 in TFLite's symmetric int16) and `w_offset =
/// −weights_zero_point`.
///
/// Exact on every path: the true sum mod 2^64 (for int16 × int8 data no real sum comes
/// near it). The x86-64 AVX2 (`vpmaddwd`, sixteen elements per step), Arm DSP (SMLALD,
/// four per step) and aarch64 NEON (SMULL + SADALP, eight per step) paths take
/// `x_offset = 0` and weight offsets within their lanes' exact range (every int8 zero
/// point); other offsets take the scalar path.
///
/// ```
/// // 1000·(2 − 1) + (−300)·(4 − 1) = 1000 − 900
/// assert_eq!(mote_simd::dot::dot_i16_i8(&[1000, -300], 0, &[2, 4], -1)?, 100);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when the lengths differ.
#[inline]
pub fn dot_i16_i8(x: &[i16], x_offset: i32, w: &[i8], w_offset: i32) -> Result<i64> {
    check_len("dot_i16_i8: w", x.len(), w.len())?;
    Ok(arch::dot_i16_i8(x, x_offset, w, w_offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_product() {
        let a: [f32; 19] = core::array::from_fn(|i| i as f32);
        let b: [f32; 19] = core::array::from_fn(|i| (i % 3) as f32 - 1.0);
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        for len in 0..=19 {
            let want_len: f32 = a[..len].iter().zip(&b).map(|(x, y)| x * y).sum();
            assert_eq!(sdot(&a[..len], &b[..len]).unwrap(), want_len);
        }
        assert_eq!(sdot(&a, &b).unwrap(), want);
        assert!(sdot(&a, &b[..3]).is_err());
    }

    #[test]
    fn int8_matches_i64_reference() {
        let a: [i8; 23] = core::array::from_fn(|i| (i as i8).wrapping_mul(37).wrapping_sub(100));
        let b: [i8; 23] = core::array::from_fn(|i| (i as i8).wrapping_mul(-53).wrapping_add(7));
        for len in 0..=23 {
            for (xo, wo) in [(0, 0), (128, -127), (-255, 255), (1 << 20, -(1 << 30))] {
                let want = a[..len].iter().zip(&b).fold(0i64, |s, (&x, &w)| {
                    s.wrapping_add((x as i64 + xo as i64) * (w as i64 + wo as i64))
                }) as i32;
                assert_eq!(dot_i8_offset(&a[..len], xo, &b[..len], wo).unwrap(), want);
            }
            let want: i64 = a[..len]
                .iter()
                .zip(&b)
                .map(|(&x, &w)| x as i64 * w as i64)
                .sum();
            assert_eq!(dot_i8(&a[..len], &b[..len]).unwrap(), want as i32);
        }
        assert!(dot_i8_offset(&a, 0, &b[..3], 0).is_err());
    }
}
