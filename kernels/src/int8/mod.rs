//! Integer inference kernels with int8 activations: TFLite's int8 scheme (asymmetric
//! int8 activations, symmetric per-channel int8 weights, int32 bias, fixed-point
//! requantisation), bit-exact with the TFLite reference kernels that CMSIS-NN and
//! TFLite Micro follow. Inference only; one module per layer, named as in [`crate::f32`].

pub mod activation;
pub mod concat;
pub mod conv;
pub mod conv_transpose;
pub mod dense;
pub mod depthwise;
pub mod elementwise;
pub mod gru;
pub mod lstm;
pub mod pad;
pub mod pool;
pub mod quantize;
pub mod softmax;
