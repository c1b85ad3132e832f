//! The portable scalar micro-kernels: the reference of every other path.
//!
//! Written so that LLVM vectorises them for whatever the target offers (SSE2 on
//! x86-64, NEON on aarch64, nothing but the FPU on a Cortex-M): fixed-size accumulator
//! arrays, constant trip counts in the innermost loops, no bounds checks there.
//!
//! Summation order (part of the contract, so results are reproducible on one target):
//! - `tile`: each accumulator sums its `k` products in order `p = 0, 1, …`; products
//!   are rounded before the addition (no fused multiply-add);
//! - `dot`: eight interleaved partial sums (`lane = i mod 8`) over the first
//!   `8·⌊len/8⌋` elements, combined pairwise (`(l0+l4)+(l2+l6)`, `(l1+l5)+(l3+l7)`,
//!   then their sum), plus the remaining elements summed in order;
//! - `dot_i8`, `dot_i8_offset` and the int8 tiles and windows (`dot_2x2`, `dot_1x4`,
//!   `depthwise`, `window_sum`): integer, so the order does not matter — every path
//!   returns the true sum modulo 2^32 (see [`dot_i8_offset`]); `window_max` is exact;
//! - `dot_i16_i8`: integer, the true sum modulo 2^64;
//! - `requantize_i8`: element by element, integer: every path gives the same bytes.

use crate::int8::Taps;
use mote_core::quant::{QuantizedMultiplier, Rounding};

/// The smallest offset whose sums with every `i8` fit an `i16` lane (−32768 + 128): the
/// vector paths that add offsets in 16-bit lanes (Arm DSP, NEON, AVX2) take offsets in
/// [`OFFSET_MIN`, `OFFSET_MAX`] and hand others to the scalar path.
#[allow(dead_code)] // targets whose only path is the scalar one
pub(crate) const OFFSET_MIN: i32 = i16::MIN as i32 + 128;
/// The largest offset whose sums with every `i8` fit an `i16` lane: 32767 − 127.
#[allow(dead_code)] // targets whose only path is the scalar one
pub(crate) const OFFSET_MAX: i32 = i16::MAX as i32 - 127;

/// What a tile does with the `C` elements it covers, given its accumulated `AB`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Update {
    /// `C ← α·AB`; `C` is not read (so NaN or garbage there does not propagate).
    Overwrite,
    /// `C ← α·AB + β·C`.
    Scale(f32),
    /// `C ← C + α·AB` (every `k` block after the first).
    Accumulate,
}

/// One `R × W` register tile: `C[i][j] ← update(α · Σ_p A[i][p] · panel[p][j])` for
/// `i < R`, `j < nr`, `p < kc` where `kc = panel.len() / W` (`W` is the panel width,
/// `NR` or a path's wider `NR_*` in [`tune`](crate::tune)).
///
/// `A[i][p]` is `a[i·rsa + p·csa]`; `panel` is `kc` rows of `W` contiguous floats (the
/// packed `B`, columns `nr..W` zero); `C[i][j]` is `c[i·rsc + j·csc]`.
///
/// # Safety
///
/// For every `i < R`, `p < kc`, `j < nr`: `i·rsa + p·csa < a.len()` and
/// `i·rsc + j·csc < c.len()`; `nr ≤ W` and `panel.len()` is a multiple of `W`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
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
    debug_assert!(nr <= W && panel.len().is_multiple_of(W));
    let mut acc = [[0.0f32; W]; R];
    let mut rows = [0usize; R];
    for (i, r) in rows.iter_mut().enumerate() {
        *r = i * rsa;
    }
    let mut col = 0;
    for b in panel.chunks_exact(W) {
        let Ok(b) = <&[f32; W]>::try_from(b) else {
            continue;
        };
        for (acc_i, &row) in acc.iter_mut().zip(&rows) {
            debug_assert!(row + col < a.len());
            // SAFETY: `row + col = i·rsa + p·csa` with i < R, p < kc, in bounds by the
            // caller's contract.
            let ai = unsafe { *a.get_unchecked(row + col) };
            for (x, &bj) in acc_i.iter_mut().zip(b) {
                *x += ai * bj;
            }
        }
        col += csa;
    }
    for (i, acc_i) in acc.iter().enumerate() {
        for (j, &x) in acc_i.iter().enumerate().take(nr) {
            let at = i * rsc + j * csc;
            debug_assert!(at < c.len());
            // SAFETY: i < R, j < nr: in bounds by the caller's contract.
            let cij = unsafe { c.get_unchecked_mut(at) };
            let v = alpha * x;
            *cij = match update {
                Update::Overwrite => v,
                Update::Scale(beta) => v + beta * *cij,
                Update::Accumulate => *cij + v,
            };
        }
    }
}

/// Lanes of the dot product's partial sums.
const LANES: usize = 8;

/// `Σ a[i]·b[i]` over the common length (callers check that the lengths agree), in the
/// order documented at the top of this module.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        let (Ok(x), Ok(y)) = (<&[f32; LANES]>::try_from(x), <&[f32; LANES]>::try_from(y)) else {
            continue;
        };
        for ((s, &xi), &yi) in acc.iter_mut().zip(x).zip(y) {
            *s += xi * yi;
        }
    }
    let mut tail = 0.0f32;
    for (&x, &y) in ar.iter().zip(br) {
        tail += x * y;
    }
    let even = (acc[0] + acc[4]) + (acc[2] + acc[6]);
    let odd = (acc[1] + acc[5]) + (acc[3] + acc[7]);
    (even + odd) + tail
}

/// `x[i] ← √x[i]`, correctly rounded (libm's `sqrtf`).
#[inline]
pub(crate) fn sqrt_in_place(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = libm::sqrtf(*v));
}

/// `e^x` for `x` in `[−87, 87]` (clamped), see the module docs.
#[inline(always)]
fn exp_bounded(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const ROUND: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 87.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_6e-1)
        * r
        + 0.5;
    let er = (p * r) * r + r + 1.0;
    // t = 1.5·2²³ + n has the bits 0x4B40_0000 + n: 2ⁿ (n ∈ [−126, 126], a normal
    // power of two) from integer lane arithmetic, which vectorises where `n as i32`'s
    // saturating conversion does not.
    let biased = t.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127);
    er * f32::from_bits(biased << 23)
}

/// `σ(x) = 1 / (1 + e^{−x})`.
#[inline(always)]
fn sigmoid_one(x: f32) -> f32 {
    1.0 / (1.0 + exp_bounded(-x))
}

/// `tanh x`.
#[inline(always)]
fn tanh_one(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_5e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328e-1)
            * z
            * x
            + x;
    let large = 1.0 - 2.0 / (exp_bounded(2.0 * a) + 1.0);
    if a < 0.625 { small } else { large.copysign(x) }
}

/// `x ← σ(x)` (see `math::sigmoid_in_place`); inlined into the paths that compile the
/// same loop for wider vectors.
#[inline(always)]
pub(crate) fn sigmoid_in_place(xs: &mut [f32]) {
    xs.iter_mut().for_each(|x| *x = sigmoid_one(*x));
}

/// `x ← eˣ` for `x` clamped to `[−87, 87]` (see `math::exp_in_place`); inlined like
/// [`sigmoid_in_place`].
#[inline(always)]
pub(crate) fn exp_in_place(xs: &mut [f32]) {
    xs.iter_mut().for_each(|x| *x = exp_bounded(*x));
}

/// `x ← tanh x` (see `math::tanh_in_place`); inlined like [`sigmoid_in_place`].
#[inline(always)]
pub(crate) fn tanh_in_place(xs: &mut [f32]) {
    xs.iter_mut().for_each(|x| *x = tanh_one(*x));
}

/// `Σ a[i]·b[i]` over the common length (callers check that the lengths agree), in a
/// wrapping `i32` accumulator.
#[inline]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).fold(0i32, |acc, (&x, &w)| {
        acc.wrapping_add(i32::from(x) * i32::from(w))
    })
}

/// `Σ (x[i] + x_offset)·(w[i] + w_offset)` over the common length (callers check that
/// the lengths agree), every addition and product wrapping in `i32`.
///
/// Exactness: wrapping `i32` arithmetic is arithmetic in the ring ℤ/2^32, and the map
/// ℤ → ℤ/2^32 (reduction mod 2^32) preserves sums and products, so this returns the
/// true integer sum mod 2^32, whatever the offsets. The kernels' former i64 form —
/// products exact in i64 (|x + o| < 2^31 + 2^7), sum wrapping mod 2^64, truncated with
/// `as i32` — is the true sum mod 2^64 reduced mod 2^32, i.e. also the true sum mod 2^32
/// (2^32 divides 2^64). Both are the same `i32`, bit for bit; so is any path that sums
/// the same products in another order or with any intermediate width ≥ 32 bits that
/// wraps (SMLAD included: it forms both 16×16 products and their sum with the
/// accumulator exactly, then keeps the low 32 bits).
#[inline]
pub(crate) fn dot_i8_offset(x: &[i8], x_offset: i32, w: &[i8], w_offset: i32) -> i32 {
    x.iter().zip(w).fold(0i32, |acc, (&x, &w)| {
        let x = i32::from(x).wrapping_add(x_offset);
        let w = i32::from(w).wrapping_add(w_offset);
        acc.wrapping_add(x.wrapping_mul(w))
    })
}

/// The 2 × 2 GEMM tile: `[x0·w0, x0·w1, x1·w0, x1·w1]` where `a·b = Σ (a[i] +
/// x_offset)·b[i]` over the common length (callers check that all four lengths agree),
/// wrapping in `i32`.
#[inline]
pub(crate) fn dot_2x2(x: [&[i8]; 2], x_offset: i32, w: [&[i8]; 2]) -> [i32; 4] {
    let mut acc = [0i32; 4];
    for ((&a, &b), (&c, &d)) in x[0].iter().zip(x[1]).zip(w[0].iter().zip(w[1])) {
        let (a, b) = (
            i32::from(a).wrapping_add(x_offset),
            i32::from(b).wrapping_add(x_offset),
        );
        let (c, d) = (i32::from(c), i32::from(d));
        acc[0] = acc[0].wrapping_add(a.wrapping_mul(c));
        acc[1] = acc[1].wrapping_add(a.wrapping_mul(d));
        acc[2] = acc[2].wrapping_add(b.wrapping_mul(c));
        acc[3] = acc[3].wrapping_add(b.wrapping_mul(d));
    }
    acc
}

/// `[x·w0, x·w1]` (`·` as in [`dot_2x2`]; callers check the lengths).
#[inline]
pub(crate) fn dot_1x2(x: &[i8], x_offset: i32, w: [&[i8]; 2]) -> [i32; 2] {
    let (mut a, mut b) = (0i32, 0i32);
    for ((&x, &c), &d) in x.iter().zip(w[0]).zip(w[1]) {
        let x = i32::from(x).wrapping_add(x_offset);
        a = a.wrapping_add(x.wrapping_mul(i32::from(c)));
        b = b.wrapping_add(x.wrapping_mul(i32::from(d)));
    }
    [a, b]
}

/// The GEMV tile: `[x·w0, x·w1, x·w2, x·w3]` (`·` as in [`dot_2x2`]; callers check the
/// lengths), as two [`dot_1x2`] passes (one input × two weight rows per loop: on a
/// 32-bit core without SIMD, 4.6 instructions per MAC for a fully connected layer
/// against 6.0 for one row per loop).
#[inline]
pub(crate) fn dot_1x4(x: &[i8], x_offset: i32, w: [&[i8]; 4]) -> [i32; 4] {
    let [a, b] = dot_1x2(x, x_offset, [w[0], w[1]]);
    let [c, d] = dot_1x2(x, x_offset, [w[2], w[3]]);
    [a, b, c, d]
}

/// Prepares two input rows for [`gemm_2xn_lanes`] (the scalar path on 32-bit targets):
/// per four elements `i..i+4` of `k`, four words of offset-added 16-bit lanes (low half
/// first) `[x0[i], x0[i+2]]`, `[x0[i+1], x0[i+3]]`, `[x1[i], x1[i+2]]`,
/// `[x1[i+1], x1[i+3]]` — the Arm DSP path's layout (`arm_dsp::expand_2`), so either path
/// reads the other's. `x_offset` must lie in [`OFFSET_MIN`, `OFFSET_MAX`] (every sum then
/// fits an `i16`; callers check); `buf` gets `4·⌊len/4⌋` words (callers size it).
#[allow(dead_code)] // 64-bit targets prepare nothing (see `arch::expand_2`)
#[inline(never)]
pub(crate) fn expand_2(x: [&[i8]; 2], x_offset: i32, buf: &mut [u32]) {
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&x_offset));
    let lane = |v: i8| i32::from(v).wrapping_add(x_offset) as u32 & 0xffff;
    let pair = |lo: i8, hi: i8| lane(lo) | (lane(hi) << 16);
    let [x0, x1] = x;
    for ((l, a), b) in buf
        .chunks_exact_mut(4)
        .zip(x0.chunks_exact(4))
        .zip(x1.chunks_exact(4))
    {
        l.copy_from_slice(&[
            pair(a[0], a[2]),
            pair(a[1], a[3]),
            pair(b[0], b[2]),
            pair(b[1], b[3]),
        ]);
    }
}

/// The low 16-bit lane of a prepared word, sign-extended.
#[inline(always)]
fn lo16(v: u32) -> i32 {
    i32::from(v as u16 as i16)
}

/// The high 16-bit lane of a prepared word, sign-extended.
#[inline(always)]
fn hi16(v: u32) -> i32 {
    i32::from((v >> 16) as u16 as i16)
}

/// `[x0·w, x1·w]` over the first `4·⌊min(lanes.len(), w.len())/4⌋` elements, from the
/// rows prepared by [`expand_2`]: per four elements the four lane words and four weight
/// bytes are loaded once for eight multiply-accumulates (each weight used twice),
/// wrapping in `i32`.
///
/// Written for 32-bit cores without SIMD, one four-element step per iteration: on the
/// Cortex-M4 17 instructions for 8 MACs, every operand in a register. The trip count
/// goes through [`core::hint::black_box`] (the identity) so that LLVM cannot compute it
/// and leaves the loop as written: runtime-unrolled two or four times (LLVM's Arm
/// M-profile default), its scheduler ran the two accumulator chains one after the other,
/// kept the shared weights live across both and spilled them (3.1 instructions per MAC).
#[inline(always)]
fn pass_2x1_lanes(lanes: &[u32], w: &[i8]) -> [i32; 2] {
    let [mut a0, mut a1] = [0i32; 2];
    let end = core::hint::black_box(4 * (lanes.len() / 4).min(w.len() / 4));
    let mut at = 0usize;
    while at != end {
        debug_assert!(at + 4 <= lanes.len() && at + 4 <= w.len());
        // SAFETY: `end` is a multiple of 4 (black_box returns its argument) and `at`
        // steps by 4 from 0, so here `at + 4 ≤ end ≤ lanes.len(), w.len()`: both
        // four-element reads lie in bounds, and the loop stops at `end`.
        let (l, c) = unsafe {
            (
                &*lanes.as_ptr().add(at).cast::<[u32; 4]>(),
                &*w.as_ptr().add(at).cast::<[i8; 4]>(),
            )
        };
        // Row 0's elements i, i+1, i+2, i+3 (words 0 and 1), row 1's (words 2 and 3).
        let x0 = [lo16(l[0]), lo16(l[1]), hi16(l[0]), hi16(l[1])];
        let x1 = [lo16(l[2]), lo16(l[3]), hi16(l[2]), hi16(l[3])];
        for t in 0..4 {
            let c = i32::from(c[t]);
            a0 = a0.wrapping_add(x0[t].wrapping_mul(c));
            a1 = a1.wrapping_add(x1[t].wrapping_mul(c));
        }
        at = at.wrapping_add(4);
    }
    [a0, a1]
}

/// [`gemm_2xn`] from two rows prepared by [`expand_2`] (`lanes`, `4·⌊k/4⌋` words) and
/// their last `k mod 4` elements (`tails`, raw, with `x_offset`): the same sums, bit for
/// bit. Callers check the lengths (`w` is `out[0].len()` rows of `k`, `out[1]` as long
/// as `out[0]`); rows that do not fit are skipped.
#[allow(dead_code)] // 64-bit targets prepare nothing (see `arch::expand_2`)
#[inline(never)]
pub(crate) fn gemm_2xn_lanes(
    lanes: &[u32],
    tails: [&[i8]; 2],
    x_offset: i32,
    k: usize,
    w: &[i8],
    out: [&mut [i32]; 2],
) {
    let [out0, out1] = out;
    debug_assert!(lanes.len() / 4 == k / 4);
    if k == 0 {
        out0.fill(0);
        out1.fill(0);
        return;
    }
    let head = (lanes.len() & !3).min(k);
    let rows = w.chunks_exact(k);
    for ((row, p), q) in rows.clone().zip(out0.iter_mut()).zip(out1.iter_mut()) {
        [*p, *q] = pass_2x1_lanes(lanes, row.get(..head).unwrap_or(&[]));
    }
    // The last `k mod 4` elements: a second pass, so that the first keeps its registers.
    if head < k {
        for ((row, p), q) in rows.zip(out0).zip(out1) {
            let t = row.get(head..).unwrap_or(&[]);
            let (mut e, mut f) = (*p, *q);
            for ((&u, &v), &c) in tails[0].iter().zip(tails[1]).zip(t) {
                let c = i32::from(c);
                e = e.wrapping_add(i32::from(u).wrapping_add(x_offset).wrapping_mul(c));
                f = f.wrapping_add(i32::from(v).wrapping_add(x_offset).wrapping_mul(c));
            }
            (*p, *q) = (e, f);
        }
    }
}

/// [`dot_1x4`] for 32-bit targets: one element per iteration, its offset added once
/// for the four rows (a load, an add, then four weight loads and four multiply-adds:
/// every operand in a register). The trip count goes through `black_box` (the
/// identity), as in [`pass_2x1_lanes`]: unrolled, LLVM spilled the row pointers (a
/// fully connected layer 784 → 128 on the Cortex-M4: 4.4 instructions per MAC with two
/// two-row passes, 3.6 with this).
/// Callers check the lengths; any offset (every operation wraps in `i32`).
#[allow(dead_code)] // used on 32-bit targets without Helium only
#[inline(never)]
pub(crate) fn dot_1x4_rows(x: &[i8], x_offset: i32, w: [&[i8]; 4]) -> [i32; 4] {
    let n = w.iter().fold(x.len(), |n, r| n.min(r.len()));
    let mut acc = [0i32; 4];
    // `at` steps by 2 up to `end = 2·n`, out of LLVM's sight. (Counting `black_box`'s
    // result down instead kept its stack slot updated in the loop.)
    let end = core::hint::black_box(2 * n);
    let mut at = 0usize;
    let (mut l, mut p) = (x.as_ptr(), w.map(<[i8]>::as_ptr));
    while at != end {
        // SAFETY: `at = 2·i` at element `i < n`: `l` and every `p[j]` point at element
        // `i` of slices at least `n` long, so each read is in bounds and each pointer
        // ends at most one past its slice.
        unsafe {
            let x = i32::from(*l).wrapping_add(x_offset);
            l = l.add(1);
            for (a, p) in acc.iter_mut().zip(&mut p) {
                *a = a.wrapping_add(x.wrapping_mul(i32::from(**p)));
                *p = p.add(1);
            }
        }
        at = at.wrapping_add(2);
    }
    acc
}

/// Prepares one input row for [`gemv_lanes`] (the scalar path on 32-bit targets):
/// `buf[i] = x[i] + x_offset` as an `i16` for `i < n`, `n` the common length, returned
/// as the initialised `buf[..n]` (`buf` need not be initialised: callers keep it on the
/// stack without clearing it). `x_offset` must lie in [`OFFSET_MIN`, `OFFSET_MAX`]
/// (every sum then fits an `i16`; callers check).
#[allow(dead_code)] // 64-bit targets prepare nothing (see `arch::expand_1`)
#[inline(never)]
pub(crate) fn expand_1<'a>(
    x: &[i8],
    x_offset: i32,
    buf: &'a mut [core::mem::MaybeUninit<i16>],
) -> &'a [i16] {
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&x_offset));
    let n = x.len().min(buf.len());
    let (mut s, mut d) = (x.as_ptr(), buf.as_mut_ptr().cast::<i16>());
    // SAFETY: `n ≤ x.len()`: one past the last element at most. The end goes through
    // `black_box` (the identity) so that LLVM keeps the loop simple: one load, one add,
    // one store per element (left to itself, it indexed every access).
    let end = core::hint::black_box(unsafe { s.add(n) });
    while s != end {
        // SAFETY: `s` steps by 1 from the start of `x` to `end`, so here `s` is at
        // element `i < n` of `x` and `d` at element `i` of `buf` (`n ≤ buf.len()`;
        // `MaybeUninit<i16>` has the layout of `i16`): both in bounds.
        unsafe {
            // Within i16 for offsets in range (see above).
            d.write(i32::from(*s).wrapping_add(x_offset) as i16);
            s = s.add(1);
            d = d.add(1);
        }
    }
    // SAFETY: the loop wrote `buf[0..n]` (`n ≤ buf.len()`), and `MaybeUninit<i16>` has
    // the layout of `i16`: the first `n` elements are initialised `i16`s, borrowed from
    // `buf` for its lifetime.
    unsafe { core::slice::from_raw_parts(buf.as_ptr().cast::<i16>(), n) }
}

/// `[x·w_0, …, x·w_{R−1}]` (`x·w = Σ_i lanes[i]·w[i]` over the common length of `lanes`
/// and every row), from a row prepared by [`expand_1`]; wrapping in `i32`.
///
/// Written for 32-bit cores without SIMD: one element per iteration, its prepared input
/// loaded once for the `R` rows (for `R = 4` on the Cortex-M4: 1 halfword load, 4 byte
/// loads with write-back and 4 multiply-accumulates for 4 MACs, every operand in a
/// register); the loop ends on a pointer comparison, so no counter is live. Never
/// inlined: inside its caller's loop LLVM ran out of registers and addressed every row
/// by a shared index (5.4 instructions per MAC against 2.9). The end goes through
/// [`core::hint::black_box`] (the identity) so that LLVM keeps the loop as written (see
/// [`pass_2x1_lanes`]). Two elements per iteration (two halfword loads or one word of
/// two lanes) did not pay: LLVM's loop strength reduction then addressed every row by a
/// shared index plus an add for the second byte (4.4 instructions per MAC).
#[inline(never)]
fn pass_1xr_lanes<const R: usize>(lanes: &[i16], w: [&[i8]; R]) -> [i32; R] {
    let n = w.iter().fold(lanes.len(), |n, r| n.min(r.len()));
    let mut acc = [0i32; R];
    let (mut l, mut p) = (lanes.as_ptr(), w.map(<[i8]>::as_ptr));
    // SAFETY: `n ≤ lanes.len()`: one past the last element at most.
    let end = core::hint::black_box(unsafe { l.add(n) });
    while l != end {
        // SAFETY: `l` steps by 1 from the start of `lanes` to `end` (the identity of
        // `black_box`), so here `l` is at element `i < n`; every `p[j]` is at element
        // `i` of a row at least `n` long: all reads in bounds, every pointer ends at
        // most one past its slice.
        unsafe {
            let x = i32::from(*l);
            l = l.add(1);
            for (a, p) in acc.iter_mut().zip(&mut p) {
                *a = a.wrapping_add(x.wrapping_mul(i32::from(**p)));
                *p = p.add(1);
            }
        }
    }
    acc
}

/// `out[j] = Σ_i lanes[i]·w[j·k + i]` for `j < out.len()`, `i < k` (`lanes`: the row
/// prepared by [`expand_1`], `k` long), four weight rows per pass, then two, then one — the same sums, bit for bit, as [`dot_1x4`] over the raw row with its
/// offset. Callers check that `w` holds `out.len()` rows of `k`; rows that do not fit
/// are skipped.
#[allow(dead_code)] // 64-bit targets prepare nothing (see `arch::expand_1`)
#[inline(never)]
pub(crate) fn gemv_lanes(lanes: &[i16], w: &[i8], out: &mut [i32]) {
    let k = lanes.len();
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
        o.copy_from_slice(&pass_1xr_lanes(lanes, [a, b, c, d]));
    }
    let mut rest = quads.into_remainder().iter_mut();
    while let (Some(o0), Some(w0)) = (rest.next(), rows.next()) {
        match (rest.next(), rows.next()) {
            (Some(o1), Some(w1)) => [*o0, *o1] = pass_1xr_lanes(lanes, [w0, w1]),
            _ => [*o0] = pass_1xr_lanes(lanes, [w0]),
        }
    }
}

/// `out[c] = Σ_{r,t} (x[r·xs.row_step + t·xs.col_step + c] + x_offset)·
/// w[r·ws.row_step + t·ws.col_step + c]` for `c < out.len()`, `r < rows`, `t < cols`
/// (the depthwise window: one tap per channel), wrapping in `i32`. Callers check that
/// every index lies in bounds (it is skipped otherwise) and that both tap sets have the
/// same rows and cols.
pub(crate) fn depthwise(out: &mut [i32], x: &[i8], xs: Taps, x_offset: i32, w: &[i8], ws: Taps) {
    out.fill(0);
    let n = out.len();
    for r in 0..xs.rows {
        for t in 0..xs.cols {
            let xa = r * xs.row_step + t * xs.col_step;
            let wa = r * ws.row_step + t * ws.col_step;
            let (Some(xv), Some(wv)) = (x.get(xa..xa + n), w.get(wa..wa + n)) else {
                continue;
            };
            for ((o, &a), &b) in out.iter_mut().zip(xv).zip(wv) {
                let a = i32::from(a).wrapping_add(x_offset);
                *o = o.wrapping_add(a.wrapping_mul(i32::from(b)));
            }
        }
    }
}

/// [`depthwise`] for 32-bit targets: per block of four channels (then per channel) the
/// sums stay in registers over every tap and `out` is written once (the loop of
/// [`depthwise`] reads and writes `out` per tap and channel, after a `memset`). The taps
/// are listed once per call in a table of pointers (as the Helium path's tap-offset
/// table), so that each block is one flat loop over the taps: nested row and column
/// loops, or rows of three taps unrolled, spilled the sums on the Cortex-M4. Per tap
/// and four channels there: 2 table loads, 2 word loads (inputs and weights), 6
/// instructions sign-extending the input bytes with the offset added (SXTAB, shifted
/// adds), 4 extending the weights, 4 MLA and 3 for the loop: 21 for 4 MACs. The
/// depthwise bench (3×3 over 64 channels) took 11.2 instructions per MAC on the
/// Cortex-M4 with [`depthwise`] (output stage included), 9.8 with this. Windows of more
/// than [`TAPS`] taps take [`depthwise`].
///
/// # Safety
///
/// Both tap sets have the same `rows` and `cols`, and every tap's run of `out.len()`
/// elements lies in `x` (with `xs`) and in `w` (with `ws`), as for `arch::depthwise`
/// ([`taps_fit`] checks it).
#[allow(dead_code)] // used on 32-bit targets only
#[inline(never)]
pub(crate) unsafe fn depthwise_fit(
    out: &mut [i32],
    x: &[i8],
    xs: Taps,
    x_offset: i32,
    w: &[i8],
    ws: Taps,
) {
    debug_assert!(xs.rows == ws.rows && xs.cols == ws.cols);
    debug_assert!(taps_fit(xs, out.len(), x.len()) && taps_fit(ws, out.len(), w.len()));
    /// Adds tap `(xp, wp)` of `N` channels to `acc`.
    ///
    /// # Safety
    ///
    /// `N` elements from `xp` and from `wp` are readable.
    #[inline(always)]
    unsafe fn tap<const N: usize>(acc: &mut [i32; N], xp: *const i8, wp: *const i8, off: i32) {
        // SAFETY: `N` elements from each pointer (the caller's contract).
        let (xv, wv) = unsafe {
            let xv: [i8; N] = if N == 4 {
                // One word load (`[u8; 4]` has alignment 1); byte `j` is channel `j`.
                let v = u32::from_le_bytes(xp.cast::<[u8; 4]>().read());
                core::array::from_fn(|j| (v >> (8 * j)) as i8)
            } else {
                core::array::from_fn(|j| *xp.add(j))
            };
            (xv, core::array::from_fn::<i8, N, _>(|j| *wp.add(j)))
        };
        for ((a, &xv), &wv) in acc.iter_mut().zip(&xv).zip(&wv) {
            let xv = i32::from(xv).wrapping_add(off);
            *a = a.wrapping_add(xv.wrapping_mul(i32::from(wv)));
        }
    }
    /// The sums of the `N` channels from `c` over the taps of `tab` (per tap, the
    /// pointers to its channel 0 in `x` and in `w`): one loop over every tap, its trip
    /// count hidden from LLVM (`black_box`, the identity) so that it stays as written
    /// (see `pass_2x1_lanes`; nested row and column loops, or unrolled ones, spilled the
    /// sums).
    ///
    /// # Safety
    ///
    /// For every tap, `N` elements from `tab[i][0] + c` and `tab[i][1] + c` are
    /// readable.
    #[inline(always)]
    unsafe fn block<const N: usize>(tab: &[[*const i8; 2]], c: usize, off: i32) -> [i32; N] {
        let mut acc = [0i32; N];
        let mut p = tab.as_ptr();
        // SAFETY: one past the last entry of `tab`.
        let end = core::hint::black_box(unsafe { p.add(tab.len()) });
        while p != end {
            // SAFETY: `p` steps by 1 from the start of `tab` to `end` (the identity of
            // `black_box`), so it points at an entry; its tap's reads are in bounds (the
            // caller's contract).
            unsafe {
                let [xt, wt] = *p;
                tap(&mut acc, xt.add(c), wt.add(c), off);
                p = p.add(1);
            }
        }
        acc
    }
    let n = xs.rows.saturating_mul(xs.cols);
    if n > TAPS {
        // Windows of more taps than the table holds: the reference loop (its bounds are
        // the caller's contract, checked again there).
        depthwise(out, x, xs, x_offset, w, ws);
        return;
    }
    let mut tab = [[core::ptr::null::<i8>(); 2]; TAPS];
    let mut slots = tab.iter_mut();
    for r in 0..xs.rows {
        for t in 0..xs.cols {
            if let Some(e) = slots.next() {
                *e = [
                    x.as_ptr().wrapping_add(r * xs.row_step + t * xs.col_step),
                    w.as_ptr().wrapping_add(r * ws.row_step + t * ws.col_step),
                ];
            }
        }
    }
    let tab = tab.get(..n).unwrap_or(&[]);
    // Every tap of `tab` is at `r·row_step + t·col_step` (of `x` with `xs`, of `w` with
    // `ws`) with `r < rows`, `t < cols`; that tap's run of `out.len()` elements lies in
    // the slice (the caller's contract), so `N` elements from channel `c` do for
    // `c + N ≤ out.len()`.
    let mut quads = out.chunks_exact_mut(4);
    let mut c = 0;
    for o in quads.by_ref() {
        // SAFETY: see above, `c + 4 ≤ out.len()`.
        o.copy_from_slice(&unsafe { block::<4>(tab, c, x_offset) });
        c += 4;
    }
    for o in quads.into_remainder() {
        // SAFETY: see above, `c + 1 ≤ out.len()`.
        [*o] = unsafe { block::<1>(tab, c, x_offset) };
        c += 1;
    }
}

/// The taps [`depthwise_fit`] keeps in its table (more take [`depthwise`]).
#[allow(dead_code)] // used on 32-bit targets only
const TAPS: usize = 32;

/// `out[c] = max_{r,t} x[r·row_step + t·col_step + c]` over at least one tap (callers
/// check the bounds and that `rows·cols > 0`).
#[cfg_attr(target_pointer_width = "32", allow(dead_code))] // there arch takes window_max_fit
pub(crate) fn window_max(out: &mut [i8], x: &[i8], taps: Taps) {
    // 32-bit targets: the maxima in registers over every tap, four channels at a time
    // (the loop below reads and writes `out` per tap and channel, after a `memset`: max
    // pooling 2×2 over 8 channels took 63 instructions per output on the Cortex-M4, 45
    // with this). 64-bit hosts keep the loop below, which LLVM vectorises.
    #[cfg(target_pointer_width = "32")]
    if taps.rows > 0 && taps.cols > 0 && taps_fit(taps, out.len(), x.len()) {
        // SAFETY: at least one tap, every tap's run in `x` (checked).
        unsafe { window_max_fit(out, x, taps) };
        return;
    }
    out.fill(i8::MIN);
    let n = out.len();
    for r in 0..taps.rows {
        for t in 0..taps.cols {
            let at = r * taps.row_step + t * taps.col_step;
            let Some(xv) = x.get(at..at + n) else {
                continue;
            };
            for (o, &v) in out.iter_mut().zip(xv) {
                *o = (*o).max(v);
            }
        }
    }
}

/// Whether every tap's run of `run` elements lies in a slice of `len` elements (the last
/// tap ends furthest), with no overflow.
#[allow(dead_code)] // used on 32-bit targets only
fn taps_fit(taps: Taps, run: usize, len: usize) -> bool {
    if taps.rows == 0 || taps.cols == 0 {
        return true;
    }
    (taps.rows - 1)
        .checked_mul(taps.row_step)
        .and_then(|v| v.checked_add((taps.cols - 1).checked_mul(taps.col_step)?))
        .and_then(|v| v.checked_add(run))
        .is_some_and(|end| end <= len)
}

/// [`window_max`] for 32-bit targets: per block of four channels (then per channel) the
/// first tap's values, then the maximum with each other tap, in registers; `out` is
/// written once.
///
/// # Safety
///
/// At least one tap, and every tap's run of `out.len()` elements lies in `x` (as for
/// `arch::window_max`; [`taps_fit`] checks it).
#[allow(dead_code)] // used on 32-bit targets only
pub(crate) unsafe fn window_max_fit(out: &mut [i8], x: &[i8], taps: Taps) {
    debug_assert!(taps.rows > 0 && taps.cols > 0 && taps_fit(taps, out.len(), x.len()));
    /// The `N` values of tap `at`.
    ///
    /// # Safety
    ///
    /// `at + N ≤ x.len()`.
    #[inline(always)]
    unsafe fn load<const N: usize>(x: &[i8], at: usize) -> [i32; N] {
        debug_assert!(at + N <= x.len());
        // SAFETY: in bounds by the caller's contract.
        let v = unsafe { &*x.as_ptr().add(at).cast::<[i8; N]>() };
        v.map(i32::from)
    }
    /// The maximum over every tap of the `N` channels from `c`.
    ///
    /// # Safety
    ///
    /// As for `window_max_fit`, with `c + N ≤ out.len()`.
    #[inline(always)]
    unsafe fn block<const N: usize>(x: &[i8], taps: Taps, c: usize) -> [i32; N] {
        // Every tap read below starts at `c + r·row_step + t·col_step` with `r < rows`,
        // `t < cols`: its `N` elements end at most where the last tap's run of
        // `out.len() ≥ c + N` ends, inside `x` (the caller's contract).
        // SAFETY: tap (0, 0), see above.
        let mut m = unsafe { load::<N>(x, c) };
        for r in 0..taps.rows {
            let mut at = c + r * taps.row_step;
            // Tap (0, 0) is already in; the count goes through `black_box` (the
            // identity) so that LLVM keeps the loop as written (see `pass_2x1_lanes`).
            let skip = usize::from(r == 0);
            if skip == 1 {
                at += taps.col_step;
            }
            let (end, mut t2) = (core::hint::black_box(2 * taps.cols), 2 * skip);
            while t2 != end {
                // SAFETY: tap (r, t) for `t = t2 / 2 < cols`, see above.
                let v = unsafe { load::<N>(x, at) };
                for (m, v) in m.iter_mut().zip(v) {
                    *m = (*m).max(v);
                }
                at += taps.col_step;
                t2 = t2.wrapping_add(2);
            }
        }
        m
    }
    let mut quads = out.chunks_exact_mut(4);
    let mut c = 0;
    for o in quads.by_ref() {
        // SAFETY: the caller's contract, `c + 4 ≤ out.len()`.
        let m = unsafe { block::<4>(x, taps, c) };
        for (o, m) in o.iter_mut().zip(m) {
            // A maximum of i8 values: within i8.
            *o = m as i8;
        }
        c += 4;
    }
    for o in quads.into_remainder() {
        // SAFETY: the caller's contract, `c + 1 ≤ out.len()`.
        let [m] = unsafe { block::<1>(x, taps, c) };
        *o = m as i8;
        c += 1;
    }
}

/// `out[c] = Σ_{r,t} x[r·row_step + t·col_step + c]` (callers check the bounds),
/// wrapping in `i32` (exact below 2^24 taps).
pub(crate) fn window_sum(out: &mut [i32], x: &[i8], taps: Taps) {
    out.fill(0);
    let n = out.len();
    for r in 0..taps.rows {
        for t in 0..taps.cols {
            let at = r * taps.row_step + t * taps.col_step;
            let Some(xv) = x.get(at..at + n) else {
                continue;
            };
            for (o, &v) in out.iter_mut().zip(xv) {
                *o = o.wrapping_add(i32::from(v));
            }
        }
    }
}

/// `out[r][j] = Σ_i (x_r[i] + x_offset)·w[j·k + i]` for `j < out[0].len()`: the two
/// input rows against consecutive weight rows of `k`, two at a time with [`dot_2x2`]
/// (callers check the lengths), wrapping in `i32`.
pub(crate) fn gemm_2xn(x: [&[i8]; 2], x_offset: i32, k: usize, w: &[i8], out: [&mut [i32]; 2]) {
    let [out0, out1] = out;
    if k == 0 {
        out0.fill(0);
        out1.fill(0);
        return;
    }
    let mut rows = w.chunks_exact(k);
    let (mut p, mut q) = (out0.iter_mut(), out1.iter_mut());
    while let (Some(w0), Some(p0), Some(q0)) = (rows.next(), p.next(), q.next()) {
        match (rows.next(), p.next(), q.next()) {
            (Some(w1), Some(p1), Some(q1)) => {
                let [a, b, c, d] = dot_2x2(x, x_offset, [w0, w1]);
                (*p0, *p1, *q0, *q1) = (a, b, c, d);
            }
            _ => {
                let [a, _, c, _] = dot_2x2(x, x_offset, [w0, w0]);
                (*p0, *q0) = (a, c);
            }
        }
    }
}

/// `out[j] = Σ_i w[j·k + i]` for `j < out.len()` (callers check that `w` holds the
/// rows), wrapping in `i32`; all zeros for `k = 0`.
pub(crate) fn row_sums(w: &[i8], k: usize, out: &mut [i32]) {
    out.fill(0);
    if k == 0 {
        return;
    }
    for (o, row) in out.iter_mut().zip(w.chunks_exact(k)) {
        *o = row.iter().fold(0i32, |s, &v| s.wrapping_add(i32::from(v)));
    }
}

/// `out[i] = clamp(sat(multiplier.apply(acc[i], rounding) + zero_point), min, max)` over
/// the common length (callers check the lengths and `min ≤ max`).
#[inline]
pub(crate) fn requantize_i8(
    acc: &[i32],
    multiplier: QuantizedMultiplier,
    rounding: Rounding,
    zero_point: i32,
    min: i8,
    max: i8,
    out: &mut [i8],
) {
    let (lo, hi) = (i32::from(min), i32::from(max.max(min)));
    for (y, &a) in out.iter_mut().zip(acc) {
        let r = multiplier.apply(a, rounding).saturating_add(zero_point);
        // lo ≤ r ≤ hi after the clamp, both within i8.
        *y = r.clamp(lo, hi) as i8;
    }
}

/// `out[i] = clamp(sat(M_i(acc[i] + bias[i]) + zero_point), min, max)` with `M_i` the
/// multiplier `(multipliers[i], shifts[i])` and double rounding, over the common length
/// (callers check the lengths, the shifts and `min ≤ max`).
#[allow(clippy::too_many_arguments)]
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
    let (lo, hi) = (i32::from(min), i32::from(max.max(min)));
    let params = bias.iter().zip(multipliers).zip(shifts);
    for ((y, &a), ((&b, &m), &s)) in out.iter_mut().zip(acc).zip(params) {
        let r = QuantizedMultiplier::new(m, s)
            .map(|q| q.apply_double(a.wrapping_add(b)))
            .unwrap_or(0)
            .saturating_add(zero_point);
        *y = r.clamp(lo, hi) as i8;
    }
}

/// [`requantize_i8_channels`] with each shift given split, `left[i] = max(s, 0)` and
/// `neg_right[i] = min(s, 0)` (their sum is the shift; callers check the lengths, the
/// shifts and `min ≤ max`).
#[allow(clippy::too_many_arguments)]
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
    let (lo, hi) = (i32::from(min), i32::from(max.max(min)));
    let shifts = left.iter().zip(neg_right).map(|(&l, &r)| l.wrapping_add(r));
    let params = bias.iter().zip(multipliers).zip(shifts);
    for ((y, &a), ((&b, &m), s)) in out.iter_mut().zip(acc).zip(params) {
        let r = QuantizedMultiplier::new(m, s)
            .map(|q| q.apply_double(a.wrapping_add(b)))
            .unwrap_or(0)
            .saturating_add(zero_point);
        *y = r.clamp(lo, hi) as i8;
    }
}

/// `Σ (x[i] + x_offset)·(w[i] + w_offset)` over the common length (callers check that
/// the lengths agree), every operation wrapping in `i64`: the true sum mod 2^64, so the
/// 16x8 kernels' int64 accumulator exactly (for int16 activations and int8 weights the
/// products are below 2^26 and no real sum wraps).
#[inline]
pub(crate) fn dot_i16_i8(x: &[i16], x_offset: i32, w: &[i8], w_offset: i32) -> i64 {
    x.iter().zip(w).fold(0i64, |acc, (&x, &w)| {
        let x = i64::from(x).wrapping_add(i64::from(x_offset));
        let w = i64::from(w).wrapping_add(i64::from(w_offset));
        acc.wrapping_add(x.wrapping_mul(w))
    })
}

// ---------------------------------------------------------------------------------------
// f32 vector maps: `axpy` and the bias + activation epilogue (`crate::map`).
// ---------------------------------------------------------------------------------------

/// `act(v)` as [`Act`](crate::map::Act) defines it: compares and selects only (and one
/// multiplication for the leaky ReLU), so that every vector path can give these bits.
#[inline(always)]
pub(crate) fn act_one(act: crate::map::Act, v: f32) -> f32 {
    use crate::map::Act;
    match act {
        Act::Identity => v,
        Act::Relu => relu(v),
        Act::Clamp { lo, hi } => clamp(v, lo, hi),
        Act::LeakyRelu { slope } => leaky(v, slope),
    }
}

/// `v > 0 ? v : +0` (NaN gives `+0`): x86's `maxps(v, 0)`, Arm's `FMAXNM(v, +0)`.
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v > 0.0 { v } else { 0.0 }
}

/// `lo > v ? lo : (hi < that ? hi : that)` (NaN stays NaN): `f32::clamp`, and x86's
/// `minps(hi, maxps(lo, v))`.
#[inline(always)]
fn clamp(v: f32, lo: f32, hi: f32) -> f32 {
    let t = if lo > v { lo } else { v };
    if hi < t { hi } else { t }
}

/// `v > 0 ? v : slope·v`.
#[inline(always)]
fn leaky(v: f32, slope: f32) -> f32 {
    if v > 0.0 { v } else { slope * v }
}

/// `y[i] ← y[i] + α·x[i]` over the common length (callers check that the lengths
/// agree), the product rounded before the sum.
#[inline]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `y[r][j] ← act(y[r][j] + bias[j])` over the whole rows of `y` (`n = bias.len()`),
/// or `y[i] ← act(y[i])` when `bias` is empty.
#[inline]
pub(crate) fn bias_act(y: &mut [f32], bias: &[f32], act: crate::map::Act) {
    use crate::map::Act;
    match act {
        Act::Identity => map_rows(y, bias, |v| v),
        Act::Relu => map_rows(y, bias, relu),
        Act::Clamp { lo, hi } => map_rows(y, bias, move |v| clamp(v, lo, hi)),
        Act::LeakyRelu { slope } => map_rows(y, bias, move |v| leaky(v, slope)),
    }
}

/// One monomorphised loop per activation (no match per value).
#[inline(always)]
fn map_rows(y: &mut [f32], bias: &[f32], f: impl Fn(f32) -> f32) {
    if bias.is_empty() {
        y.iter_mut().for_each(|v| *v = f(*v));
        return;
    }
    for row in y.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = f(*v + b);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::{vec, vec::Vec};

    /// xorshift32 bytes.
    fn bytes(seed: u32, n: usize) -> Vec<i8> {
        let mut s = seed.max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 24) as u8 as i8
            })
            .collect()
    }

    /// `Σ (x[i] + o)·w[i]` in i64, truncated: the true sum mod 2^32.
    fn naive(x: &[i8], o: i32, w: &[i8]) -> i32 {
        x.iter()
            .zip(w)
            .map(|(&x, &w)| (i64::from(x) + i64::from(o)) * i64::from(w))
            .fold(0i64, i64::wrapping_add) as i32
    }

    const LENS: [usize; 9] = [0, 1, 3, 4, 15, 16, 17, 64, 255];
    /// Offsets the prepared lanes take (16-bit lanes), then every other kind.
    const LANE_OFFSETS: [i32; 6] = [OFFSET_MIN, -128, 0, 1, 127, OFFSET_MAX];
    const OFFSETS: [i32; 6] = [i32::MIN, -40_000, -32_641, 32_641, 40_000, i32::MAX];

    #[test]
    fn prepared_gemm_matches_naive() {
        for k in LENS {
            for o in LANE_OFFSETS {
                for n in [0usize, 1, 2, 3, 5] {
                    let seed = ((k * 31 + n) as u32).wrapping_add(o as u32);
                    let (x0, x1) = (bytes(seed, k), bytes(seed ^ 0x5555, k));
                    let w = bytes(seed ^ 0xaaaa, n * k);
                    let mut buf = vec![0u32; 4 * (k / 4)];
                    expand_2([&x0, &x1], o, &mut buf);
                    let tails = [&x0[4 * (k / 4)..], &x1[4 * (k / 4)..]];
                    let (mut a, mut b) = (vec![7i32; n], vec![7i32; n]);
                    gemm_2xn_lanes(&buf, tails, o, k, &w, [&mut a, &mut b]);
                    let (mut c, mut d) = (vec![7i32; n], vec![7i32; n]);
                    gemm_2xn([&x0, &x1], o, k, &w, [&mut c, &mut d]);
                    for j in 0..n {
                        let row = &w[j * k..(j + 1) * k];
                        assert_eq!(a[j], naive(&x0, o, row), "k {k} o {o} n {n} j {j}");
                        assert_eq!(b[j], naive(&x1, o, row), "k {k} o {o} n {n} j {j}");
                        assert_eq!((c[j], d[j]), (a[j], b[j]));
                    }
                }
            }
        }
    }

    #[test]
    fn prepared_gemv_matches_naive() {
        for k in LENS {
            for o in LANE_OFFSETS {
                for n in [0usize, 1, 2, 3, 4, 5, 6, 7, 9] {
                    let seed = ((k * 37 + n) as u32).wrapping_add(o as u32);
                    let x = bytes(seed, k);
                    let w = bytes(seed ^ 0x3c3c, n * k);
                    let mut buf = vec![core::mem::MaybeUninit::<i16>::uninit(); k + 3];
                    let lanes = expand_1(&x, o, &mut buf);
                    assert_eq!(lanes.len(), k);
                    let mut got = vec![7i32; n];
                    gemv_lanes(lanes, &w, &mut got);
                    for (j, &g) in got.iter().enumerate() {
                        let row = &w[j * k..(j + 1) * k];
                        assert_eq!(g, naive(&x, o, row), "k {k} o {o} n {n} j {j}");
                    }
                }
            }
            // The unprepared route (every offset, the dispatched tiles).
            for o in LANE_OFFSETS.into_iter().chain(OFFSETS) {
                let n = 7;
                let seed = (k as u32).wrapping_mul(97) ^ o as u32;
                let (x, w) = (bytes(seed, k), bytes(seed ^ 0x0f0f, n * k));
                let mut got = vec![7i32; n];
                crate::arch::gemv(&x, o, &[], &w, &mut got);
                for (j, &g) in got.iter().enumerate() {
                    let row = &w[j * k..(j + 1) * k];
                    assert_eq!(g, naive(&x, o, row), "k {k} o {o} j {j}");
                }
            }
        }
    }

    #[test]
    fn tiles_match_naive_for_every_offset() {
        for k in LENS {
            for o in LANE_OFFSETS.into_iter().chain(OFFSETS) {
                let seed = k as u32 ^ o as u32;
                let x = [bytes(seed, k), bytes(seed + 1, k)];
                let w: Vec<Vec<i8>> = (0..4).map(|j| bytes(seed + 2 + j, k)).collect();
                let want: Vec<i32> = w.iter().map(|w| naive(&x[0], o, w)).collect();
                let got = dot_1x4(&x[0], o, [&w[0], &w[1], &w[2], &w[3]]);
                assert_eq!(got.as_slice(), want.as_slice(), "k {k} o {o}");
                let rows = dot_1x4_rows(&x[0], o, [&w[0], &w[1], &w[2], &w[3]]);
                assert_eq!(rows.as_slice(), want.as_slice(), "k {k} o {o}");
                assert_eq!(dot_1x2(&x[0], o, [&w[0], &w[1]]), [want[0], want[1]]);
                let t = dot_2x2([&x[0], &x[1]], o, [&w[0], &w[1]]);
                let want1 = [naive(&x[1], o, &w[0]), naive(&x[1], o, &w[1])];
                assert_eq!(t, [want[0], want[1], want1[0], want1[1]], "k {k} o {o}");
                assert_eq!(dot_i8_offset(&x[0], o, &w[0], 0), want[0]);
            }
        }
    }

    #[test]
    fn window_max_matches_naive() {
        for n in [1usize, 3, 4, 5, 8, 17] {
            for (rows, cols) in [(1, 1), (1, 3), (2, 2), (3, 3), (2, 5)] {
                let (col_step, row_step) = (n + 1, (n + 1) * cols + 2);
                let taps = Taps::new(rows, cols, row_step, col_step);
                let x = bytes((n * 7 + rows * 3 + cols) as u32, row_step * rows + 3);
                let mut want = vec![i8::MIN; n];
                for r in 0..rows {
                    for t in 0..cols {
                        for (c, m) in want.iter_mut().enumerate() {
                            *m = (*m).max(x[r * row_step + t * col_step + c]);
                        }
                    }
                }
                let mut got = vec![0i8; n];
                window_max(&mut got, &x, taps);
                assert_eq!(got, want, "n {n} rows {rows} cols {cols}");
                assert!(taps_fit(taps, n, x.len()));
                let mut fit = vec![0i8; n];
                // SAFETY: at least one tap, every tap's run in `x` (asserted above).
                unsafe { window_max_fit(&mut fit, &x, taps) };
                assert_eq!(fit, want);
            }
        }
        assert!(!taps_fit(Taps::new(2, 1, usize::MAX, 0), 1, 10));
        assert!(!taps_fit(Taps::new(1, 2, 0, 9), 2, 10));
        assert!(taps_fit(Taps::new(1, 2, 0, 8), 2, 10));
    }

    #[test]
    fn depthwise_fit_matches_reference() {
        // Channel counts with and without a remainder of four; windows from none to more
        // taps than the table holds (6×6 > TAPS), input and weight steps unequal (as
        // with dilation) or equal; offsets in and outside the int8 range.
        for n in [1usize, 3, 4, 5, 8, 17, 64] {
            for (rows, cols) in [(0, 3), (1, 1), (1, 3), (3, 3), (2, 5), (6, 6)] {
                for dilation in [1usize, 2] {
                    for o in [-128, 0, 5, 128, i32::MAX] {
                        let xs = Taps::new(rows, cols, (n + 1) * cols * 2 + 3, n * dilation);
                        let ws = Taps::new(rows, cols, n * cols, n);
                        let seed = (n * 131 + rows * 17 + cols * 5 + dilation) as u32;
                        let x = bytes(seed, xs.row_step * rows + xs.col_step * cols + n);
                        let w = bytes(seed ^ 0x7777, ws.row_step * rows + n);
                        assert!(taps_fit(xs, n, x.len()) && taps_fit(ws, n, w.len()));
                        let mut want = vec![7i32; n];
                        depthwise(&mut want, &x, xs, o, &w, ws);
                        let mut got = vec![7i32; n];
                        // SAFETY: equal rows and cols, every tap's run in bounds (asserted
                        // above).
                        unsafe { depthwise_fit(&mut got, &x, xs, o, &w, ws) };
                        assert_eq!(got, want, "n {n} rows {rows} cols {cols} o {o}");
                    }
                }
            }
        }
    }
}
