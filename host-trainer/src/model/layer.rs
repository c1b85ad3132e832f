//! What every built layer is: a [`Layer`] runs forward and backward over a batch with
//! the model's parameters, which it never owns, so that several threads can run the
//! same layer on different parts of a batch at once.

use mote_core::rng::Rng;
use std::fmt;

/// A named tensor of the model: trainable parameters (weights, biases, γ, β) or
/// buffers (batch-norm running statistics).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// `<layer name>/<role>`, e.g. `conv2d_0/weights`.
    pub name: String,
    /// Shape, in the kernel's layout (OHWI, `[out][in]`, …).
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
    /// Index of the top-level layer it belongs to (for freezing).
    pub layer: usize,
    /// L1 penalty on it.
    pub l1: f32,
    /// L2 penalty on it.
    pub l2: f32,
}

/// What a layer reads and writes besides its input and output during one pass.
pub struct Ctx<'a> {
    /// Samples in this (part of the) batch.
    pub batch: usize,
    /// Training (batch statistics, dropout) or inference.
    pub train: bool,
    /// The model's trainable parameters.
    pub params: &'a [Tensor],
    /// This pass's copy of the model's buffers (running statistics).
    pub buffers: &'a mut [Vec<f32>],
    /// Gradients of `params`, accumulated (`+=`) by backward; empty in forward-only
    /// passes.
    pub grads: &'a mut [Vec<f32>],
    /// Randomness for dropout.
    pub rng: &'a mut Rng,
}

/// Per-layer memory one pass keeps between forward and backward, reused across
/// batches.
#[derive(Debug, Default, Clone)]
pub struct Cache {
    /// Values saved by forward for backward (batch statistics, …).
    pub saved: Vec<f32>,
    /// Kernel scratch (im2col columns, …).
    pub scratch: Vec<f32>,
    /// Dropout mask.
    pub mask: Vec<u8>,
}

impl Cache {
    /// `scratch` with at least `n` values.
    pub fn scratch(&mut self, n: usize) -> &mut [f32] {
        if self.scratch.len() < n {
            self.scratch.resize(n, 0.0);
        }
        &mut self.scratch[..n]
    }
}

/// Sizes a summary reports for one layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Trainable parameters.
    pub params: usize,
    /// Multiply-accumulates per sample, forward.
    pub macs: u64,
}

/// A built layer.
pub trait Layer: Send + Sync + fmt::Debug {
    /// The spec's `type`, for summaries and errors.
    fn kind(&self) -> &'static str;
    /// Shape of one output sample.
    fn output_shape(&self) -> &[usize];
    /// Parameter count and MACs per sample.
    fn cost(&self) -> Cost;
    /// For layers with kinks (ReLU and its relatives, max pooling): a hash of which
    /// side of each kink the batch sits on, so that a step whose hash differs is known
    /// to have crossed one (there finite differences measure one-sided slopes; see
    /// `mote gradcheck`). `None` for smooth layers.
    fn kink_pattern(&self, _input: &[f32], _output: &[f32]) -> Option<u64> {
        None
    }
    /// What the layer is, for export (quantisation, code generation); layers an
    /// integer model cannot run say [`Lowered::Unsupported`](super::lowered::Lowered::Unsupported).
    fn lowered(&self) -> super::lowered::Lowered {
        super::lowered::Lowered::Unsupported
    }
    /// Computes `output` (`batch × output_shape`) from `input`.
    fn forward(
        &self,
        cx: &mut Ctx<'_>,
        input: &[f32],
        output: &mut [f32],
        cache: &mut Cache,
    ) -> crate::Result<()>;
    /// Accumulates the gradients of the parameters into `cx.grads` and, when asked,
    /// of the input into `grad_input`, from `grad_output`; `input`, `output` and `cache`
    /// are those of the matching training forward.
    fn backward(
        &self,
        cx: &mut Ctx<'_>,
        input: &[f32],
        output: &[f32],
        grad_output: &[f32],
        grad_input: Option<&mut [f32]>,
        cache: &mut Cache,
    ) -> crate::Result<()>;
}

/// The backward of a layer without parameters: runs `kernel` on the input gradient
/// when one is wanted, naming `site` in its errors.
pub fn input_grad(
    site: &super::build::Site,
    dx: Option<&mut [f32]>,
    kernel: impl FnOnce(&mut [f32]) -> mote_core::Result<()>,
) -> crate::Result<()> {
    match dx {
        Some(dx) => kernel(dx).map_err(|e| site.kernel(e)),
        None => Ok(()),
    }
}

/// FNV-1a over a sequence of bits, for [`Layer::kink_pattern`].
pub fn hash_bits(bits: impl Iterator<Item = bool>) -> u64 {
    bits.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
