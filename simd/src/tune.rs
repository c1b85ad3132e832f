//! The GEMM's tile and block sizes: the only tunables of mote-simd, in one place.
//!
//! [`sgemm`](crate::gemm::sgemm) walks `C ← α·A·B + β·C` in the five loops of Goto's
//! GEMM:
//!
//! 1. the shared dimension `k` in blocks of [`KC`]: each block's partial products are
//!    summed in registers, then added to `C` (the first block applies `β`);
//! 2. the columns of `B` and `C` in blocks of [`NC`]: the `KC × NC` block of `B` is
//!    packed once into panels of `NR` contiguous columns, and reused by every row block;
//! 3. the rows of `A` and `C` in blocks of [`MC`]: with `std`, the `MC × KC` block of `A`
//!    is packed into micro-panels of `MR` rows (it then stays in L2);
//! 4. and 5. every panel of `B` (kept in L1) meets every micro-panel of `A` in the
//!    `MR × NR` register tile.
//!
//! Without `std` (bare metal) there is no room to keep: `NC` is one panel (`KC × NR`
//! floats on the stack) and `A` is read in place — the tile reads one element of each
//! of its rows per step (a broadcast), so any strides of `A` work.
//!
//! | path | `MR × NR` | `KC` | `MC` | `NC` | packing buffers |
//! |---|---|---|---|---|---|
//! | bare metal (`target_os = "none"`, Cortex-M: 32 single-precision FPU registers; hand-written `VFMA.F32` tile on the M4F/M7/M33/M55, Helium's on the M55/M85) | 4 × 4 | 128 | 32 | `NR` | 2 KiB of stack |
//! | host scalar (SSE2 / NEON baseline: 16 registers of 4 lanes) | 4 × 8 | 256 | 96 | 1024 | with `std`: 1 MiB + 96 KiB per thread, kept; else 32 KiB of stack |
//! | x86-64 AVX2 + FMA, products ≥ 16 columns wide | 6 × 16 ([`MR_AVX2`] × [`NR_AVX2`]) | 256 | 96 | 1024 | as above |
//! | x86-64 AVX-512, products ≥ 32 columns wide | 6 × 32 ([`MR_AVX512`] × [`NR_AVX512`]) | 256 | 96 | 1024 | as above |
//! | aarch64 NEON, products ≥ 16 columns wide | 4 × 16 ([`MR`] × [`NR_NEON`]) | 256 | 96 | 1024 | as above |
//!
//! On a Cortex-M4F/M7 the 16 accumulators plus 4 + 1 operands fit the 32 `s` registers;
//! the FPU tile (`arch/arm_fpu.rs`) fills all 32 (16 accumulators, two panel rows, two
//! steps of `A`) to take two steps of `k` per loop iteration: 1.22 instructions per MAC
//! in the loop, 1.65 for a whole 32×32×32 product on the M4F (scalar tile: 2.48).
//! AVX2's 6 × 16 tile is twelve 8-lane accumulators, two loads of `B` and one broadcast
//! of `A` per step: 15 of the 16 YMM registers, 12 FMAs per 8 loads. AVX-512's 6 × 32 is
//! the same shape over 16-lane ZMM registers (15 of 32). aarch64's 4 × 16 tile is
//! sixteen of its 32 q registers, plus four for the panel row (not measured on aarch64
//! hardware yet).
//!
//! Measured on x86-64 (AMD EPYC, 2 shared cores): see docs/benchmarks.md, "SGEMM against
//! OpenBLAS", and `benches/sgemm/run.sh`. The earlier one-level blocking (`B` panels
//! re-packed for every 64-row block of `A`, `A` read in place, 4 × 16 tile) ran at
//! 0.82–0.93 of OpenBLAS for n = 256…1024 in the same run.

/// Rows of the register tile (rows of `A` and `C` per micro-kernel call).
#[cfg(target_os = "none")]
pub const MR: usize = 4;
/// Columns of the register tile (columns of the packed `B` panel).
#[cfg(target_os = "none")]
pub const NR: usize = 4;
/// Depth of a block along `k`.
#[cfg(target_os = "none")]
pub const KC: usize = 128;
/// Rows of `A` per block.
#[cfg(target_os = "none")]
pub const MC: usize = 32;

/// Rows of the register tile (rows of `A` and `C` per micro-kernel call).
#[cfg(not(target_os = "none"))]
pub const MR: usize = 4;
/// Columns of the register tile (columns of the packed `B` panel).
#[cfg(not(target_os = "none"))]
pub const NR: usize = 8;
/// Depth of a block along `k`.
#[cfg(not(target_os = "none"))]
pub const KC: usize = 256;
/// Rows of `A` per block (a multiple of every `MR`, so only the last block of a product
/// has a short micro-panel).
#[cfg(not(target_os = "none"))]
pub const MC: usize = 96;

/// Columns of `B` packed at once with `std` (a multiple of every `NR`).
pub const NC: usize = 1024;

/// Rows of the AVX2 + FMA tile.
pub const MR_AVX2: usize = 6;
/// Columns of the AVX2 + FMA tile (two 8-lane vectors).
pub const NR_AVX2: usize = 16;
/// Rows of the AVX-512 tile.
pub const MR_AVX512: usize = 6;
/// Columns of the AVX-512 tile (two 16-lane vectors).
pub const NR_AVX512: usize = 32;

/// Columns of the aarch64 NEON wide tile (four 4-lane vectors per row).
pub const NR_NEON: usize = 16;

/// The widest panel any path of this target uses: the stack panel without `std` is
/// `KC × NR_MAX` floats.
#[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
pub const NR_MAX: usize = NR_AVX512;
/// The widest panel any path of this target uses: the stack panel without `std` is
/// `KC × NR_MAX` floats.
#[cfg(all(target_arch = "aarch64", not(target_os = "none")))]
pub const NR_MAX: usize = NR_NEON;
/// The widest panel any path of this target uses: the stack panel without `std` is
/// `KC × NR_MAX` floats.
#[cfg(not(any(
    all(target_arch = "x86_64", not(target_os = "none")),
    all(target_arch = "aarch64", not(target_os = "none"))
)))]
pub const NR_MAX: usize = NR;

// The micro-kernel dispatch instantiates row counts 1..=8.
const _: () = assert!(MR >= 1 && MR <= 8 && NR >= 1 && NR_MAX >= NR && KC >= 1 && MC >= MR);
const _: () = assert!(MC.is_multiple_of(MR) && NC.is_multiple_of(NR));
#[cfg(not(target_os = "none"))]
const _: () = assert!(MC.is_multiple_of(MR_AVX2) && MC.is_multiple_of(MR_AVX512));
#[cfg(not(target_os = "none"))]
const _: () = assert!(
    NC.is_multiple_of(NR_AVX2) && NC.is_multiple_of(NR_AVX512) && NC.is_multiple_of(NR_NEON)
);
