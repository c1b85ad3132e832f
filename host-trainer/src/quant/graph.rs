//! The float graph an integer model is made from: the trained model's layers lowered to
//! the operators of the `.mote` format, with batch normalisation folded into the
//! convolution or dense layer before it, ReLU/ReLU6 fused into the operator before
//! them and dropout removed. Each tensor remembers which layer's output it equals, so
//! calibration and the per-layer report read the float values from the model itself.

use crate::model::Model;
use crate::model::graph::Node;
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
    /// Max pool.
    MaxPool(PoolGeometry),
    /// Average pool (padding not counted).
    AvgPool(PoolGeometry),
    /// Softmax over the last axis.
    Softmax,
    /// New shape, same values.
    Reshape,
}

/// One float operator.
#[derive(Debug, Clone, PartialEq)]
pub struct FOp {
    /// Name of the layer it came from (and the layers fused into it).
    pub name: String,
    /// What it computes.
    pub kind: FKind,
    /// Input tensor.
    pub input: usize,
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
            _ => 0,
        }
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

/// Lowers `model` (a plain sequence of layers) to a float graph.
pub fn lower(model: &Model) -> Result<FGraph> {
    let mut g = FGraph {
        tensors: vec![FTensor {
            shape: model.spec.input.clone(),
            node: None,
        }],
        ops: Vec::new(),
        output: 0,
    };
    let mut cur = 0usize;
    for (i, node) in model.seq.nodes.iter().enumerate() {
        let Node::Layer { name, layer } = node else {
            return Err(unsupported(node.name(), "a residual or branch block"));
        };
        let shape = layer.output_shape().to_vec();
        let param = |idx: usize| model.params[idx].data.clone();
        let bias = |b: Option<usize>, n: usize| b.map_or_else(|| vec![0.0; n], param);
        // The last operator, when it produced `cur` and nothing else reads `cur` yet.
        let last_is_cur = g.ops.last().is_some_and(|op| op.output == cur);
        let new_op = |g: &mut FGraph, kind: FKind, input: usize| {
            g.tensors.push(FTensor {
                shape: shape.clone(),
                node: Some(i),
            });
            let output = g.tensors.len() - 1;
            g.ops.push(FOp {
                name: name.clone(),
                kind,
                input,
                output,
                act: FusedActivation::None,
            });
            output
        };
        cur = match layer.lowered() {
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
                new_op(&mut g, kind, cur)
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
                new_op(&mut g, kind, cur)
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
                new_op(&mut g, kind, cur)
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
                new_op(&mut g, kind, cur)
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
                new_op(&mut g, kind, cur)
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
                new_op(&mut g, kind, cur)
            }
            Lowered::BatchNorm {
                channels,
                epsilon,
                gamma,
                beta,
                mean,
                var,
            } => {
                let op = g
                    .ops
                    .last_mut()
                    .filter(|op| last_is_cur && op.weighted() && op.act == FusedActivation::None);
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
                g.tensors[cur].node = Some(i);
                cur
            }
            Lowered::Activation(Activation::Identity) | Lowered::Identity => {
                g.tensors[cur].node = Some(i);
                cur
            }
            Lowered::Activation(a @ (Activation::Relu | Activation::Relu6)) => {
                let op = g.ops.last_mut().filter(|op| {
                    last_is_cur
                        && op.act == FusedActivation::None
                        && !matches!(op.kind, FKind::Softmax | FKind::Reshape)
                });
                let Some(op) = op else {
                    return Err(unsupported(
                        name,
                        "an activation that does not follow a convolution, dense or pooling layer",
                    ));
                };
                op.act = if a == Activation::Relu {
                    FusedActivation::Relu
                } else {
                    FusedActivation::Relu6
                };
                op.name = format!("{}+{name}", op.name);
                g.tensors[cur].node = Some(i);
                cur
            }
            Lowered::Softmax => new_op(&mut g, FKind::Softmax, cur),
            Lowered::Reshape => new_op(&mut g, FKind::Reshape, cur),
            Lowered::Activation(a) => return Err(unsupported(name, format!("activation {a:?}"))),
            Lowered::Unsupported => {
                return Err(unsupported(name, format!("a '{}' layer", layer.kind())));
            }
        };
    }
    if g.ops.is_empty() {
        g.ops.push(FOp {
            name: "identity".into(),
            kind: FKind::Reshape,
            input: 0,
            output: 1,
            act: FusedActivation::None,
        });
        g.tensors.push(g.tensors[0].clone());
        cur = 1;
    }
    g.output = cur;
    Ok(g)
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
