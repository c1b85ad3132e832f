//! The Arm DSP-extension path (Cortex-M4/M7, Armv8-M Mainline with DSP, Armv7-A/R):
//! the int8 micro-kernels four bytes per step with SXTB16/SXTAB16, SMLAD, SMLABB/SMLATT,
//! SSUB8 + SEL.
//!
//! | kernel | inner step | instructions per 16 MACs (M4) |
//! |---|---|---|
//! | `dot_i8`, `dot_i8_offset` | 2 loads, 4 SXT(A)B16, 2 SMLAD per 4 MACs | 40 |
//! | `dot_2x2` | shared loads of 2 + 2 rows, Rust + `asm!` intrinsics | ≈ 30 |
//! | `expand_2` + `gemm_2xn` | hand-scheduled loop over prepared lanes (LDRD in T32) | 21 (T32), 24 (A32) |
//! | `dot_1x4`, `dot_1x2` | hand-scheduled 1 × 2 loop, 16 bytes per iteration | 27 |
//! | `depthwise` | 4 channels in registers over the window; 3-wide rows one asm block | 40 (10 per tap) |
//! | `window_max` | per tap 1 load, SSUB8, SEL (4 channels) | — |
//! | `window_sum` | per tap 1 load, 2 SXTAB16 into 16-bit lane sums (≤ 256 taps) | — |
//!
//! The hand-scheduled loops are whole `asm!` blocks because LLVM, given the single
//! instructions as `asm!` intrinsics, spilled accumulators and pointers in these
//! register-hungry loops (about 36 instructions per 16 MACs for the 2 × 2 tile): a block
//! may use at most 12 registers (r0–r5, r8–r12, lr; r6, r7/r11 and sp are reserved),
//! which decides the tile shapes above. Measured figures per kernel call are in
//! docs/benchmarks.md ("Cortex-M int8 kernels").
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
//! the scalar reference bit for bit (see [`super::scalar::dot_i8_offset`]); SMLABB and
//! SMLATT (one 16×16 product plus the accumulator, low 32 bits) likewise. The last
//! `len mod 4` elements (or channels) go through the scalar reference.

use super::scalar;
use crate::int8::Taps;
use core::arch::asm;

/// The offsets this path's 16-bit lanes hold exactly (shared by every such path).
pub(crate) use super::scalar::{OFFSET_MAX, OFFSET_MIN};

/// `[b0, b2]` of `v`'s bytes, sign-extended to two i16 lanes.
#[inline(always)]
fn sxtb16(v: u32) -> u32 {
    let r: u32;
    // SAFETY: SXTB16 reads and writes registers only (DSP extension present: this
    // module is compiled only where `mote_arm_dsp` says so).
    unsafe { asm!("sxtb16 {r}, {v}", r = lateout(reg) r, v = in(reg) v, options(nomem, nostack)) };
    r
}

/// `[b1, b3]` of `v`'s bytes, sign-extended to two i16 lanes.
#[inline(always)]
fn sxtb16_ror8(v: u32) -> u32 {
    let r: u32;
    // SAFETY: as for `sxtb16`.
    unsafe {
        asm!("sxtb16 {r}, {v}, ror #8", r = lateout(reg) r, v = in(reg) v, options(nomem, nostack))
    };
    r
}

/// `[o + b0, o + b2]` (16-bit lanes) for `o2 = [o, o]`.
#[inline(always)]
fn sxtab16(o2: u32, v: u32) -> u32 {
    let r: u32;
    // SAFETY: as for `sxtb16`.
    unsafe {
        asm!("sxtab16 {r}, {o}, {v}", r = lateout(reg) r, o = in(reg) o2, v = in(reg) v, options(nomem, nostack))
    };
    r
}

/// `[o + b1, o + b3]` (16-bit lanes) for `o2 = [o, o]`.
#[inline(always)]
fn sxtab16_ror8(o2: u32, v: u32) -> u32 {
    let r: u32;
    // SAFETY: as for `sxtb16`.
    unsafe {
        asm!("sxtab16 {r}, {o}, {v}, ror #8", r = lateout(reg) r, o = in(reg) o2, v = in(reg) v, options(nomem, nostack))
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
        asm!("smlad {r}, {a}, {b}, {acc}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, acc = in(reg) acc, options(nomem, nostack))
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

/// `acc + a_lo·b_lo` (signed 16-bit lanes), the low 32 bits.
#[inline(always)]
fn smlabb(a: u32, b: u32, acc: i32) -> i32 {
    let r: i32;
    // SAFETY: as for `smlad`.
    unsafe {
        asm!("smlabb {r}, {a}, {b}, {acc}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, acc = in(reg) acc, options(nomem, nostack))
    };
    r
}

/// `acc + a_hi·b_hi` (signed 16-bit lanes), the low 32 bits.
#[inline(always)]
fn smlatt(a: u32, b: u32, acc: i32) -> i32 {
    let r: i32;
    // SAFETY: as for `smlad`.
    unsafe {
        asm!("smlatt {r}, {a}, {b}, {acc}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, acc = in(reg) acc, options(nomem, nostack))
    };
    r
}

/// The byte-wise signed maximum of `a` and `b`: SSUB8 sets each lane's GE flag where
/// `a ≥ b`, SEL then picks `a`'s byte there and `b`'s elsewhere.
#[inline(always)]
fn max8(a: u32, b: u32) -> u32 {
    let r: u32;
    // SAFETY: SSUB8 and SEL read and write registers and the APSR.GE flags only (flags
    // are not declared preserved, so the compiler assumes them clobbered); both are in
    // one block, so nothing runs between the flag write and its read.
    unsafe {
        asm!("ssub8 {r}, {a}, {b}", "sel {r}, {a}, {b}", r = out(reg) r, a = in(reg) a, b = in(reg) b, options(nomem, nostack))
    };
    r
}

/// `[o, o]` in two 16-bit lanes (the operand SXTAB16 adds).
#[inline(always)]
fn lanes(o: i32) -> u32 {
    (o as u16 as u32) * 0x0001_0001
}

/// Four bytes of `s` from `at` as a little-endian `u32`, unchecked.
///
/// # Safety
///
/// `at + 4 ≤ s.len()`.
#[inline(always)]
unsafe fn load4(s: &[i8], at: usize) -> u32 {
    debug_assert!(at + 4 <= s.len());
    // SAFETY: in bounds by the caller's contract; `read_unaligned` assumes no alignment.
    u32::from_le_bytes(unsafe { s.as_ptr().add(at).cast::<[u8; 4]>().read_unaligned() })
}

/// The 2 × 2 tile (see [`scalar::dot_2x2`]), the offset in [`OFFSET_MIN`,
/// `OFFSET_MAX`] (callers check). Per four bytes of each row: 4 loads, 4 SXTAB16 for the
/// two input rows (offset added), 4 SXTB16 for the two weight rows, 8 SMLAD for 16 MACs.
#[inline(never)]
pub(crate) fn dot_2x2<'a>(x: [&'a [i8]; 2], x_offset: i32, w: [&'a [i8]; 2]) -> [i32; 4] {
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&x_offset));
    let o2 = lanes(x_offset);
    let [x0, x1] = x;
    let [w0, w1] = w;
    let n = x0.len().min(x1.len()).min(w0.len()).min(w1.len());
    let n4 = n & !3;
    let (mut a00, mut a01, mut a10, mut a11) = (0i32, 0i32, 0i32, 0i32);
    let mut i = 0;
    while i < n4 {
        // SAFETY: `i + 4 ≤ n4 ≤` every row's length.
        let (xa, xb) = unsafe { (load4(x0, i), load4(x1, i)) };
        let (xae, xao) = (sxtab16(o2, xa), sxtab16_ror8(o2, xa));
        let (xbe, xbo) = (sxtab16(o2, xb), sxtab16_ror8(o2, xb));
        // SAFETY: as above.
        let wa = unsafe { load4(w0, i) };
        let (we, wo) = (sxtb16(wa), sxtb16_ror8(wa));
        a00 = smlad(xae, we, a00);
        a00 = smlad(xao, wo, a00);
        a10 = smlad(xbe, we, a10);
        a10 = smlad(xbo, wo, a10);
        // SAFETY: as above.
        let wb = unsafe { load4(w1, i) };
        let (we, wo) = (sxtb16(wb), sxtb16_ror8(wb));
        a01 = smlad(xae, we, a01);
        a01 = smlad(xao, wo, a01);
        a11 = smlad(xbe, we, a11);
        a11 = smlad(xbo, wo, a11);
        i += 4;
    }
    let tail = |s: &'a [i8]| s.get(n4..n).unwrap_or(&[]);
    let (x0r, x1r, w0r, w1r) = (tail(x0), tail(x1), tail(w0), tail(w1));
    let t = scalar::dot_2x2([x0r, x1r], x_offset, [w0r, w1r]);
    [
        a00.wrapping_add(t[0]),
        a01.wrapping_add(t[1]),
        a10.wrapping_add(t[2]),
        a11.wrapping_add(t[3]),
    ]
}

/// One pass of the one-input × two-weight-rows loop over `steps` sixteen-byte steps:
/// `[Σ (x + o)·w0, Σ (x + o)·w1]` over the first `16·steps` bytes.
///
/// # Safety
///
/// `steps ≥ 1`; `x`, `w0`, `w1` each have at least `16·steps` readable bytes.
#[inline(always)]
unsafe fn pass_1x2(x: *const i8, o2: u32, w0: *const i8, w1: *const i8, steps: usize) -> [i32; 2] {
    let (mut a0, mut a1) = (0i32, 0i32);
    // SAFETY: the loop reads `16·steps` bytes of `x` and of both weight rows, in bounds
    // by the caller's contract; it writes only its register operands (and the flags:
    // `subs`), and uses no stack.
    unsafe {
        asm!(
            "2:",
            "ldr {t0}, [{xp}], #4",
            "sxtab16 {t1}, {o2}, {t0}",
            "sxtab16 {t0}, {o2}, {t0}, ror #8",
            "ldr {t2}, [{w0}], #4",
            "sxtb16 {t3}, {t2}",
            "smlad {a0}, {t1}, {t3}, {a0}",
            "sxtb16 {t2}, {t2}, ror #8",
            "smlad {a0}, {t0}, {t2}, {a0}",
            "ldr {t2}, [{w1}], #4",
            "sxtb16 {t3}, {t2}",
            "smlad {a1}, {t1}, {t3}, {a1}",
            "sxtb16 {t2}, {t2}, ror #8",
            "smlad {a1}, {t0}, {t2}, {a1}",
            "ldr {t0}, [{xp}], #4",
            "sxtab16 {t1}, {o2}, {t0}",
            "sxtab16 {t0}, {o2}, {t0}, ror #8",
            "ldr {t2}, [{w0}], #4",
            "sxtb16 {t3}, {t2}",
            "smlad {a0}, {t1}, {t3}, {a0}",
            "sxtb16 {t2}, {t2}, ror #8",
            "smlad {a0}, {t0}, {t2}, {a0}",
            "ldr {t2}, [{w1}], #4",
            "sxtb16 {t3}, {t2}",
            "smlad {a1}, {t1}, {t3}, {a1}",
            "sxtb16 {t2}, {t2}, ror #8",
            "smlad {a1}, {t0}, {t2}, {a1}",
            "ldr {t0}, [{xp}], #4",
            "sxtab16 {t1}, {o2}, {t0}",
            "sxtab16 {t0}, {o2}, {t0}, ror #8",
            "ldr {t2}, [{w0}], #4",
            "sxtb16 {t3}, {t2}",
            "smlad {a0}, {t1}, {t3}, {a0}",
            "sxtb16 {t2}, {t2}, ror #8",
            "smlad {a0}, {t0}, {t2}, {a0}",
            "ldr {t2}, [{w1}], #4",
            "sxtb16 {t3}, {t2}",
            "smlad {a1}, {t1}, {t3}, {a1}",
            "sxtb16 {t2}, {t2}, ror #8",
            "smlad {a1}, {t0}, {t2}, {a1}",
            "ldr {t0}, [{xp}], #4",
            "sxtab16 {t1}, {o2}, {t0}",
            "sxtab16 {t0}, {o2}, {t0}, ror #8",
            "ldr {t2}, [{w0}], #4",
            "sxtb16 {t3}, {t2}",
            "smlad {a0}, {t1}, {t3}, {a0}",
            "sxtb16 {t2}, {t2}, ror #8",
            "smlad {a0}, {t0}, {t2}, {a0}",
            "ldr {t2}, [{w1}], #4",
            "sxtb16 {t3}, {t2}",
            "smlad {a1}, {t1}, {t3}, {a1}",
            "sxtb16 {t2}, {t2}, ror #8",
            "smlad {a1}, {t0}, {t2}, {a1}",
            "subs {n}, {n}, #1",
            "bne 2b",
            xp = inout(reg) x => _,
            w0 = inout(reg) w0 => _,
            w1 = inout(reg) w1 => _,
            n = inout(reg) steps => _,
            o2 = in(reg) o2,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            t0 = out(reg) _,
            t1 = out(reg) _,
            t2 = out(reg) _,
            t3 = out(reg) _,
            options(nostack, readonly),
        );
    }
    [a0, a1]
}

/// The GEMV tile (see [`scalar::dot_1x4`]), the offset in [`OFFSET_MIN`, `OFFSET_MAX`]
/// (callers check): two passes of a hand-scheduled one-input × two-weight-rows loop,
/// 16 bytes per iteration. Per four bytes it loads the input once and extends it (1
/// load, 2 SXTAB16), then per weight row 1 load, 2 SXTB16, 2 SMLAD: 13 instructions for
/// 8 MACs, 27 per 16 with the loop's. (Four rows in one loop would need more registers
/// than an asm block can have.) The last `n mod 16` bytes go through the scalar
/// reference.
#[inline(never)]
pub(crate) fn dot_1x4(x: &[i8], x_offset: i32, w: [&[i8]; 4]) -> [i32; 4] {
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&x_offset));
    let o2 = lanes(x_offset);
    let n = w.iter().fold(x.len(), |n, r| n.min(r.len()));
    let steps = n / 16;
    let mut acc = [0i32; 4];
    if steps > 0 {
        for (a, ws) in acc.chunks_exact_mut(2).zip(w.chunks_exact(2)) {
            // SAFETY: `16·steps ≤ n` bytes of `x` and of both rows are in bounds.
            let t = unsafe { pass_1x2(x.as_ptr(), o2, ws[0].as_ptr(), ws[1].as_ptr(), steps) };
            a.copy_from_slice(&t);
        }
    }
    let done = 16 * steps;
    if done == n {
        return acc;
    }
    let xt = x.get(done..n).unwrap_or(&[]);
    let t = scalar::dot_1x4(xt, x_offset, w.map(|r| r.get(done..n).unwrap_or(&[])));
    [
        acc[0].wrapping_add(t[0]),
        acc[1].wrapping_add(t[1]),
        acc[2].wrapping_add(t[2]),
        acc[3].wrapping_add(t[3]),
    ]
}

/// [`scalar::dot_1x4`] for two rows (see [`dot_1x4`]): one pass of the same loop.
#[inline(never)]
pub(crate) fn dot_1x2(x: &[i8], x_offset: i32, w: [&[i8]; 2]) -> [i32; 2] {
    let o2 = lanes(x_offset);
    let n = w.iter().fold(x.len(), |n, r| n.min(r.len()));
    let steps = n / 16;
    let mut acc = [0i32; 2];
    if steps > 0 {
        // SAFETY: `16·steps ≤ n` bytes of `x` and of both rows are in bounds.
        acc = unsafe { pass_1x2(x.as_ptr(), o2, w[0].as_ptr(), w[1].as_ptr(), steps) };
    }
    let done = 16 * steps;
    if done == n {
        return acc;
    }
    let xt = x.get(done..n).unwrap_or(&[]);
    let [a, b] = scalar::dot_1x2(xt, x_offset, w.map(|r| r.get(done..n).unwrap_or(&[])));
    [acc[0].wrapping_add(a), acc[1].wrapping_add(b)]
}

/// The depthwise window (see [`scalar::depthwise`]), the offset in [`OFFSET_MIN`,
/// `OFFSET_MAX`]. Four channels per word: the accumulators of channels `c..c + 4` stay
/// in registers over every tap; per tap 2 loads, 2 SXTAB16 (input, offset added), 2
/// SXTB16 (weights) and SMLABB/SMLATT per lane pair (`[c, c + 2]` and `[c + 1, c + 3]`):
/// 10 instructions for 4 MACs. The last `len mod 4` channels go through the scalar
/// reference.
///
/// # Safety
///
/// Both tap sets have the same `rows` and `cols`, and for every tap
/// `r·row_step + t·col_step + out.len() ≤` the length of `x` (with `xs`) and of `w`
/// (with `ws`).
#[inline(never)]
pub(crate) unsafe fn depthwise(
    out: &mut [i32],
    x: &[i8],
    xs: Taps,
    x_offset: i32,
    w: &[i8],
    ws: Taps,
) {
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&x_offset));
    let o2 = lanes(x_offset);
    let n = out.len();
    let quads = n / 4;
    // The common 3-wide window row with equal input and weight column steps (dilation
    // 1, channel multiplier 1): one hand-scheduled block per row.
    if xs.cols == 3 && xs.col_step == ws.col_step {
        // SAFETY: forwarded from the caller.
        unsafe { depthwise_rows3(out, x, xs, o2, w, ws) };
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { depthwise_quads(out, x, xs, o2, w, ws) };
    }
    let c = 4 * quads;
    if c < n {
        let (xt, wt) = (x.get(c..).unwrap_or(&[]), w.get(c..).unwrap_or(&[]));
        if let Some(o) = out.get_mut(c..) {
            scalar::depthwise(o, xt, xs, x_offset, wt, ws);
        }
    }
}

/// The four-channel groups of [`depthwise`], any window.
///
/// # Safety
///
/// As for [`depthwise`].
#[inline(always)]
unsafe fn depthwise_quads(out: &mut [i32], x: &[i8], xs: Taps, o2: u32, w: &[i8], ws: Taps) {
    let cols = xs.cols;
    for (q, o) in out.chunks_exact_mut(4).enumerate() {
        let c = 4 * q;
        let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
        let (mut xrow, mut wrow) = (c, c);
        for _ in 0..xs.rows {
            let (mut xa, mut wa) = (xrow, wrow);
            for _ in 0..cols {
                // SAFETY: `xa = r·row_step + t·col_step + c` with `c + 4 ≤ out.len()`: in
                // bounds by the caller's contract (the same for `wa`).
                let (xv, wv) = unsafe { (load4(x, xa), load4(w, wa)) };
                let (xe, xo) = (sxtab16(o2, xv), sxtab16_ror8(o2, xv));
                let (we, wo) = (sxtb16(wv), sxtb16_ror8(wv));
                a0 = smlabb(xe, we, a0);
                a2 = smlatt(xe, we, a2);
                a1 = smlabb(xo, wo, a1);
                a3 = smlatt(xo, wo, a3);
                xa += xs.col_step;
                wa += ws.col_step;
            }
            xrow += xs.row_step;
            wrow += ws.row_step;
        }
        o.copy_from_slice(&[a0, a1, a2, a3]);
    }
}

/// The four-channel groups of [`depthwise`] for windows 3 taps wide whose input and
/// weight taps are the same `col_step` apart: per window row one asm block of 30
/// instructions for 12 MACs (taps at `[p]`, `[p, step]`, `[p, step, lsl #1]`).
///
/// # Safety
///
/// As for [`depthwise`], with `xs.cols = 3` and `xs.col_step = ws.col_step`.
#[inline(always)]
unsafe fn depthwise_rows3(out: &mut [i32], x: &[i8], xs: Taps, o2: u32, w: &[i8], ws: Taps) {
    let step = xs.col_step;
    for (q, o) in out.chunks_exact_mut(4).enumerate() {
        let c = 4 * q;
        let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
        let (mut xrow, mut wrow) = (c, c);
        for _ in 0..xs.rows {
            // SAFETY: the block reads 4 bytes at `xrow + t·step` of `x` and at
            // `wrow + t·step` of `w` for t < 3: taps (r, t) of quad `c`, in bounds by the
            // caller's contract; it writes only its register operands (SMLABB/SMLATT may
            // set the sticky Q flag, so the flags are not declared preserved) and uses no
            // stack.
            unsafe {
                asm!(
                    "ldr {t0}, [{xp}]",
                    "ldr {t1}, [{wp}]",
                    "sxtab16 {t2}, {o2}, {t0}",
                    "sxtb16 {t3}, {t1}",
                    "smlabb {a0}, {t2}, {t3}, {a0}",
                    "smlatt {a2}, {t2}, {t3}, {a2}",
                    "sxtab16 {t2}, {o2}, {t0}, ror #8",
                    "sxtb16 {t3}, {t1}, ror #8",
                    "smlabb {a1}, {t2}, {t3}, {a1}",
                    "smlatt {a3}, {t2}, {t3}, {a3}",
                    "ldr {t0}, [{xp}, {st}]",
                    "ldr {t1}, [{wp}, {st}]",
                    "sxtab16 {t2}, {o2}, {t0}",
                    "sxtb16 {t3}, {t1}",
                    "smlabb {a0}, {t2}, {t3}, {a0}",
                    "smlatt {a2}, {t2}, {t3}, {a2}",
                    "sxtab16 {t2}, {o2}, {t0}, ror #8",
                    "sxtb16 {t3}, {t1}, ror #8",
                    "smlabb {a1}, {t2}, {t3}, {a1}",
                    "smlatt {a3}, {t2}, {t3}, {a3}",
                    "ldr {t0}, [{xp}, {st}, lsl #1]",
                    "ldr {t1}, [{wp}, {st}, lsl #1]",
                    "sxtab16 {t2}, {o2}, {t0}",
                    "sxtb16 {t3}, {t1}",
                    "smlabb {a0}, {t2}, {t3}, {a0}",
                    "smlatt {a2}, {t2}, {t3}, {a2}",
                    "sxtab16 {t2}, {o2}, {t0}, ror #8",
                    "sxtb16 {t3}, {t1}, ror #8",
                    "smlabb {a1}, {t2}, {t3}, {a1}",
                    "smlatt {a3}, {t2}, {t3}, {a3}",
                    xp = in(reg) x.as_ptr().wrapping_add(xrow),
                    wp = in(reg) w.as_ptr().wrapping_add(wrow),
                    st = in(reg) step,
                    o2 = in(reg) o2,
                    a0 = inout(reg) a0,
                    a1 = inout(reg) a1,
                    a2 = inout(reg) a2,
                    a3 = inout(reg) a3,
                    t0 = out(reg) _,
                    t1 = out(reg) _,
                    t2 = out(reg) _,
                    t3 = out(reg) _,
                    options(nostack, readonly),
                );
            }
            xrow += xs.row_step;
            wrow += ws.row_step;
        }
        o.copy_from_slice(&[a0, a1, a2, a3]);
    }
}

/// The pooling maximum (see [`scalar::window_max`]), four channels per word: per tap
/// one load, SSUB8 and SEL.
///
/// # Safety
///
/// `rows·cols > 0`, and for every tap `r·row_step + t·col_step + out.len() ≤ x.len()`.
#[inline(never)]
pub(crate) unsafe fn window_max(out: &mut [i8], x: &[i8], taps: Taps) {
    let n = out.len();
    let quads = n / 4;
    for (q, o) in out.chunks_exact_mut(4).enumerate() {
        let c = 4 * q;
        // SAFETY: tap (0, 0) exists and is in bounds (caller's contract).
        let mut m = unsafe { load4(x, c) };
        let mut row = c;
        for _ in 0..taps.rows {
            let mut at = row;
            for _ in 0..taps.cols {
                // SAFETY: `at = r·row_step + t·col_step + c`, `c + 4 ≤ out.len()`.
                m = max8(m, unsafe { load4(x, at) });
                at += taps.col_step;
            }
            row += taps.row_step;
        }
        o.copy_from_slice(&m.to_le_bytes().map(|b| b as i8));
    }
    let c = 4 * quads;
    if c < n
        && let (Some(o), Some(xt)) = (out.get_mut(c..), x.get(c..))
    {
        scalar::window_max(o, xt, taps);
    }
}

/// The pooling sum (see [`scalar::window_sum`]) for windows of at most 256 taps (callers
/// check), four channels per word: per tap one load and two SXTAB16, which add the
/// sign-extended bytes to two 16-bit lane sums each (exact: 256 taps of `i8` sum to at
/// most 32,512 and at least −32,768).
///
/// # Safety
///
/// For every tap `r·row_step + t·col_step + out.len() ≤ x.len()`.
#[inline(never)]
pub(crate) unsafe fn window_sum(out: &mut [i32], x: &[i8], taps: Taps) {
    debug_assert!(taps.rows * taps.cols <= 256);
    let n = out.len();
    let quads = n / 4;
    for (q, o) in out.chunks_exact_mut(4).enumerate() {
        let c = 4 * q;
        let (mut even, mut odd) = (0u32, 0u32);
        let mut row = c;
        for _ in 0..taps.rows {
            let mut at = row;
            for _ in 0..taps.cols {
                // SAFETY: `at = r·row_step + t·col_step + c`, `c + 4 ≤ out.len()`.
                let v = unsafe { load4(x, at) };
                even = sxtab16(even, v);
                odd = sxtab16_ror8(odd, v);
                at += taps.col_step;
            }
            row += taps.row_step;
        }
        let lane = |v: u32, hi: bool| i32::from((if hi { v >> 16 } else { v }) as u16 as i16);
        o.copy_from_slice(&[
            lane(even, false),
            lane(odd, false),
            lane(even, true),
            lane(odd, true),
        ]);
    }
    let c = 4 * quads;
    if c < n
        && let (Some(o), Some(xt)) = (out.get_mut(c..), x.get(c..))
    {
        scalar::window_sum(o, xt, taps);
    }
}

/// Expands two int8 rows for [`gemm_2xn`]: for each four-byte step `i` the words
/// `[x0 even, x0 odd, x1 even, x1 odd]`, each two i16 lanes `[x[4i] + o, x[4i + 2] + o]`
/// / `[x[4i + 1] + o, x[4i + 3] + o]` (SXTAB16, the offset in [`OFFSET_MIN`,
/// `OFFSET_MAX`]; callers check). `buf` holds `4·⌊k/4⌋` words.
#[inline(never)]
pub(crate) fn expand_2(x: [&[i8]; 2], x_offset: i32, buf: &mut [u32]) {
    let o2 = lanes(x_offset);
    let [x0, x1] = x;
    for ((l, a), b) in buf
        .chunks_exact_mut(4)
        .zip(x0.chunks_exact(4))
        .zip(x1.chunks_exact(4))
    {
        let (a, b) = (word(a), word(b));
        l.copy_from_slice(&[
            sxtab16(o2, a),
            sxtab16_ror8(o2, a),
            sxtab16(o2, b),
            sxtab16_ror8(o2, b),
        ]);
    }
}

/// `out[r][j] = Σ_i (x_r[i] + x_offset)·w[j·k + i]` from two rows expanded by
/// [`expand_2`] (`steps = ⌊k/4⌋` steps in `lanes`, the last `k mod 4` elements in
/// `tails`), two weight rows per pass of one hand-scheduled loop: per four bytes of `k`
/// 2 weight loads, 4 SXTB16, 8 loads of expanded input and 8 SMLAD for 16 MACs (24
/// instructions with the loop's). Callers check the lengths: `w` is `out[0].len()` rows
/// of `k`, `out[1]` as long as `out[0]`, `lanes.len() = 4·steps`.
#[inline(never)]
pub(crate) fn gemm_2xn<'a>(
    lanes: &[u32],
    tails: [&[i8]; 2],
    x_offset: i32,
    k: usize,
    w: &'a [i8],
    out: [&mut [i32]; 2],
) {
    let steps = lanes.len() / 4;
    debug_assert!(steps == k / 4 && w.len() >= out[0].len() * k);
    let [out0, out1] = out;
    let n = out0.len().min(out1.len());
    let tail = |row: &'a [i8]| -> &'a [i8] { row.get(4 * steps..k).unwrap_or(&[]) };
    let mut j = 0;
    while j < n {
        // The last odd row pairs with itself (its second results are dropped).
        let j1 = if j + 1 < n { j + 1 } else { j };
        let (Some(w0), Some(w1)) = (w.get(j * k..(j + 1) * k), w.get(j1 * k..(j1 + 1) * k)) else {
            return;
        };
        let [mut a00, mut a01, mut a10, mut a11] = [0i32; 4];
        if steps > 0 {
            // SAFETY: the loop reads `steps` words of each weight row (`4·steps ≤ k` bytes
            // of `w0`, `w1`) and `4·steps` words of `lanes`, all in bounds; it writes only
            // its register operands (and the flags: `subs`), and uses no stack.
            unsafe {
                pass_2x2(
                    lanes.as_ptr(),
                    w0.as_ptr(),
                    w1.as_ptr(),
                    steps,
                    &mut [&mut a00, &mut a01, &mut a10, &mut a11],
                )
            };
        }
        if 4 * steps < k {
            let t = scalar::dot_2x2(tails, x_offset, [tail(w0), tail(w1)]);
            a00 = a00.wrapping_add(t[0]);
            a01 = a01.wrapping_add(t[1]);
            a10 = a10.wrapping_add(t[2]);
            a11 = a11.wrapping_add(t[3]);
        }
        if let (Some(p), Some(q)) = (out0.get_mut(j), out1.get_mut(j)) {
            *p = a00;
            *q = a10;
        }
        if j1 != j
            && let (Some(p), Some(q)) = (out0.get_mut(j1), out1.get_mut(j1))
        {
            *p = a01;
            *q = a11;
        }
        j += 2;
    }
}

/// The hand-scheduled loop of [`gemm_2xn`] for Thumb-2 (Cortex-M): the prepared lanes
/// two words at a time with LDRD (any register pair in T32), 21 instructions per 16
/// MACs.
///
/// # Safety
///
/// `steps ≥ 1`; `lanes` points to `4·steps` readable words, `w0` and `w1` to `4·steps`
/// readable bytes each.
#[cfg(mote_thumb)]
#[inline(always)]
unsafe fn pass_2x2(
    lanes: *const u32,
    w0: *const i8,
    w1: *const i8,
    steps: usize,
    acc: &mut [&mut i32; 4],
) {
    let [a00, a01, a10, a11] = acc;
    // SAFETY: the loop reads `steps` words of each weight row and `4·steps` words of
    // `lanes` (the caller's contract); it writes only its register operands (and the
    // flags: `subs`), and uses no stack.
    unsafe {
        asm!(
            "2:",
            "ldr {t0}, [{w0}], #4",
            "sxtb16 {t1}, {t0}, ror #8",
            "sxtb16 {t0}, {t0}",
            "ldrd {t2}, {t3}, [{xp}]",
            "smlad {a00}, {t2}, {t0}, {a00}",
            "smlad {a00}, {t3}, {t1}, {a00}",
            "ldrd {t2}, {t3}, [{xp}, #8]",
            "smlad {a10}, {t2}, {t0}, {a10}",
            "smlad {a10}, {t3}, {t1}, {a10}",
            "ldr {t0}, [{w1}], #4",
            "sxtb16 {t1}, {t0}, ror #8",
            "sxtb16 {t0}, {t0}",
            "smlad {a11}, {t2}, {t0}, {a11}",
            "smlad {a11}, {t3}, {t1}, {a11}",
            "ldrd {t2}, {t3}, [{xp}], #16",
            "smlad {a01}, {t2}, {t0}, {a01}",
            "smlad {a01}, {t3}, {t1}, {a01}",
            "subs {n}, {n}, #1",
            "bne 2b",
            w0 = inout(reg) w0 => _,
            w1 = inout(reg) w1 => _,
            xp = inout(reg) lanes => _,
            n = inout(reg) steps => _,
            a00 = inout(reg) **a00,
            a01 = inout(reg) **a01,
            a10 = inout(reg) **a10,
            a11 = inout(reg) **a11,
            t0 = out(reg) _,
            t1 = out(reg) _,
            t2 = out(reg) _,
            t3 = out(reg) _,
            options(nostack, readonly),
        );
    }
}

/// The loop of [`gemm_2xn`] for A32 (Armv7-A in Arm state, where LDRD needs an even
/// register pair): one word at a time, 24 instructions per 16 MACs.
///
/// # Safety
///
/// As for the Thumb-2 form.
#[cfg(not(mote_thumb))]
#[inline(always)]
unsafe fn pass_2x2(
    lanes: *const u32,
    w0: *const i8,
    w1: *const i8,
    steps: usize,
    acc: &mut [&mut i32; 4],
) {
    let [a00, a01, a10, a11] = acc;
    // SAFETY: as for the Thumb-2 form.
    unsafe {
        asm!(
            "2:",
            "ldr {t0}, [{w0}], #4",
            "sxtb16 {t1}, {t0}, ror #8",
            "sxtb16 {t0}, {t0}",
            "ldr {t2}, [{xp}]",
            "smlad {a00}, {t2}, {t0}, {a00}",
            "ldr {t2}, [{xp}, #4]",
            "smlad {a00}, {t2}, {t1}, {a00}",
            "ldr {t2}, [{xp}, #8]",
            "smlad {a10}, {t2}, {t0}, {a10}",
            "ldr {t2}, [{xp}, #12]",
            "smlad {a10}, {t2}, {t1}, {a10}",
            "ldr {t0}, [{w1}], #4",
            "sxtb16 {t1}, {t0}, ror #8",
            "sxtb16 {t0}, {t0}",
            "ldr {t2}, [{xp}], #16",
            "smlad {a01}, {t2}, {t0}, {a01}",
            "ldr {t2}, [{xp}, #-12]",
            "smlad {a01}, {t2}, {t1}, {a01}",
            "ldr {t2}, [{xp}, #-8]",
            "smlad {a11}, {t2}, {t0}, {a11}",
            "ldr {t2}, [{xp}, #-4]",
            "smlad {a11}, {t2}, {t1}, {a11}",
            "subs {n}, {n}, #1",
            "bne 2b",
            w0 = inout(reg) w0 => _,
            w1 = inout(reg) w1 => _,
            xp = inout(reg) lanes => _,
            n = inout(reg) steps => _,
            a00 = inout(reg) **a00,
            a01 = inout(reg) **a01,
            a10 = inout(reg) **a10,
            a11 = inout(reg) **a11,
            t0 = out(reg) _,
            t1 = out(reg) _,
            t2 = out(reg) _,
            options(nostack, readonly),
        );
    }
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
