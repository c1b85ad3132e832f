//! # mote-simd
//!
//! The few hot micro-kernels of mote, one module per instruction set beside a scalar
//! reference that is always compiled, behind one dispatch surface. This is the only
//! crate of mote where `unsafe` is expected (unchecked indexing after validation,
//! inline assembly and intrinsics), each block with its `// SAFETY:` line.
//!
//! | module | what it holds |
//! |---|---|
//! | [`gemm`] | [`sgemm`](gemm::sgemm): `C ← α·A·B + β·C` over strided views, cache-blocked |
//! | [`dot`] | [`sdot`](dot::sdot): the f32 dot product; [`dot_i8`](dot::dot_i8), [`dot_i8_offset`](dot::dot_i8_offset): the int8 ones (wrapping i32) |
//! | [`math`] | element-wise math over slices ([`sqrt_in_place`](math::sqrt_in_place)) |
//! | [`tune`] | the GEMM's tile and block sizes |
//! | [`isa`] | which instruction-set path runs ([`isa::active`]), and forcing a lower one ([`isa::set_limit`], `MOTE_SIMD`) |
//! | `arch` | the micro-kernels per instruction set (`scalar`, x86-64 `avx2+fma` chosen at run time, Arm DSP `arm_dsp` and aarch64 `aarch64_neon` — NEON, and SDOT with `+dotprod` — at compile time) and the dispatch point |
//!
//! Every public function validates its arguments and returns
//! [`Error`](mote_core::Error) on a mismatch; nothing panics on caller input and
//! nothing allocates.
#![no_std]
#![warn(missing_docs)]

pub(crate) mod arch;

pub mod dot;
pub mod gemm;
pub mod isa;
pub mod math;
pub mod tune;
