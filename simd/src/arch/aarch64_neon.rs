//! The aarch64 Advanced SIMD (NEON) micro-kernels, and the int8 dot products with the
//! dot-product extension (SDOT) where the target has it.
//!
//! Compiled where the target has NEON (`target_feature = "neon"`: every aarch64 Linux,
//! macOS and Android target; not the `-softfloat` bare-metal ones), chosen at compile
//! time; the SDOT functions also need `target_feature = "dotprod"` (`-C
//! target-feature=+dotprod`, or a `target-cpu` of Armv8.4-A or later). Since stable
//! rustc 1.95 still gates the `vdotq_s32` intrinsic (`stdarch_neon_dotprod`), SDOT is
//! written as inline assembly.
//!
//! - `tile`: each of the `R` rows keeps `W / 4` accumulators in q registers, updated
//!   with FMLA by element (`vfmaq_n_f32`: the broadcast of `A[i][p]` is free). Every
//!   product is added unrounded, so results differ from the scalar path's in the last
//!   bits (each accumulator still sums its `k` products in order `p = 0, 1, …`): the
//!   bound is that of a sum of `k` products, about `k·ε·Σ|a·b|` (ε = 2^−24), and integer
//!   data with exact sums gives the same bits. The arithmetic (including the epilogue's
//!   fused `α·AB + β·C`) is the x86-64 AVX2 path's, so the two agree bit for bit.
//! - `dot`: the scalar path's eight lanes in two q registers, FMLA in the lanes, the
//!   same pairwise combination and scalar tail (the same bits as the AVX2 path).
//! - `sqrt_in_place`: FSQRT four at a time, correctly rounded like the scalar path, so
//!   bit-identical.
//! - `dot_i8`: sixteen bytes per step (two steps per loop iteration), SMULL/SMULL2
//!   (`vmull_s8`, i16 products, exact: |x·w| ≤ 2^14) then SADALP (`vpadalq_s16`) adds
//!   each pair of products into an i32 lane. Not SMLAL into i16: two products can sum
//!   to 2^15 (−128·−128 twice), one past `i16::MAX`. With SDOT: sixteen products per
//!   instruction into four i32 lanes.
//! - `dot_i8_offset`: SXTL/SXTL2 (`vmovl_s8`) to i16, plus the offset (exact for
//!   offsets in [`OFFSET_MIN`, `OFFSET_MAX`], others take the scalar path), then
//!   SMLAL/SMLAL2 (`vmlal_s16`) into i32. With SDOT, any offsets, by expanding the
//!   product in the ring ℤ/2^32: `Σ(x + xo)(w + wo) = Σx·w + wo·Σx + xo·Σw + n·xo·wo`,
//!   the three sums by SDOT (`Σx` as `x·1`).
//!
//! The integer sums wrap in i32 lanes (SADALP, SMLAL, SDOT and ADDV all keep the low 32
//! bits), so they return the true sum mod 2^32, bit for bit the scalar reference's (see
//! [`scalar::dot_i8_offset`]). The last elements that fill no vector (`len mod 8` for
//! `dot` and the NEON int8 kernels, `len mod 4` for `sqrt_in_place`) go through the
//! scalar reference; the SDOT kernels hand their last `len mod 16` to the NEON ones.

use super::scalar::{self, Update};
use crate::map::Act;
use core::arch::aarch64::{
    float32x4_t, int16x8_t, int32x4_t, vaddq_f32, vaddq_s16, vaddq_s32, vaddvq_s32, vbslq_f32,
    vcgtq_f32, vcltq_f32, vdupq_n_f32, vdupq_n_s16, vdupq_n_s32, vfmaq_f32, vfmaq_n_f32,
    vget_low_s8, vget_low_s16, vld1_s8, vld1q_f32, vld1q_s8, vmaxnmq_f32, vmlal_high_s16,
    vmlal_s16, vmovl_high_s8, vmovl_s8, vmull_high_s8, vmull_s8, vmulq_n_f32, vpadalq_s16,
    vsqrtq_f32, vst1q_f32,
};
#[cfg(target_feature = "dotprod")]
use core::arch::{
    aarch64::{int8x16_t, vdupq_n_s8},
    asm,
};

/// The offsets this path's 16-bit lanes hold exactly (shared by every such path).
pub(crate) use super::scalar::{OFFSET_MAX, OFFSET_MIN};

/// The NEON version of [`scalar::tile`] for a panel of `V` vectors (`W = 4·V`
/// columns), same contract.
///
/// # Safety
///
/// As for the scalar tile with `W = 4·V`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "neon")]
#[inline]
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
    let w = 4 * V;
    debug_assert!(nr <= w && panel.len().is_multiple_of(w));
    let mut acc = [[vdupq_n_f32(0.0); V]; R];
    let mut col = 0;
    for b in panel.chunks_exact(w) {
        let mut bv = [vdupq_n_f32(0.0); V];
        for (v, lane) in bv.iter_mut().enumerate() {
            // SAFETY: `b` holds 4·V floats; vector v reads 4 of them from 4·v.
            *lane = unsafe { vld1q_f32(b.as_ptr().add(4 * v)) };
        }
        for (i, acc_i) in acc.iter_mut().enumerate() {
            let at = i * rsa + col;
            debug_assert!(at < a.len());
            // SAFETY: `i·rsa + p·csa` with i < R, p < kc is in bounds by the caller's
            // contract.
            let ai = unsafe { *a.get_unchecked(at) };
            for (x, &bj) in acc_i.iter_mut().zip(&bv) {
                *x = vfmaq_n_f32(*x, bj, ai);
            }
        }
        col += csa;
    }
    for (i, acc_i) in acc.iter().enumerate() {
        let row = i * rsc;
        for (v, x) in acc_i.iter().enumerate() {
            let v0 = 4 * v;
            if v0 >= nr {
                break;
            }
            let x = vmulq_n_f32(*x, alpha);
            if csc == 1 && v0 + 4 <= nr {
                debug_assert!(row + v0 + 4 <= c.len());
                // SAFETY: i < R, columns v0..v0 + 4 ≤ nr: in bounds by the caller's
                // contract.
                let p = unsafe { c.as_mut_ptr().add(row + v0) };
                // SAFETY: `p` points at 4 in-bounds floats (above).
                let out = match update {
                    Update::Overwrite => x,
                    Update::Scale(beta) => unsafe { vfmaq_n_f32(x, vld1q_f32(p), beta) },
                    Update::Accumulate => unsafe { vaddq_f32(vld1q_f32(p), x) },
                };
                // SAFETY: as for the loads.
                unsafe { vst1q_f32(p, out) };
                continue;
            }
            let mut lanes = [0.0f32; 4];
            // SAFETY: `lanes` holds 4 floats.
            unsafe { vst1q_f32(lanes.as_mut_ptr(), x) };
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

/// The NEON version of [`scalar::dot`]: lanes 0–3 and 4–7 of the scalar path's eight
/// partial sums in two q registers, fused multiply-adds in the lanes.
#[target_feature(enable = "neon")]
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    let (mut lo, mut hi): (float32x4_t, float32x4_t) = (vdupq_n_f32(0.0), vdupq_n_f32(0.0));
    for (x, y) in ac.zip(bc) {
        // SAFETY: `x` and `y` hold 8 floats each, 4 from 0 and 4 from 4.
        unsafe {
            let (px, py) = (x.as_ptr(), y.as_ptr());
            lo = vfmaq_f32(lo, vld1q_f32(px), vld1q_f32(py));
            hi = vfmaq_f32(hi, vld1q_f32(px.add(4)), vld1q_f32(py.add(4)));
        }
    }
    let mut l = [0.0f32; 8];
    // SAFETY: `l` holds 8 floats, 4 from 0 and 4 from 4.
    unsafe {
        vst1q_f32(l.as_mut_ptr(), lo);
        vst1q_f32(l.as_mut_ptr().add(4), hi);
    }
    let mut tail = 0.0f32;
    for (&x, &y) in ar.iter().zip(br) {
        tail += x * y;
    }
    let even = (l[0] + l[4]) + (l[2] + l[6]);
    let odd = (l[1] + l[5]) + (l[3] + l[7]);
    (even + odd) + tail
}

/// `x[i] ← √x[i]`, four at a time (FSQRT is correctly rounded, like the scalar path).
#[target_feature(enable = "neon")]
#[inline]
pub(crate) fn sqrt_in_place(x: &mut [f32]) {
    let mut chunks = x.chunks_exact_mut(4);
    for c in &mut chunks {
        // SAFETY: `c` holds 4 floats.
        unsafe { vst1q_f32(c.as_mut_ptr(), vsqrtq_f32(vld1q_f32(c.as_ptr()))) };
    }
    scalar::sqrt_in_place(chunks.into_remainder());
}

/// `acc` plus each adjacent pair of the eight i16 products `x[j]·w[j]` (exact: a
/// product of two i8 fits an i16, a pair's sum is formed in the i32 lane).
#[target_feature(enable = "neon")]
#[inline]
fn pairs(acc: int32x4_t, products: int16x8_t) -> int32x4_t {
    vpadalq_s16(acc, products)
}

/// `Σ a[i]·b[i]` (see [`scalar::dot_i8`]).
#[target_feature(enable = "neon")]
#[inline]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let (ac, bc) = (a.chunks_exact(32), b.chunks_exact(32));
    let (a16, b16) = (
        ac.remainder().chunks_exact(16),
        bc.remainder().chunks_exact(16),
    );
    let (a8, b8) = (
        a16.remainder().chunks_exact(8),
        b16.remainder().chunks_exact(8),
    );
    let (ar, br) = (a8.remainder(), b8.remainder());
    let (mut acc0, mut acc1) = (vdupq_n_s32(0), vdupq_n_s32(0));
    // Thirty-two bytes per iteration: fewer loop instructions per product.
    for (x, w) in ac.zip(bc) {
        // SAFETY: `x` and `w` hold 32 bytes each, 16 from 0 and 16 from 16.
        let (x0, w0, x1, w1) = unsafe {
            let (px, pw) = (x.as_ptr(), w.as_ptr());
            (
                vld1q_s8(px),
                vld1q_s8(pw),
                vld1q_s8(px.add(16)),
                vld1q_s8(pw.add(16)),
            )
        };
        acc0 = pairs(acc0, vmull_s8(vget_low_s8(x0), vget_low_s8(w0)));
        acc1 = pairs(acc1, vmull_high_s8(x0, w0));
        acc0 = pairs(acc0, vmull_s8(vget_low_s8(x1), vget_low_s8(w1)));
        acc1 = pairs(acc1, vmull_high_s8(x1, w1));
    }
    for (x, w) in a16.zip(b16) {
        // SAFETY: `x` and `w` hold 16 bytes each.
        let (x, w) = unsafe { (vld1q_s8(x.as_ptr()), vld1q_s8(w.as_ptr())) };
        acc0 = pairs(acc0, vmull_s8(vget_low_s8(x), vget_low_s8(w)));
        acc1 = pairs(acc1, vmull_high_s8(x, w));
    }
    for (x, w) in a8.zip(b8) {
        // SAFETY: `x` and `w` hold 8 bytes each.
        let (x, w) = unsafe { (vld1_s8(x.as_ptr()), vld1_s8(w.as_ptr())) };
        acc0 = pairs(acc0, vmull_s8(x, w));
    }
    let body = vaddvq_s32(vaddq_s32(acc0, acc1));
    body.wrapping_add(scalar::dot_i8(ar, br))
}

/// `Σ (x[i] + x_offset)·(w[i] + w_offset)` (see [`scalar::dot_i8_offset`]), the offsets
/// in [`OFFSET_MIN`, `OFFSET_MAX`] (callers check).
#[target_feature(enable = "neon")]
#[inline]
pub(crate) fn dot_i8_offset(x: &[i8], x_offset: i32, w: &[i8], w_offset: i32) -> i32 {
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&x_offset));
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&w_offset));
    // In range, so these casts are exact.
    let (xo, wo) = (vdupq_n_s16(x_offset as i16), vdupq_n_s16(w_offset as i16));
    let (xc, wc) = (x.chunks_exact(16), w.chunks_exact(16));
    let (x8, w8) = (
        xc.remainder().chunks_exact(8),
        wc.remainder().chunks_exact(8),
    );
    let (xr, wr) = (x8.remainder(), w8.remainder());
    let (mut acc0, mut acc1) = (vdupq_n_s32(0), vdupq_n_s32(0));
    for (xs, ws) in xc.zip(wc) {
        // SAFETY: `xs` and `ws` hold 16 bytes each.
        let (xv, wv) = unsafe { (vld1q_s8(xs.as_ptr()), vld1q_s8(ws.as_ptr())) };
        // `byte + offset` in i16 lanes: exact for offsets in range.
        let xl = vaddq_s16(vmovl_s8(vget_low_s8(xv)), xo);
        let xh = vaddq_s16(vmovl_high_s8(xv), xo);
        let wl = vaddq_s16(vmovl_s8(vget_low_s8(wv)), wo);
        let wh = vaddq_s16(vmovl_high_s8(wv), wo);
        acc0 = vmlal_s16(acc0, vget_low_s16(xl), vget_low_s16(wl));
        acc1 = vmlal_high_s16(acc1, xl, wl);
        acc0 = vmlal_s16(acc0, vget_low_s16(xh), vget_low_s16(wh));
        acc1 = vmlal_high_s16(acc1, xh, wh);
    }
    for (xs, ws) in x8.zip(w8) {
        // SAFETY: `xs` and `ws` hold 8 bytes each.
        let (xv, wv) = unsafe { (vld1_s8(xs.as_ptr()), vld1_s8(ws.as_ptr())) };
        let (xl, wl) = (vaddq_s16(vmovl_s8(xv), xo), vaddq_s16(vmovl_s8(wv), wo));
        acc0 = vmlal_s16(acc0, vget_low_s16(xl), vget_low_s16(wl));
        acc1 = vmlal_high_s16(acc1, xl, wl);
    }
    let body = vaddvq_s32(vaddq_s32(acc0, acc1));
    body.wrapping_add(scalar::dot_i8_offset(xr, x_offset, wr, w_offset))
}

/// `Σ x[i]·(w[i] + w_offset)` in 64 bits (see [`scalar::dot_i16_i8`] with
/// `x_offset = 0`), `w_offset` in [`OFFSET_MIN`, `OFFSET_MAX`] (callers check): eight
/// elements per step, the weights widened with the offset to i16 lanes (SXTL + ADD),
/// multiplied with the inputs into i32 lanes (SMULL; each product below 2^30, exact)
/// and added pairwise into two i64 lanes (SADALP) — exact.
#[target_feature(enable = "neon")]
#[inline]
pub(crate) fn dot_i16_i8(x: &[i16], w: &[i8], w_offset: i32) -> i64 {
    use core::arch::aarch64::{
        vaddq_s64, vdupq_n_s64, vgetq_lane_s64, vld1q_s16, vmull_high_s16, vpadalq_s32,
    };
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&w_offset));
    // In range, so the cast is exact.
    let wo = vdupq_n_s16(w_offset as i16);
    let (xc, wc) = (x.chunks_exact(8), w.chunks_exact(8));
    let (xr, wr) = (xc.remainder(), wc.remainder());
    let (mut acc0, mut acc1) = (vdupq_n_s64(0), vdupq_n_s64(0));
    for (xs, ws) in xc.zip(wc) {
        // SAFETY: `xs` holds 8 i16s, `ws` 8 bytes.
        let (xv, wv) = unsafe { (vld1q_s16(xs.as_ptr()), vld1_s8(ws.as_ptr())) };
        let wl = vaddq_s16(vmovl_s8(wv), wo);
        acc0 = vpadalq_s32(
            acc0,
            core::arch::aarch64::vmull_s16(vget_low_s16(xv), vget_low_s16(wl)),
        );
        acc1 = vpadalq_s32(acc1, vmull_high_s16(xv, wl));
    }
    let acc = vaddq_s64(acc0, acc1);
    let body = vgetq_lane_s64::<0>(acc).wrapping_add(vgetq_lane_s64::<1>(acc));
    body.wrapping_add(scalar::dot_i16_i8(xr, 0, wr, w_offset))
}

/// `acc[l] + Σ_{j<4} a[4l + j]·b[4l + j]` for each i32 lane `l` (SDOT; exact products,
/// the lane's sum wraps mod 2^32).
#[cfg(target_feature = "dotprod")]
#[inline(always)]
fn sdot(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: SDOT reads and writes vector registers only; the dot-product extension is
    // present (this function is compiled only with `target_feature = "dotprod"`).
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags),
        )
    };
    acc
}

/// `Σ a[i]·b[i]` with SDOT, sixteen bytes per instruction (see [`scalar::dot_i8`]); the
/// last `len mod 16` bytes through [`dot_i8`].
#[cfg(target_feature = "dotprod")]
#[target_feature(enable = "neon,dotprod")]
#[inline]
pub(crate) fn dot_i8_dotprod(a: &[i8], b: &[i8]) -> i32 {
    let (ac, bc) = (a.chunks_exact(32), b.chunks_exact(32));
    let (a16, b16) = (
        ac.remainder().chunks_exact(16),
        bc.remainder().chunks_exact(16),
    );
    let (ar, br) = (a16.remainder(), b16.remainder());
    // Two accumulators, so that consecutive SDOTs do not wait on each other.
    let (mut acc0, mut acc1) = (vdupq_n_s32(0), vdupq_n_s32(0));
    for (x, w) in ac.zip(bc) {
        // SAFETY: `x` and `w` hold 32 bytes each, 16 from 0 and 16 from 16.
        unsafe {
            let (px, pw) = (x.as_ptr(), w.as_ptr());
            acc0 = sdot(acc0, vld1q_s8(px), vld1q_s8(pw));
            acc1 = sdot(acc1, vld1q_s8(px.add(16)), vld1q_s8(pw.add(16)));
        }
    }
    for (x, w) in a16.zip(b16) {
        // SAFETY: `x` and `w` hold 16 bytes each.
        acc0 = unsafe { sdot(acc0, vld1q_s8(x.as_ptr()), vld1q_s8(w.as_ptr())) };
    }
    let body = vaddvq_s32(vaddq_s32(acc0, acc1));
    body.wrapping_add(dot_i8(ar, br))
}

/// `Σ (x[i] + x_offset)·(w[i] + w_offset)` with SDOT, for any offsets (see
/// [`scalar::dot_i8_offset`]): over the first `m = 16·⌊len/16⌋` elements,
/// `Σx·w + w_offset·Σx + x_offset·Σw + m·x_offset·w_offset`, every operation wrapping in
/// i32 (an identity of the ring ℤ/2^32, so exact); the rest through [`dot_i8_offset`]
/// (offsets in its range) or the scalar reference.
#[cfg(target_feature = "dotprod")]
#[target_feature(enable = "neon,dotprod")]
#[inline]
pub(crate) fn dot_i8_offset_dotprod(x: &[i8], x_offset: i32, w: &[i8], w_offset: i32) -> i32 {
    let ones = vdupq_n_s8(1);
    let (xc, wc) = (x.chunks_exact(16), w.chunks_exact(16));
    let (xr, wr) = (xc.remainder(), wc.remainder());
    let (mut xw, mut sx, mut sw) = (vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0));
    let mut m = 0u32;
    for (xs, ws) in xc.zip(wc) {
        // SAFETY: `xs` and `ws` hold 16 bytes each.
        let (xv, wv) = unsafe { (vld1q_s8(xs.as_ptr()), vld1q_s8(ws.as_ptr())) };
        xw = sdot(xw, xv, wv);
        sx = sdot(sx, xv, ones);
        sw = sdot(sw, wv, ones);
        m = m.wrapping_add(16);
    }
    // `m` is the element count mod 2^32, all the ring identity needs.
    let body = vaddvq_s32(xw)
        .wrapping_add(w_offset.wrapping_mul(vaddvq_s32(sx)))
        .wrapping_add(x_offset.wrapping_mul(vaddvq_s32(sw)))
        .wrapping_add((m as i32).wrapping_mul(x_offset).wrapping_mul(w_offset));
    let lanes = OFFSET_MIN..=OFFSET_MAX;
    let rest = if lanes.contains(&x_offset) && lanes.contains(&w_offset) {
        dot_i8_offset(xr, x_offset, wr, w_offset)
    } else {
        scalar::dot_i8_offset(xr, x_offset, wr, w_offset)
    };
    body.wrapping_add(rest)
}

// ---------------------------------------------------------------------------------------
// f32 vector maps: `axpy` and the bias + activation epilogue (`crate::map`).
// ---------------------------------------------------------------------------------------

/// The activation on four lanes, the same bits as
/// [`scalar::act_one`](super::scalar::act_one): FMAXNM against `+0` is `v > 0 ? v : +0`
/// (NaN gives the number, and `+0` wins over `−0`); the clamp and the leaky ReLU are
/// compares and selects (FCMGT, BSL), which keep a NaN as the scalar path does.
#[target_feature(enable = "neon")]
#[inline]
fn act4(act: Act, v: float32x4_t) -> float32x4_t {
    match act {
        Act::Identity => v,
        Act::Relu => vmaxnmq_f32(v, vdupq_n_f32(0.0)),
        Act::Clamp { lo, hi } => {
            let (lo, hi) = (vdupq_n_f32(lo), vdupq_n_f32(hi));
            let t = vbslq_f32(vcgtq_f32(lo, v), lo, v);
            vbslq_f32(vcltq_f32(hi, t), hi, t)
        }
        Act::LeakyRelu { slope } => {
            vbslq_f32(vcgtq_f32(v, vdupq_n_f32(0.0)), v, vmulq_n_f32(v, slope))
        }
    }
}

/// `y ← act(y + bias)` over one row (`bias` as long as `y`), or `act(y)` without one;
/// the last `len mod 4` through a zero-padded copy, so they get the lanes' bits.
#[target_feature(enable = "neon")]
#[inline]
fn act_row(y: &mut [f32], bias: Option<&[f32]>, act: Act) {
    let n = match bias {
        Some(b) => y.len().min(b.len()),
        None => y.len(),
    };
    let body = n - n % 4;
    let mut i = 0;
    while i < body {
        // SAFETY: i + 4 ≤ body ≤ the length of `y` and of `bias`.
        unsafe {
            let p = y.as_mut_ptr().add(i);
            let mut v = vld1q_f32(p);
            if let Some(b) = bias {
                v = vaddq_f32(v, vld1q_f32(b.as_ptr().add(i)));
            }
            vst1q_f32(p, act4(act, v));
        }
        i += 4;
    }
    if body < n {
        let r = n - body;
        let (mut ty, mut tb) = ([0.0f32; 4], [0.0f32; 4]);
        ty[..r].copy_from_slice(&y[body..n]);
        // SAFETY: `ty` and `tb` hold 4 floats each.
        unsafe {
            let mut v = vld1q_f32(ty.as_ptr());
            if let Some(b) = bias {
                tb[..r].copy_from_slice(&b[body..n]);
                v = vaddq_f32(v, vld1q_f32(tb.as_ptr()));
            }
            vst1q_f32(ty.as_mut_ptr(), act4(act, v));
        }
        y[body..n].copy_from_slice(&ty[..r]);
    }
}

/// The NEON version of [`scalar::bias_act`](super::scalar::bias_act): the same bits.
#[target_feature(enable = "neon")]
#[inline]
pub(crate) fn bias_act(y: &mut [f32], bias: &[f32], act: Act) {
    if bias.is_empty() {
        act_row(y, None, act);
        return;
    }
    for row in y.chunks_exact_mut(bias.len()) {
        act_row(row, Some(bias), act);
    }
}

/// `y[i] ← fl(y[i] + α·x[i])` with FMLA, four at a time (the tail through a
/// zero-padded copy): the AVX2 path's bits.
#[target_feature(enable = "neon")]
#[inline]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let body = n - n % 4;
    let mut i = 0;
    while i < body {
        // SAFETY: i + 4 ≤ body ≤ the length of both slices.
        unsafe {
            let p = y.as_mut_ptr().add(i);
            vst1q_f32(
                p,
                vfmaq_n_f32(vld1q_f32(p), vld1q_f32(x.as_ptr().add(i)), alpha),
            );
        }
        i += 4;
    }
    if body < n {
        let r = n - body;
        let (mut tx, mut ty) = ([0.0f32; 4], [0.0f32; 4]);
        tx[..r].copy_from_slice(&x[body..n]);
        ty[..r].copy_from_slice(&y[body..n]);
        // SAFETY: `tx` and `ty` hold 4 floats each.
        unsafe {
            let v = vfmaq_n_f32(vld1q_f32(ty.as_ptr()), vld1q_f32(tx.as_ptr()), alpha);
            vst1q_f32(ty.as_mut_ptr(), v);
        }
        y[body..n].copy_from_slice(&ty[..r]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lengths every kernel is checked at: around the 4-, 8-, 16- and 32-element
    /// steps, and a long odd one.
    const LENS: [usize; 13] = [0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 255, 300];

    /// A small deterministic generator (no dependency in a no_std crate's tests).
    struct Xorshift(u32);

    impl Xorshift {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }
    }

    fn values(n: usize, seed: u32, integers: bool) -> [f32; 512] {
        let mut r = Xorshift(seed.wrapping_mul(2_654_435_761).wrapping_add(1));
        core::array::from_fn(|i| {
            let s = r.next();
            if i >= n {
                0.0
            } else if integers {
                (s % 9) as f32 - 4.0
            } else {
                (s % 20_001) as f32 / 10_000.0 - 1.0
            }
        })
    }

    /// 320 bytes: random, with runs of the extremes (−128, 127) in some seeds.
    fn bytes(seed: u32) -> [i8; 320] {
        let mut r = Xorshift(seed.wrapping_mul(2_654_435_761).wrapping_add(7));
        core::array::from_fn(|_| match seed % 3 {
            0 => r.next() as i8,
            1 => [-128, 127, -128, -1][(r.next() % 4) as usize],
            _ => -128,
        })
    }

    /// Runs the NEON and scalar tiles on the same arguments, returns both outputs.
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
            match W {
                4 => tile::<R, 1>(&a, kc, 1, p, 0.5, update, &mut c1, rsc, csc, nr),
                8 => tile::<R, 2>(&a, kc, 1, p, 0.5, update, &mut c1, rsc, csc, nr),
                _ => tile::<R, 4>(&a, kc, 1, p, 0.5, update, &mut c1, rsc, csc, nr),
            }
            scalar::tile::<R, W>(&a, kc, 1, p, 0.5, update, &mut c2, rsc, csc, nr);
        }
        (c1, c2)
    }

    #[test]
    fn tiles_match_the_scalar_path() {
        for update in [Update::Overwrite, Update::Accumulate, Update::Scale(-0.25)] {
            for kc in [1, 3, 8, 21] {
                for nr in [1, 3, 4, 5, 8] {
                    for csc in [1, 2] {
                        // Exact integer sums: identical bits.
                        let (x, y) = both::<4, 8>(kc, nr, csc, update, true);
                        assert_eq!(x, y, "kc {kc} nr {nr} csc {csc} {update:?}");
                        let (x, y) = both::<3, 8>(kc, nr, csc, update, true);
                        assert_eq!(x, y);
                        let (x, y) = both::<1, 4>(kc, nr.min(4), csc, update, true);
                        assert_eq!(x, y);
                        // Rounded sums: within a few ulps of the sum's magnitude.
                        let (x, y) = both::<4, 8>(kc, nr, csc, update, false);
                        for (p, q) in x.iter().zip(&y) {
                            assert!((p - q).abs() <= 1e-5 * (kc as f32), "{p} vs {q}");
                        }
                    }
                }
                for nr in [1, 8, 9, 13, 16] {
                    for csc in [1, 2] {
                        let (x, y) = both::<4, 16>(kc, nr, csc, update, true);
                        assert_eq!(x, y, "wide: kc {kc} nr {nr} csc {csc} {update:?}");
                        let (x, y) = both::<2, 16>(kc, nr, csc, update, true);
                        assert_eq!(x, y);
                        let (x, y) = both::<4, 16>(kc, nr, csc, update, false);
                        for (p, q) in x.iter().zip(&y) {
                            assert!((p - q).abs() <= 1e-5 * (kc as f32), "{p} vs {q}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn dot_matches_the_scalar_path() {
        for len in LENS.into_iter().chain(0..40) {
            for start in 0..3 {
                let a = values(len + start, 5 + len as u32, true);
                let b = values(len + start, 9, true);
                let (x, y) = (&a[start..start + len], &b[..len]);
                // SAFETY: NEON is present (this module is compiled only where it is).
                let fast = unsafe { dot(x, y) };
                assert_eq!(fast, scalar::dot(x, y), "len {len} start {start}");
                let a = values(len + start, 5 + len as u32, false);
                let b = values(len + start, 9, false);
                let (x, y) = (&a[start..start + len], &b[..len]);
                // SAFETY: as above.
                let fast = unsafe { dot(x, y) };
                let bound = 1e-6 * (len as f32 + 1.0);
                assert!((fast - scalar::dot(x, y)).abs() <= bound, "len {len}");
            }
        }
    }

    #[test]
    fn sqrt_is_bit_identical() {
        for len in LENS {
            for start in 0..3 {
                let v = values(len + start, 11, false);
                let mut x = v.map(|v| v * 100.0 + 1e-3);
                x[0] = -1.0;
                let mut y = x;
                // SAFETY: NEON is present.
                unsafe { sqrt_in_place(&mut x[start..start + len]) };
                scalar::sqrt_in_place(&mut y[start..start + len]);
                assert_eq!(x.map(f32::to_bits), y.map(f32::to_bits), "len {len}");
            }
        }
    }

    /// Every int8 kernel of this module against the scalar reference on `a[sa..sa + n]`
    /// and `b[sb..sb + n]`.
    fn check_int8(a: &[i8], b: &[i8], n: usize, offsets: &[(i32, i32)]) {
        for sa in 0..3 {
            for sb in 0..3 {
                let (x, w) = (&a[sa..sa + n], &b[sb..sb + n]);
                let want = scalar::dot_i8(x, w);
                // SAFETY: NEON is present.
                assert_eq!(unsafe { dot_i8(x, w) }, want, "n {n} at {sa}, {sb}");
                #[cfg(target_feature = "dotprod")]
                // SAFETY: NEON and the dot-product extension are present.
                assert_eq!(unsafe { dot_i8_dotprod(x, w) }, want, "sdot: n {n}");
                for &(xo, wo) in offsets {
                    let want = scalar::dot_i8_offset(x, xo, w, wo);
                    let lanes = OFFSET_MIN..=OFFSET_MAX;
                    if lanes.contains(&xo) && lanes.contains(&wo) {
                        // SAFETY: NEON is present.
                        let got = unsafe { dot_i8_offset(x, xo, w, wo) };
                        assert_eq!(got, want, "n {n} offsets {xo}, {wo}");
                    }
                    #[cfg(target_feature = "dotprod")]
                    {
                        // SAFETY: NEON and the dot-product extension are present.
                        let got = unsafe { dot_i8_offset_dotprod(x, xo, w, wo) };
                        assert_eq!(got, want, "sdot: n {n} offsets {xo}, {wo}");
                    }
                }
            }
        }
    }

    const OFFSETS: [(i32, i32); 8] = [
        (0, 0),
        (128, -127),
        (-128, 0),
        (255, -255),
        (OFFSET_MAX, OFFSET_MIN),
        (OFFSET_MAX, OFFSET_MAX),
        (OFFSET_MAX + 1, -7),
        (i32::MAX, i32::MIN),
    ];

    #[test]
    fn int8_dots_match_the_scalar_path() {
        for seed in 0..9 {
            let (a, b) = (bytes(seed), bytes(seed + 3));
            for n in LENS {
                check_int8(&a, &b, n, &OFFSETS);
            }
        }
        let mut r = Xorshift(99);
        for _ in 0..50 {
            let (a, b) = (bytes(r.next() % 97), bytes(r.next() % 97));
            let n = (r.next() % 318) as usize;
            let (xo, wo) = (r.next() as i32 >> (r.next() % 32), r.next() as i32 % 300);
            check_int8(&a, &b, n, &[(xo, wo), (wo, xo)]);
        }
    }

    /// Sums past 2^31 wrap as the scalar reference's do.
    #[test]
    fn long_int8_sums_wrap_like_the_scalar_path() {
        let x = [-128i8; 4099];
        check_int8(&x, &x, 4096, &[(OFFSET_MAX, OFFSET_MAX), (-32768, -32768)]);
        // 4096 · (32640 − 128)² > 2^31: the sum really wrapped.
        let exact = 4096i64 * (32640 - 128) * (32640 - 128);
        let wrapped = scalar::dot_i8_offset(&x[..4096], OFFSET_MAX, &x[..4096], OFFSET_MAX);
        assert_ne!(i64::from(wrapped), exact);
    }
}
