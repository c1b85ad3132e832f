//! The float graph an integer model is made from: the trained model's layers lowered to
//! the operators of the `.mote` format, with batch normalisation folded into the
//! convolution or dense layer before it, ReLU/ReLU6 fused into the operator before
//! them and dropout removed. Each tensor remembers which layer's output it equals, so
//! calibration and the per-layer report read the float values from the model itself.

use crate::model::Model;
use crate::model::graph::{Node, Seq};
use crate::model::layer::Layer;
use crate::model::lowered::Lowered;
use crate::{Error, Result};
use mote_core::padding::{Padding, Window, conv_output};
use mote_core::quant::FusedActivation;
use mote_kernels::f32::activation::Activation;
use mote_kernels::f32::pool::Kind;
use mote_kernels::f32::{conv, conv_transpose, depthwise};

/// A tensor of the float graph.
#[derive(Debug, Clone, PartialEq)]
pub struct FTensor {
    /// Shape of one sample, as the trainer sees it.
    pub shape: Vec<usize>,
    /// The top-level layer whose output this tensor equals (`None`: the model input).
    pub node: Option<usize>,
}

/// Window geometry of a pool, explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeometry {
    /// `[h, w]` window.
    pub kernel: [usize; 2],
    /// `[h, w]` stride.
    pub stride: [usize; 2],
    /// Padding before the first row and column.
    pub pad: [usize; 2],
}

/// What a float operator computes.
#[derive(Debug, Clone, PartialEq)]
pub enum FKind {
    /// A convolution; weights OHWI, bias per output channel (folded).
    Conv {
        /// Geometry, padding explicit `[top, bottom, left, right]`.
        params: conv::Params,
        /// `[top, bottom, left, right]`.
        pads: [usize; 4],
        /// Weights.
        w: Vec<f32>,
        /// Bias.
        b: Vec<f32>,
    },
    /// A depthwise convolution; weights `[kh][kw][channels·multiplier]`.
    Depthwise {
        /// Geometry.
        params: depthwise::Params,
        /// `[top, bottom, left, right]`.
        pads: [usize; 4],
        /// Weights.
        w: Vec<f32>,
        /// Bias.
        b: Vec<f32>,
    },
    /// A transposed convolution; weights `[out_c][kh][kw][in_c]`.
    Transpose {
        /// Geometry.
        params: conv_transpose::Params,
        /// Weights.
        w: Vec<f32>,
        /// Bias.
        b: Vec<f32>,
    },
    /// A dense layer; weights `[outputs][inputs]`.
    Dense {
        /// Features in.
        inputs: usize,
        /// Features out.
        outputs: usize,
        /// Weights.
        w: Vec<f32>,
        /// Bias.
        b: Vec<f32>,
    },
    /// A whole-sequence LSTM from the zero state (gate blocks `i, f, g, o`).
    Lstm {
        /// Time steps.
        steps: usize,
        /// Features per step.
        inputs: usize,
        /// Hidden units.
        units: usize,
        /// Outputs every step (else the last).
        sequences: bool,
        /// Input weights `[4·units][inputs]`.
        w: Vec<f32>,
        /// Recurrent weights `[4·units][units]`.
        u: Vec<f32>,
        /// Bias `[4·units]`, the forget bias folded in.
        b: Vec<f32>,
    },
    /// Max pool.
    MaxPool(PoolGeometry),
    /// Average pool (padding not counted).
    AvgPool(PoolGeometry),
    /// Softmax over the last axis.
    Softmax,
    /// New shape, same values.
    Reshape,
    /// `inputs[0] + inputs[1]` (a residual block's end).
    Add,
    /// The inputs concatenated along the last axis (a branch block's end).
    Concat,
    /// The logistic sigmoid.
    Logistic,
    /// tanh.
    Tanh,
    /// A ReLU or ReLU6 that could not be fused into the operator before it (the
    /// clamp is the op's `act`).
    Relu,
}

/// One float operator.
#[derive(Debug, Clone, PartialEq)]
pub struct FOp {
    /// Name of the layer it came from (and the layers fused into it).
    pub name: String,
    /// What it computes.
    pub kind: FKind,
    /// Input tensors (the first is the data input).
    pub inputs: Vec<usize>,
    /// Output tensor.
    pub output: usize,
    /// Fused activation.
    pub act: FusedActivation,
}

impl FOp {
    /// Whether batch norm and activations can fold into this operator.
    fn weighted(&self) -> bool {
        matches!(
            self.kind,
            FKind::Conv { .. }
                | FKind::Depthwise { .. }
                | FKind::Transpose { .. }
                | FKind::Dense { .. }
        )
    }

    /// Multiply-accumulates per sample.
    pub fn macs(&self, tensors: &[FTensor]) -> u64 {
        let out: usize = tensors[self.output].shape.iter().product();
        match &self.kind {
            FKind::Conv { params, .. } => {
                let per = params.window_h.size * params.window_w.size * params.in_c
                    / params.groups.max(1);
                (out * per) as u64
            }
            FKind::Depthwise { params, .. } => {
                (out * params.window_h.size * params.window_w.size) as u64
            }
            FKind::Transpose { params, .. } => {
                (params.in_h
                    * params.in_w
                    * params.in_c
                    * params.out_c
                    * params.window_h.size
                    * params.window_w.size) as u64
            }
            FKind::Dense { inputs, .. } => (out * inputs) as u64,
            FKind::Lstm {
                steps,
                inputs,
                units,
                ..
            } => (steps * 4 * units * (inputs + units)) as u64,
            _ => 0,
        }
    }
}

impl FOp {
    /// The data input.
    pub fn input(&self) -> usize {
        self.inputs[0]
    }
}

/// The float graph: tensors (0 is the input) and operators in execution order.
#[derive(Debug, Clone, PartialEq)]
pub struct FGraph {
    /// Tensors.
    pub tensors: Vec<FTensor>,
    /// Operators.
    pub ops: Vec<FOp>,
    /// The output tensor.
    pub output: usize,
}

fn unsupported(name: &str, what: impl std::fmt::Display) -> Error {
    Error::spec(
        format!("export: layer '{name}'"),
        format!("{what} cannot be exported to an integer model yet"),
    )
}

/// Explicit `(before, after)` padding of one axis.
fn pads(input: usize, window: Window, padding: Padding) -> Result<(usize, usize)> {
    let d = conv_output(input, window, padding)?;
    Ok((d.pad_before, d.pad_after))
}

/// Lowers `model` to a float graph. Tensors are tied to the model's nodes by their
/// post-order index ([`Model::trace_all`]).
pub fn lower(model: &Model) -> Result<FGraph> {
    let mut l = Lowering {
        model,
        g: FGraph {
            tensors: vec![FTensor {
                shape: model.spec.input.clone(),
                node: None,
            }],
            ops: Vec::new(),
            output: 0,
        },
        counter: 0,
        pinned: vec![false],
    };
    let mut cur = l.seq(&model.seq, 0)?;
    let mut g = l.g;
    if g.ops.is_empty() {
        g.tensors.push(g.tensors[0].clone());
        g.ops.push(FOp {
            name: "identity".into(),
            kind: FKind::Reshape,
            inputs: vec![0],
            output: 1,
            act: FusedActivation::None,
        });
        cur = 1;
    }
    g.output = cur;
    Ok(g)
}

/// The state of a lowering: the graph so far, the post-order node counter, and which
/// tensors are read again later (so nothing may be fused into their producer).
struct Lowering<'m> {
    model: &'m Model,
    g: FGraph,
    counter: usize,
    pinned: Vec<bool>,
}

impl Lowering<'_> {
    /// Adds an operator producing a new tensor equal to node `node`'s output.
    fn op(
        &mut self,
        name: &str,
        kind: FKind,
        inputs: Vec<usize>,
        shape: &[usize],
        node: usize,
    ) -> usize {
        self.g.tensors.push(FTensor {
            shape: shape.to_vec(),
            node: Some(node),
        });
        self.pinned.push(false);
        let output = self.g.tensors.len() - 1;
        self.g.ops.push(FOp {
            name: name.to_string(),
            kind,
            inputs,
            output,
            act: FusedActivation::None,
        });
        output
    }

    /// The last operator, when it produced `cur` and nothing else will read `cur`.
    fn fusable(&mut self, cur: usize) -> Option<&mut FOp> {
        if self.pinned[cur] {
            return None;
        }
        self.g.ops.last_mut().filter(|op| op.output == cur)
    }

    /// Lowers `seq` reading tensor `input`; returns its output tensor.
    fn seq(&mut self, seq: &Seq, input: usize) -> Result<usize> {
        let mut cur = input;
        for node in &seq.nodes {
            cur = match node {
                Node::Layer { name, layer } => {
                    let idx = self.counter;
                    self.counter += 1;
                    self.layer(idx, name, layer.as_ref(), cur)?
                }
                Node::Residual { name, body } => {
                    self.pinned[cur] = true;
                    let fx = self.seq(body, cur)?;
                    let idx = self.counter;
                    self.counter += 1;
                    self.op(name, FKind::Add, vec![cur, fx], &body.output, idx)
                }
                Node::Branch {
                    name, paths, out, ..
                } => {
                    self.pinned[cur] = true;
                    let outs = paths
                        .iter()
                        .map(|p| self.seq(p, cur))
                        .collect::<Result<Vec<_>>>()?;
                    if outs.len() > mote_core::format::MAX_INPUTS {
                        return Err(unsupported(name, "a branch of more than 8 paths"));
                    }
                    let idx = self.counter;
                    self.counter += 1;
                    self.op(name, FKind::Concat, outs, out, idx)
                }
            };
        }
        Ok(cur)
    }

    /// Lowers one layer (post-order index `i`) reading `cur`; returns its output tensor.
    fn layer(&mut self, i: usize, name: &str, layer: &dyn Layer, cur: usize) -> Result<usize> {
        let model = self.model;
        let shape = layer.output_shape().to_vec();
        let param = |idx: usize| model.params[idx].data.clone();
        let bias = |b: Option<usize>, n: usize| b.map_or_else(|| vec![0.0; n], param);
        Ok(match layer.lowered() {
            Lowered::Conv {
                params,
                weights,
                bias: b,
            } => {
                let (t, bo) = pads(params.in_h, params.window_h, params.padding_h)?;
                let (l, r) = pads(params.in_w, params.window_w, params.padding_w)?;
                let kind = FKind::Conv {
                    params,
                    pads: [t, bo, l, r],
                    w: param(weights),
                    b: bias(b, params.out_c),
                };
                self.op(name, kind, vec![cur], &shape, i)
            }
            Lowered::Depthwise {
                params,
                weights,
                bias: b,
            } => {
                let (t, bo) = pads(params.in_h, params.window_h, params.padding_h)?;
                let (l, r) = pads(params.in_w, params.window_w, params.padding_w)?;
                let kind = FKind::Depthwise {
                    params,
                    pads: [t, bo, l, r],
                    w: param(weights),
                    b: bias(b, params.channels * params.multiplier),
                };
                self.op(name, kind, vec![cur], &shape, i)
            }
            Lowered::Transpose {
                params,
                weights,
                bias: b,
            } => {
                let kind = FKind::Transpose {
                    params,
                    w: param(weights),
                    b: bias(b, params.out_c),
                };
                self.op(name, kind, vec![cur], &shape, i)
            }
            Lowered::Dense {
                inputs,
                outputs,
                weights,
                bias: b,
            } => {
                let kind = FKind::Dense {
                    inputs,
                    outputs,
                    w: param(weights),
                    b: bias(b, outputs),
                };
                self.op(name, kind, vec![cur], &shape, i)
            }
            Lowered::Lstm {
                steps,
                inputs,
                units,
                return_sequences,
                reverse,
                forget_bias,
                weights,
                recurrent,
                bias: b,
            } => {
                if reverse {
                    return Err(unsupported(name, "a reversed (go_backwards) LSTM"));
                }
                let mut b = bias(b, 4 * units);
                b[units..2 * units]
                    .iter_mut()
                    .for_each(|v| *v += forget_bias);
                let kind = FKind::Lstm {
                    steps,
                    inputs,
                    units,
                    sequences: return_sequences,
                    w: param(weights),
                    u: param(recurrent),
                    b,
                };
                self.op(name, kind, vec![cur], &shape, i)
            }
            Lowered::Pool(p) => {
                let (t, _) = pads(p.height, p.window_h, p.padding_h)?;
                let (l, _) = pads(p.width, p.window_w, p.padding_w)?;
                if p.window_h.dilation != 1 || p.window_w.dilation != 1 {
                    return Err(unsupported(name, "a dilated pool"));
                }
                let geo = PoolGeometry {
                    kernel: [p.window_h.size, p.window_w.size],
                    stride: [p.window_h.stride, p.window_w.stride],
                    pad: [t, l],
                };
                let kind = match p.kind {
                    Kind::Max => FKind::MaxPool(geo),
                    Kind::Average => FKind::AvgPool(geo),
                };
                self.op(name, kind, vec![cur], &shape, i)
            }
            Lowered::GlobalPool(p) => {
                let geo = PoolGeometry {
                    kernel: [p.height, p.width],
                    stride: [1, 1],
                    pad: [0, 0],
                };
                let kind = match p.kind {
                    Kind::Max => FKind::MaxPool(geo),
                    Kind::Average => FKind::AvgPool(geo),
                };
                // The pool keeps its image shape (1×1×c); a reshape (in place) gives
                // the layer's `[c]`.
                let pooled = self.op(name, kind, vec![cur], &[1, 1, p.channels], i);
                self.op(name, FKind::Reshape, vec![pooled], &shape, i)
            }
            Lowered::BatchNorm {
                channels,
                epsilon,
                gamma,
                beta,
                mean,
                var,
            } => {
                let op = self
                    .fusable(cur)
                    .filter(|op| op.weighted() && op.act == FusedActivation::None);
                let Some(op) = op else {
                    return Err(unsupported(
                        name,
                        "batch norm not directly after a convolution or dense layer",
                    ));
                };
                let (gamma, beta) = (&model.params[gamma].data, &model.params[beta].data);
                let (mean, var) = (&model.buffers[mean].data, &model.buffers[var].data);
                let scale: Vec<f32> = (0..channels)
                    .map(|c| gamma[c] / (var[c] + epsilon).sqrt())
                    .collect();
                fold(&mut op.kind, &scale, |c, b| {
                    (b - mean[c]) * scale[c] + beta[c]
                })
                .map_err(|what| unsupported(name, what))?;
                op.name = format!("{}+{name}", op.name);
                self.g.tensors[cur].node = Some(i);
                cur
            }
            Lowered::Activation(Activation::Identity) | Lowered::Identity => {
                self.g.tensors[cur].node = Some(i);
                cur
            }
            Lowered::Activation(a @ (Activation::Relu | Activation::Relu6)) => {
                let act = if a == Activation::Relu {
                    FusedActivation::Relu
                } else {
                    FusedActivation::Relu6
                };
                let op = self.fusable(cur).filter(|op| {
                    op.act == FusedActivation::None
                        && !matches!(
                            op.kind,
                            FKind::Softmax
                                | FKind::Lstm { .. }
                                | FKind::Reshape
                                | FKind::Concat
                                | FKind::Logistic
                                | FKind::Tanh
                        )
                });
                match op {
                    Some(op) => {
                        op.act = act;
                        op.name = format!("{}+{name}", op.name);
                        self.g.tensors[cur].node = Some(i);
                        cur
                    }
                    None => {
                        let out = self.op(name, FKind::Relu, vec![cur], &shape, i);
                        if let Some(op) = self.g.ops.last_mut() {
                            op.act = act;
                        }
                        out
                    }
                }
            }
            Lowered::Activation(Activation::Sigmoid) => {
                self.op(name, FKind::Logistic, vec![cur], &shape, i)
            }
            Lowered::Activation(Activation::Tanh) => {
                self.op(name, FKind::Tanh, vec![cur], &shape, i)
            }
            Lowered::Softmax => self.op(name, FKind::Softmax, vec![cur], &shape, i),
            Lowered::Reshape => self.op(name, FKind::Reshape, vec![cur], &shape, i),
            Lowered::Activation(a) => return Err(unsupported(name, format!("activation {a:?}"))),
            Lowered::Unsupported => {
                return Err(unsupported(name, format!("a '{}' layer", layer.kind())));
            }
        })
    }
}

/// Folds a per-output-channel affine map into a weighted operator: weights of channel
/// `c` times `scale[c]`, bias `c` through `bias(c, b)`.
fn fold(
    kind: &mut FKind,
    scale: &[f32],
    bias: impl Fn(usize, f32) -> f32,
) -> std::result::Result<(), &'static str> {
    let (w, b, channels_last) = match kind {
        FKind::Conv { w, b, .. } | FKind::Transpose { w, b, .. } | FKind::Dense { w, b, .. } => {
            (w, b, false)
        }
        FKind::Depthwise { w, b, .. } => (w, b, true),
        _ => return Err("batch norm after this operator"),
    };
    let oc = b.len();
    if oc != scale.len() || oc == 0 || w.len() % oc != 0 {
        return Err("batch norm over a different number of channels");
    }
    if channels_last {
        for (i, v) in w.iter_mut().enumerate() {
            *v *= scale[i % oc];
        }
    } else {
        let per = w.len() / oc;
        for (row, s) in w.chunks_exact_mut(per).zip(scale) {
            row.iter_mut().for_each(|v| *v *= s);
        }
    }
    for (c, v) in b.iter_mut().enumerate() {
        *v = bias(c, *v);
    }
    Ok(())
}
