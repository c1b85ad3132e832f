//! One module per instruction set, behind one dispatch point.
//!
//! Each module provides the same micro-kernels with the same contracts (see
//! [`scalar`], the reference every other path is compared with):
//!
//! - `tile::<R>`: an `R × NR` register tile of the GEMM (`R ≤ MR`, see
//!   [`tune`](crate::tune)), `k` steps over a packed `B` panel;
//! - `dot`: the f32 dot product of two equal-length slices.
//!
//! The `use` below is the dispatch point. Today only the portable scalar path exists;
//! instruction-set paths (`arm_dsp`, `arm_mve`, `aarch64_neon`, `x86_avx2`, …) will be
//! chosen here at compile time from `cfg(target_feature)` on bare-metal targets, and at
//! run time (cached) on x86-64 with `std`.

pub(crate) mod scalar;

pub(crate) use scalar::{Update, dot, tile};
