//! Convolutions: 2-D (and 1-D as a 2-D convolution of height 1), depthwise and
//! transposed, each through mote-kernels' im2col + GEMM path.

use crate::Result;
use crate::model::build::{Registry, Site, padding};
use crate::model::layer::{Cache, Cost, Ctx, Layer};
use crate::model::lowered::Lowered;
use crate::model::spec::{PaddingSpec, Pair, Weights};
use mote_core::padding::Window;
use mote_kernels::f32::{conv, conv_transpose, depthwise};

/// Geometry of a convolution as the spec gives it.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// `[h, w]` of the kernel.
    pub kernel: [usize; 2],
    /// `[h, w]` stride.
    pub stride: [usize; 2],
    /// `[h, w]` dilation.
    pub dilation: [usize; 2],
    /// Padding of both axes (a 1-D layer never pads its height).
    pub padding: PaddingSpec,
}

impl Geometry {
    /// The geometry of a 2-D layer's spec.
    pub fn new(kernel: Pair, stride: Pair, dilation: Pair, padding: &PaddingSpec) -> Self {
        Self {
            kernel: kernel.hw(),
            stride: stride.hw(),
            dilation: dilation.hw(),
            padding: padding.clone(),
        }
    }
}

fn windows(g: &Geometry) -> (Window, Window) {
    let w = |i: usize| Window {
        size: g.kernel[i],
        stride: g.stride[i],
        dilation: g.dilation[i],
    };
    (w(0), w(1))
}

/// Which convolution a [`Conv`] runs.
#[derive(Debug, Clone, Copy)]
enum Op {
    Standard(conv::Params),
    Depthwise(depthwise::Params),
    Transpose(conv_transpose::Params),
}

/// A convolution layer of any of the three kinds.
#[derive(Debug)]
pub struct Conv {
    site: Site,
    kind: &'static str,
    op: Op,
    out: Vec<usize>,
    w: usize,
    b: Option<usize>,
    weights_len: usize,
    macs: u64,
}

/// What the three constructors share once the kernel parameters are known.
struct Parts {
    kind: &'static str,
    op: Op,
    out: Vec<usize>,
    weight_shape: Vec<usize>,
    fans: (usize, usize),
    bias_len: usize,
}

impl Conv {
    /// A 2-D convolution of `[h, w, c]` (or 1-D of `[length, c]` when `one_d`).
    #[allow(clippy::too_many_arguments)]
    pub fn standard(
        site: Site,
        input: &[usize],
        filters: usize,
        groups: usize,
        g: &Geometry,
        one_d: bool,
        weights: Weights,
        reg: &mut Registry,
    ) -> Result<Self> {
        let (kind, [h, w, c]) = spatial(&site, input, one_d, "conv2d", "conv1d")?;
        let (wh, ww) = windows(g);
        let pad = padding(&site, &g.padding)?;
        let mut p = conv::Params::new(1, h, w, c, filters, 1, 1).with_groups(groups);
        p.window_h = wh;
        p.window_w = ww;
        p.padding_w = pad;
        p.padding_h = if one_d { Default::default() } else { pad };
        let [_, oh, ow, oc] = p.output_shape().map_err(|e| site.kernel(e))?;
        let per_group = c / groups.max(1);
        let fan_in = per_group * g.kernel[0] * g.kernel[1];
        let parts = Parts {
            kind,
            op: Op::Standard(p),
            out: out_shape(one_d, oh, ow, oc),
            weight_shape: vec![filters, g.kernel[0], g.kernel[1], per_group],
            fans: (fan_in, filters * g.kernel[0] * g.kernel[1] / groups.max(1)),
            bias_len: filters,
        };
        Self::finish(site, parts, weights, reg)
    }

    /// A depthwise 2-D convolution of `[h, w, c]` with `multiplier` filters a channel.
    pub fn depthwise(
        site: Site,
        input: &[usize],
        multiplier: usize,
        g: &Geometry,
        weights: Weights,
        reg: &mut Registry,
    ) -> Result<Self> {
        let [h, w, c] = crate::model::build::image(&site, "depthwise_conv2d", input)?;
        let (wh, ww) = windows(g);
        let pad = padding(&site, &g.padding)?;
        let mut p = depthwise::Params::new(1, h, w, c, multiplier, 1, 1).with_padding(pad);
        p.window_h = wh;
        p.window_w = ww;
        let [_, oh, ow, oc] = p.output_shape().map_err(|e| site.kernel(e))?;
        let taps = g.kernel[0] * g.kernel[1];
        let parts = Parts {
            kind: "depthwise_conv2d",
            op: Op::Depthwise(p),
            out: vec![oh, ow, oc],
            weight_shape: vec![1, g.kernel[0], g.kernel[1], oc],
            fans: (taps, taps * multiplier),
            bias_len: oc,
        };
        Self::finish(site, parts, weights, reg)
    }

    /// A transposed 2-D convolution of `[h, w, c]`.
    pub fn transpose(
        site: Site,
        input: &[usize],
        filters: usize,
        g: &Geometry,
        output_padding: [usize; 2],
        weights: Weights,
        reg: &mut Registry,
    ) -> Result<Self> {
        let [h, w, c] = crate::model::build::image(&site, "conv2d_transpose", input)?;
        let (wh, ww) = windows(g);
        let pad = padding(&site, &g.padding)?;
        let p = conv_transpose::Params {
            batch: 1,
            in_h: h,
            in_w: w,
            in_c: c,
            out_c: filters,
            window_h: wh,
            window_w: ww,
            padding_h: pad,
            padding_w: pad,
            output_padding_h: output_padding[0],
            output_padding_w: output_padding[1],
        };
        let [_, oh, ow, oc] = p.output_shape().map_err(|e| site.kernel(e))?;
        let taps = g.kernel[0] * g.kernel[1];
        let parts = Parts {
            kind: "conv2d_transpose",
            op: Op::Transpose(p),
            out: vec![oh, ow, oc],
            weight_shape: vec![filters, g.kernel[0], g.kernel[1], c],
            // PyTorch computes the fan-in of ConvTranspose from its weight's dim 1
            // (out channels): fan_in = out_c·k·k.
            fans: (filters * taps, c * taps),
            bias_len: filters,
        };
        Self::finish(site, parts, weights, reg)
    }

    fn finish(site: Site, parts: Parts, weights: Weights, reg: &mut Registry) -> Result<Self> {
        let (w, b) = reg.weights(
            &site,
            parts.weight_shape.clone(),
            parts.fans,
            weights.bias.then_some(parts.bias_len),
            weights.init,
            (weights.l1, weights.l2),
        )?;
        let weights_len: usize = parts.weight_shape.iter().product();
        let out_len: usize = parts.out.iter().product();
        // MACs: every output value sums fan-in products (transposed: every input value
        // scatters into `out_c·k·k` outputs).
        let macs = match parts.op {
            Op::Transpose(p) => (p.in_h * p.in_w * p.in_c) as u64 * (weights_len / p.in_c) as u64,
            _ => out_len as u64 * parts.fans.0 as u64,
        };
        Ok(Self {
            site,
            kind: parts.kind,
            op: parts.op,
            out: parts.out,
            w,
            b,
            weights_len,
            macs,
        })
    }

    fn at_batch(&self, batch: usize) -> Op {
        match self.op {
            Op::Standard(mut p) => {
                p.batch = batch;
                Op::Standard(p)
            }
            Op::Depthwise(mut p) => {
                p.batch = batch;
                Op::Depthwise(p)
            }
            Op::Transpose(mut p) => {
                p.batch = batch;
                Op::Transpose(p)
            }
        }
    }
}

/// Scratch for `batch` images' column matrices, capped at 4 Mi floats: the im2col path
/// then runs one GEMM per chunk of images instead of one per image.
fn batched(per_image: usize, batch: usize) -> usize {
    const CAP: usize = 4 << 20;
    per_image * batch.min((CAP / per_image.max(1)).max(1))
}

fn spatial(
    site: &Site,
    input: &[usize],
    one_d: bool,
    two: &'static str,
    one: &'static str,
) -> Result<(&'static str, [usize; 3])> {
    if one_d {
        let [l, c] = crate::model::build::sequence(site, one, input)?;
        Ok((one, [1, l, c]))
    } else {
        Ok((two, crate::model::build::image(site, two, input)?))
    }
}

fn out_shape(one_d: bool, h: usize, w: usize, c: usize) -> Vec<usize> {
    if one_d { vec![w, c] } else { vec![h, w, c] }
}

impl Layer for Conv {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn lowered(&self) -> Lowered {
        let (weights, bias) = (self.w, self.b);
        match self.op {
            Op::Standard(params) => Lowered::Conv {
                params,
                weights,
                bias,
            },
            Op::Depthwise(params) => Lowered::Depthwise {
                params,
                weights,
                bias,
            },
            Op::Transpose(params) => Lowered::Transpose {
                params,
                weights,
                bias,
            },
        }
    }

    fn output_shape(&self) -> &[usize] {
        &self.out
    }

    fn cost(&self) -> Cost {
        Cost {
            params: self.weights_len + self.b.map_or(0, |_| *self.out.last().unwrap_or(&0)),
            macs: self.macs,
        }
    }

    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], cache: &mut Cache) -> Result<()> {
        let w = &cx.params[self.w].data;
        let bias = self.b.map(|b| cx.params[b].data.as_slice());
        let r = match self.at_batch(cx.batch) {
            Op::Standard(p) => conv::forward(
                &p,
                x,
                w,
                bias,
                y,
                cache.scratch(batched(conv::scratch_len(&p), p.batch)),
            ),
            Op::Depthwise(p) => depthwise::forward(&p, x, w, bias, y),
            Op::Transpose(p) => conv_transpose::forward(
                &p,
                x,
                w,
                bias,
                y,
                cache.scratch(batched(conv_transpose::scratch_len(&p), p.batch)),
            ),
        };
        r.map_err(|e| self.site.kernel(e))
    }

    fn backward(
        &self,
        cx: &mut Ctx<'_>,
        x: &[f32],
        _: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        cache: &mut Cache,
    ) -> Result<()> {
        let (dw, db) = super::weight_grads(cx.grads, self.w, self.b);
        let w = &cx.params[self.w].data;
        let r = match self.at_batch(cx.batch) {
            Op::Standard(p) => {
                // The cache still holds the columns this layer's forward built.
                let s = cache.scratch(batched(conv::scratch_len(&p), p.batch));
                conv::backward_after_forward(&p, x, w, dy, dx, dw, db, s)
            }
            Op::Depthwise(p) => depthwise::backward(&p, x, w, dy, dx, dw, db),
            Op::Transpose(p) => {
                let s = cache.scratch(batched(conv_transpose::scratch_len(&p), p.batch));
                conv_transpose::backward(&p, x, w, dy, dx, dw, db, s)
            }
        };
        r.map_err(|e| self.site.kernel(e))
    }
}
