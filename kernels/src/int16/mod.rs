//! Integer inference kernels with int16 activations: the "16x8" scheme (symmetric int16
//! activations, int8 weights, int64 bias), bit-exact with the TFLite reference kernels.
//! Inference only; one module per layer, named as in [`crate::f32`].

pub mod activation;
pub mod conv;
pub mod dense;
pub mod depthwise;
pub mod elementwise;
pub mod gru;
pub mod lstm;
pub mod pool;
pub mod softmax;
