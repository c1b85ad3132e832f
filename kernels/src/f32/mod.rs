//! f32 kernels, forward and backward.
//!
//! Each module holds one layer family: a `Params` struct (`Copy`), `forward`,
//! `backward`, and `scratch_len` where the layer needs scratch. Reshape and flatten need
//! no kernel: they are new views of the same elements
//! ([`mote_core::Shape::reshape`], [`mote_core::Shape::flatten`]).

pub mod activation;
pub mod attention;
pub mod conv;
pub mod conv_transpose;
pub(crate) mod copy;
pub mod dense;
pub mod depthwise;
pub mod dropout;
pub mod elementwise;
pub mod embedding;
pub mod encoder;
pub mod norm;
pub mod pool;
pub mod recurrent;
pub mod upsample;
