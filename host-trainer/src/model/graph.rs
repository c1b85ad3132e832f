//! The model as a tree: a sequence of nodes, each a layer, a residual block or a set of
//! parallel branches. Forward keeps every node's output for backward; backward walks
//! the same tree in reverse, accumulating into the gradient of each node's input.

use super::build::{Registry, Site};
use super::layer::{Cache, Ctx, Layer};
use super::layers::{self, attention, conv, embedding, norm, pool, recurrent, simple};
use super::spec::LayerSpec;
use crate::{Error, Result};
use mote_kernels::f32::elementwise::concat;
use mote_kernels::f32::encoder;
use mote_kernels::f32::recurrent::{gru, rnn};
use mote_kernels::f32::upsample::Mode;

/// One step of a sequence.
#[derive(Debug)]
pub enum Node {
    /// A single layer.
    Layer {
        /// Its name.
        name: String,
        /// The layer.
        layer: Box<dyn Layer>,
    },
    /// `x + body(x)`.
    Residual {
        /// Its name.
        name: String,
        /// The block.
        body: Seq,
    },
    /// Paths on the same input, outputs concatenated along the last axis.
    Branch {
        /// Its name.
        name: String,
        /// The paths.
        paths: Vec<Seq>,
        /// Last-axis size of each path's output.
        channels: Vec<usize>,
        /// Output shape.
        out: Vec<usize>,
    },
}

/// Layers in order, from `input` shape to `output` shape.
#[derive(Debug)]
pub struct Seq {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// Sample shape in.
    pub input: Vec<usize>,
    /// Sample shape out.
    pub output: Vec<usize>,
}

/// Per-pass memory of a node.
#[derive(Debug)]
enum NodeWork {
    Layer(Cache),
    Residual(Box<SeqWork>),
    Branch {
        paths: Vec<SeqWork>,
        grads: Vec<Vec<f32>>,
    },
}

/// Per-pass memory of a sequence: each node's output and output gradient.
#[derive(Debug)]
pub struct SeqWork {
    outs: Vec<Vec<f32>>,
    grads: Vec<Vec<f32>>,
    nodes: Vec<NodeWork>,
}

impl SeqWork {
    /// Empty memory shaped like `seq`.
    pub fn new(seq: &Seq) -> Self {
        let nodes = seq
            .nodes
            .iter()
            .map(|n| match n {
                Node::Layer { .. } => NodeWork::Layer(Cache::default()),
                Node::Residual { body, .. } => NodeWork::Residual(Box::new(SeqWork::new(body))),
                Node::Branch { paths, .. } => NodeWork::Branch {
                    paths: paths.iter().map(SeqWork::new).collect(),
                    grads: vec![Vec::new(); paths.len()],
                },
            })
            .collect();
        let n = seq.nodes.len();
        Self {
            outs: vec![Vec::new(); n],
            grads: vec![Vec::new(); n],
            nodes,
        }
    }

    /// Every node's output after [`Seq::forward`], in order.
    pub fn outputs(&self) -> &[Vec<f32>] {
        &self.outs
    }

    /// Every node's output at every depth, in post-order (a block's inner nodes before
    /// the block itself), appended to `out`: the numbering [`Seq::post_order`] gives.
    pub fn all_outputs(&self, out: &mut Vec<Vec<f32>>) {
        for (work, y) in self.nodes.iter().zip(&self.outs) {
            match work {
                NodeWork::Layer(_) => {}
                NodeWork::Residual(inner) => inner.all_outputs(out),
                NodeWork::Branch { paths, .. } => paths.iter().for_each(|p| p.all_outputs(out)),
            }
            out.push(y.clone());
        }
    }

    /// The sequence's output after [`Seq::forward`]: the last node's, or `input` for an
    /// empty sequence.
    pub fn output<'a>(&'a self, input: &'a [f32]) -> &'a [f32] {
        self.outs.last().map_or(input, Vec::as_slice)
    }
}

impl Node {
    /// The node's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Layer { name, .. } | Self::Residual { name, .. } | Self::Branch { name, .. } => {
                name
            }
        }
    }

    /// Output sample shape.
    pub fn output_shape(&self) -> &[usize] {
        match self {
            Self::Layer { layer, .. } => layer.output_shape(),
            Self::Residual { body, .. } => &body.output,
            Self::Branch { out, .. } => out,
        }
    }
}

fn resize(v: &mut Vec<f32>, n: usize) {
    v.clear();
    v.resize(n, 0.0);
}

impl Seq {
    /// Runs the sequence forward on a batch; read the result with [`SeqWork::output`].
    pub fn forward(&self, cx: &mut Ctx<'_>, work: &mut SeqWork, input: &[f32]) -> Result<()> {
        for i in 0..self.nodes.len() {
            let (done, rest) = work.outs.split_at_mut(i);
            let x = done.last().map_or(input, Vec::as_slice);
            let y = &mut rest[0];
            let node = &self.nodes[i];
            let n = cx.batch * node.output_shape().iter().product::<usize>();
            // Every layer overwrites its whole output: no need to zero it.
            y.resize(n, 0.0);
            match (node, &mut work.nodes[i]) {
                (Node::Layer { layer, .. }, NodeWork::Layer(cache)) => {
                    layer.forward(cx, x, y, cache)?;
                }
                (Node::Residual { body, .. }, NodeWork::Residual(w)) => {
                    body.forward(cx, w, x)?;
                    let fx = w.output(x);
                    for ((o, &a), &b) in y.iter_mut().zip(x).zip(fx) {
                        *o = a + b;
                    }
                }
                (
                    Node::Branch {
                        paths, channels, ..
                    },
                    NodeWork::Branch { paths: pw, .. },
                ) => {
                    for (p, w) in paths.iter().zip(pw.iter_mut()) {
                        p.forward(cx, w, x)?;
                    }
                    let outs: Vec<&[f32]> = pw.iter().map(|w| w.output(x)).collect();
                    let rows = n / channels.iter().sum::<usize>().max(1);
                    let params = concat::Params { rows, channels };
                    concat::forward(&params, &outs, y)?;
                }
                _ => return Err(Error::spec(node.name(), "internal: work does not match")),
            }
        }
        Ok(())
    }

    /// Backward through the sequence after a training [`Seq::forward`]: accumulates the
    /// parameter gradients into `cx.grads` and the input gradient into `grad_input`
    /// (skipped when `None`, as for the model's input).
    pub fn backward(
        &self,
        cx: &mut Ctx<'_>,
        work: &mut SeqWork,
        input: &[f32],
        grad_output: &[f32],
        mut grad_input: Option<&mut [f32]>,
    ) -> Result<()> {
        let count = self.nodes.len();
        if count == 0 {
            if let Some(dx) = grad_input {
                dx.iter_mut().zip(grad_output).for_each(|(d, &g)| *d += g);
            }
            return Ok(());
        }
        for i in (0..count).rev() {
            let x = if i == 0 { input } else { &work.outs[i - 1] };
            let y = &work.outs[i];
            let (lo, hi) = work.grads.split_at_mut(i);
            let dy: &[f32] = if i + 1 == count { grad_output } else { &hi[0] };
            let dx: Option<&mut [f32]> = if i == 0 {
                grad_input.as_deref_mut()
            } else {
                let g = &mut lo[i - 1];
                resize(g, x.len());
                Some(g.as_mut_slice())
            };
            let node = &self.nodes[i];
            match (node, &mut work.nodes[i]) {
                (Node::Layer { layer, .. }, NodeWork::Layer(cache)) => {
                    layer.backward(cx, x, y, dy, dx, cache)?;
                }
                (Node::Residual { body, .. }, NodeWork::Residual(w)) => {
                    let mut dx = dx;
                    if let Some(d) = dx.as_deref_mut() {
                        d.iter_mut().zip(dy).for_each(|(d, &g)| *d += g);
                    }
                    body.backward(cx, w, x, dy, dx)?;
                }
                (
                    Node::Branch {
                        paths, channels, ..
                    },
                    NodeWork::Branch { paths: pw, grads },
                ) => {
                    let rows = dy.len() / channels.iter().sum::<usize>().max(1);
                    for (g, &c) in grads.iter_mut().zip(channels.iter()) {
                        resize(g, rows * c);
                    }
                    {
                        let mut slots: Vec<Option<&mut [f32]>> =
                            grads.iter_mut().map(|g| Some(g.as_mut_slice())).collect();
                        concat::backward(&concat::Params { rows, channels }, dy, &mut slots)?;
                    }
                    let mut dx = dx;
                    for ((p, w), g) in paths.iter().zip(pw.iter_mut()).zip(grads.iter()) {
                        p.backward(cx, w, x, g, dx.as_deref_mut())?;
                    }
                }
                _ => return Err(Error::spec(node.name(), "internal: work does not match")),
            }
        }
        Ok(())
    }

    /// Visits every layer with its depth (0 for top-level).
    pub fn visit<'a>(&'a self, depth: usize, f: &mut dyn FnMut(usize, &'a Node)) {
        for n in &self.nodes {
            f(depth, n);
            match n {
                Node::Layer { .. } => {}
                Node::Residual { body, .. } => body.visit(depth + 1, f),
                Node::Branch { paths, .. } => paths.iter().for_each(|p| p.visit(depth + 1, f)),
            }
        }
    }
}

/// Builds sequences from specs, numbering layers for default names.
pub struct Builder<'r> {
    /// Where the tensors go.
    pub reg: &'r mut Registry,
    counter: usize,
}

impl<'r> Builder<'r> {
    /// A builder adding tensors to `reg`.
    pub fn new(reg: &'r mut Registry) -> Self {
        Self { reg, counter: 0 }
    }

    /// Builds `specs` on samples of `input` shape; `top` is the index of the
    /// top-level layer they belong to (`None` at the top level: each layer is its own).
    pub fn seq(&mut self, specs: &[LayerSpec], input: &[usize], top: Option<usize>) -> Result<Seq> {
        let mut nodes = Vec::new();
        let mut shape = input.to_vec();
        for (i, spec) in specs.iter().enumerate() {
            let n = self.counter;
            self.counter += 1;
            let name = spec
                .name()
                .map_or_else(|| format!("{}_{n}", spec.kind()), str::to_string);
            let label = match top {
                None => format!("layer {i} ({} '{name}')", spec.kind()),
                Some(t) => format!("layer {t}.{i} ({} '{name}')", spec.kind()),
            };
            let site = Site {
                label,
                name,
                top: top.unwrap_or(i),
            };
            for node in self.node(site, spec, &shape)? {
                shape = node.output_shape().to_vec();
                nodes.push(node);
            }
        }
        Ok(Seq {
            nodes,
            input: input.to_vec(),
            output: shape,
        })
    }

    fn node(&mut self, site: Site, spec: &LayerSpec, x: &[usize]) -> Result<Vec<Node>> {
        let reg = &mut *self.reg;
        let layer: Box<dyn Layer> = match spec {
            LayerSpec::Dense { units, .. } => Box::new(layers::dense::Dense::build(
                site.clone(),
                x,
                *units,
                weights(spec),
                reg,
            )?),
            LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                dilation,
                padding,
                groups,
                ..
            } => {
                let g = conv::Geometry::new(*kernel, *stride, *dilation, padding);
                let w = weights(spec);
                let c =
                    conv::Conv::standard(site.clone(), x, *filters, *groups, &g, false, w, reg)?;
                Box::new(c)
            }
            LayerSpec::Conv1d {
                filters,
                kernel,
                stride,
                dilation,
                padding,
                ..
            } => {
                let g = conv::Geometry {
                    kernel: [1, *kernel],
                    stride: [1, *stride],
                    dilation: [1, *dilation],
                    padding: padding.clone(),
                };
                let w = weights(spec);
                Box::new(conv::Conv::standard(
                    site.clone(),
                    x,
                    *filters,
                    1,
                    &g,
                    true,
                    w,
                    reg,
                )?)
            }
            LayerSpec::DepthwiseConv2d {
                multiplier,
                kernel,
                stride,
                dilation,
                padding,
                ..
            } => {
                let g = conv::Geometry::new(*kernel, *stride, *dilation, padding);
                let w = weights(spec);
                Box::new(conv::Conv::depthwise(
                    site.clone(),
                    x,
                    *multiplier,
                    &g,
                    w,
                    reg,
                )?)
            }
            LayerSpec::Conv2dTranspose {
                filters,
                kernel,
                stride,
                dilation,
                padding,
                output_padding,
                ..
            } => {
                let g = conv::Geometry::new(*kernel, *stride, *dilation, padding);
                let op = output_padding.map_or([0, 0], |p| p.hw());
                let w = weights(spec);
                Box::new(conv::Conv::transpose(
                    site.clone(),
                    x,
                    *filters,
                    &g,
                    op,
                    w,
                    reg,
                )?)
            }
            LayerSpec::MaxPool2d {
                size,
                stride,
                padding,
                ..
            }
            | LayerSpec::AvgPool2d {
                size,
                stride,
                padding,
                ..
            } => {
                let op = match spec {
                    LayerSpec::MaxPool2d { .. } => pool::Kind::Max,
                    _ => pool::Kind::Average,
                };
                let stride = stride.map(|s| s.hw());
                Box::new(pool::Pool::build(
                    site.clone(),
                    x,
                    op,
                    size.hw(),
                    stride,
                    padding,
                    false,
                )?)
            }
            LayerSpec::MaxPool1d {
                size,
                stride,
                padding,
                ..
            }
            | LayerSpec::AvgPool1d {
                size,
                stride,
                padding,
                ..
            } => {
                let op = match spec {
                    LayerSpec::MaxPool1d { .. } => pool::Kind::Max,
                    _ => pool::Kind::Average,
                };
                let stride = stride.map(|s| [1, s]);
                Box::new(pool::Pool::build(
                    site.clone(),
                    x,
                    op,
                    [1, *size],
                    stride,
                    padding,
                    true,
                )?)
            }
            LayerSpec::GlobalAvgPool { .. } => {
                Box::new(pool::Global::build(site.clone(), x, pool::Kind::Average)?)
            }
            LayerSpec::GlobalMaxPool { .. } => {
                Box::new(pool::Global::build(site.clone(), x, pool::Kind::Max)?)
            }
            LayerSpec::Upsample { scale, mode, .. } => {
                let mode = match mode.as_deref() {
                    None | Some("nearest") => Mode::Nearest,
                    Some("bilinear") => Mode::Bilinear,
                    Some(m) => {
                        return Err(
                            site.error(format!("mode '{m}' is not 'nearest' or 'bilinear'"))
                        );
                    }
                };
                Box::new(simple::Upsample::build(site.clone(), x, scale.hw(), mode)?)
            }
            LayerSpec::BatchNorm {
                momentum, epsilon, ..
            } => Box::new(norm::BatchNorm::build(
                site.clone(),
                x,
                momentum.unwrap_or(0.1),
                epsilon.unwrap_or(1e-5),
                reg,
            )?),
            LayerSpec::LayerNorm { epsilon, .. } => Box::new(norm::LayerNorm::build(
                site.clone(),
                x,
                epsilon.unwrap_or(1e-5),
                reg,
            )?),
            LayerSpec::Dropout { rate, .. } => {
                Box::new(simple::Dropout::build(site.clone(), x, *rate)?)
            }
            LayerSpec::Activation { function, .. } => match layers::activation(&site, function)? {
                Some(f) => Box::new(simple::Act::build(site.clone(), x, f)?),
                None => Box::new(simple::Softmax::build(site.clone(), x)?),
            },
            LayerSpec::Softmax { .. } => Box::new(simple::Softmax::build(site.clone(), x)?),
            LayerSpec::Flatten { .. } => {
                let n = super::build::checked_product(&site, x)?;
                Box::new(simple::Reshape::build(site.clone(), x, vec![n], "flatten")?)
            }
            LayerSpec::Reshape { shape, .. } => Box::new(simple::Reshape::build(
                site.clone(),
                x,
                shape.clone(),
                "reshape",
            )?),
            LayerSpec::Lstm {
                units,
                return_sequences,
                go_backwards,
                init,
                recurrent_init,
                bias,
                unit_forget_bias,
                forget_bias,
                l1,
                l2,
                ..
            } => {
                let o = recurrent::Options {
                    units: *units,
                    return_sequences: *return_sequences,
                    reverse: *go_backwards,
                    init: *init,
                    recurrent_init: *recurrent_init,
                    bias: *bias,
                    unit_forget_bias: *unit_forget_bias,
                    penalties: (*l1, *l2),
                };
                let cell = recurrent::Cell::Lstm {
                    forget_bias: *forget_bias,
                };
                Box::new(recurrent::Recurrent::build(site.clone(), x, cell, &o, reg)?)
            }
            LayerSpec::Gru {
                units,
                return_sequences,
                go_backwards,
                init,
                recurrent_init,
                bias,
                reset_after,
                l1,
                l2,
                ..
            } => {
                let o = recurrent::Options {
                    units: *units,
                    return_sequences: *return_sequences,
                    reverse: *go_backwards,
                    init: *init,
                    recurrent_init: *recurrent_init,
                    bias: *bias,
                    unit_forget_bias: false,
                    penalties: (*l1, *l2),
                };
                let reset = if *reset_after {
                    gru::Reset::After
                } else {
                    gru::Reset::Before
                };
                let cell = recurrent::Cell::Gru(reset);
                Box::new(recurrent::Recurrent::build(site.clone(), x, cell, &o, reg)?)
            }
            LayerSpec::SimpleRnn {
                units,
                activation,
                return_sequences,
                go_backwards,
                init,
                recurrent_init,
                bias,
                l1,
                l2,
                ..
            } => {
                let o = recurrent::Options {
                    units: *units,
                    return_sequences: *return_sequences,
                    reverse: *go_backwards,
                    init: *init,
                    recurrent_init: *recurrent_init,
                    bias: *bias,
                    unit_forget_bias: false,
                    penalties: (*l1, *l2),
                };
                let act = match activation.as_deref().map(str::trim) {
                    None | Some("tanh") => rnn::Activation::Tanh,
                    Some("relu") => rnn::Activation::Relu,
                    Some(other) => {
                        return Err(site.error(format!(
                            "simple_rnn activation '{other}' is not 'tanh' or 'relu'"
                        )));
                    }
                };
                let cell = recurrent::Cell::Rnn(act);
                Box::new(recurrent::Recurrent::build(site.clone(), x, cell, &o, reg)?)
            }
            LayerSpec::Embedding {
                vocab, dim, init, ..
            } => Box::new(embedding::Embedding::build(
                site.clone(),
                x,
                *vocab,
                *dim,
                *init,
                reg,
            )?),
            LayerSpec::PositionalEncoding { .. } => {
                Box::new(embedding::PositionalEncoding::build(site.clone(), x)?)
            }
            LayerSpec::MultiHeadAttention {
                heads,
                head_dim,
                causal,
                init,
                bias,
                ..
            } => Box::new(attention::MultiHeadAttention::build(
                site.clone(),
                x,
                *heads,
                *head_dim,
                *causal,
                *init,
                *bias,
                reg,
            )?),
            LayerSpec::TransformerEncoder {
                heads,
                head_dim,
                ff,
                norm,
                causal,
                activation,
                epsilon,
                init,
                ..
            } => {
                let norm = match norm.as_deref().map(str::trim) {
                    None | Some("pre") => encoder::Norm::Pre,
                    Some("post") => encoder::Norm::Post,
                    Some(other) => {
                        return Err(site.error(format!("norm '{other}' is not 'pre' or 'post'")));
                    }
                };
                let activation =
                    match layers::activation(&site, activation.as_deref().unwrap_or("gelu"))? {
                        Some(a) => a,
                        None => {
                            return Err(site.error("the feed-forward activation cannot be softmax"));
                        }
                    };
                let o = attention::EncoderOptions {
                    heads: *heads,
                    head_dim: *head_dim,
                    ff: *ff,
                    norm,
                    causal: *causal,
                    activation,
                    epsilon: epsilon.unwrap_or(1e-5),
                    init: *init,
                };
                Box::new(attention::TransformerEncoder::build(
                    site.clone(),
                    x,
                    &o,
                    reg,
                )?)
            }
            LayerSpec::Residual { layers, .. } => {
                let body = self.seq(layers, x, Some(site.top))?;
                if body.output != x {
                    return Err(site.error(format!(
                        "the block maps {x:?} to {:?}; a residual block must keep the shape",
                        body.output
                    )));
                }
                return Ok(vec![Node::Residual {
                    name: site.name,
                    body,
                }]);
            }
            LayerSpec::Branch { paths, .. } => {
                if paths.is_empty() {
                    return Err(site.error("a branch needs at least one path"));
                }
                let built = paths
                    .iter()
                    .map(|p| self.seq(p, x, Some(site.top)))
                    .collect::<Result<Vec<_>>>()?;
                let lead = &built[0].output;
                let Some((_, spatial)) = lead.split_last() else {
                    return Err(site.error("paths end in an empty shape"));
                };
                let mut channels = Vec::new();
                for (i, p) in built.iter().enumerate() {
                    match p.output.split_last() {
                        Some((&c, s)) if s == spatial => channels.push(c),
                        _ => {
                            return Err(site.error(format!(
                                "path {i} ends in {:?} but path 0 in {lead:?}; all but the \
                                 last axis must agree",
                                p.output
                            )));
                        }
                    }
                }
                let mut out = spatial.to_vec();
                out.push(channels.iter().sum());
                return Ok(vec![Node::Branch {
                    name: site.name,
                    paths: built,
                    channels,
                    out,
                }]);
            }
        };
        let mut nodes = vec![Node::Layer {
            name: site.name.clone(),
            layer,
        }];
        // A fused `activation = "…"` becomes a layer of its own after this one.
        let fused = match spec {
            LayerSpec::Dense { activation, .. }
            | LayerSpec::Conv2d { activation, .. }
            | LayerSpec::Conv1d { activation, .. }
            | LayerSpec::DepthwiseConv2d { activation, .. }
            | LayerSpec::Conv2dTranspose { activation, .. } => activation.as_deref(),
            _ => None,
        };
        if let Some(f) = fused {
            let shape = nodes[0].output_shape().to_vec();
            let act_site = Site {
                name: format!("{}/{}", site.name, f),
                ..site.clone()
            };
            let layer: Box<dyn Layer> = match layers::activation(&site, f)? {
                Some(a) => Box::new(simple::Act::build(act_site.clone(), &shape, a)?),
                None => Box::new(simple::Softmax::build(act_site.clone(), &shape)?),
            };
            nodes.push(Node::Layer {
                name: act_site.name,
                layer,
            });
        }
        Ok(nodes)
    }
}

fn weights(spec: &LayerSpec) -> super::spec::Weights {
    spec.weights().unwrap_or(super::spec::Weights {
        init: Default::default(),
        bias: true,
        l1: 0.0,
        l2: 0.0,
    })
}
