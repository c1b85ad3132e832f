//! What a built layer is, in the terms an exporter needs: its kernel parameters and
//! the indices of its tensors. Layers describe themselves ([`Layer::lowered`](super::layer::Layer::lowered))
//! so the quantiser never guesses from names.

use mote_kernels::f32::activation::Activation;
use mote_kernels::f32::{conv, conv_transpose, depthwise, pool};

/// A layer described for export. Tensor fields are indices into the model's
/// parameters (`params`) or, for running statistics, its buffers (`buffers`).
#[derive(Debug, Clone)]
pub enum Lowered {
    /// A 2-D (or 1-D, height 1) convolution of one image; weights OHWI.
    Conv {
        /// Geometry (batch 1).
        params: conv::Params,
        /// Weights.
        weights: usize,
        /// Bias.
        bias: Option<usize>,
    },
    /// A depthwise convolution of one image; weights `[kh, kw, channels·multiplier]`.
    Depthwise {
        /// Geometry (batch 1).
        params: depthwise::Params,
        /// Weights.
        weights: usize,
        /// Bias.
        bias: Option<usize>,
    },
    /// A transposed convolution of one image; weights `[out_c, kh, kw, in_c]`.
    Transpose {
        /// Geometry (batch 1).
        params: conv_transpose::Params,
        /// Weights.
        weights: usize,
        /// Bias.
        bias: Option<usize>,
    },
    /// A dense layer; weights `[outputs][inputs]`.
    Dense {
        /// Features in.
        inputs: usize,
        /// Features out.
        outputs: usize,
        /// Weights.
        weights: usize,
        /// Bias.
        bias: Option<usize>,
    },
    /// An LSTM over `[steps, inputs]` samples; weights `[4·units][inputs]` and
    /// `[4·units][units]`, gate blocks `i, f, g, o`.
    Lstm {
        /// Time steps.
        steps: usize,
        /// Features per step.
        inputs: usize,
        /// Hidden units.
        units: usize,
        /// Outputs every step (else the last).
        return_sequences: bool,
        /// Reads the sequence backwards.
        reverse: bool,
        /// Constant added to the forget gate's pre-activation.
        forget_bias: f32,
        /// Input weights.
        weights: usize,
        /// Recurrent weights.
        recurrent: usize,
        /// Bias.
        bias: Option<usize>,
    },
    /// A windowed pool of one image.
    Pool(pool::Params),
    /// A global pool of one image.
    GlobalPool(pool::Global),
    /// Batch normalisation over the last axis with running statistics.
    BatchNorm {
        /// Channels (last axis).
        channels: usize,
        /// ε.
        epsilon: f32,
        /// γ (params).
        gamma: usize,
        /// β (params).
        beta: usize,
        /// Running mean (buffers).
        mean: usize,
        /// Running variance (buffers).
        var: usize,
    },
    /// An element-wise activation.
    Activation(Activation),
    /// Softmax over the last axis.
    Softmax,
    /// Passes its input through at inference (dropout).
    Identity,
    /// Changes the shape only (flatten, reshape).
    Reshape,
    /// Nothing an integer model can run (yet).
    Unsupported,
}
