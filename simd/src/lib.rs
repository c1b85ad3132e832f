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
//! | [`int8`] | the int8 tiles and windows: [`dot_2x2`](int8::dot_2x2), [`dot_1x4`](int8::dot_1x4), [`depthwise`](int8::depthwise), [`window_max`](int8::window_max), [`window_sum`](int8::window_sum) |
//! | [`map`] | element-wise f32 maps: [`axpy`](map::axpy) (`y ← y + α·x`), [`bias_act`](map::bias_act) (`y ← act(y + bias)` per row: identity, ReLU, clamp / ReLU6, leaky ReLU) |
//! | [`im2col`] | [`im2col`](im2col::im2col): receptive fields of NHWC images as contiguous rows, f32 or int8 (padding filled with a given value) |
//! | [`math`] | element-wise math over slices ([`sqrt_in_place`](math::sqrt_in_place)) |
//! | [`requant`] | [`requantize_i8`](requant::requantize_i8): int32 accumulators to int8 (TFLite's multiplier, zero point, clamp), exact |
//! | [`tune`] | the GEMM's tile and block sizes |
//! | [`isa`] | which instruction-set path runs ([`isa::active`]), and forcing a lower one ([`isa::set_limit`], `MOTE_SIMD`) |
//! | `arch` | the micro-kernels per instruction set and the dispatch point (table below) |
//!
//! | path | chosen | micro-kernels | exactness against scalar |
//! |---|---|---|---|
//! | scalar | always compiled | all | the reference |
//! | x86-64 AVX2 + FMA | at run time (CPUID) | GEMM tile (6 × 16), f32 dot, square root, int8 dot products, f32 maps | int8 bit for bit; f32 fused, within the tile's / dot's / `axpy`'s rounding; bias + activation maps bit for bit |
//! | x86-64 AVX-512 | at run time (CPUID) | GEMM tile (6 × 32) | fused, as AVX2 (not run on this project's machines: none has AVX-512) |
//! | aarch64 NEON (`+dotprod`: SDOT) | at compile time | GEMM tile (4 × 4/8/16), f32 dot, square root, int8 dot products, f32 maps | int8 bit for bit; f32 fused, same bits as AVX2 |
//! | Cortex-M FPU (bare-metal hard-float Cortex-M4F/M7/M33/M55/M85) | at compile time (`simd/build.rs`) | GEMM tile (4 × 4, `VFMA.F32` in the `s` registers) | fused, within `2·γ_n·Σ\|aᵢ·bᵢ\|` |
//! | Arm DSP (Cortex-M4/M7/M33/M55, Armv7-A/R) | at compile time (`simd/build.rs`) | int8 dot products | bit for bit |
//! | Arm Helium, MVE (Cortex-M55/M85, `+mve` / `+mve.fp`) | at compile time (`simd/build.rs`) | int8 dot products and layer tiles (GEMV, GEMM 2 × N, depthwise, pooling windows), requantisation (per tensor and per channel); with `+mve.fp` the f32 dot, the 4 × 4 GEMM tile and the f32 maps | int8 bit for bit; f32 fused, within `2·γ_n·Σ\|aᵢ·bᵢ\|` |
//!
//! Every public function validates its arguments and returns
//! [`Error`](mote_core::Error) on a mismatch; nothing panics on caller input and
//! nothing allocates.
#![no_std]
#![warn(missing_docs)]

pub(crate) mod arch;

pub mod dot;
pub mod gemm;
pub mod im2col;
pub mod int8;
pub mod isa;
pub mod map;
pub mod math;
pub mod requant;
pub mod tune;
