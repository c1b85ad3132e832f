//! The Cortex-M FPU path (Cortex-M4F/M7, Armv8-M Mainline with an FPU, bare metal,
//! hard-float ABI): the GEMM's 4 × 4 register tile in the 32 single-precision `s`
//! registers, with fused multiply-adds (`VFMA.F32`).
//!
//! Compiled where `cfg(mote_arm_fpu)` is set: `thumbv7em-none-eabihf` (FPv4-SP on the
//! M4F, FPv5 on the M7) and `thumbv8m.main-none-eabihf` (FPv5 on the M33/M55/M85), see
//! `simd/build.rs`. Every one of those FPUs has `VFMA.F32` (VFPv4 and later); the A-profile
//! `armv7a-none-eabihf` (VFPv3-D16, no fused multiply-add) is left out. Stable Rust has
//! no `s`-register operands on this target, so the tile is one `asm!` block that runs the
//! whole `k` loop with its registers declared clobbered (`out("s0") _` …) and hands its
//! sums back through memory (`VSTM`).
//!
//! Registers: the accumulators `C[i][j]` in `s(16 + 4i + j)` (`s16`–`s31`), two rows of
//! the packed `B` panel in `s0`–`s7`, two steps of the four `A` elements in `s8`–`s15`.
//! The loop runs two steps of `k` per iteration:
//!
//! | `A` layout | loads per two steps | instructions per iteration | per MAC |
//! |---|---|---|---|
//! | rows contiguous (`csa = 1`: row-major `A`, as the dense forward pass and im2col) | `VLDMIA b!, {s0-s7}`; 4 × `VLDMIA aᵢ!, {2 floats}` (one pointer per row) | 5 loads, 32 `VFMA.F32`, `SUBS`, `BNE`: 39 | 1.22 |
//! | columns contiguous (`rsa = 1`, four rows: a transposed `A`, as the weight gradient) | `VLDMIA b!, {s0-s7}`; 2 × (`VLDM a, {4 floats}`, `ADD a, step`) | 39 | 1.22 |
//!
//! An odd `kc` ends with one single step (panel row, four `VLDR`, 16 `VFMA.F32`). Other
//! strides of `A` (neither contiguous, or a column-contiguous tile of fewer than four
//! rows, whose fourth element could lie outside `A`) take the scalar tile. Rows `R..4` of
//! a short tile recompute row `R − 1` (its pointer, repeated); their sums are dropped.
//! Accumulators start from a 16-float block of zeros (`VLDM`, one instruction); the sums
//! leave with one `VSTM`. `α` and the update of `C` round as the scalar tile's do: for a
//! full tile over rows of `C` that are contiguous, in a second `asm!` block
//! ([`store_full`]: the sums back with one `VLDM`, each row of `C` one `VLDM`/`VSTM`);
//! otherwise in Rust.
//!
//! A 4 × 6 tile (24 accumulators, six panel floats, one `A` element at a time) would take
//! about the same 1.2 instructions per MAC by count (not built nor measured) and widen
//! every panel: 4 × 4 keeps `NR`.
//!
//! Measured under QEMU's `-icount` (instructions, not cycles) by `simd-check`, a whole
//! `sgemm` 32×32×32 (packing, blocking and 64 tile calls included): 1.62 instructions per
//! MAC on the M4F, against 2.48 for the scalar tile and 3.20 for a naive triple loop; 1.63
//! on the M55, where Helium's tile (1.31) is the higher rung and runs instead. See
//! docs/benchmarks.md, "f32 GEMM on the Cortex-M4F FPU", also for why cycles on M4F
//! silicon may gain less (`VFMA.F32` is listed at 3 cycles there, `VMUL` and `VADD` at 1).
//!
//! Exactness: each accumulator sums its `k` products in order of `p`, like the scalar
//! tile, but each product is added unrounded (fused). Both paths compute a sum of `n`
//! products within `γ_n·Σ|aᵢ·bᵢ|` of the exact value (`γ_n = n·u/(1 − n·u)`,
//! `u = 2^-24`), so they agree within `2·γ_n·Σ|aᵢ·bᵢ|`, the tolerance `simd-check`
//! asserts for the GEMM (as for Helium; the scalar path on these cores rounds each
//! product — `VMUL.F32` then `VADD.F32`, or the unfused `VMLA.F32` — since Rust never
//! contracts them into a fused multiply-add).

use super::scalar::{self, Update};
use core::arch::asm;
use core::mem::MaybeUninit;

/// Columns of the panel the FPU tile takes (`tune::NR` on bare metal).
pub(crate) const TILE_W: usize = 4;
/// Most rows of the FPU tile (`tune::MR` on bare metal).
pub(crate) const TILE_R: usize = 4;

/// The accumulators' starting values, loaded with one `VLDM`.
static ZEROS: [f32; TILE_R * TILE_W] = [0.0; TILE_R * TILE_W];

/// The 16 fused multiply-adds of one step: `s(16 + 4i + j) += A_i · B_j`, the four `A`
/// elements in `s$a0`…`s$a3`, the panel row in `s$b0`…`s$b3`.
macro_rules! step {
    ($a0:literal $a1:literal $a2:literal $a3:literal; $b0:literal $b1:literal $b2:literal $b3:literal) => {
        concat!(
            step!(@row 16 17 18 19; $a0; $b0 $b1 $b2 $b3),
            step!(@row 20 21 22 23; $a1; $b0 $b1 $b2 $b3),
            step!(@row 24 25 26 27; $a2; $b0 $b1 $b2 $b3),
            step!(@row 28 29 30 31; $a3; $b0 $b1 $b2 $b3),
        )
    };
    (@row $c0:literal $c1:literal $c2:literal $c3:literal; $a:literal; $b0:literal $b1:literal $b2:literal $b3:literal) => {
        concat!(
            "vfma.f32 s", $c0, ", s", $a, ", s", $b0, "\n",
            "vfma.f32 s", $c1, ", s", $a, ", s", $b1, "\n",
            "vfma.f32 s", $c2, ", s", $a, ", s", $b2, "\n",
            "vfma.f32 s", $c3, ", s", $a, ", s", $b3, "\n",
        )
    };
}

/// One row of [`store_full`]'s updates that read `C` (its four floats into `s0`–`s3`):
/// `@acc`: `C ← C + v`; `@scale`: `C ← v + β·C`, `β` in `s5`. `v` is in `s$v0`…`s$v3`.
macro_rules! store_full {
    (@acc $v0:literal $v1:literal $v2:literal $v3:literal) => {
        concat!(
            "vldm {c}, {{s0-s3}}\n",
            "vadd.f32 s",
            $v0,
            ", s0, s",
            $v0,
            "\n",
            "vadd.f32 s",
            $v1,
            ", s1, s",
            $v1,
            "\n",
            "vadd.f32 s",
            $v2,
            ", s2, s",
            $v2,
            "\n",
            "vadd.f32 s",
            $v3,
            ", s3, s",
            $v3,
            "\n",
            "vstm {c}, {{s",
            $v0,
            "-s",
            $v3,
            "}}\n",
        )
    };
    (@scale $v0:literal $v1:literal $v2:literal $v3:literal) => {
        concat!(
            "vldm {c}, {{s0-s3}}\n",
            "vmul.f32 s0, s0, s5\n",
            "vmul.f32 s1, s1, s5\n",
            "vmul.f32 s2, s2, s5\n",
            "vmul.f32 s3, s3, s5\n",
            "vadd.f32 s",
            $v0,
            ", s",
            $v0,
            ", s0\n",
            "vadd.f32 s",
            $v1,
            ", s",
            $v1,
            ", s1\n",
            "vadd.f32 s",
            $v2,
            ", s",
            $v2,
            ", s2\n",
            "vadd.f32 s",
            $v3,
            ", s",
            $v3,
            ", s3\n",
            "vstm {c}, {{s",
            $v0,
            "-s",
            $v3,
            "}}\n",
        )
    };
}

/// The FPU version of [`scalar::tile`] for `W = 4` and `R ≤ 4`, same contract.
///
/// `A` with contiguous rows (`csa = 1`) or, for four rows, contiguous columns
/// (`rsa = 1`) runs the assembly loop described in the module docs; any other `A`
/// takes the scalar tile (same contract, rounded products).
///
/// # Safety
///
/// As for the scalar tile with `W = 4`, and `1 ≤ R ≤ 4`.
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
    let mut acc = MaybeUninit::<[f32; TILE_R * TILE_W]>::uninit();
    if csa == 1 {
        let row = |i: usize| a.as_ptr().wrapping_add(i.min(R - 1) * rsa);
        // SAFETY: the pair loop runs `kc / 2` times, then one single step if `kc` is
        // odd: `kc` steps in all. Step `p` reads panel floats `4p..4p + 4` (inside
        // `panel`, `4·kc` long) and, through the row pointers `a + min(i, R − 1)·rsa`
        // (each advanced by one float per step), element `min(i, R − 1)·rsa + p` of
        // `a` = `A[min(i, R − 1)][p]` with `csa = 1`: in bounds by the caller's contract
        // (`i < R`, `p < kc`). `VLDM`/`VLDR`/`VSTM` need 4-byte alignment, which `f32`
        // data has. The FPU is present (`mote_arm_fpu`: hard-float bare-metal targets
        // with VFPv4 or later, which have `VFMA.F32`). Registers written: the declared
        // ones only (the pointer and counter copies, `s0`–`s31`); memory written: the 16
        // sums into `acc` (64 bytes); memory read: `ZEROS`, `panel`, `a`; no stack.
        unsafe {
            asm!(
                "vldm {zeros}, {{s16-s31}}",
                "cmp {pairs}, #0",
                "beq 3f",
                "2:",
                "vldmia {b}!, {{s0-s7}}",
                "vldmia {a0}!, {{s8-s9}}",
                "vldmia {a1}!, {{s10-s11}}",
                "vldmia {a2}!, {{s12-s13}}",
                "vldmia {a3}!, {{s14-s15}}",
                step!(8 10 12 14; 0 1 2 3),
                step!(9 11 13 15; 4 5 6 7),
                "subs {pairs}, {pairs}, #1",
                "bne 2b",
                "3:",
                "cmp {odd}, #0",
                "beq 4f",
                "vldmia {b}, {{s0-s3}}",
                "vldr s8, [{a0}]",
                "vldr s10, [{a1}]",
                "vldr s12, [{a2}]",
                "vldr s14, [{a3}]",
                step!(8 10 12 14; 0 1 2 3),
                "4:",
                "vstm {acc}, {{s16-s31}}",
                zeros = in(reg) ZEROS.as_ptr(),
                acc = in(reg) acc.as_mut_ptr().cast::<f32>(),
                pairs = inout(reg) kc / 2 => _,
                odd = in(reg) kc % 2,
                b = inout(reg) panel.as_ptr() => _,
                a0 = inout(reg) row(0) => _,
                a1 = inout(reg) row(1) => _,
                a2 = inout(reg) row(2) => _,
                a3 = inout(reg) row(3) => _,
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
    } else if rsa == 1 && R == TILE_R {
        // SAFETY: as above, but step `p` reads the four floats from `a + p·csa`:
        // elements `i + p·csa` = `A[i][p]` (`rsa = 1`) for `i < 4 = R`, `p < kc`, in
        // bounds by the caller's contract; the pointer advances by `csa` floats
        // (`step` = `4·csa` bytes, wrapping: only the `kc` pointers the loop reads
        // through are dereferenced). Registers written: the declared ones only; memory
        // written: the 16 sums into `acc`; no stack.
        unsafe {
            asm!(
                "vldm {zeros}, {{s16-s31}}",
                "cmp {pairs}, #0",
                "beq 3f",
                "2:",
                "vldmia {b}!, {{s0-s7}}",
                "vldm {a}, {{s8-s11}}",
                "add {a}, {a}, {step}",
                "vldm {a}, {{s12-s15}}",
                "add {a}, {a}, {step}",
                step!(8 9 10 11; 0 1 2 3),
                step!(12 13 14 15; 4 5 6 7),
                "subs {pairs}, {pairs}, #1",
                "bne 2b",
                "3:",
                "cmp {odd}, #0",
                "beq 4f",
                "vldmia {b}, {{s0-s3}}",
                "vldm {a}, {{s8-s11}}",
                step!(8 9 10 11; 0 1 2 3),
                "4:",
                "vstm {acc}, {{s16-s31}}",
                zeros = in(reg) ZEROS.as_ptr(),
                acc = in(reg) acc.as_mut_ptr().cast::<f32>(),
                pairs = inout(reg) kc / 2 => _,
                odd = in(reg) kc % 2,
                b = inout(reg) panel.as_ptr() => _,
                a = inout(reg) a.as_ptr() => _,
                step = in(reg) csa.wrapping_mul(4),
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
    } else {
        // SAFETY: forwarded from the caller (the scalar tile's contract, W = 4).
        unsafe { scalar::tile::<R, TILE_W>(a, rsa, csa, panel, alpha, update, c, rsc, csc, nr) };
        return;
    }
    // SAFETY: the assembly above wrote all 16 floats (its `VSTM`). By reference: a copy
    // of the array would cost 7 instructions per tile.
    let acc = unsafe { acc.assume_init_ref() };
    if R == TILE_R && nr == TILE_W && csc == 1 {
        // SAFETY: a full tile of C with contiguous rows: elements `i·rsc + j` for
        // `i, j < 4` are in bounds by the caller's contract (`R = nr = 4`, `csc = 1`).
        unsafe { store_full(acc, alpha, update, c.as_mut_ptr(), rsc) };
        return;
    }
    for (i, acc_i) in acc.chunks_exact(TILE_W).enumerate().take(R) {
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

/// `C[i][j] ← update(α·acc[4i + j])` for a full 4 × 4 tile whose rows are contiguous
/// (`C[i][j]` at `c + i·rsc + j`), with the scalar tile's roundings: `α·x` (skipped when
/// `α = 1`, where it is exact), then `v`, `c + v` or `v + β·c` (`VMUL.F32` then
/// `VADD.F32`, never fused). One `VLDM` brings the sums back into `s16`–`s31`, each row of
/// `C` is one `VLDM` (when read) and one `VSTM`: 8 instructions for an overwrite with
/// `α = 1`, 29 for an accumulation. Measured against the element loop: 2,365 fewer
/// instructions over the 64 tiles of a 32×32×32 product (β = 0).
///
/// # Safety
///
/// `c + i·rsc + j` for `i, j < 4` must be valid for reads and writes (4-byte aligned,
/// as every `f32`).
#[inline(always)]
unsafe fn store_full(
    acc: &[f32; TILE_R * TILE_W],
    alpha: f32,
    update: Update,
    c: *mut f32,
    rsc: usize,
) {
    let (mode, beta) = match update {
        Update::Overwrite => (0u32, 0.0f32),
        Update::Accumulate => (1, 0.0),
        Update::Scale(beta) => (2, beta),
    };
    // SAFETY: reads the 16 sums from `acc` and, for rows `i < 4`, the four floats at
    // `c + i·rsc` (only when the update reads `C`), writes the same four floats of each
    // row: in bounds by the caller's contract. The FPU is present (`mote_arm_fpu`).
    // Registers written: the declared ones only (the `C` pointer copy, `s0`–`s5`,
    // `s16`–`s31`); no stack.
    unsafe {
        asm!(
            "vldm {acc}, {{s16-s31}}",
            "cmp {scale}, #0",
            "beq 2f",
            "vmov s4, {alpha}",
            "vmul.f32 s16, s16, s4",
            "vmul.f32 s17, s17, s4",
            "vmul.f32 s18, s18, s4",
            "vmul.f32 s19, s19, s4",
            "vmul.f32 s20, s20, s4",
            "vmul.f32 s21, s21, s4",
            "vmul.f32 s22, s22, s4",
            "vmul.f32 s23, s23, s4",
            "vmul.f32 s24, s24, s4",
            "vmul.f32 s25, s25, s4",
            "vmul.f32 s26, s26, s4",
            "vmul.f32 s27, s27, s4",
            "vmul.f32 s28, s28, s4",
            "vmul.f32 s29, s29, s4",
            "vmul.f32 s30, s30, s4",
            "vmul.f32 s31, s31, s4",
            "2:",
            "cmp {mode}, #1",
            "beq 3f",
            "bhi 4f",
            // Overwrite: C ← v.
            "vstm {c}, {{s16-s19}}",
            "add {c}, {c}, {rsc}",
            "vstm {c}, {{s20-s23}}",
            "add {c}, {c}, {rsc}",
            "vstm {c}, {{s24-s27}}",
            "add {c}, {c}, {rsc}",
            "vstm {c}, {{s28-s31}}",
            "b 5f",
            // Accumulate: C ← C + v.
            "3:",
            store_full!(@acc 16 17 18 19),
            "add {c}, {c}, {rsc}",
            store_full!(@acc 20 21 22 23),
            "add {c}, {c}, {rsc}",
            store_full!(@acc 24 25 26 27),
            "add {c}, {c}, {rsc}",
            store_full!(@acc 28 29 30 31),
            "b 5f",
            // Scale: C ← v + β·C.
            "4:",
            "vmov s5, {beta}",
            store_full!(@scale 16 17 18 19),
            "add {c}, {c}, {rsc}",
            store_full!(@scale 20 21 22 23),
            "add {c}, {c}, {rsc}",
            store_full!(@scale 24 25 26 27),
            "add {c}, {c}, {rsc}",
            store_full!(@scale 28 29 30 31),
            "5:",
            acc = in(reg) acc.as_ptr(),
            scale = in(reg) u32::from(alpha != 1.0),
            alpha = in(reg) alpha.to_bits(),
            mode = in(reg) mode,
            beta = in(reg) beta.to_bits(),
            c = inout(reg) c => _,
            rsc = in(reg) rsc.wrapping_mul(4),
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _,
            out("s16") _, out("s17") _, out("s18") _, out("s19") _,
            out("s20") _, out("s21") _, out("s22") _, out("s23") _,
            out("s24") _, out("s25") _, out("s26") _, out("s27") _,
            out("s28") _, out("s29") _, out("s30") _, out("s31") _,
            options(nostack),
        );
    }
}
