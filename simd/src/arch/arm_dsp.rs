//! The Arm DSP-extension path (Cortex-M4/M7, Armv8-M Mainline with DSP, Armv7-A/R):
//! the int8 dot products four bytes per step with SXTB16/SXTAB16 and SMLAD.
//!
//! Compiled where `cfg(mote_arm_dsp)` is set (the build script chooses it from the
//! target, since stable rustc sets no `target_feature` cfg for 32-bit Arm; see
//! `simd/build.rs`). The instructions are the same in T32 (Thumb-2, Cortex-M) and A32
//! (Armv7-A in Arm state); operands are plain `reg`s, no flags or `.arch` needed.
//!
//! One step over four bytes `x0..x3` (little-endian in a `u32` loaded with
//! `u32::from_le_bytes`, so no alignment is assumed) and `w0..w3`:
//!
//! ```text
//! SXTB16 xe, x            ; xe = [x0, x2] as two sign-extended i16 lanes
//! SXTB16 xo, x, ROR #8    ; xo = [x1, x3]
//! (same for w)
//! SMLAD  acc, xe, we, acc ; acc += x0·w0 + x2·w2
//! SMLAD  acc, xo, wo, acc ; acc += x1·w1 + x3·w3
//! ```
//!
//! The offset form uses SXTAB16 (`lane = offset + sign_extend(byte)`, per 16-bit lane),
//! which is SXTB16 followed by SADD16 with the offset in both lanes, fused into one
//! instruction. Each lane is exact (no 16-bit wrap) when the offset lies in
//! [`OFFSET_MIN`, `OFFSET_MAX`]; other offsets take the scalar path.
//!
//! SMLAD forms `a_lo·b_lo + a_hi·b_hi + acc` exactly and writes its low 32 bits (it only
//! sets the sticky Q flag on overflow), so the result is the true sum mod 2^32, equal to
//! the scalar reference bit for bit (see [`super::scalar::dot_i8_offset`]). The last
//! `len mod 4` elements go through the scalar reference.

use super::scalar;
use core::arch::asm;

/// The smallest offset whose sums with every `i8` fit in an `i16` lane: −32768 + 128.
pub(crate) const OFFSET_MIN: i32 = i16::MIN as i32 + 128;
/// The largest offset whose sums with every `i8` fit in an `i16` lane: 32767 − 127.
pub(crate) const OFFSET_MAX: i32 = i16::MAX as i32 - 127;

/// `[b0, b2]` of `v`'s bytes, sign-extended to two i16 lanes.
#[inline(always)]
fn sxtb16(v: u32) -> u32 {
    let r: u32;
    // SAFETY: SXTB16 reads and writes registers only (DSP extension present: this
    // module is compiled only where `mote_arm_dsp` says so).
    unsafe {
        asm!("sxtb16 {r}, {v}", r = lateout(reg) r, v = in(reg) v, options(pure, nomem, nostack))
    };
    r
}

/// `[b1, b3]` of `v`'s bytes, sign-extended to two i16 lanes.
#[inline(always)]
fn sxtb16_ror8(v: u32) -> u32 {
    let r: u32;
    // SAFETY: as for `sxtb16`.
    unsafe {
        asm!("sxtb16 {r}, {v}, ror #8", r = lateout(reg) r, v = in(reg) v, options(pure, nomem, nostack))
    };
    r
}

/// `[o + b0, o + b2]` (16-bit lanes) for `o2 = [o, o]`.
#[inline(always)]
fn sxtab16(o2: u32, v: u32) -> u32 {
    let r: u32;
    // SAFETY: as for `sxtb16`.
    unsafe {
        asm!("sxtab16 {r}, {o}, {v}", r = lateout(reg) r, o = in(reg) o2, v = in(reg) v, options(pure, nomem, nostack))
    };
    r
}

/// `[o + b1, o + b3]` (16-bit lanes) for `o2 = [o, o]`.
#[inline(always)]
fn sxtab16_ror8(o2: u32, v: u32) -> u32 {
    let r: u32;
    // SAFETY: as for `sxtb16`.
    unsafe {
        asm!("sxtab16 {r}, {o}, {v}, ror #8", r = lateout(reg) r, o = in(reg) o2, v = in(reg) v, options(pure, nomem, nostack))
    };
    r
}

/// `acc + a_lo·b_lo + a_hi·b_hi` (signed 16-bit lanes), the low 32 bits.
#[inline(always)]
fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let r: i32;
    // SAFETY: SMLAD reads and writes registers only (it may set the sticky Q flag,
    // which no Rust code reads).
    unsafe {
        asm!("smlad {r}, {a}, {b}, {acc}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, acc = in(reg) acc, options(pure, nomem, nostack))
    };
    r
}

/// Four little-endian bytes as a `u32`.
#[inline(always)]
fn word(c: &[i8]) -> u32 {
    match <[i8; 4]>::try_from(c) {
        Ok(b) => u32::from_le_bytes(b.map(|v| v as u8)),
        Err(_) => 0,
    }
}

/// `Σ a[i]·b[i]` (see [`scalar::dot_i8`]).
///
/// Not inlined: in its own frame the loop keeps everything in registers (inlined into
/// a kernel's loop nest, LLVM spilled the offsets and reloaded them every step).
#[inline(never)]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ar, br) = (ac.remainder(), bc.remainder());
    let mut acc = 0i32;
    for (x, w) in ac.zip(bc) {
        let (x, w) = (word(x), word(w));
        acc = smlad(sxtb16(x), sxtb16(w), acc);
        acc = smlad(sxtb16_ror8(x), sxtb16_ror8(w), acc);
    }
    acc.wrapping_add(scalar::dot_i8(ar, br))
}

/// `Σ (x[i] + x_offset)·(w[i] + w_offset)` (see [`scalar::dot_i8_offset`]), the offsets
/// in [`OFFSET_MIN`, `OFFSET_MAX`] (callers check). Not inlined, as [`dot_i8`].
#[inline(never)]
pub(crate) fn dot_i8_offset(x: &[i8], x_offset: i32, w: &[i8], w_offset: i32) -> i32 {
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&x_offset));
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&w_offset));
    // Both offsets in both 16-bit lanes.
    let xo2 = (x_offset as u16 as u32) * 0x0001_0001;
    let wo2 = (w_offset as u16 as u32) * 0x0001_0001;
    let (xc, wc) = (x.chunks_exact(4), w.chunks_exact(4));
    let (xr, wr) = (xc.remainder(), wc.remainder());
    let mut acc = 0i32;
    for (xs, ws) in xc.zip(wc) {
        let (xv, wv) = (word(xs), word(ws));
        acc = smlad(sxtab16(xo2, xv), sxtab16(wo2, wv), acc);
        acc = smlad(sxtab16_ror8(xo2, xv), sxtab16_ror8(wo2, wv), acc);
    }
    acc.wrapping_add(scalar::dot_i8_offset(xr, x_offset, wr, w_offset))
}

/// `acc + a_lo·b_lo + a_hi·b_hi` (signed 16-bit lanes) in 64 bits, exactly.
#[inline(always)]
fn smlald(a: u32, b: u32, acc: i64) -> i64 {
    let (mut lo, mut hi) = (acc as u32, (acc >> 32) as u32);
    // SAFETY: SMLALD reads and writes registers only.
    unsafe {
        asm!("smlald {lo}, {hi}, {a}, {b}", lo = inout(reg) lo, hi = inout(reg) hi, a = in(reg) a, b = in(reg) b, options(pure, nomem, nostack))
    };
    ((hi as u64) << 32 | lo as u64) as i64
}

/// `[a.lo, b.lo]`: the bottom halves of two words side by side (PKHBT … LSL #16).
#[inline(always)]
fn pkhbt16(a: u32, b: u32) -> u32 {
    let r: u32;
    // SAFETY: as for `sxtb16`.
    unsafe {
        asm!("pkhbt {r}, {a}, {b}, lsl #16", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, options(pure, nomem, nostack))
    };
    r
}

/// `[a.hi, b.hi]`: the top halves of two words side by side (PKHTB … ASR #16).
#[inline(always)]
fn pkhtb16(a: u32, b: u32) -> u32 {
    let r: u32;
    // SAFETY: as for `sxtb16`.
    unsafe {
        asm!("pkhtb {r}, {b}, {a}, asr #16", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, options(pure, nomem, nostack))
    };
    r
}

/// Two little-endian `i16`s as a `u32` (`[x0, x1]`, x0 in the bottom half).
#[inline(always)]
fn pair(x: &[i16]) -> u32 {
    match <[i16; 2]>::try_from(x) {
        Ok([a, b]) => (a as u16 as u32) | ((b as u16 as u32) << 16),
        Err(_) => 0,
    }
}

/// `Σ x[i]·(w[i] + w_offset)` in 64 bits (see [`scalar::dot_i16_i8`] with
/// `x_offset = 0`), `w_offset` in [`OFFSET_MIN`, `OFFSET_MAX`] (callers check): per four
/// elements the weights' word gives `[w0, w2]`, `[w1, w3]` with the offset (SXTAB16),
/// the inputs' two words are re-paired to `[x0, x2]`, `[x1, x3]` (PKHBT, PKHTB), and two
/// SMLALDs add the four products to the 64-bit accumulator — exact, as every product
/// fits 31 bits and the accumulator is 64. Not inlined, as [`dot_i8`].
#[inline(never)]
pub(crate) fn dot_i16_i8(x: &[i16], w: &[i8], w_offset: i32) -> i64 {
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&w_offset));
    let wo2 = (w_offset as u16 as u32) * 0x0001_0001;
    let (xc, wc) = (x.chunks_exact(4), w.chunks_exact(4));
    let (xr, wr) = (xc.remainder(), wc.remainder());
    let mut acc = 0i64;
    for (xs, ws) in xc.zip(wc) {
        let (x01, x23) = (pair(&xs[..2]), pair(&xs[2..]));
        let wv = word(ws);
        acc = smlald(pkhbt16(x01, x23), sxtab16(wo2, wv), acc);
        acc = smlald(pkhtb16(x01, x23), sxtab16_ror8(wo2, wv), acc);
    }
    acc.wrapping_add(scalar::dot_i16_i8(xr, 0, wr, w_offset))
}
