//! # mote-kernels
//!
//! Every layer of mote as free functions over slices and small `Copy` parameter
//! structs, in the style of CMSIS-NN: f32 forward and backward, int8/int16 inference,
//! losses, optimisers, and the executor that runs a `.mote` model inside a
//! caller-provided arena. No allocation: callers pass outputs and scratch.
//!
//! Conventions, shared by every kernel:
//! - layouts are NHWC for activations, OHWI for conv weights, `1HW(C·multiplier)` for
//!   depthwise weights, `[out][in]` for dense weights (TFLite's, so models carry over);
//! - shapes are validated once at the top of each function and any mismatch returns
//!   [`Error`](mote_core::Error) naming the kernel and argument; nothing panics on
//!   caller input;
//! - kernels that need scratch memory expose `scratch_len(&params)`;
//! - backward kernels *accumulate* (`+=`) into gradient buffers, which the caller
//!   zeroes; optimisers update parameters in place from gradients and state slices.
#![no_std]
#![warn(missing_docs)]

pub mod exec;
pub mod f32;
pub mod int16;
pub mod int8;
pub mod loss;
pub mod math;
pub mod optim;
