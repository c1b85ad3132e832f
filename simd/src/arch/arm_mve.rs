//! The Arm Helium path (M-profile Vector Extension, MVE: Cortex-M55/M85): 128-bit vectors
//! in the eight `q` registers, with tail-predicated low-overhead loops.
//!
//! Compiled where `cfg(mote_arm_mve)` is set (the integer kernels) and, for the f32
//! kernels, `cfg(mote_arm_mve_fp)` (the floating-point half of Helium, `+mve.fp` or a
//! `target-cpu` that has it); the build script chooses both from the flags, see
//! `simd/build.rs`. Stable Rust has no MVE intrinsics and no register class for the `q`
//! registers without NEON, so each kernel is one `asm!` block that runs the whole loop:
//! the `q` registers it uses are declared clobbered through their `s` aliases
//! (`qN` = `s(4N)`…`s(4N+3)`); f32 results leave through memory (`VSTRW.32`), since
//! stable Rust gives no register class for the `s` registers on this target either. The
//! flags that set the cfgs (`+mve`, `+mve.fp`) also let LLVM's assembler accept the
//! instructions, so the blocks need no `.arch_extension` directive.
//!
//! Every loop is `DLSTP`/`LETP` with `lr` as the counter: the last
//! iteration of a tail-predicated loop runs with only the remaining lanes active, so any
//! length works without a scalar tail; inactive lanes are neither loaded nor accumulated.
//! Empty inputs never enter a loop (`DLSTP` is a do-while: it would run the body once,
//! fully predicated; the Rust side returns before it).
//!
//! Instructions per MAC on QEMU `mps3-an547` (which counts instructions, not cycles): in
//! the loop, and for a whole call as `simd-check` measures it (dispatch with a limit
//! set, call, set-up and epilogue included):
//!
//! | kernel | loop body (per 16 bytes or 4 floats) | loop | call | exactness |
//! |---|---|---|---|---|
//! | [`dot_i8`] | 2 × `VLDRB.8`, `VMLADAVA.S8`, `LETP` | 0.25 | 0.32 (784) | exact (mod 2^32) |
//! | [`dot_i8_offset`] | 2 × `VLDRB.8`, `VMLADAVA.S8`, 2 × `VADDVA.S8`, `LETP` | 0.375 | 0.46 (784), 0.55 (400), 1.79 (48) | exact (mod 2^32), any offsets |
//! | [`dot`] | 2 × `VLDRW.32`, `VFMA.F32`, `LETP` | 1.0 | 1.09 (784), 2.08 (64) | fused, 4 partial sums (tolerance below) |
//! | [`tile`] | `VLDRW.32`, 4 × (`LDR`, `VFMA.F32` by scalar), `ADD`, `LETP` | 0.69 (4 × 4) | 1.22 (SGEMM 32×32×32, packing included) | fused (tolerance below) |
//! | [`requantize_i8_double`] | `VLDRW.32`, `VQSHL`, `VQRDMULH`, `VAND`, `VSHR`, 2 × `VQADD`, `VRSHL`, `VMAX`, `VMIN`, `VSTRB.32`, `LETP` | 3 per element | 3.11 per element (784) | exact (TFLite's double rounding) |
//! | [`requantize_i8_channels`] | the same with per-lane bias, multiplier and shift (3 more `VLDRW.32`, `VADD`, `VMAX`/`VMIN` for the shifts) | 4.75 per element | — | exact |
//! | [`requantize_i8_channels1`] / [`requantize_i8_channels2`] (shifts split beforehand; two rows share the per-channel loads) | 4 × `VLDRW.32` of the constants, then per row `VLDRW.32`, `VADD`, `VQSHL`, `VQRDMULH`, `VAND`, `VSHR`, 2 × `VQADD`, `VRSHL`, `VMAX`, `VMIN`, `VSTRB.32` | 4 / 3.5 per element | — | exact |
//! | [`dot_1x2`], [`dot_1x4`] (1 × 2 rows per pass) | 3 × `VLDRB.8`, 2 × `VMLADAVA.S8`, 2 × `VADDVA.S8`, `LETP` | 0.25 | FC 784 → 128: 0.36, 400 → 10: 0.54 (whole layer) | exact (mod 2^32), any offset |
//! | [`gemm_2xn`] (2 × 2 per pass, raw rows, every pair in one block) | 4 × `VLDRB.8`, 4 × `VMLADAVA.S8`, 2 × `VADDVA.S8`, `LETP` | 0.17 | — (layers take [`gemm_2xn_raw`]) | exact (mod 2^32), any offset |
//! | [`gemm_2xn_raw`] (the same without offset; [`row_sums`] for the bias) | 4 × `VLDRB.8`, 4 × `VMLADAVA.S8`, `LETP` | 0.14 | conv 1×1 25×5×64 → 64: 0.36, 3×3 13×13×8 → 16: 0.61 (whole layer) | exact (mod 2^32) |
//! | [`depthwise`], [`depthwise_run`] (16 channels per block, per tap; offsets within ±32640) | `LDRD`, 2 × `ADD`, 2 × (2 × `VLDRB.S16`, `VADD.I16`, `VMULLB.S16`, `VMULLT.S16`, 2 × `VADD.I32`), `LETP` | 1.13 | depthwise 3×3 25×5×64: 2.29 (whole layer) | exact (mod 2^32), any offset (32-bit lanes beyond ±32640) |
//! | [`window_max`], [`window_max_run`] / [`window_sum`] (16 channels, per tap) | `LDR`, `ADD`, `VLDRB.U8`, `VMAX.S8`, `SUBS`, `BNE` / `LDR`, `ADD`, 4 × (`VLDRB.S32`, `VADD`), `SUBS`, `BNE` | 0.38 / 0.75 per element | max pool 2×2 26×26×8: 12.9 per output (runs, from 4 channels) | exact |
//! | [`gather`] (rows of a convolution window into a column) | `VLDRB.8`, `VSTRB.8`, `LETP` | 3 per 16 bytes | — | exact |
//! | [`axpy`] | 2 × `VLDRW.32`, `VFMA.F32` by scalar, `VSTRW.32`, `LETP` | 1.25 per element | 1.30 per element (784) | fused (see `map::axpy`) |
//! | [`bias_act`] (ReLU6, per row) | 2 × `VLDRW.32`, `VADD.F32`, 2 × (`VCMP.F32`, `VPSEL`), `VSTRW.32`, `LETP` | 2.25 per element | 2.62 per element (8 rows of 98) | exact (subnormals may flush) |
//!
//! For comparison on the same core, the DSP path takes 2.63 per MAC for 784 elements
//! with offsets and the scalar path 4.30 (1.59 when LLVM may auto-vectorise the scalar
//! loop into MVE itself; firmware-examples turns that off), the scalar f32 dot product
//! 3.29, the scalar SGEMM 2.42 and the scalar requantisation 26.1 per element.
//!
//! The int8 layer tiles (`int8::dot_1x4`, `gemm_2xn`, `depthwise`, `window_*`) read the
//! raw bytes and take every input offset: the offset term of the GEMM tiles is
//! `x_offset·Σw` (`VADDVA.S8` of the weights, exact in ℤ/2^32 as in [`dot_i8_offset`]),
//! or, in the convolution and batched dense layers, folded into the bias once per layer
//! (`int8::row_sums`, then `int8::gemm_2xn_raw` against the raw rows); the depthwise
//! window adds it in 16-bit lanes (`VADD.I16`, exact for every int8 zero point) or, for
//! larger offsets, 32-bit ones, the pooling sums need none. `gemm_2xn` needs no prepared
//! rows on this path (`int8::Rows2` leaves its scratch unused). Whole layers on QEMU
//! `mps3-an547` (`kernel-bench`, instructions per MAC, DSP path on the same core in
//! brackets, CMSIS-NN's MVE path after the slash): conv 1×1 0.36 (1.91) / 0.40,
//! depthwise 3×3 2.29 (7.43) / 2.32, conv 3×3 0.61 (2.33) / 0.63, FC 784 → 128 0.36
//! (1.81) / 0.49, FC 400 → 10 0.54 (2.01) / 0.63, max pooling 2×2 over 8 channels 12.9
//! (27.3) / 21 per output — the convolutions with the two-row per-channel output stage
//! ([`requantize_i8_channels2`]). Average pooling over 8 channels stays on the DSP path
//! (Helium's `window_sum` from 16 channels). What took the convolutions from 0.60, 1.04
//! and 4.14 to these figures: the whole pair loop in one `asm!` block (a Rust loop around
//! a block per pair of weight rows cost about 40 instructions per pair), the offset
//! folded into the bias, the shifts validated once per layer instead of on every output
//! stage call (`requant::ChannelMultipliers`), the window rows gathered by [`gather`]
//! instead of a `memcpy` per row, and for depthwise 16-bit lanes with widening
//! multiplies, one tap table per run of pixels ([`depthwise_run`]), every 16-channel
//! block in one `asm!` block, no zeroed tables. Shorter int8 runs than [`MIN_LEN`] and
//! f32 ones than `MIN_LEN_F32` stay on the scalar path.
//!
//! QEMU 7.2 runs every instruction used here as the architecture specifies (`simd-check`
//! compares each kernel with the scalar reference on thousands of random cases); the one
//! mis-emulation met so far is a gather load in LLVM's own auto-vectorised code (see
//! `firmware-examples/.cargo/config.toml`), and no kernel here uses gathers.
//!
//! Integer results equal the scalar reference's bit for bit. The f32 kernels use fused
//! multiply-adds (each product is added unrounded), so they differ from the scalar path
//! (rounded products) in the last bits: both compute a sum of `n` products whose error
//! is at most `γ_n·Σ|aᵢ·bᵢ|` (`γ_n = n·u/(1 − n·u)`, `u = 2^-24`), so the two paths agree
//! within `2·γ_n·Σ|aᵢ·bᵢ|`, the tolerance `simd-check` asserts (plus `1e-30` absolute:
//! MVE may flush subnormal results to zero).

#[cfg(mote_arm_mve_fp)]
use super::scalar::Update;
use core::arch::asm;
use core::mem::MaybeUninit;

/// The shortest int8 run the dispatch hands to this path: below it, the call and the
/// loop set-up cost more than the scalar loop inlined in the caller (measured on the
/// MNIST CNN of the firmware examples, whose first convolution runs rows of 3 taps).
pub(crate) const MIN_LEN: usize = 8;

/// The shortest f32 dot product the dispatch hands to this path (see [`dot`]): the
/// dense layers of generated modules call the dot product with constant lengths, which
/// the scalar path inlines and unrolls. Measured on the M55 (`sine`, rows of 1 and 16:
/// 1,093 instructions per inference with 32, 1,343 with 16, 2,218 with every length;
/// `anomaly`, rows of 8 to 32: 4,593 with 32, 5,250 with 16).
#[cfg(mote_arm_mve_fp)]
pub(crate) const MIN_LEN_F32: usize = 32;

/// `Σ a[i]·b[i]` over the common length in a wrapping `i32` accumulator (see
/// [`scalar::dot_i8`](super::scalar::dot_i8)).
///
/// `VMLADAVA.S8 r0, q0, q1` adds the 16 exact products of the active lanes to `r0` and
/// keeps the low 32 bits: the true sum mod 2^32, as the scalar reference.
#[inline(never)]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0;
    }
    let mut acc = 0i32;
    // SAFETY: the loop reads `n` bytes from each of `a` and `b` (16 per iteration, the
    // last iteration predicated to the `n mod 16` remaining lanes, whose inactive lanes
    // access no memory), all within the slices (`n ≤` both lengths). MVE is present
    // (this module is compiled only for targets that have it). Registers written: the
    // two pointers (discarded copies), `r0` (the result), `lr` and `q0`/`q1`
    // (`s0`–`s7`), all declared; no stack, no memory written.
    unsafe {
        asm!(
            "dlstp.8 lr, {n}",
            "2:",
            "vldrb.8 q0, [{a}], #16",
            "vldrb.8 q1, [{b}], #16",
            "vmladava.s8 r0, q0, q1",
            "letp lr, 2b",
            n = in(reg) n,
            a = inout(reg) a.as_ptr() => _,
            b = inout(reg) b.as_ptr() => _,
            inout("r0") acc,
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            options(nostack, readonly),
        );
    }
    acc
}

/// `Σ (x[i] + x_offset)·(w[i] + w_offset)` over the common length, wrapping in `i32`
/// (see [`scalar::dot_i8_offset`](super::scalar::dot_i8_offset)), for any offsets.
///
/// Expanded in the ring ℤ/2^32, where wrapping `i32` arithmetic is exact:
/// `Σ(x + xo)(w + wo) = Σx·w + wo·Σx + xo·Σw + n·xo·wo`. One pass forms the three sums
/// on the raw bytes (`VMLADAVA.S8` for `Σx·w`, `VADDVA.S8` for `Σx` and `Σw`, each
/// wrapping mod 2^32), then the offsets are applied once with wrapping `i32` operations,
/// so the result equals the scalar reference's bit for bit for every pair of offsets —
/// no lane can overflow, unlike a form that adds the offsets in 16-bit lanes.
#[inline(never)]
pub(crate) fn dot_i8_offset(x: &[i8], x_offset: i32, w: &[i8], w_offset: i32) -> i32 {
    let n = x.len().min(w.len());
    if n == 0 {
        return 0;
    }
    let (mut sxw, mut sx, mut sw) = (0i32, 0i32, 0i32);
    // SAFETY: as for `dot_i8`: `n` bytes read from each slice, nothing written but the
    // declared registers (`r0`, `r2`, `r4`: the sums; `lr`; `q0`/`q1` as `s0`–`s7`).
    // VMLADAVA and VADDVA need an even-numbered accumulator register: r0, r2, r4.
    unsafe {
        asm!(
            "dlstp.8 lr, {n}",
            "2:",
            "vldrb.8 q0, [{x}], #16",
            "vldrb.8 q1, [{w}], #16",
            "vmladava.s8 r0, q0, q1",
            "vaddva.s8 r2, q0",
            "vaddva.s8 r4, q1",
            "letp lr, 2b",
            n = in(reg) n,
            x = inout(reg) x.as_ptr() => _,
            w = inout(reg) w.as_ptr() => _,
            inout("r0") sxw,
            inout("r2") sx,
            inout("r4") sw,
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            options(nostack, readonly),
        );
    }
    // n mod 2^32 is all the ring needs.
    let n = n as u32 as i32;
    sxw.wrapping_add(w_offset.wrapping_mul(sx))
        .wrapping_add(x_offset.wrapping_mul(sw))
        .wrapping_add(n.wrapping_mul(x_offset).wrapping_mul(w_offset))
}

/// `out[i] = clamp(sat(multiplier.apply(acc[i], Rounding::Double) + zero_point), min,
/// max)` over the common length (see
/// [`scalar::requantize_i8`](super::scalar::requantize_i8)); callers check `min ≤ max`.
///
/// Four lanes per step, each operation TFLite's (gemmlowp's) scalar one exactly:
///
/// ```text
/// VLDRW.32  q0 ← acc[4]
/// VQSHL.S32 q0, left        ; saturating x·2^left          (saturating_shift_left)
/// VQRDMULH  q0, q0, m       ; (2·x·m + 2^31) >> 32, sat.   (saturating_rounding_doubling_high_mul)
/// VAND      q1, q0, −right  ; sign bit of x, only when right > 0
/// VSHR.S32  q1, q1, #31     ; −1 for x < 0, else 0
/// VQADD     q0, q0, q1      ; x − 1 for negative x
/// VRSHL.S32 q0, −right      ; (x + 2^(right−1)) >> right   (rounding_divide_by_pot)
/// VQADD.S32 q0, q0, zp      ; saturating_add(zero_point)
/// VMAX/VMIN q0, min, max    ; clamp
/// VSTRB.32  out[4] ← q0     ; the low byte of each lane
/// ```
///
/// `VQRDMULH` equals SRDHM bit for bit: both are `⌊(x·m + 2^30) / 2^31⌋` (TFLite's
/// truncation of `x·m + 1 − 2^30` toward zero for negative products is the same floor),
/// with the one overflow, `MIN·MIN`, saturated to `MAX` by both. `VRSHL` rounds ties up;
/// subtracting 1 from negative `x` first turns that into ties away from zero, as
/// `rounding_divide_by_pot` rounds (a non-tie cannot cross a rounding boundary by 2^−right,
/// and `MIN − 1` saturates to `MIN`, which is exact after the shift anyway).
#[inline(never)]
pub(crate) fn requantize_i8_double(
    acc: &[i32],
    multiplier: mote_core::quant::QuantizedMultiplier,
    zero_point: i32,
    min: i8,
    max: i8,
    out: &mut [i8],
) {
    let n = acc.len().min(out.len());
    if n == 0 {
        return;
    }
    let shift = multiplier.shift(); // in [−31, 30]
    let left = shift.max(0);
    let neg_right = shift.min(0); // −right
    let bounds = [i32::from(min), i32::from(max.max(min))];
    // SAFETY: the loop reads `n` i32 from `acc` (16 bytes per iteration, 4-aligned as
    // `vldrw.32` needs; the last iteration predicated to the remaining lanes) and writes
    // `n` bytes to `out` (`vstrb.32`, 4 per iteration, predicated likewise), both within
    // the slices (`n ≤` both lengths); `bounds` is read (8 bytes). MVE is present.
    // Registers written: the pointer copies, `lr`, `q0`, `q1` (`s0`–`s7`) and `q5`–`q7`
    // (`s20`–`s31`); no stack.
    unsafe {
        asm!(
            "ldrd {t}, {u}, [{bounds}]",
            "vdup.32 q6, {t}",
            "vdup.32 q7, {u}",
            "vdup.32 q5, {nr}",
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [{acc}], #16",
            "vqshl.s32 q0, {left}",
            "vqrdmulh.s32 q0, q0, {m}",
            "vand q1, q0, q5",
            "vshr.s32 q1, q1, #31",
            "vqadd.s32 q0, q0, q1",
            "vrshl.s32 q0, {nr}",
            "vqadd.s32 q0, q0, {zp}",
            "vmax.s32 q0, q0, q6",
            "vmin.s32 q0, q0, q7",
            // The narrowing store takes a low register (r0–r7) as its base.
            "vstrb.32 q0, [r1], #4",
            "letp lr, 2b",
            bounds = in(reg) bounds.as_ptr(),
            t = out(reg) _,
            u = out(reg) _,
            n = in(reg) n,
            acc = inout(reg) acc.as_ptr() => _,
            inout("r1") out.as_mut_ptr() => _,
            left = in(reg) left,
            m = in(reg) multiplier.multiplier(),
            nr = in(reg) neg_right,
            zp = in(reg) zero_point,
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            out("s24") _, out("s25") _, out("s26") _, out("s27") _,
            out("s28") _, out("s29") _, out("s30") _, out("s31") _,
            options(nostack),
        );
    }
}

/// `Σ a[i]·b[i]` over the common length with fused multiply-adds on four lanes.
///
/// Lane `j` sums the products `i ≡ j (mod 4)` in order of `i` (`VFMA.F32`, each product
/// added unrounded); the lanes are combined as `(l0 + l2) + (l1 + l3)`. Agrees with the
/// scalar path within the tolerance in the module docs.
#[cfg(mote_arm_mve_fp)]
#[inline(never)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let mut l = [0.0f32; 4];
    // SAFETY: the loop reads `n` floats from each of `a` and `b` (4 per iteration, the
    // last predicated to the remaining lanes), within both slices (`n ≤` both lengths);
    // `vldrw.u32` needs 4-byte alignment, which `f32` slices have. MVE with floating
    // point is present (`mote_arm_mve_fp`). Registers written: the pointers (discarded
    // copies), `lr`, `q0`–`q2` (`s0`–`s11`); memory written: the four lane sums, into
    // `l` (16 bytes, 4-aligned as `vstrw.32` needs); no stack.
    unsafe {
        asm!(
            "vmov.i32 q2, #0",
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [{a}], #16",
            "vldrw.u32 q1, [{b}], #16",
            "vfma.f32 q2, q0, q1",
            "letp lr, 2b",
            "vstrw.32 q2, [{l}]",
            n = in(reg) n,
            a = inout(reg) a.as_ptr() => _,
            b = inout(reg) b.as_ptr() => _,
            l = in(reg) l.as_mut_ptr(),
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            options(nostack),
        );
    }
    (l[0] + l[2]) + (l[1] + l[3])
}

/// Columns of the panel the MVE tile takes: one `q` register of four floats per row.
#[cfg(mote_arm_mve_fp)]
pub(crate) const TILE_W: usize = 4;
/// Most rows of the MVE tile: four accumulators `q4`–`q7`, beside `q0` for the panel row.
#[cfg(mote_arm_mve_fp)]
pub(crate) const TILE_R: usize = 4;

/// The Helium version of [`scalar::tile`](super::scalar::tile) for `W = 4` and
/// `R ≤ 4`, same contract.
///
/// Each step `p` loads panel row `p` (four floats) into `q0` and, for each row `i`,
/// `A[i][p]` into a core register, then `qᵢ ← qᵢ + q0·A[i][p]` (`VFMA.F32` by a
/// scalar, fused): each accumulator sums its `k` products in order of `p`, like the
/// scalar tile but unrounded. Rows `R..4` recompute row `R − 1` (the loop is one fixed
/// block; their results are dropped), so nothing outside the caller's rows is read. The
/// sums leave the block through a 4 × 4 array on the stack (`VSTRW.32`: no register
/// class reaches the `s` registers from stable Rust on this target); scaling by `α` and the
/// update of `C` are the scalar tile's, in Rust.
///
/// # Safety
///
/// As for the scalar tile with `W = 4`, and `1 ≤ R ≤ 4`.
#[cfg(mote_arm_mve_fp)]
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
    debug_assert!((1..=TILE_R).contains(&R) && nr <= TILE_W && panel.len().is_multiple_of(TILE_W));
    let kc = panel.len() / TILE_W;
    let mut acc = [[0.0f32; TILE_W]; TILE_R];
    if kc > 0 {
        let row = |i: usize| a.as_ptr().wrapping_add(i.min(R - 1) * rsa);
        // SAFETY: the loop runs `kc ≥ 1` times (`DLSTP.32` over the panel's `4·kc`
        // floats: every iteration has its four lanes active; `DLS`/`LE` would need the
        // separate `lob` feature to assemble). Step `p`
        // reads panel floats `4p..4p + 4` (inside `panel`, `kc·4` long, 4-byte aligned as
        // every `f32`) and, for row pointers `a + min(i, R − 1)·rsa`, the float at byte
        // offset `4·p·csa`: element `min(i, R − 1)·rsa + p·csa` of `a`, in bounds by the
        // caller's contract (`i < R`, `p < kc`). MVE with floating point is present.
        // Registers written: the declared ones only (`lr`, the offset and panel
        // copies, the temporary, `q0` as `s0`–`s3`, `q4`–`q7` as `s16`–`s31`); memory
        // written: the 4 × 4 sums into `acc` (64 bytes, 4-aligned); no stack.
        unsafe {
            asm!(
                "vmov.i32 q4, #0",
                "vmov.i32 q5, #0",
                "vmov.i32 q6, #0",
                "vmov.i32 q7, #0",
                "dlstp.32 lr, {lanes}",
                "2:",
                "vldrw.u32 q0, [{panel}], #16",
                "ldr {t}, [{a0}, {off}]",
                "vfma.f32 q4, q0, {t}",
                "ldr {t}, [{a1}, {off}]",
                "vfma.f32 q5, q0, {t}",
                "ldr {t}, [{a2}, {off}]",
                "vfma.f32 q6, q0, {t}",
                "ldr {t}, [{a3}, {off}]",
                "vfma.f32 q7, q0, {t}",
                "add {off}, {off}, {step}",
                "letp lr, 2b",
                "vstrw.32 q4, [{acc}]",
                "vstrw.32 q5, [{acc}, #16]",
                "vstrw.32 q6, [{acc}, #32]",
                "vstrw.32 q7, [{acc}, #48]",
                acc = in(reg) acc.as_mut_ptr(),
                lanes = in(reg) panel.len(),
                panel = inout(reg) panel.as_ptr() => _,
                a0 = in(reg) row(0),
                a1 = in(reg) row(1),
                a2 = in(reg) row(2),
                a3 = in(reg) row(3),
                off = inout(reg) 0usize => _,
                step = in(reg) csa.wrapping_mul(4),
                t = out(reg) _,
                out("lr") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                out("s20") _, out("s21") _, out("s22") _, out("s23") _,
                out("s24") _, out("s25") _, out("s26") _, out("s27") _,
                out("s28") _, out("s29") _, out("s30") _, out("s31") _,
                options(nostack),
            );
        }
    }
    for (i, acc_i) in acc.iter().enumerate().take(R) {
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

/// `Σ x[i]·(w[i] + w_offset)` over the common length in 64 bits (see
/// [`scalar::dot_i16_i8`](super::scalar::dot_i16_i8) with `x_offset = 0`), `w_offset` in
/// the DSP path's 16-bit-lane range (callers check).
///
/// Eight elements per step: `VLDRH.16` the inputs, `VLDRB.S16` the weights (each byte
/// sign-extended into a 16-bit lane), `VADD.I16` the offset (exact: `w + w_offset` fits
/// the lane), `VMLALDAVA.S16` adds the eight exact products to the 64-bit accumulator
/// `r1:r0`. Exact: the true sum mod 2^64, as the scalar reference.
#[inline(never)]
pub(crate) fn dot_i16_i8(x: &[i16], w: &[i8], w_offset: i32) -> i64 {
    let n = x.len().min(w.len());
    if n == 0 {
        return 0;
    }
    let (mut lo, mut hi) = (0u32, 0u32);
    // SAFETY: the loop reads `n` i16s from `x` and `n` bytes from `w` (8 per iteration,
    // the last one predicated to the remaining lanes, whose inactive lanes access no
    // memory), all within the slices (`n ≤` both lengths). MVE is present (this module
    // is compiled only for targets that have it). Registers written: the two pointers
    // (discarded copies), `r0`/`r1` (the 64-bit sum; VMLALDAVA needs an even/odd pair),
    // `lr` and `q0`/`q1` (`s0`–`s7`), all declared; no stack, no memory written.
    unsafe {
        asm!(
            "dlstp.16 lr, {n}",
            "2:",
            "vldrh.16 q0, [{x}], #16",
            "vldrb.s16 q1, [{w}], #8",
            "vadd.i16 q1, q1, {wo}",
            "vmlaldava.s16 r0, r1, q0, q1",
            "letp lr, 2b",
            n = in(reg) n,
            x = inout(reg) x.as_ptr() => _,
            w = inout(reg) w.as_ptr() => _,
            wo = in(reg) w_offset,
            inout("r0") lo,
            inout("r1") hi,
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            options(nostack, readonly),
        );
    }
    (((hi as u64) << 32) | lo as u64) as i64
}

/// `[x·w0, x·w1]` with `a·b = Σ (a[i] + x_offset)·b[i]` over the common length, wrapping
/// in `i32` (see [`scalar::dot_1x2`](super::scalar::dot_1x2)), for any offset.
///
/// One pass over `x`: per 16 bytes, three `VLDRB.8`, two `VMLADAVA.S8` (`Σx·wⱼ`) and two
/// `VADDVA.S8` (`Σwⱼ`); then `Σx·wⱼ + x_offset·Σwⱼ`, exact in ℤ/2^32 as in
/// [`dot_i8_offset`].
#[inline(never)]
pub(crate) fn dot_1x2(x: &[i8], x_offset: i32, w: [&[i8]; 2]) -> [i32; 2] {
    let n = w.iter().fold(x.len(), |n, r| n.min(r.len()));
    if n == 0 {
        return [0, 0];
    }
    // SAFETY: `n` bytes of `x`, `w[0]` and `w[1]`.
    let [a, sa, b, sb] = unsafe { pass_1x2(x.as_ptr(), w[0].as_ptr(), w[1].as_ptr(), n) };
    [
        a.wrapping_add(x_offset.wrapping_mul(sa)),
        b.wrapping_add(x_offset.wrapping_mul(sb)),
    ]
}

/// `[x·w0, x·w1, x·w2, x·w3]` (see [`dot_1x2`]): two passes of its loop (four dot
/// products and four weight sums need eight even accumulator registers, more than an asm
/// block can have beside its pointers).
#[inline(never)]
pub(crate) fn dot_1x4(x: &[i8], x_offset: i32, w: [&[i8]; 4]) -> [i32; 4] {
    let n = w.iter().fold(x.len(), |n, r| n.min(r.len()));
    if n == 0 {
        return [0; 4];
    }
    // SAFETY: `n` bytes of `x` and of every row.
    let [a, sa, b, sb] = unsafe { pass_1x2(x.as_ptr(), w[0].as_ptr(), w[1].as_ptr(), n) };
    // SAFETY: as above.
    let [c, sc, d, sd] = unsafe { pass_1x2(x.as_ptr(), w[2].as_ptr(), w[3].as_ptr(), n) };
    [
        a.wrapping_add(x_offset.wrapping_mul(sa)),
        b.wrapping_add(x_offset.wrapping_mul(sb)),
        c.wrapping_add(x_offset.wrapping_mul(sc)),
        d.wrapping_add(x_offset.wrapping_mul(sd)),
    ]
}

/// `[Σx·w0, Σw0, Σx·w1, Σw1]` over `n ≥ 1` bytes, each wrapping mod 2^32.
///
/// # Safety
///
/// `n ≥ 1`; `x`, `w0` and `w1` each point to `n` readable bytes.
#[inline(always)]
unsafe fn pass_1x2(x: *const i8, w0: *const i8, w1: *const i8, n: usize) -> [i32; 4] {
    let (mut a, mut sa, mut b, mut sb) = (0i32, 0i32, 0i32, 0i32);
    // SAFETY: the loop reads `n` bytes from each pointer (16 per iteration, the last
    // iteration predicated to the remaining lanes, whose inactive lanes access no memory),
    // in bounds by the caller's contract; `n ≥ 1`, so `DLSTP` runs no empty loop. MVE is
    // present (this module is compiled only for targets that have it). Registers
    // written: the pointer copies, `r0`/`r2`/`r4`/`r8` (the sums; VMLADAVA and VADDVA
    // need even accumulators), `lr` and `q0`–`q2` (`s0`–`s11`), all declared; no stack,
    // no memory written.
    unsafe {
        asm!(
            "dlstp.8 lr, {n}",
            "2:",
            "vldrb.8 q0, [{x}], #16",
            "vldrb.8 q1, [{w0}], #16",
            "vldrb.8 q2, [{w1}], #16",
            "vmladava.s8 r0, q0, q1",
            "vaddva.s8 r2, q1",
            "vmladava.s8 r4, q0, q2",
            "vaddva.s8 r8, q2",
            "letp lr, 2b",
            n = in(reg) n,
            x = inout(reg) x => _,
            w0 = inout(reg) w0 => _,
            w1 = inout(reg) w1 => _,
            inout("r0") a,
            inout("r2") sa,
            inout("r4") b,
            inout("r8") sb,
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            options(nostack, readonly),
        );
    }
    [a, sa, b, sb]
}

/// `out[r][j] = Σ_i (x_r[i] + x_offset)·w[j·k + i]` for `j < n` (see
/// [`scalar::gemm_2xn`](super::scalar::gemm_2xn)), for any offset, reading the raw rows
/// (no prepared lanes). Callers check the lengths: both rows `k` long, `w` at least
/// `n·k`, `n = out[0].len() = out[1].len()`.
///
/// One `asm!` block runs every pair of weight rows (a Rust loop around a per-pair block
/// cost about 40 instructions per pair, more than the inner loop itself for short rows):
/// per pair a `DLSTP.8`/`LETP` loop, per 16 bytes of `k` four `VLDRB.8`, four
/// `VMLADAVA.S8` and two `VADDVA.S8` (`Σwⱼ`, for the offset term `x_offset·Σwⱼ`, exact in
/// ℤ/2^32 as in [`dot_i8_offset`]); then four `MLA` add the offset terms and two `STRD`
/// store the 2 × 2 results. The six sums take the six even registers `VMLADAVA` and
/// `VADDVA` allow beside the four row pointers; what does not fit (the offset, the
/// output pointers, the next pair's weights, `k`, the input rows, the end) lives in a
/// small state block on the stack, read (and partly advanced) once per pair — about
/// 25 instructions per pair beside the loop. An odd last weight row runs the pair loop
/// of [`pass_2x2`] with the row twice.
#[inline(never)]
pub(crate) fn gemm_2xn(x: [&[i8]; 2], x_offset: i32, k: usize, w: &[i8], out: [&mut [i32]; 2]) {
    let [out0, out1] = out;
    if k == 0 || x[0].len() < k || x[1].len() < k {
        out0.fill(0);
        out1.fill(0);
        return;
    }
    // Rows of `w` there are (callers pass at least `n`).
    let n = out0.len().min(out1.len()).min(w.len() / k);
    let (x0, x1) = (x[0].as_ptr(), x[1].as_ptr());
    let pairs = n / 2;
    if pairs > 0 {
        // The state block, one word each: the offset, the two output pointers (advanced
        // by the block), the next pair's first weight row (advanced), `k`, the two input
        // rows, and the end of the paired weight rows (`w + 2·pairs·k`, the loop stops
        // when the next pair would start there).
        let mut state: [usize; 8] = [
            x_offset as u32 as usize,
            out0.as_mut_ptr() as usize,
            out1.as_mut_ptr() as usize,
            w.as_ptr() as usize,
            k,
            x0 as usize,
            x1 as usize,
            w.as_ptr().wrapping_add(2 * pairs * k) as usize,
        ];
        // SAFETY: per pair `j < pairs` (the block starts pair `j` while its first weight
        // row's start is below the end word; they advance by `2k`) the inner loop reads
        // `k ≥ 1` bytes (16 per iteration, the last predicated to the remaining lanes,
        // whose inactive lanes access no memory) from both input rows (`k` long, checked)
        // and from weight rows `2j` and `2j + 1`, both below `n ≤ w.len() / k`; then it
        // writes two `i32` at `out0 + 2j` and two at `out1 + 2j` (`2j + 1 < n ≤` both
        // lengths; `STRD` of words needs only 4-byte alignment, which `i32` has). It reads
        // and writes the 32-byte `state` array, and nothing else. `DLSTP` runs with
        // `k ≥ 1`, so no loop is empty. MVE is present. Registers written: `r0`, `r2`,
        // `r4`, `r8`, `r10`, `r12` (the sums; `VMLADAVA` and `VADDVA` need even
        // registers), the five declared pointer registers (copies), `lr`, `q0`–`q3`
        // (`s0`–`s15`) and the flags; no stack.
        unsafe {
            asm!(
                "b 3f",
                "2:",
                "vldrb.8 q0, [{x0}], #16",
                "vldrb.8 q1, [{x1}], #16",
                "vldrb.8 q2, [{w0}], #16",
                "vldrb.8 q3, [{w1}], #16",
                "vmladava.s8 r0, q0, q2",
                "vmladava.s8 r2, q1, q2",
                "vaddva.s8 r4, q2",
                "vmladava.s8 r8, q0, q3",
                "vmladava.s8 r10, q1, q3",
                "vaddva.s8 r12, q3",
                "letp lr, 2b",
                // The pair's results: sums plus x_offset·Σwⱼ, stored 2 + 2.
                "ldr {x0}, [{st}]",
                "mla r0, {x0}, r4, r0",
                "mla r2, {x0}, r4, r2",
                "mla r8, {x0}, r12, r8",
                "mla r10, {x0}, r12, r10",
                "ldrd {x0}, {x1}, [{st}, #4]",
                "strd r0, r8, [{x0}], #8",
                "strd r2, r10, [{x1}], #8",
                "strd {x0}, {x1}, [{st}, #4]",
                // The next pair, unless the paired rows are done.
                "3:",
                "ldrd {w0}, r4, [{st}, #12]",
                "ldr r12, [{st}, #28]",
                "cmp {w0}, r12",
                "bhs 4f",
                "add {w1}, {w0}, r4",
                "add r12, {w1}, r4",
                "str r12, [{st}, #12]",
                "mov lr, r4",
                "ldrd {x0}, {x1}, [{st}, #20]",
                "movs r0, #0",
                "movs r2, #0",
                "movs r4, #0",
                "mov r8, #0",
                "mov r10, #0",
                "mov r12, #0",
                "dlstp.8 lr, lr",
                "b 2b",
                "4:",
                st = in(reg) state.as_mut_ptr(),
                x0 = out(reg) _,
                x1 = out(reg) _,
                w0 = out(reg) _,
                w1 = out(reg) _,
                out("r0") _,
                out("r2") _,
                out("r4") _,
                out("r8") _,
                out("r10") _,
                out("r12") _,
                out("lr") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s4") _, out("s5") _, out("s6") _, out("s7") _,
                out("s8") _, out("s9") _, out("s10") _, out("s11") _,
                out("s12") _, out("s13") _, out("s14") _, out("s15") _,
                options(nostack),
            );
        }
    }
    if n % 2 == 1 {
        let last = n - 1;
        if let (Some(p0), Some(q0)) = (out0.get_mut(last), out1.get_mut(last)) {
            // The last weight row of an odd `n`: the pair loop with the row twice.
            let w0 = w.as_ptr().wrapping_add(last * k);
            // SAFETY: `k ≥ 1` bytes of both input rows and of weight row `n − 1`.
            let [a, b, sw, ..] = unsafe { pass_2x2(x0, x1, w0, w0, k) };
            *p0 = a.wrapping_add(x_offset.wrapping_mul(sw));
            *q0 = b.wrapping_add(x_offset.wrapping_mul(sw));
        }
    }
}

/// `out[r][j] = Σ_i x_r[i]·w[j·k + i]` for `j < n`: [`gemm_2xn`] without the offset
/// (see `int8::gemm_2xn_raw`: the caller folds `x_offset·Σw` into its bias once per
/// layer, [`row_sums`]). Callers check the lengths: both rows `k` long, `w` at least
/// `n·k`, `n = out[0].len() = out[1].len()`.
///
/// One `asm!` block over every pair of weight rows: per pair a `DLSTP.8`/`LETP` loop of
/// four `VLDRB.8` and four `VMLADAVA.S8` per 16 bytes of `k` (9 instructions per 64 MACs
/// with `LETP`, against 11 with the weight sums of [`gemm_2xn`]), then two `STRD` of the
/// 2 × 2 sums; the four sums take four of the even registers `VMLADAVA` needs, `k` and
/// the end of the paired rows two more, the output pointers, the next pair's weights
/// and the input rows a 20-byte state block (about 17 instructions per pair beside the
/// loop). An odd last weight row runs [`pass_2x2`] with the row twice.
#[inline(never)]
pub(crate) fn gemm_2xn_raw(x: [&[i8]; 2], k: usize, w: &[i8], out: [&mut [i32]; 2]) {
    let [out0, out1] = out;
    if k == 0 || x[0].len() < k || x[1].len() < k {
        out0.fill(0);
        out1.fill(0);
        return;
    }
    // Rows of `w` there are (callers pass at least `n`).
    let n = out0.len().min(out1.len()).min(w.len() / k);
    let (x0, x1) = (x[0].as_ptr(), x[1].as_ptr());
    let pairs = n / 2;
    if pairs > 0 {
        // The state block: the two output pointers (advanced by the block), the next
        // pair's first weight row (advanced), the two input rows.
        let mut state: [usize; 5] = [
            out0.as_mut_ptr() as usize,
            out1.as_mut_ptr() as usize,
            w.as_ptr() as usize,
            x0 as usize,
            x1 as usize,
        ];
        let end = w.as_ptr().wrapping_add(2 * pairs * k);
        // SAFETY: per pair `j < pairs` (the block starts pair `j` while its first weight
        // row's start is below `end = w + 2·pairs·k`; the start advances by `2k`) the
        // inner loop reads `k ≥ 1` bytes (16 per iteration, the last predicated to the
        // remaining lanes, whose inactive lanes access no memory) from both input rows
        // (`k` long, checked) and from weight rows `2j` and `2j + 1`, both below
        // `n ≤ w.len() / k`; then it writes two `i32` at `out0 + 2j` and two at
        // `out1 + 2j` (`2j + 1 < n ≤` both lengths; `STRD` of words needs 4-byte
        // alignment, which `i32` has). It reads and writes the 20-byte `state` array and
        // nothing else. `DLSTP` runs with `k ≥ 1`, so no loop is empty. MVE is present.
        // Registers written: `r0`, `r2`, `r4`, `r8` (the sums; `VMLADAVA` needs even
        // registers), the four declared pointer registers, `lr`, `q0`–`q3` (`s0`–`s15`)
        // and the flags; `r10` (`k`), `r12` (the end) and `st` are only read; no stack.
        unsafe {
            asm!(
                // The next pair, unless the paired rows are done.
                "3:",
                "ldr {w0}, [{st}, #8]",
                "cmp {w0}, r12",
                "bhs 4f",
                "add {w1}, {w0}, r10",
                "add {x0}, {w1}, r10",
                "str {x0}, [{st}, #8]",
                "ldrd {x0}, {x1}, [{st}, #12]",
                "movs r0, #0",
                "movs r2, #0",
                "movs r4, #0",
                "mov r8, #0",
                "dlstp.8 lr, r10",
                "2:",
                "vldrb.8 q0, [{x0}], #16",
                "vldrb.8 q1, [{x1}], #16",
                "vldrb.8 q2, [{w0}], #16",
                "vldrb.8 q3, [{w1}], #16",
                "vmladava.s8 r0, q0, q2",
                "vmladava.s8 r2, q1, q2",
                "vmladava.s8 r4, q0, q3",
                "vmladava.s8 r8, q1, q3",
                "letp lr, 2b",
                // The pair's 2 × 2 sums.
                "ldrd {x0}, {x1}, [{st}]",
                "strd r0, r4, [{x0}], #8",
                "strd r2, r8, [{x1}], #8",
                "strd {x0}, {x1}, [{st}]",
                "b 3b",
                "4:",
                st = in(reg) state.as_mut_ptr(),
                x0 = out(reg) _,
                x1 = out(reg) _,
                w0 = out(reg) _,
                w1 = out(reg) _,
                in("r10") k,
                in("r12") end,
                out("r0") _,
                out("r2") _,
                out("r4") _,
                out("r8") _,
                out("lr") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s4") _, out("s5") _, out("s6") _, out("s7") _,
                out("s8") _, out("s9") _, out("s10") _, out("s11") _,
                out("s12") _, out("s13") _, out("s14") _, out("s15") _,
                options(nostack),
            );
        }
    }
    if n % 2 == 1 {
        let last = n - 1;
        if let (Some(p0), Some(q0)) = (out0.get_mut(last), out1.get_mut(last)) {
            let w0 = w.as_ptr().wrapping_add(last * k);
            // SAFETY: `k ≥ 1` bytes of both input rows and of weight row `n − 1`.
            let [a, b, ..] = unsafe { pass_2x2(x0, x1, w0, w0, k) };
            (*p0, *q0) = (a, b);
        }
    }
}

/// `out[j] = Σ_i w[j·k + i]` for `j < out.len()` (rows of `w` there are), wrapping in
/// `i32`: per row one `DLSTP.8` loop of `VLDRB.8` and `VADDVA.S8` (see
/// `int8::row_sums`).
#[inline(never)]
pub(crate) fn row_sums(w: &[i8], k: usize, out: &mut [i32]) {
    if k == 0 {
        out.fill(0);
        return;
    }
    for (o, row) in out.iter_mut().zip(w.chunks_exact(k)) {
        let mut acc = 0i32;
        // SAFETY: the loop reads the `k ≥ 1` bytes of `row` (16 per iteration, the last
        // predicated to the remaining lanes, whose inactive lanes access no memory). MVE
        // is present. Registers written: the pointer copy, `r0` (the sum), `lr`, `q0`
        // (`s0`–`s3`); no stack, no memory written.
        unsafe {
            asm!(
                "dlstp.8 lr, {k}",
                "2:",
                "vldrb.8 q0, [{w}], #16",
                "vaddva.s8 r0, q0",
                "letp lr, 2b",
                k = in(reg) k,
                w = inout(reg) row.as_ptr() => _,
                inout("r0") acc,
                out("lr") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                options(nostack, readonly),
            );
        }
        *o = acc;
    }
}

/// `dst[r·run..][..run] = src[r·stride..][..run]` for `r < rows` (see
/// `int8::gather`): per row one `DLSTP.8` loop of `VLDRB.8` and `VSTRB.8`, all rows in
/// one `asm!` block (a window row of a convolution is typically 24 to 200 bytes, where a
/// `memcpy` call per row cost more than the copy).
///
/// # Safety
///
/// `rows ≥ 1`, `run ≥ 1`; `rows·run` bytes writable at `dst`; `(rows − 1)·stride + run`
/// bytes readable at `src`; the two regions do not overlap.
#[inline(never)]
pub(crate) unsafe fn gather(dst: *mut i8, src: *const i8, rows: usize, run: usize, stride: usize) {
    // SAFETY: row `r < rows` reads `run ≥ 1` bytes at `src + r·stride` and writes them at
    // `dst + r·run` (16 per iteration, the last predicated to the remaining lanes, whose
    // inactive lanes access no memory), within the regions of the caller's contract;
    // the row count `rows ≥ 1` is counted down to 0. MVE is present. Registers written:
    // the declared copies, `lr`, `q0` (`s0`–`s3`) and the flags; no stack.
    unsafe {
        asm!(
            "2:",
            "mov {s}, {src}",
            "dlstp.8 lr, {run}",
            "3:",
            "vldrb.8 q0, [{s}], #16",
            "vstrb.8 q0, [{dst}], #16",
            "letp lr, 3b",
            // `dst` advanced by whole vectors: back to the end of the row.
            "sub {dst}, {dst}, {pad}",
            "add {src}, {src}, {stride}",
            "subs {rows}, #1",
            "bne 2b",
            src = inout(reg) src => _,
            dst = inout(reg) dst => _,
            rows = inout(reg) rows => _,
            run = in(reg) run,
            stride = in(reg) stride,
            pad = in(reg) run.next_multiple_of(16) - run,
            s = out(reg) _,
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            options(nostack),
        );
    }
}

/// `[Σx0·w0, Σx1·w0, Σw0, Σx0·w1, Σx1·w1, Σw1]` over `k ≥ 1` bytes, each wrapping mod
/// 2^32.
///
/// # Safety
///
/// `k ≥ 1`; `x0`, `x1`, `w0` and `w1` each point to `k` readable bytes.
#[inline(always)]
unsafe fn pass_2x2(
    x0: *const i8,
    x1: *const i8,
    w0: *const i8,
    w1: *const i8,
    k: usize,
) -> [i32; 6] {
    let mut s = [0i32; 6];
    // SAFETY: the loop reads `k` bytes from each pointer (16 per iteration, the last
    // predicated to the remaining lanes, whose inactive lanes access no memory), in bounds
    // by the caller's contract; `k ≥ 1`. MVE is present. Registers written: the pointer
    // copies, the six sums in the even registers `r0`, `r2`, `r4`, `r8`, `r10`, `r12`,
    // `lr` and `q0`–`q3` (`s0`–`s15`), all declared; no stack, no memory written.
    unsafe {
        asm!(
            "dlstp.8 lr, {k}",
            "2:",
            "vldrb.8 q0, [{x0}], #16",
            "vldrb.8 q1, [{x1}], #16",
            "vldrb.8 q2, [{w0}], #16",
            "vldrb.8 q3, [{w1}], #16",
            "vmladava.s8 r0, q0, q2",
            "vmladava.s8 r2, q1, q2",
            "vaddva.s8 r4, q2",
            "vmladava.s8 r8, q0, q3",
            "vmladava.s8 r10, q1, q3",
            "vaddva.s8 r12, q3",
            "letp lr, 2b",
            k = in(reg) k,
            x0 = inout(reg) x0 => _,
            x1 = inout(reg) x1 => _,
            w0 = inout(reg) w0 => _,
            w1 = inout(reg) w1 => _,
            inout("r0") s[0],
            inout("r2") s[1],
            inout("r4") s[2],
            inout("r8") s[3],
            inout("r10") s[4],
            inout("r12") s[5],
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            options(nostack, readonly),
        );
    }
    s
}

/// Per-channel requantisation with double rounding (see
/// [`scalar::requantize_i8_channels`](super::scalar::requantize_i8_channels)): the
/// [`requantize_i8_double`] sequence with the bias added first (`VADD.I32`, wrapping) and
/// the shifts and multipliers loaded per lane (`VQSHL`, `VQRDMULH`, `VAND`, `VRSHL` by
/// vectors; left shift `max(s, 0)`, right shift `−min(s, 0)` from `VMAX`/`VMIN` against
/// zero). Four channels per step, the same bits as the scalar reference (see
/// [`requantize_i8_double`] for why each step is exact). Callers check the lengths, the
/// shifts (in `[−31, 30]`) and `min ≤ max`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
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
    let n = acc
        .len()
        .min(bias.len())
        .min(multipliers.len())
        .min(shifts.len())
        .min(out.len());
    if n == 0 {
        return;
    }
    let params = [zero_point, i32::from(min), i32::from(max.max(min))];
    // SAFETY: the loop reads `n` i32 from each of `acc`, `bias`, `multipliers` and
    // `shifts` (16 bytes per iteration, 4-aligned as `vldrw.32` needs; the last iteration
    // predicated to the remaining lanes, whose inactive lanes access no memory) and writes
    // `n` bytes to `out` (`vstrb.32`, predicated likewise), all within the slices (`n ≤`
    // every length); `params` is read (12 bytes). MVE is present. Registers written: the
    // pointer copies, the temporary, `lr`, `q0`–`q7` (`s0`–`s31`); no stack.
    unsafe {
        asm!(
            "ldr {t}, [{p}]",
            "vdup.32 q5, {t}",
            "ldr {t}, [{p}, #4]",
            "vdup.32 q6, {t}",
            "ldr {t}, [{p}, #8]",
            "vdup.32 q7, {t}",
            "vmov.i32 q3, #0",
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [{acc}], #16",
            "vldrw.u32 q1, [{bias}], #16",
            "vadd.i32 q0, q0, q1",
            "vldrw.u32 q2, [{sh}], #16",
            "vmax.s32 q4, q2, q3",
            "vmin.s32 q2, q2, q3",
            "vqshl.s32 q0, q0, q4",
            "vldrw.u32 q1, [{m}], #16",
            "vqrdmulh.s32 q0, q0, q1",
            "vand q1, q0, q2",
            "vshr.s32 q1, q1, #31",
            "vqadd.s32 q0, q0, q1",
            "vrshl.s32 q0, q0, q2",
            "vqadd.s32 q0, q0, q5",
            "vmax.s32 q0, q0, q6",
            "vmin.s32 q0, q0, q7",
            // The narrowing store takes a low register (r0–r7) as its base.
            "vstrb.32 q0, [r1], #4",
            "letp lr, 2b",
            p = in(reg) params.as_ptr(),
            t = out(reg) _,
            n = in(reg) n,
            acc = inout(reg) acc.as_ptr() => _,
            bias = inout(reg) bias.as_ptr() => _,
            sh = inout(reg) shifts.as_ptr() => _,
            m = inout(reg) multipliers.as_ptr() => _,
            inout("r1") out.as_mut_ptr() => _,
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            out("s24") _, out("s25") _, out("s26") _, out("s27") _,
            out("s28") _, out("s29") _, out("s30") _, out("s31") _,
            options(nostack),
        );
    }
}

/// [`requantize_i8_channels`] with the left shifts `max(s, 0)` and the negated right
/// shifts `min(s, 0)` given as arrays (prepared once, see `requant::ChannelMultipliers`):
/// 16 instructions per four channels against 19 (no `VMAX`/`VMIN` against zero, one
/// load more). Same bits, same contract as [`requantize_i8_channels2`] for one row.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(crate) fn requantize_i8_channels1(
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
    let n = [acc.len(), bias.len(), multipliers.len(), left.len()]
        .into_iter()
        .chain([neg_right.len(), out.len()])
        .fold(usize::MAX, usize::min);
    if n == 0 {
        return;
    }
    // The clamp, packed: min in bits 0–7, max in bits 8–15 (unpacked by shifts below).
    let bounds = (u32::from(min as u8) | (u32::from(max.max(min) as u8) << 8)) as i32;
    // SAFETY: the loop reads `n` i32 from each of `acc`, `bias`, `multipliers`, `left`
    // and `neg_right` (16 bytes per iteration, 4-aligned as `VLDRW.32` needs; the last
    // iteration predicated to the remaining lanes, whose inactive lanes access no memory)
    // and writes `n` bytes to `out` (`VSTRB.32`, predicated likewise), all within the
    // slices (`n ≤` every length). MVE is present. Registers written: the pointer
    // copies, `r1` (the narrowing store takes a low base register), `lr`, `q0`–`q7`
    // (`s0`–`s31`); no stack.
    unsafe {
        asm!(
            "vdup.32 q6, {bounds}",
            "vshl.i32 q7, q6, #16",
            "vshr.s32 q7, q7, #24",
            "vshl.i32 q6, q6, #24",
            "vshr.s32 q6, q6, #24",
            "dlstp.32 lr, lr",
            "2:",
            "vldrw.u32 q0, [{acc}], #16",
            "vldrw.u32 q1, [{bias}], #16",
            "vadd.i32 q0, q0, q1",
            "vldrw.u32 q4, [{left}], #16",
            "vqshl.s32 q0, q0, q4",
            "vldrw.u32 q3, [{m}], #16",
            "vqrdmulh.s32 q0, q0, q3",
            "vldrw.u32 q2, [{nr}], #16",
            "vand q5, q0, q2",
            "vshr.s32 q5, q5, #31",
            "vqadd.s32 q0, q0, q5",
            "vrshl.s32 q0, q0, q2",
            "vqadd.s32 q0, q0, {zp}",
            "vmax.s32 q0, q0, q6",
            "vmin.s32 q0, q0, q7",
            "vstrb.32 q0, [r1], #4",
            "letp lr, 2b",
            bounds = in(reg) bounds,
            zp = in(reg) zero_point,
            acc = inout(reg) acc.as_ptr() => _,
            bias = inout(reg) bias.as_ptr() => _,
            left = inout(reg) left.as_ptr() => _,
            nr = inout(reg) neg_right.as_ptr() => _,
            m = inout(reg) multipliers.as_ptr() => _,
            inout("r1") out.as_mut_ptr() => _,
            inout("lr") n => _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            out("s24") _, out("s25") _, out("s26") _, out("s27") _,
            out("s28") _, out("s29") _, out("s30") _, out("s31") _,
            options(nostack),
        );
    }
}

/// [`requantize_i8_channels`] for two rows of accumulators over the same channels (two
/// output pixels, two batch rows): `out[r][i]` from `acc[r][i]` for `r < 2`, `i < n`
/// (the common length), with the left shifts `max(s, 0)` and the negated right shifts
/// `min(s, 0)` given as arrays (prepared once, see `requant::ChannelMultipliers`).
///
/// Per four channels the bias, multipliers and shifts are loaded once for both rows
/// (4 `VLDRW.32`), then each row runs the sequence of [`requantize_i8_double`] (12
/// instructions with its load and store): 28 per 8 outputs against 38 for two calls of
/// [`requantize_i8_channels`], and one call's set-up instead of two. Same bits (see
/// [`requantize_i8_double`]). Callers check the lengths, that `left` and `neg_right`
/// come from shifts in `[−31, 30]`, and `min ≤ max`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
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
    let [out0, out1] = out;
    let n = [acc[0].len(), acc[1].len(), bias.len(), multipliers.len()]
        .into_iter()
        .chain([left.len(), neg_right.len(), out0.len(), out1.len()])
        .fold(usize::MAX, usize::min);
    if n == 0 {
        return;
    }
    // The clamp, packed: min in bits 0–7, max in bits 8–15 (unpacked by shifts below).
    let bounds = (u32::from(min as u8) | (u32::from(max.max(min) as u8) << 8)) as i32;
    // SAFETY: the loop reads `n` i32 from each of `acc[0]`, `acc[1]`, `bias`,
    // `multipliers`, `left` and `neg_right` (16 bytes per iteration, 4-aligned as
    // `VLDRW.32` needs; the last iteration predicated to the remaining lanes, whose
    // inactive lanes access no memory) and writes `n` bytes to each of `out0` and `out1`
    // (`VSTRB.32`, predicated likewise), all within the slices (`n ≤` every length).
    // MVE is present. Registers written: the pointer copies, `r1`, `r3` (the narrowing
    // stores take low base registers), `lr`, `q0`–`q7` (`s0`–`s31`); no stack.
    unsafe {
        asm!(
            "vdup.32 q6, {bounds}",
            "vshl.i32 q7, q6, #16",
            "vshr.s32 q7, q7, #24",
            "vshl.i32 q6, q6, #24",
            "vshr.s32 q6, q6, #24",
            "dlstp.32 lr, lr",
            "2:",
            "vldrw.u32 q1, [{bias}], #16",
            "vldrw.u32 q4, [{left}], #16",
            "vldrw.u32 q2, [{nr}], #16",
            "vldrw.u32 q3, [{m}], #16",
            "vldrw.u32 q0, [{acc0}], #16",
            "vadd.i32 q0, q0, q1",
            "vqshl.s32 q0, q0, q4",
            "vqrdmulh.s32 q0, q0, q3",
            "vand q5, q0, q2",
            "vshr.s32 q5, q5, #31",
            "vqadd.s32 q0, q0, q5",
            "vrshl.s32 q0, q0, q2",
            "vqadd.s32 q0, q0, {zp}",
            "vmax.s32 q0, q0, q6",
            "vmin.s32 q0, q0, q7",
            "vstrb.32 q0, [r1], #4",
            "vldrw.u32 q0, [{acc1}], #16",
            "vadd.i32 q0, q0, q1",
            "vqshl.s32 q0, q0, q4",
            "vqrdmulh.s32 q0, q0, q3",
            "vand q5, q0, q2",
            "vshr.s32 q5, q5, #31",
            "vqadd.s32 q0, q0, q5",
            "vrshl.s32 q0, q0, q2",
            "vqadd.s32 q0, q0, {zp}",
            "vmax.s32 q0, q0, q6",
            "vmin.s32 q0, q0, q7",
            "vstrb.32 q0, [r3], #4",
            "letp lr, 2b",
            bounds = in(reg) bounds,
            zp = in(reg) zero_point,
            acc0 = inout(reg) acc[0].as_ptr() => _,
            acc1 = inout(reg) acc[1].as_ptr() => _,
            bias = inout(reg) bias.as_ptr() => _,
            left = inout(reg) left.as_ptr() => _,
            nr = inout(reg) neg_right.as_ptr() => _,
            m = inout(reg) multipliers.as_ptr() => _,
            inout("r1") out0.as_mut_ptr() => _,
            inout("r3") out1.as_mut_ptr() => _,
            inout("lr") n => _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            out("s24") _, out("s25") _, out("s26") _, out("s27") _,
            out("s28") _, out("s29") _, out("s30") _, out("s31") _,
            options(nostack),
        );
    }
}

/// The input offsets [`depthwise`] runs in 16-bit lanes: `x + x_offset` stays within
/// `i16` for every int8 `x` (every int8 zero point qualifies); other offsets take 32-bit
/// lanes.
const OFFSET16_MIN: i32 = i16::MIN as i32 + 128;
/// See [`OFFSET16_MIN`].
const OFFSET16_MAX: i32 = i16::MAX as i32 - 127;

/// Most taps of a window [`depthwise`] takes (its tap table lives on the stack); larger
/// windows go to the other paths.
pub(crate) const DEPTHWISE_TAPS: usize = 64;

/// The depthwise window (see [`scalar::depthwise`](super::scalar::depthwise)) for any
/// offset, windows of at most [`DEPTHWISE_TAPS`] taps.
///
/// The taps' starts in `x` and `w` go to a table first; then per block of 16 channels
/// one loop over the table keeps the sums in four `q` registers (`q4`–`q7`, four
/// channels each), per tap `LDRD` of the two starts and two `ADD`. For offsets within
/// ±32640 (every int8 zero point) the inputs and weights are widened to 16-bit lanes
/// (`VLDRB.S16`), the offset added there (exact) and the products formed by
/// `VMULLB.S16`/`VMULLT.S16` into 32-bit lanes (even and odd channels, stored back in
/// order by `VST20`/`VST21`), every full block in one `asm!` block; other offsets take
/// 32-bit lanes (`VLDRB.S32`, `VADD.I32` of the offset, `VMUL.I32`). All sums are
/// wrapping `i32` operations on every lane, so exact for any offset (the same sum mod
/// 2^32 as the scalar reference). The last `n mod 16` channels run the 32-bit loop four
/// at a time with one accumulator, predicated by `VCTP.32` to the channels left.
///
/// # Safety
///
/// Equal rows and cols, `rows·cols ≤` [`DEPTHWISE_TAPS`], every tap's run of
/// `out.len()` bytes in bounds of `x` and of `w`.
#[inline(never)]
pub(crate) unsafe fn depthwise(
    out: &mut [i32],
    x: &[i8],
    xs: crate::int8::Taps,
    x_offset: i32,
    w: &[i8],
    ws: crate::int8::Taps,
) {
    let mut table = [const { MaybeUninit::uninit() }; DEPTHWISE_TAPS];
    let taps = tap_pairs(xs, ws, &mut table);
    if taps == 0 {
        out.fill(0);
        return;
    }
    // SAFETY: `tap_pairs` wrote the first `taps ≥ 1` entries, each a tap's starts in `x` and `w`,
    // in bounds with `out.len()` bytes after them by the caller's contract.
    unsafe { depthwise_table(out, x.as_ptr(), x_offset, w.as_ptr(), &table, taps) };
}

/// [`depthwise`] for a run of pixels (see `arch::depthwise_run`): the tap table is
/// built once for the run, then each pixel runs [`depthwise`]'s blocks from its start
/// `x + p·pixel_step`.
///
/// # Safety
///
/// As for `arch::depthwise_run`, and at most [`DEPTHWISE_TAPS`] taps.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
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
    let mut table = [const { MaybeUninit::uninit() }; DEPTHWISE_TAPS];
    let taps = tap_pairs(xs, ws, &mut table);
    if taps == 0 {
        out.fill(0);
        return;
    }
    let mut xp = x.as_ptr();
    for o in out.chunks_exact_mut(channels.max(1)) {
        // SAFETY: pixel `p`'s window starts at `x + p·pixel_step` (`xp`); the table
        // holds its `taps ≥ 1` starts relative to that and to `w`, each in bounds with
        // `channels = o.len()` bytes after it by the caller's contract.
        unsafe { depthwise_table(o, xp, x_offset, w.as_ptr(), &table, taps) };
        xp = xp.wrapping_add(pixel_step);
    }
}

/// The starts of the taps of `xs` and `ws` (row-major, equal rows and cols), at most
/// [`DEPTHWISE_TAPS`], into `table`; returns their number.
#[inline(always)]
fn tap_pairs(xs: crate::int8::Taps, ws: crate::int8::Taps, table: &mut TapPairs) -> usize {
    // Running starts (additions, no multiplications); callers check the tap count, the
    // table's length bounds it anyway.
    let mut entries = table.iter_mut();
    let mut taps = 0;
    let (mut xr, mut wr) = (0usize, 0usize);
    for _ in 0..xs.rows {
        let (mut xa, mut wa) = (xr, wr);
        for _ in 0..xs.cols {
            let Some(e) = entries.next() else {
                return taps;
            };
            e.write([xa, wa]);
            taps += 1;
            xa = xa.wrapping_add(xs.col_step);
            wa = wa.wrapping_add(ws.col_step);
        }
        xr = xr.wrapping_add(xs.row_step);
        wr = wr.wrapping_add(ws.row_step);
    }
    taps
}

/// A tap table of [`depthwise`]: the starts in `x` and `w` of up to [`DEPTHWISE_TAPS`]
/// taps, written as far as needed (not zeroed first: clearing the 512 bytes cost more
/// than building the table).
type TapPairs = [MaybeUninit<[usize; 2]>; DEPTHWISE_TAPS];

/// A tap table of the window kernels: the starts of up to [`DEPTHWISE_TAPS`] taps,
/// written as far as needed.
type TapStarts = [MaybeUninit<usize>; DEPTHWISE_TAPS];

/// [`depthwise`]'s blocks over a tap table: `out[c] = Σ_j (x[t_j.0 + c] + x_offset)·
/// w[t_j.1 + c]` over the first `taps` entries `t_j` of `table`.
///
/// # Safety
///
/// `1 ≤ taps ≤` [`DEPTHWISE_TAPS`], the first `taps` entries of `table` written; for
/// each of them, `[xa, wa]`,
/// `out.len()` bytes readable at `x + xa` and at `w + wa`.
#[inline(always)]
unsafe fn depthwise_table(
    out: &mut [i32],
    x: *const i8,
    x_offset: i32,
    w: *const i8,
    table: &TapPairs,
    taps: usize,
) {
    let n = out.len();
    let tab = table.as_ptr();
    let mut c = 0;
    // Offsets that keep `x + x_offset` within an `i16` lane: 16-bit lanes, eight
    // channels per load (see the block below).
    let lanes16 = (OFFSET16_MIN..=OFFSET16_MAX).contains(&x_offset);
    let blocks = n / 16;
    if lanes16 && blocks > 0 {
        // SAFETY: for block `b < blocks` (channels `c = 16b..16b + 16`, `c + 16 ≤ n`)
        // and each of the `taps ≥ 1` table entries `[xa, wa]` (the starts of a tap, in
        // bounds with `n` bytes after them by the caller's contract) the loop reads 16
        // bytes at `x + xa + c` and at `w + wa + c`, and reads the entry (8 bytes of
        // `table`, one of the `taps` written); it writes 64 bytes at `out + 4c` (16
        // `i32`, 4-aligned as `VST2x.32` needs). The first tap runs before the loop (its
        // products set the sums); the loop over the other `taps − 1` (skipped when there
        // are none) is `DLSTP.32`/`LETP` over `4·(taps − 1)` lanes: every iteration has
        // all its lanes active, so the predication masks nothing (it only counts the
        // taps down in `lr`). MVE is present.
        // Registers written: `r2`, `r3` (the tap addresses), the declared copies, `lr`,
        // `q0`–`q2` (`s0`–`s11`), `q4`–`q7` (`s16`–`s31`) and the flags; no stack.
        //
        // Per tap and eight channels: `VLDRB.S16` of the inputs and of the weights (each
        // byte sign-extended into a 16-bit lane), `VADD.I16` of the offset (exact: the
        // sum is within ±32768 for offsets in `OFFSET16_MIN..=OFFSET16_MAX`),
        // `VMULLB.S16`/`VMULLT.S16` (the even and the odd channels' exact products in
        // 32-bit lanes), two `VADD.I32` (wrapping, as the scalar reference): 7
        // instructions per 8 MACs against 10 with 32-bit lanes. `q4`/`q6` hold the even
        // channels of each eight, `q5`/`q7` the odd ones; `VST20`/`VST21` store each pair
        // interleaved, in channel order. Every block runs in the one block.
        unsafe {
            asm!(
                "2:",
                // The first tap sets the sums (no zeroing, no addition).
                "mov {t}, {tab}",
                "ldrd r2, r3, [{t}], #8",
                "add r2, {xb}",
                "add r3, {wb}",
                "vldrb.s16 q0, [r2]",
                "vldrb.s16 q1, [r3]",
                "vadd.i16 q0, q0, {xo}",
                "vmullb.s16 q4, q0, q1",
                "vmullt.s16 q5, q0, q1",
                "vldrb.s16 q0, [r2, #8]",
                "vldrb.s16 q1, [r3, #8]",
                "vadd.i16 q0, q0, {xo}",
                "vmullb.s16 q6, q0, q1",
                "vmullt.s16 q7, q0, q1",
                "cmp {lanes}, #0",
                "beq 4f",
                "dlstp.32 lr, {lanes}",
                "3:",
                "ldrd r2, r3, [{t}], #8",
                "add r2, {xb}",
                "add r3, {wb}",
                "vldrb.s16 q0, [r2]",
                "vldrb.s16 q1, [r3]",
                "vadd.i16 q0, q0, {xo}",
                "vmullb.s16 q2, q0, q1",
                "vadd.i32 q4, q4, q2",
                "vmullt.s16 q2, q0, q1",
                "vadd.i32 q5, q5, q2",
                "vldrb.s16 q0, [r2, #8]",
                "vldrb.s16 q1, [r3, #8]",
                "vadd.i16 q0, q0, {xo}",
                "vmullb.s16 q2, q0, q1",
                "vadd.i32 q6, q6, q2",
                "vmullt.s16 q2, q0, q1",
                "vadd.i32 q7, q7, q2",
                "letp lr, 3b",
                "4:",
                "vst20.32 {{q4, q5}}, [{o}]",
                "vst21.32 {{q4, q5}}, [{o}]!",
                "vst20.32 {{q6, q7}}, [{o}]",
                "vst21.32 {{q6, q7}}, [{o}]!",
                "add {xb}, #16",
                "add {wb}, #16",
                "subs {blocks}, #1",
                "bne 2b",
                tab = in(reg) tab,
                t = out(reg) _,
                lanes = in(reg) 4 * (taps - 1),
                blocks = inout(reg) blocks => _,
                xb = inout(reg) x => _,
                wb = inout(reg) w => _,
                xo = in(reg) x_offset,
                o = inout(reg) out.as_mut_ptr() => _,
                out("r2") _,
                out("r3") _,
                out("lr") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s4") _, out("s5") _, out("s6") _, out("s7") _,
                out("s8") _, out("s9") _, out("s10") _, out("s11") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                out("s20") _, out("s21") _, out("s22") _, out("s23") _,
                out("s24") _, out("s25") _, out("s26") _, out("s27") _,
                out("s28") _, out("s29") _, out("s30") _, out("s31") _,
                options(nostack),
            );
        }
        c = 16 * blocks;
    }
    while c + 16 <= n {
        let (xb, wb) = (x.wrapping_add(c), w.wrapping_add(c));
        let o = out.as_mut_ptr().wrapping_add(c);
        // SAFETY: for each of the `taps ≥ 1` table entries `[xa, wa]` (the starts of a
        // tap, in bounds with `n` bytes after them by the caller's contract) the loop
        // reads 16 bytes at `x + xa + c` and at `w + wa + c` (`c + 16 ≤ n`), and reads
        // the entry (8 bytes of `table`); it writes 64 bytes at `out + c` (16 `i32`,
        // 4-aligned as `vstrw.32` needs; `c + 16 ≤ n`). MVE is present. Registers written:
        // `r2`, `r3` (the tap addresses), the declared copies, `q0`, `q1` (`s0`–`s7`), `q4`–`q7`
        // (`s16`–`s31`); no stack.
        unsafe {
            asm!(
                // The widening loads take a low register (r0–r7) as their base.
                "vmov.i32 q4, #0",
                "vmov.i32 q5, #0",
                "vmov.i32 q6, #0",
                "vmov.i32 q7, #0",
                "2:",
                "ldrd r2, r3, [{tp}], #8",
                "add r2, {xb}",
                "add r3, {wb}",
                "vldrb.s32 q0, [r2]",
                "vldrb.s32 q1, [r3]",
                "vadd.i32 q0, q0, {xo}",
                "vmul.i32 q0, q0, q1",
                "vadd.i32 q4, q4, q0",
                "vldrb.s32 q0, [r2, #4]",
                "vldrb.s32 q1, [r3, #4]",
                "vadd.i32 q0, q0, {xo}",
                "vmul.i32 q0, q0, q1",
                "vadd.i32 q5, q5, q0",
                "vldrb.s32 q0, [r2, #8]",
                "vldrb.s32 q1, [r3, #8]",
                "vadd.i32 q0, q0, {xo}",
                "vmul.i32 q0, q0, q1",
                "vadd.i32 q6, q6, q0",
                "vldrb.s32 q0, [r2, #12]",
                "vldrb.s32 q1, [r3, #12]",
                "vadd.i32 q0, q0, {xo}",
                "vmul.i32 q0, q0, q1",
                "vadd.i32 q7, q7, q0",
                "subs {cnt}, #1",
                "bne 2b",
                "vstrw.32 q4, [{o}]",
                "vstrw.32 q5, [{o}, #16]",
                "vstrw.32 q6, [{o}, #32]",
                "vstrw.32 q7, [{o}, #48]",
                tp = inout(reg) tab => _,
                cnt = inout(reg) taps => _,
                xb = in(reg) xb,
                wb = in(reg) wb,
                xo = in(reg) x_offset,
                o = in(reg) o,
                out("r2") _,
                out("r3") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s4") _, out("s5") _, out("s6") _, out("s7") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                out("s20") _, out("s21") _, out("s22") _, out("s23") _,
                out("s24") _, out("s25") _, out("s26") _, out("s27") _,
                out("s28") _, out("s29") _, out("s30") _, out("s31") _,
                options(nostack),
            );
        }
        c += 16;
    }
    while c < n {
        let left = n - c;
        let (xb, wb) = (x.wrapping_add(c), w.wrapping_add(c));
        let o = out.as_mut_ptr().wrapping_add(c);
        // SAFETY: as above with `min(left, 4)` channels: `VCTP.32 left` makes only the
        // first `min(left, 4)` lanes active, and the predicated loads and the store
        // (`VPST` blocks) access no memory for inactive lanes; so `min(left, 4)` bytes
        // at `x + xa + c` and `w + wa + c` are read per tap (`c + left = n`) and
        // `min(left, 4)` `i32` written at `out + c`. Registers written: `r2`, `r3`
        // and copies, `q0`, `q1`, `q4` (`s0`–`s7`, `s16`–`s19`) and the predicate
        // register VPR (not visible to Rust); no stack.
        unsafe {
            asm!(
                // The widening loads take a low register (r0–r7) as their base.
                "vmov.i32 q4, #0",
                "vctp.32 {left}",
                "2:",
                "ldrd r2, r3, [{tp}], #8",
                "add r2, {xb}",
                "add r3, {wb}",
                "vpstt",
                "vldrbt.s32 q0, [r2]",
                "vldrbt.s32 q1, [r3]",
                "vadd.i32 q0, q0, {xo}",
                "vmul.i32 q0, q0, q1",
                "vadd.i32 q4, q4, q0",
                "subs {cnt}, #1",
                "bne 2b",
                "vpst",
                "vstrwt.32 q4, [{o}]",
                tp = inout(reg) tab => _,
                cnt = inout(reg) taps => _,
                left = in(reg) left,
                xb = in(reg) xb,
                wb = in(reg) wb,
                xo = in(reg) x_offset,
                o = in(reg) o,
                out("r2") _,
                out("r3") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s4") _, out("s5") _, out("s6") _, out("s7") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                options(nostack),
            );
        }
        c += 4;
    }
}

/// The starts of `taps`' taps (row-major), at most [`DEPTHWISE_TAPS`] (callers check),
/// into `table`; returns their number.
#[inline(always)]
fn tap_table(taps: crate::int8::Taps, table: &mut TapStarts) -> usize {
    let mut entries = table.iter_mut();
    let mut k = 0;
    let mut row = 0usize;
    for _ in 0..taps.rows {
        let mut at = row;
        for _ in 0..taps.cols {
            let Some(e) = entries.next() else {
                return k;
            };
            e.write(at);
            k += 1;
            at = at.wrapping_add(taps.col_step);
        }
        row = row.wrapping_add(taps.row_step);
    }
    k
}

/// The pooling maximum (see [`scalar::window_max`](super::scalar::window_max)) for
/// windows of at most [`DEPTHWISE_TAPS`] taps: per block of 16 channels (the last one
/// predicated by `VCTP.8` to the channels left) one loop over the taps' starts, `LDR`,
/// `ADD`, `VLDRB.U8`, `VMAX.S8` per tap, then `VSTRB.8`.
///
/// # Safety
///
/// At least one tap and at most [`DEPTHWISE_TAPS`], every tap's run of `out.len()`
/// bytes in bounds of `x`.
#[inline(never)]
pub(crate) unsafe fn window_max(out: &mut [i8], x: &[i8], taps: crate::int8::Taps) {
    let mut table = [const { MaybeUninit::uninit() }; DEPTHWISE_TAPS];
    let k = tap_table(taps, &mut table);
    if k == 0 {
        return;
    }
    // SAFETY: `tap_table` wrote the first `k ≥ 1` entries, each a tap's start in `x`, in
    // bounds with `out.len()` bytes after it by the caller's contract.
    unsafe { window_max_table(out, x.as_ptr(), &table, k) };
}

/// [`window_max`] for a run of pixels (see `arch::window_max_run`): the tap table built
/// once for the run, then per pixel [`window_max`]'s blocks from `x + p·pixel_step` — a
/// 2×2 window of 8 channels costs about 40 instructions per pixel (5 per output) where
/// a call per pixel with its own table cost more than the DSP path.
///
/// # Safety
///
/// As for `arch::window_max_run`, and at most [`DEPTHWISE_TAPS`] taps.
#[inline(never)]
pub(crate) unsafe fn window_max_run(
    out: &mut [i8],
    channels: usize,
    x: &[i8],
    taps: crate::int8::Taps,
    pixel_step: usize,
) {
    let mut table = [const { MaybeUninit::uninit() }; DEPTHWISE_TAPS];
    let k = tap_table(taps, &mut table);
    if k == 0 {
        return;
    }
    let mut xp = x.as_ptr();
    for o in out.chunks_exact_mut(channels.max(1)) {
        // SAFETY: pixel `p`'s window starts at `x + p·pixel_step` (`xp`); `tap_table`
        // wrote its `k ≥ 1` starts relative to that, each in bounds with
        // `channels = o.len()` bytes after it by the caller's contract.
        unsafe { window_max_table(o, xp, &table, k) };
        xp = xp.wrapping_add(pixel_step);
    }
}

/// [`window_max`]'s blocks over a tap table: `out[c] = max_j x[t_j + c]` over the first
/// `k` entries `t_j` of `table`.
///
/// # Safety
///
/// `1 ≤ k ≤` [`DEPTHWISE_TAPS`], the first `k` entries of `table` written, each with
/// `out.len()` bytes readable at `x + t_j`.
#[inline(always)]
unsafe fn window_max_table(out: &mut [i8], x: *const i8, table: &TapStarts, k: usize) {
    let n = out.len();
    let mut c = 0;
    while c < n {
        let xb = x.wrapping_add(c);
        let o = out.as_mut_ptr().wrapping_add(c);
        // SAFETY: `VCTP.8 (n − c)` makes the first `min(n − c, 16)` lanes active; the
        // predicated loads and the store (`VPST` blocks) access no memory for the
        // others. So per table entry `xa` (a tap's start, in bounds with `n` bytes after
        // it by the caller's contract) `min(n − c, 16)` bytes at `x + xa + c` are read
        // (and the entry, 4 bytes of `table`, one of the `k` that `tap_table` wrote), and as many written at `out + c`. MVE is
        // present. Registers written: `r2` (the tap address), the declared copies, `q0`,
        // `q4` (`s0`–`s3`, `s16`–`s19`) and VPR; no stack.
        unsafe {
            asm!(
                "vmov.i8 q4, #0x80",
                "vctp.8 {left}",
                "2:",
                "ldr r2, [{tp}], #4",
                "add r2, {xb}",
                "vpst",
                "vldrbt.u8 q0, [r2]",
                "vmax.s8 q4, q4, q0",
                "subs {cnt}, #1",
                "bne 2b",
                "vpst",
                "vstrbt.8 q4, [{o}]",
                tp = inout(reg) table.as_ptr() => _,
                cnt = inout(reg) k => _,
                left = in(reg) n - c,
                xb = in(reg) xb,
                o = in(reg) o,
                out("r2") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                options(nostack),
            );
        }
        c += 16;
    }
}

/// The pooling sum (see [`scalar::window_sum`](super::scalar::window_sum)) for windows
/// of at most [`DEPTHWISE_TAPS`] taps: [`depthwise`]'s loops without weights, per tap and
/// four channels `VLDRB.S32` and `VADD.I32` (wrapping, exact).
///
/// # Safety
///
/// At most [`DEPTHWISE_TAPS`] taps, every tap's run of `out.len()` bytes in bounds of
/// `x`.
#[inline(never)]
pub(crate) unsafe fn window_sum(out: &mut [i32], x: &[i8], taps: crate::int8::Taps) {
    let mut table = [const { MaybeUninit::uninit() }; DEPTHWISE_TAPS];
    let k = tap_table(taps, &mut table);
    if k == 0 {
        out.fill(0);
        return;
    }
    let n = out.len();
    let tab = table.as_ptr();
    let mut c = 0;
    while c + 16 <= n {
        let xb = x.as_ptr().wrapping_add(c);
        let o = out.as_mut_ptr().wrapping_add(c);
        // SAFETY: per table entry `xa` (a tap's start, in bounds with `n` bytes after it
        // by the caller's contract) 16 bytes at `x + xa + c` are read (`c + 16 ≤ n`), and
        // the entry (4 bytes of `table`, one of the `k` that `tap_table` wrote); 16 `i32` written at `out + c` (4-aligned). MVE
        // is present. Registers written: `r2` (the tap address), the declared copies,
        // `q0`, `q4`–`q7` (`s0`–`s3`, `s16`–`s31`); no stack.
        unsafe {
            asm!(
                // The widening loads take a low register (r0–r7) as their base.
                "vmov.i32 q4, #0",
                "vmov.i32 q5, #0",
                "vmov.i32 q6, #0",
                "vmov.i32 q7, #0",
                "2:",
                "ldr r2, [{tp}], #4",
                "add r2, {xb}",
                "vldrb.s32 q0, [r2]",
                "vadd.i32 q4, q4, q0",
                "vldrb.s32 q0, [r2, #4]",
                "vadd.i32 q5, q5, q0",
                "vldrb.s32 q0, [r2, #8]",
                "vadd.i32 q6, q6, q0",
                "vldrb.s32 q0, [r2, #12]",
                "vadd.i32 q7, q7, q0",
                "subs {cnt}, #1",
                "bne 2b",
                "vstrw.32 q4, [{o}]",
                "vstrw.32 q5, [{o}, #16]",
                "vstrw.32 q6, [{o}, #32]",
                "vstrw.32 q7, [{o}, #48]",
                tp = inout(reg) tab => _,
                cnt = inout(reg) k => _,
                xb = in(reg) xb,
                o = in(reg) o,
                out("r2") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                out("s20") _, out("s21") _, out("s22") _, out("s23") _,
                out("s24") _, out("s25") _, out("s26") _, out("s27") _,
                out("s28") _, out("s29") _, out("s30") _, out("s31") _,
                options(nostack),
            );
        }
        c += 16;
    }
    while c < n {
        let xb = x.as_ptr().wrapping_add(c);
        let o = out.as_mut_ptr().wrapping_add(c);
        // SAFETY: as above with `min(n − c, 4)` channels: `VCTP.32 (n − c)` makes only
        // those lanes active, and the predicated loads and the store access no memory
        // for the others. Registers written: `r2`, the declared copies, `q0`, `q4`
        // (`s0`–`s3`, `s16`–`s19`) and VPR; no stack.
        unsafe {
            asm!(
                "vmov.i32 q4, #0",
                "vctp.32 {left}",
                "2:",
                "ldr r2, [{tp}], #4",
                "add r2, {xb}",
                "vpst",
                "vldrbt.s32 q0, [r2]",
                "vadd.i32 q4, q4, q0",
                "subs {cnt}, #1",
                "bne 2b",
                "vpst",
                "vstrwt.32 q4, [{o}]",
                tp = inout(reg) tab => _,
                cnt = inout(reg) k => _,
                left = in(reg) n - c,
                xb = in(reg) xb,
                o = in(reg) o,
                out("r2") _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s16") _, out("s17") _, out("s18") _, out("s19") _,
                options(nostack),
            );
        }
        c += 4;
    }
}

// ---------------------------------------------------------------------------------------
// f32 vector maps: `axpy` and the bias + activation epilogue (`crate::map`), with
// `+mve.fp`. One tail-predicated loop per row: `q0` the values, `q1` the bias (or the
// leaky ReLU's `slope·v`), `q2`/`q3` the bounds or zero.
// ---------------------------------------------------------------------------------------

/// The shortest row (or `axpy` run) the dispatch hands to the f32 maps here; shorter
/// ones stay on the scalar loop. Not measured yet: one vector of four plus a tail.
#[cfg(mote_arm_mve_fp)]
pub(crate) const MIN_LEN_MAP: usize = 8;

/// `y[i] ← fl(y[i] + α·x[i])` over the common length: `VFMA.F32` by a scalar, four
/// lanes per step, the tail predicated (the AVX2 and NEON paths' bits, subnormals aside).
#[cfg(mote_arm_mve_fp)]
#[inline(never)]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    if n == 0 {
        return;
    }
    // SAFETY: the loop reads `n` floats of `x` and reads and writes `n` floats of `y`
    // (4 per iteration, the last predicated to the remaining lanes), within both slices
    // (`n ≤` both lengths); `vldrw`/`vstrw` need 4-byte alignment, which `f32` slices
    // have. MVE with floating point is present (`mote_arm_mve_fp`). Registers written:
    // the pointer copies, `lr`, `q0`–`q1` (`s0`–`s7`); no stack.
    unsafe {
        asm!(
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [{x}], #16",
            "vldrw.u32 q1, [{y}]",
            "vfma.f32 q1, q0, {a}",
            "vstrw.32 q1, [{y}], #16",
            "letp lr, 2b",
            n = in(reg) n,
            x = inout(reg) x.as_ptr() => _,
            y = inout(reg) y.as_mut_ptr() => _,
            a = in(reg) alpha.to_bits(),
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            options(nostack),
        );
    }
}

/// One tail-predicated pass over `n` floats at `y`: load into `q0`, the bias step, the
/// activation's instructions, store. `bias` is the bias step's instructions and `b`
/// their operand (a pointer to the bias, advanced, or the bits of −0.0 to add).
#[cfg(mote_arm_mve_fp)]
macro_rules! map_pass {
    (
        n: $n:expr, y: $y:expr, b: [$($b:tt)*], bias: [$($bias:literal),*],
        setup: [$($setup:literal),*], act: [$($act:literal),*]
        $(, $name:ident = [$($op:tt)*])*
    ) => {
        asm!(
            $($setup,)*
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [{y}]",
            $($bias,)*
            $($act,)*
            "vstrw.32 q0, [{y}], #16",
            "letp lr, 2b",
            n = in(reg) $n,
            y = inout(reg) $y => _,
            b = $($b)*,
            $($name = $($op)*,)*
            out("lr") _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("s12") _, out("s13") _, out("s14") _, out("s15") _,
            options(nostack),
        )
    };
}

/// [`map_pass`] for each activation, with the given bias step. The activations are
/// those of [`scalar::act_one`](super::scalar::act_one), bit for bit: `VMAXNM` against
/// `+0` is `v > 0 ? v : +0`; the clamp and the leaky ReLU compare with `VCMP.F32 gt`
/// (false for NaN) and select with `VPSEL`, so a NaN stays (the default NaN: MVE
/// arithmetic returns it).
#[cfg(mote_arm_mve_fp)]
macro_rules! map_acts {
    ($act:expr, $n:expr, $y:expr, b: [$($b:tt)*], bias: [$($bias:literal),*]) => {
        match $act {
            Act::Identity => map_pass!(
                n: $n, y: $y, b: [$($b)*], bias: [$($bias),*], setup: [], act: []
            ),
            Act::Relu => map_pass!(
                n: $n, y: $y, b: [$($b)*], bias: [$($bias),*],
                setup: ["vmov.i32 q3, #0"],
                act: ["vmaxnm.f32 q0, q0, q3"]
            ),
            Act::Clamp { lo, hi } => map_pass!(
                n: $n, y: $y, b: [$($b)*], bias: [$($bias),*],
                setup: ["vdup.32 q2, {lo}", "vdup.32 q3, {hi}"],
                act: [
                    "vcmp.f32 gt, q2, q0",
                    "vpsel q0, q2, q0",
                    "vcmp.f32 gt, q0, q3",
                    "vpsel q0, q3, q0"
                ],
                lo = [in(reg) lo.to_bits()],
                hi = [in(reg) hi.to_bits()]
            ),
            Act::LeakyRelu { slope } => map_pass!(
                n: $n, y: $y, b: [$($b)*], bias: [$($bias),*],
                setup: ["vmov.i32 q3, #0"],
                act: [
                    "vmul.f32 q1, q0, {s}",
                    "vcmp.f32 gt, q0, q3",
                    "vpsel q0, q0, q1"
                ],
                s = [in(reg) slope.to_bits()]
            ),
        }
    };
}

/// `y ← act(y + bias)` over one row (`bias` at least as long), or `act(y)` without one
/// (adding −0.0, which leaves every value as it is).
#[cfg(mote_arm_mve_fp)]
#[inline(never)]
fn act_row(y: &mut [f32], bias: Option<&[f32]>, act: crate::map::Act) {
    use crate::map::Act;
    let n = match bias {
        Some(b) => y.len().min(b.len()),
        None => y.len(),
    };
    if n == 0 {
        return;
    }
    let yp = y.as_mut_ptr();
    match bias {
        // SAFETY: the loop reads and writes `n` floats of `y` and reads `n` of `b` (4 per
        // iteration, the last predicated to the remaining lanes), within both slices
        // (`n ≤` both lengths); `vldrw`/`vstrw` need 4-byte alignment, which `f32` slices
        // have. MVE with floating point is present (`mote_arm_mve_fp`). Registers
        // written: the pointer copies, `lr`, `q0`–`q3` (`s0`–`s15`), VPR; no stack.
        Some(b) => unsafe {
            map_acts!(
                act, n, yp,
                b: [inout(reg) b.as_ptr() => _],
                bias: ["vldrw.u32 q1, [{b}], #16", "vadd.f32 q0, q0, q1"]
            )
        },
        // SAFETY: as above, without the bias reads.
        None => unsafe {
            map_acts!(
                act, n, yp,
                b: [in(reg) (-0.0f32).to_bits()],
                bias: ["vadd.f32 q0, q0, {b}"]
            )
        },
    }
}

/// `y[r][j] ← act(y[r][j] + bias[j])` over the whole rows of `y`, or `act(y)` when
/// `bias` is empty (see [`scalar::bias_act`](super::scalar::bias_act)): the same bits,
/// subnormals aside.
#[cfg(mote_arm_mve_fp)]
pub(crate) fn bias_act(y: &mut [f32], bias: &[f32], act: crate::map::Act) {
    if bias.is_empty() {
        act_row(y, None, act);
        return;
    }
    for row in y.chunks_exact_mut(bias.len()) {
        act_row(row, Some(bias), act);
    }
}
