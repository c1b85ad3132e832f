//! The model part of a spec: the input shape and the layers, as written in TOML (see
//! docs/spec.md) or built with [`crate::model::Builder`].
//!
//! Every layer kind mote-kernels offers has a spec here. Sizes that may differ per axis
//! (`kernel`, `stride`, …) take one number or a pair `[h, w]`.

use serde::{Deserialize, Serialize};

/// One number for both axes, or `[h, w]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Pair {
    /// The same value for height and width.
    One(usize),
    /// `[height, width]`.
    Two([usize; 2]),
}

impl Pair {
    /// `[h, w]`.
    pub fn hw(self) -> [usize; 2] {
        match self {
            Self::One(v) => [v, v],
            Self::Two(v) => v,
        }
    }
}

/// How a window layer pads its input: `"valid"`, `"same"` or an explicit amount on
/// every side (PyTorch's `padding = n`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PaddingSpec {
    /// `"valid"` or `"same"`.
    Named(String),
    /// Zeros added before and after each spatial axis.
    Amount(usize),
}

impl Default for PaddingSpec {
    fn default() -> Self {
        Self::Named("valid".into())
    }
}

/// How a layer's weights start: Keras's and PyTorch's initialisers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Glorot/Xavier uniform, `U(±√(6/(fan_in+fan_out)))`, zero bias (Keras's default).
    #[default]
    GlorotUniform,
    /// Glorot/Xavier normal, `N(0, 2/(fan_in+fan_out))`, zero bias.
    GlorotNormal,
    /// He/Kaiming uniform, `U(±√(6/fan_in))`, zero bias.
    HeUniform,
    /// He/Kaiming normal, `N(0, 2/fan_in)`, zero bias.
    HeNormal,
    /// LeCun normal, `N(0, 1/fan_in)`, zero bias.
    LecunNormal,
    /// PyTorch's default for `Linear`/`Conv`: weights and bias `U(±1/√fan_in)`.
    Torch,
    /// A random orthogonal matrix (`[out][in]` rows orthonormal), zero bias; for
    /// recurrent weights.
    Orthogonal,
    /// All zeros.
    Zeros,
}

fn one() -> usize {
    1
}
fn pair_one() -> Pair {
    Pair::One(1)
}
fn yes() -> bool {
    true
}
fn orthogonal() -> Init {
    Init::Orthogonal
}

/// What every layer with weights has: initialiser, bias and penalties.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Initialiser.
    pub init: Init,
    /// Whether there is a bias.
    pub bias: bool,
    /// L1 penalty on the weights.
    pub l1: f32,
    /// L2 penalty on the weights.
    pub l2: f32,
}

/// One layer, or a block of layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// Fully connected: `[features] → [units]` (flatten images first).
    Dense {
        /// Name in summaries, checkpoints and `freeze`; `dense_<i>` when absent.
        name: Option<String>,
        /// Output features.
        units: usize,
        /// Activation applied to the output (`"relu"`, …); none when absent.
        activation: Option<String>,
        /// Initialiser of the weights (and bias, for `torch`).
        #[serde(default)]
        init: Init,
        /// Whether the layer adds a learned bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// L1 penalty `λ·Σ|w|` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l1: f32,
        /// L2 penalty `λ·Σw²` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l2: f32,
    },
    /// 2-D convolution over `[h, w, c]`.
    Conv2d {
        /// Layer name.
        name: Option<String>,
        /// Output channels.
        filters: usize,
        /// Kernel size.
        kernel: Pair,
        /// Stride.
        #[serde(default = "pair_one")]
        stride: Pair,
        /// Dilation.
        #[serde(default = "pair_one")]
        dilation: Pair,
        /// Padding.
        #[serde(default)]
        padding: PaddingSpec,
        /// Channel groups (`filters` and input channels divisible by it).
        #[serde(default = "one")]
        groups: usize,
        /// Activation.
        activation: Option<String>,
        /// Initialiser of the weights (and bias, for `torch`).
        #[serde(default)]
        init: Init,
        /// Whether the layer adds a learned bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// L1 penalty `λ·Σ|w|` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l1: f32,
        /// L2 penalty `λ·Σw²` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l2: f32,
    },
    /// 1-D convolution over `[length, c]`.
    Conv1d {
        /// Layer name.
        name: Option<String>,
        /// Output channels.
        filters: usize,
        /// Kernel length.
        kernel: usize,
        /// Stride.
        #[serde(default = "one")]
        stride: usize,
        /// Dilation.
        #[serde(default = "one")]
        dilation: usize,
        /// Padding.
        #[serde(default)]
        padding: PaddingSpec,
        /// Activation.
        activation: Option<String>,
        /// Initialiser of the weights (and bias, for `torch`).
        #[serde(default)]
        init: Init,
        /// Whether the layer adds a learned bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// L1 penalty `λ·Σ|w|` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l1: f32,
        /// L2 penalty `λ·Σw²` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l2: f32,
    },
    /// Depthwise 2-D convolution: each input channel convolved with `multiplier` filters.
    DepthwiseConv2d {
        /// Layer name.
        name: Option<String>,
        /// Filters per input channel.
        #[serde(default = "one")]
        multiplier: usize,
        /// Kernel size.
        kernel: Pair,
        /// Stride.
        #[serde(default = "pair_one")]
        stride: Pair,
        /// Dilation.
        #[serde(default = "pair_one")]
        dilation: Pair,
        /// Padding.
        #[serde(default)]
        padding: PaddingSpec,
        /// Activation.
        activation: Option<String>,
        /// Initialiser of the weights (and bias, for `torch`).
        #[serde(default)]
        init: Init,
        /// Whether the layer adds a learned bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// L1 penalty `λ·Σ|w|` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l1: f32,
        /// L2 penalty `λ·Σw²` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l2: f32,
    },
    /// Transposed 2-D convolution (learned up-sampling).
    Conv2dTranspose {
        /// Layer name.
        name: Option<String>,
        /// Output channels.
        filters: usize,
        /// Kernel size.
        kernel: Pair,
        /// Stride.
        #[serde(default = "pair_one")]
        stride: Pair,
        /// Dilation.
        #[serde(default = "pair_one")]
        dilation: Pair,
        /// Padding (of the equivalent convolution).
        #[serde(default)]
        padding: PaddingSpec,
        /// Extra rows/columns added after the output (PyTorch's `output_padding`).
        #[serde(default)]
        output_padding: Option<Pair>,
        /// Activation.
        activation: Option<String>,
        /// Initialiser of the weights (and bias, for `torch`).
        #[serde(default)]
        init: Init,
        /// Whether the layer adds a learned bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// L1 penalty `λ·Σ|w|` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l1: f32,
        /// L2 penalty `λ·Σw²` on the weights (not the bias), added to the loss.
        #[serde(default)]
        l2: f32,
    },
    /// Max pooling over `[h, w, c]`.
    MaxPool2d {
        /// Layer name.
        name: Option<String>,
        /// Window size.
        size: Pair,
        /// Stride; the window size when absent.
        stride: Option<Pair>,
        /// Padding.
        #[serde(default)]
        padding: PaddingSpec,
    },
    /// Average pooling over `[h, w, c]` (padding taps not counted).
    AvgPool2d {
        /// Layer name.
        name: Option<String>,
        /// Window size.
        size: Pair,
        /// Stride; the window size when absent.
        stride: Option<Pair>,
        /// Padding.
        #[serde(default)]
        padding: PaddingSpec,
    },
    /// Max pooling over `[length, c]`.
    MaxPool1d {
        /// Layer name.
        name: Option<String>,
        /// Window length.
        size: usize,
        /// Stride; the window length when absent.
        stride: Option<usize>,
        /// Padding.
        #[serde(default)]
        padding: PaddingSpec,
    },
    /// Average pooling over `[length, c]`.
    AvgPool1d {
        /// Layer name.
        name: Option<String>,
        /// Window length.
        size: usize,
        /// Stride; the window length when absent.
        stride: Option<usize>,
        /// Padding.
        #[serde(default)]
        padding: PaddingSpec,
    },
    /// Mean over all positions: `[h, w, c]` or `[length, c]` → `[c]`.
    GlobalAvgPool {
        /// Layer name.
        name: Option<String>,
    },
    /// Maximum over all positions → `[c]`.
    GlobalMaxPool {
        /// Layer name.
        name: Option<String>,
    },
    /// Up-sampling of `[h, w, c]` by integer factors.
    Upsample {
        /// Layer name.
        name: Option<String>,
        /// Scale factor per axis.
        scale: Pair,
        /// `"nearest"` (default) or `"bilinear"`.
        #[serde(default)]
        mode: Option<String>,
    },
    /// Batch normalisation over the last axis (PyTorch conventions).
    BatchNorm {
        /// Layer name.
        name: Option<String>,
        /// Weight of the batch statistics in the running ones; PyTorch's 0.1 by default.
        momentum: Option<f32>,
        /// Added to the variance; 1e-5 by default.
        epsilon: Option<f32>,
    },
    /// Layer normalisation over the last axis.
    LayerNorm {
        /// Layer name.
        name: Option<String>,
        /// Added to the variance; 1e-5 by default.
        epsilon: Option<f32>,
    },
    /// Inverted dropout (training only).
    Dropout {
        /// Layer name.
        name: Option<String>,
        /// Probability of zeroing each value, in `[0, 1)`.
        rate: f32,
    },
    /// An activation on its own (`"relu"`, `"leaky_relu(0.2)"`, …).
    Activation {
        /// Layer name.
        name: Option<String>,
        /// The function.
        function: String,
    },
    /// Softmax over the last axis (use it for probabilities; training from logits
    /// without it is more stable).
    Softmax {
        /// Layer name.
        name: Option<String>,
    },
    /// Flattens a sample to one axis (a view: no copy in the math).
    Flatten {
        /// Layer name.
        name: Option<String>,
    },
    /// Reshapes a sample (same number of values).
    Reshape {
        /// Layer name.
        name: Option<String>,
        /// The new sample shape.
        shape: Vec<usize>,
    },
    /// Long short-term memory over `[steps, features]`: gates `i, f, g, o` (Keras' and
    /// PyTorch's order); `[units]`, or `[steps, units]` with `return_sequences`.
    Lstm {
        /// Layer name.
        name: Option<String>,
        /// Hidden units.
        units: usize,
        /// Output every step's hidden state (to stack another recurrent layer).
        #[serde(default)]
        return_sequences: bool,
        /// Read the sequence from its end (the backward half of a bidirectional pair:
        /// a `branch` of a forward and a backward layer).
        #[serde(default)]
        go_backwards: bool,
        /// Initialiser of the input weights.
        #[serde(default)]
        init: Init,
        /// Initialiser of the recurrent weights (orthogonal by default, as Keras).
        #[serde(default = "orthogonal")]
        recurrent_init: Init,
        /// Whether the layer has a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// Start the forget gate's bias at 1 (Keras' `unit_forget_bias`, default true).
        #[serde(default = "yes")]
        unit_forget_bias: bool,
        /// A constant added to the forget gate (TensorFlow's `forget_bias`; default 0).
        #[serde(default)]
        forget_bias: f32,
        /// L1 penalty on the input and recurrent weights.
        #[serde(default)]
        l1: f32,
        /// L2 penalty on the input and recurrent weights.
        #[serde(default)]
        l2: f32,
    },
    /// Gated recurrent unit over `[steps, features]`: gates `z, r, n` (Keras' order).
    Gru {
        /// Layer name.
        name: Option<String>,
        /// Hidden units.
        units: usize,
        /// Output every step's hidden state.
        #[serde(default)]
        return_sequences: bool,
        /// Read the sequence from its end.
        #[serde(default)]
        go_backwards: bool,
        /// Initialiser of the input weights.
        #[serde(default)]
        init: Init,
        /// Initialiser of the recurrent weights.
        #[serde(default = "orthogonal")]
        recurrent_init: Init,
        /// Whether the layer has a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// Apply the reset gate after the recurrent product (Keras' default, PyTorch,
        /// cuDNN; default true) or before it (the original GRU).
        #[serde(default = "yes")]
        reset_after: bool,
        /// L1 penalty on the input and recurrent weights.
        #[serde(default)]
        l1: f32,
        /// L2 penalty on the input and recurrent weights.
        #[serde(default)]
        l2: f32,
    },
    /// Simple (Elman) recurrent layer over `[steps, features]`.
    SimpleRnn {
        /// Layer name.
        name: Option<String>,
        /// Hidden units.
        units: usize,
        /// `"tanh"` (default) or `"relu"`.
        activation: Option<String>,
        /// Output every step's hidden state.
        #[serde(default)]
        return_sequences: bool,
        /// Read the sequence from its end.
        #[serde(default)]
        go_backwards: bool,
        /// Initialiser of the input weights.
        #[serde(default)]
        init: Init,
        /// Initialiser of the recurrent weights.
        #[serde(default = "orthogonal")]
        recurrent_init: Init,
        /// Whether the layer has a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// L1 penalty on the input and recurrent weights.
        #[serde(default)]
        l1: f32,
        /// L2 penalty on the input and recurrent weights.
        #[serde(default)]
        l2: f32,
    },
    /// Token ids `[steps]` → rows of a learned table, `[steps, dim]`.
    Embedding {
        /// Layer name.
        name: Option<String>,
        /// Distinct token ids (ids must be integers in `[0, vocab)`).
        vocab: usize,
        /// Features per token.
        dim: usize,
        /// Initialiser of the table.
        #[serde(default)]
        init: Init,
    },
    /// Adds the sinusoidal positional encoding to `[steps, dim]`.
    PositionalEncoding {
        /// Layer name.
        name: Option<String>,
    },
    /// Multi-head self-attention over `[steps, dim]` (shape kept).
    MultiHeadAttention {
        /// Layer name.
        name: Option<String>,
        /// Attention heads.
        heads: usize,
        /// Features per head (default `dim / heads`).
        head_dim: Option<usize>,
        /// Each step attends only to itself and earlier steps.
        #[serde(default)]
        causal: bool,
        /// Initialiser of the projections.
        #[serde(default)]
        init: Init,
        /// Whether the projections have biases (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// A transformer encoder block over `[steps, dim]`: self-attention and a
    /// feed-forward network, each with a residual and a layer normalisation.
    TransformerEncoder {
        /// Layer name.
        name: Option<String>,
        /// Attention heads.
        heads: usize,
        /// Features per head (default `dim / heads`).
        head_dim: Option<usize>,
        /// Units of the feed-forward network's hidden layer.
        ff: usize,
        /// `"pre"` (default: the norms inside the residual branches) or `"post"`.
        norm: Option<String>,
        /// Each step attends only to itself and earlier steps.
        #[serde(default)]
        causal: bool,
        /// The feed-forward activation (default `"gelu"`).
        activation: Option<String>,
        /// The layer normalisations' ε (default 1e-5).
        epsilon: Option<f32>,
        /// Initialiser of the projections and feed-forward weights.
        #[serde(default)]
        init: Init,
    },
    /// `x + f(x)`: the block's layers must keep the shape.
    Residual {
        /// Layer name.
        name: Option<String>,
        /// The block.
        layers: Vec<LayerSpec>,
    },
    /// Parallel paths on the same input, their outputs concatenated along the last
    /// axis (Inception-style); spatial shapes must agree.
    Branch {
        /// Layer name.
        name: Option<String>,
        /// The paths (an empty path is the identity).
        paths: Vec<Vec<LayerSpec>>,
    },
}

impl LayerSpec {
    /// The `type` as written in the spec.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dense { .. } => "dense",
            Self::Conv2d { .. } => "conv2d",
            Self::Conv1d { .. } => "conv1d",
            Self::DepthwiseConv2d { .. } => "depthwise_conv2d",
            Self::Conv2dTranspose { .. } => "conv2d_transpose",
            Self::MaxPool2d { .. } => "max_pool2d",
            Self::AvgPool2d { .. } => "avg_pool2d",
            Self::MaxPool1d { .. } => "max_pool1d",
            Self::AvgPool1d { .. } => "avg_pool1d",
            Self::GlobalAvgPool { .. } => "global_avg_pool",
            Self::GlobalMaxPool { .. } => "global_max_pool",
            Self::Upsample { .. } => "upsample",
            Self::BatchNorm { .. } => "batch_norm",
            Self::LayerNorm { .. } => "layer_norm",
            Self::Dropout { .. } => "dropout",
            Self::Activation { .. } => "activation",
            Self::Softmax { .. } => "softmax",
            Self::Flatten { .. } => "flatten",
            Self::Reshape { .. } => "reshape",
            Self::Lstm { .. } => "lstm",
            Self::Gru { .. } => "gru",
            Self::SimpleRnn { .. } => "simple_rnn",
            Self::Embedding { .. } => "embedding",
            Self::PositionalEncoding { .. } => "positional_encoding",
            Self::MultiHeadAttention { .. } => "multi_head_attention",
            Self::TransformerEncoder { .. } => "transformer_encoder",
            Self::Residual { .. } => "residual",
            Self::Branch { .. } => "branch",
        }
    }

    /// Initialiser, bias and penalties of a layer with weights.
    pub fn weights(&self) -> Option<Weights> {
        match *self {
            Self::Dense {
                init, bias, l1, l2, ..
            }
            | Self::Conv2d {
                init, bias, l1, l2, ..
            }
            | Self::Conv1d {
                init, bias, l1, l2, ..
            }
            | Self::DepthwiseConv2d {
                init, bias, l1, l2, ..
            }
            | Self::Conv2dTranspose {
                init, bias, l1, l2, ..
            }
            | Self::Lstm {
                init, bias, l1, l2, ..
            }
            | Self::Gru {
                init, bias, l1, l2, ..
            }
            | Self::SimpleRnn {
                init, bias, l1, l2, ..
            } => Some(Weights { init, bias, l1, l2 }),
            _ => None,
        }
    }

    /// The name given in the spec, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Dense { name, .. }
            | Self::Conv2d { name, .. }
            | Self::Conv1d { name, .. }
            | Self::DepthwiseConv2d { name, .. }
            | Self::Conv2dTranspose { name, .. }
            | Self::MaxPool2d { name, .. }
            | Self::AvgPool2d { name, .. }
            | Self::MaxPool1d { name, .. }
            | Self::AvgPool1d { name, .. }
            | Self::GlobalAvgPool { name }
            | Self::GlobalMaxPool { name }
            | Self::Upsample { name, .. }
            | Self::BatchNorm { name, .. }
            | Self::LayerNorm { name, .. }
            | Self::Dropout { name, .. }
            | Self::Activation { name, .. }
            | Self::Softmax { name }
            | Self::Flatten { name }
            | Self::Reshape { name, .. }
            | Self::Lstm { name, .. }
            | Self::Gru { name, .. }
            | Self::SimpleRnn { name, .. }
            | Self::Embedding { name, .. }
            | Self::PositionalEncoding { name }
            | Self::MultiHeadAttention { name, .. }
            | Self::TransformerEncoder { name, .. }
            | Self::Residual { name, .. }
            | Self::Branch { name, .. } => name.as_deref(),
        }
    }
}

/// The architecture: what a model is, without its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Shape of one input sample: `[h, w, c]`, `[length, c]` or `[features]`.
    pub input: Vec<usize>,
    /// The layers, in order.
    pub layers: Vec<LayerSpec>,
}
