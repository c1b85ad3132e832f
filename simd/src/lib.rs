//! # mote-simd
//!
//! The few hot micro-kernels of mote (dot products, GEMM/GEMV tiles, im2col, vector
//! maps), one module per instruction set beside a scalar reference that is always
//! compiled, behind one dispatch surface. This is the only crate of mote where `unsafe`
//! is expected (inline assembly and intrinsics), each block with its `// SAFETY:` line.
//!
//! The micro-kernels arrive with the kernels that need them; the crate exists now so
//! that the dependency direction core ← simd ← kernels is fixed from the start.
#![no_std]
#![warn(missing_docs)]
