//! # mote-kernels
//!
//! Every layer of mote as free functions over slices and small `Copy` parameter
//! structs, in the style of CMSIS-NN: f32 forward and backward, int8/int16 inference,
//! losses, optimisers, and the executor that runs a `.mote` model inside a
//! caller-provided arena. No allocation: callers pass outputs and scratch.
//!
//! The kernels arrive issue by issue; see the repository's docs for what exists.
#![no_std]
#![warn(missing_docs)]
