//! Models: a spec ([`spec`]) built into a tree of layers ([`graph`]) over named
//! tensors, run forward for inference and forward + backward for training.
//!
//! The layers own no weights: [`Model`] holds them, and each [`Pass`] holds what one
//! thread needs to run the model (activations, caches, gradients, its copy of the
//! running statistics), so several passes can share one model.

pub mod build;
pub mod graph;
pub mod init;
pub mod layer;
pub mod layers;
pub mod lowered;
pub mod spec;
pub mod summary;

use crate::{Error, Result};
use graph::{Seq, SeqWork};
use layer::{Ctx, Tensor};
use mote_core::rng::Rng;
pub use spec::{LayerSpec, ModelSpec};

/// A built model: its spec, its layers and its tensors.
#[derive(Debug)]
pub struct Model {
    /// What it was built from.
    pub spec: ModelSpec,
    /// The layers.
    pub seq: Seq,
    /// Trainable tensors.
    pub params: Vec<Tensor>,
    /// Non-trainable tensors (running statistics).
    pub buffers: Vec<Tensor>,
}

/// The memory one thread needs to run a model on a batch.
#[derive(Debug)]
pub struct Pass {
    work: SeqWork,
    /// This pass's copy of the model's buffers.
    pub buffers: Vec<Vec<f32>>,
    /// Gradients of the model's parameters, accumulated by [`Model::backward`].
    pub grads: Vec<Vec<f32>>,
    /// Randomness for dropout.
    pub rng: Rng,
    batch: usize,
}

impl Model {
    /// Builds `spec`, drawing initial weights from `seed`.
    pub fn new(spec: ModelSpec, seed: u64) -> Result<Self> {
        if spec.input.is_empty() || spec.input.contains(&0) {
            return Err(Error::spec(
                "model.input",
                format!("{:?} is not a sample shape", spec.input),
            ));
        }
        if spec.layers.is_empty() {
            return Err(Error::spec(
                "model.layers",
                "a model needs at least one layer",
            ));
        }
        let mut reg = build::Registry::new(seed);
        let seq = graph::Builder::new(&mut reg).seq(&spec.layers, &spec.input, None)?;
        Ok(Self {
            spec,
            seq,
            params: reg.params,
            buffers: reg.buffers,
        })
    }

    /// Starts a [`Builder`] for samples of `input` shape.
    pub fn builder(input: &[usize]) -> Builder {
        Builder {
            spec: ModelSpec {
                input: input.to_vec(),
                layers: Vec::new(),
            },
        }
    }

    /// Values in one input sample.
    pub fn input_len(&self) -> usize {
        self.spec.input.iter().product()
    }

    /// Values in one output sample.
    pub fn output_len(&self) -> usize {
        self.seq.output.iter().product()
    }

    /// Trainable parameters in all.
    pub fn param_count(&self) -> usize {
        self.params.iter().map(|t| t.data.len()).sum()
    }

    /// Fresh memory for one thread; `seed` drives its dropout.
    pub fn pass(&self, seed: u64) -> Pass {
        Pass {
            work: SeqWork::new(&self.seq),
            buffers: self.buffers.iter().map(|t| t.data.clone()).collect(),
            grads: self
                .params
                .iter()
                .map(|t| vec![0.0; t.data.len()])
                .collect(),
            rng: Rng::new(seed),
            batch: 0,
        }
    }

    fn check_batch(&self, input: &[f32]) -> Result<usize> {
        let n = self.input_len();
        if n == 0 || input.is_empty() || !input.len().is_multiple_of(n) {
            return Err(Error::Mismatch {
                detail: format!(
                    "model input: {} values are not a whole number of samples of {:?}",
                    input.len(),
                    self.spec.input
                ),
            });
        }
        Ok(input.len() / n)
    }

    /// Runs the model on a batch (`train` selects batch statistics and dropout, and
    /// updates the pass's copy of the running statistics); returns the output.
    pub fn forward<'p>(
        &self,
        pass: &'p mut Pass,
        input: &'p [f32],
        train: bool,
    ) -> Result<&'p [f32]> {
        let batch = self.check_batch(input)?;
        pass.batch = batch;
        let mut cx = Ctx {
            batch,
            train,
            params: &self.params,
            buffers: &mut pass.buffers,
            grads: &mut [],
            rng: &mut pass.rng,
        };
        self.seq.forward(&mut cx, &mut pass.work, input)?;
        Ok(pass.work.output(input))
    }

    /// Backward after a training [`Model::forward`] on the same `input`: accumulates the
    /// parameter gradients into `pass.grads` from the gradient of the output.
    pub fn backward(&self, pass: &mut Pass, input: &[f32], grad_output: &[f32]) -> Result<()> {
        let mut cx = Ctx {
            batch: pass.batch,
            train: true,
            params: &self.params,
            buffers: &mut pass.buffers,
            grads: &mut pass.grads,
            rng: &mut pass.rng,
        };
        self.seq
            .backward(&mut cx, &mut pass.work, input, grad_output, None)
    }

    /// Runs inference over `inputs` in batches of `batch`; returns all outputs.
    pub fn predict(&self, inputs: &[f32], batch: usize) -> Result<Vec<f32>> {
        let n = self.check_batch(inputs)?;
        let mut pass = self.pass(0);
        let mut out = Vec::with_capacity(n * self.output_len());
        for chunk in inputs.chunks(batch.max(1) * self.input_len()) {
            out.extend_from_slice(self.forward(&mut pass, chunk, false)?);
        }
        Ok(out)
    }

    /// Runs inference on a batch and returns every top-level node's name, output
    /// sample shape and output (for `mote activations`).
    pub fn trace(&self, input: &[f32]) -> Result<Vec<Traced>> {
        let mut pass = self.pass(0);
        self.forward(&mut pass, input, false)?;
        Ok(self
            .seq
            .nodes
            .iter()
            .zip(pass.work.outputs())
            .map(|(n, o)| (n.name().to_string(), n.output_shape().to_vec(), o.clone()))
            .collect())
    }

    /// Runs inference on a batch and returns the output of every node at every depth
    /// (inside residual and branch blocks too), in post-order: a block's inner nodes,
    /// then the block.
    pub fn trace_all(&self, input: &[f32]) -> Result<Vec<Vec<f32>>> {
        let mut pass = self.pass(0);
        self.forward(&mut pass, input, false)?;
        let mut out = Vec::new();
        pass.work.all_outputs(&mut out);
        Ok(out)
    }

    /// Where the top-level layers with kinks ([`Layer::kink_pattern`](layer::Layer::kink_pattern):
    /// ReLU and its relatives, max pooling) sat in the last [`Model::forward`] of `input`
    /// on `pass`, as one hash: a step that changes it crossed a kink.
    pub fn kink_pattern(&self, pass: &Pass, input: &[f32]) -> u64 {
        let outs = pass.work.outputs();
        let hashes = self.seq.nodes.iter().enumerate().filter_map(|(i, node)| {
            let graph::Node::Layer { layer, .. } = node else {
                return None;
            };
            let x = if i == 0 { input } else { outs.get(i - 1)? };
            layer.kink_pattern(x, outs.get(i)?)
        });
        layer::hash_bits(hashes.flat_map(|h| (0..64).map(move |b| h >> b & 1 == 1)))
    }

    /// Index of the tensor named `name`.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|t| t.name == name)
    }
}

/// One layer's output as [`Model::trace`] gives it: name, sample shape, values.
pub type Traced = (String, Vec<usize>, Vec<f32>);

/// Builds a [`ModelSpec`] in Rust, the same as writing it in TOML.
#[derive(Debug, Clone)]
pub struct Builder {
    spec: ModelSpec,
}

impl Builder {
    /// Appends any layer.
    pub fn layer(mut self, layer: LayerSpec) -> Self {
        self.spec.layers.push(layer);
        self
    }

    /// Appends a dense layer of `units` with an optional activation.
    pub fn dense(self, units: usize, activation: Option<&str>) -> Self {
        self.layer(LayerSpec::Dense {
            name: None,
            units,
            activation: activation.map(str::to_string),
            init: Default::default(),
            bias: true,
            l1: 0.0,
            l2: 0.0,
        })
    }

    /// Appends a stride-1 `kernel × kernel` convolution with `filters` outputs.
    pub fn conv2d(self, filters: usize, kernel: usize, activation: Option<&str>) -> Self {
        self.layer(LayerSpec::Conv2d {
            name: None,
            filters,
            kernel: spec::Pair::One(kernel),
            stride: spec::Pair::One(1),
            dilation: spec::Pair::One(1),
            padding: Default::default(),
            groups: 1,
            activation: activation.map(str::to_string),
            init: Default::default(),
            bias: true,
            l1: 0.0,
            l2: 0.0,
        })
    }

    /// Appends a `size × size` max pool with stride `size`.
    pub fn max_pool2d(self, size: usize) -> Self {
        self.layer(LayerSpec::MaxPool2d {
            name: None,
            size: spec::Pair::One(size),
            stride: None,
            padding: Default::default(),
        })
    }

    /// Appends a flatten.
    pub fn flatten(self) -> Self {
        self.layer(LayerSpec::Flatten { name: None })
    }

    /// Appends dropout at `rate`.
    pub fn dropout(self, rate: f32) -> Self {
        self.layer(LayerSpec::Dropout { name: None, rate })
    }

    /// Appends batch normalisation with PyTorch's defaults.
    pub fn batch_norm(self) -> Self {
        self.layer(LayerSpec::BatchNorm {
            name: None,
            momentum: None,
            epsilon: None,
        })
    }

    /// The spec built so far.
    pub fn spec(self) -> ModelSpec {
        self.spec
    }

    /// Builds the model with initial weights from `seed`.
    pub fn build(self, seed: u64) -> Result<Model> {
        Model::new(self.spec, seed)
    }
}
