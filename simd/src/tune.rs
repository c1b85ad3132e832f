//! The GEMM's tile and block sizes: the only tunables of mote-simd, in one place.
//!
//! [`sgemm`](crate::gemm::sgemm) walks `C ← α·A·B + β·C` in three nested blocks:
//!
//! 1. the shared dimension `k` in blocks of [`KC`]: each block's partial products are
//!    summed in registers, then added to `C` (the first block applies `β`);
//! 2. the rows of `A` and `C` in blocks of [`MC`]: the `MC × KC` block of `A` is re-read
//!    once per [`NR`]-column panel of `B`, so it should stay in L1/L2;
//! 3. the columns of `B` and `C` in panels of [`NR`]: each `KC × NR` panel of `B` is
//!    packed into a contiguous stack buffer of `KC·NR` floats and then swept by the
//!    register tile down the `MC` rows, [`MR`] rows at a time.
//!
//! The register tile is `MR × NR` accumulators. `A` is never packed: the tile reads one
//! element of each of its `MR` rows per step (a broadcast), and one contiguous row of
//! `NR` floats of the packed panel (a vector load), so any strides of `A` work.
//!
//! | target | `MR × NR` | `KC` | `MC` | stack for the packed panel |
//! |---|---|---|---|---|
//! | bare metal (`target_os = "none"`, Cortex-M: 32 single-precision FPU registers) | 4 × 4 | 128 | 32 | 2 KiB |
//! | everything else (16 SIMD registers of ≥ 4 lanes) | 4 × 8 | 256 | 64 | 16 KiB (sized for the wide panel) |
//! | x86-64 with AVX2 + FMA, products ≥ 16 columns wide | 4 × 16 ([`NR_WIDE`]) | 256 | 64 | 16 KiB |
//!
//! On a Cortex-M4F/M7 the 16 accumulators plus 4 + 1 operands fit the 32 `s` registers;
//! on x86-64 (SSE2 baseline) and aarch64 the 4 × 8 tile is eight 4-lane accumulators.
//!
//! Measured on x86-64 (AMD EPYC, SSE2 baseline, best of 200 runs) for the dense-layer
//! shapes 64×128×784 (`A·Bᵀ`), 64×784×128 and the 3×3 convolution's 784×16×144:
//! 4 × 8 / `KC` 256 / `MC` 64 gives 28–30 GFLOP/s; `KC` from 128 to 384 and `MC` from
//! 32 to 128 change that by under 8 %; a 6 × 8 tile is 5 % slower (SSE's 16 registers
//! spill), 8 × 4 about 25 % slower (twice the broadcasts per product).

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
/// Rows of `A` per block.
#[cfg(not(target_os = "none"))]
pub const MC: usize = 64;

/// Columns of the wide register tile, used for products at least this wide on paths
/// with 16 vector registers of 8 lanes (x86-64 AVX2): `MR × 16` keeps two accumulators
/// per row, so each broadcast of `A` feeds two fused multiply-adds. Bare-metal targets
/// have no such path (`NR_WIDE = NR`). The packed panel on the stack is `KC·NR_WIDE`
/// floats (16 KiB off bare metal).
#[cfg(not(target_os = "none"))]
pub const NR_WIDE: usize = 16;
/// Columns of the wide register tile (the same as [`NR`] on bare metal).
#[cfg(target_os = "none")]
pub const NR_WIDE: usize = NR;

// The micro-kernel dispatch instantiates row counts 1..=8.
const _: () = assert!(MR >= 1 && MR <= 8 && NR >= 1 && NR_WIDE >= NR && KC >= 1 && MC >= MR);
