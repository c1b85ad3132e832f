//! Attention layers over `[steps, dim]` samples: multi-head self-attention and the
//! transformer encoder block, on `mote_kernels::f32::{attention, encoder}`.

use crate::Result;
use crate::model::build::{Registry, Site, sequence};
use crate::model::layer::{Cache, Cost, Ctx, Layer};
use crate::model::spec::Init;
use mote_kernels::f32::activation::Activation;
use mote_kernels::f32::attention::{self, Params, WeightGrads, Weights};
use mote_kernels::f32::encoder::{self, Norm};
use mote_kernels::f32::norm::Affine;

/// The four projections of an attention layer: tensor indices of `w_q, w_k, w_v, w_o`
/// and their biases (`None` without bias).
#[derive(Debug, Clone, Copy)]
struct Projections {
    w: [usize; 4],
    b: [Option<usize>; 4],
}

impl Projections {
    fn build(
        site: &Site,
        dim: usize,
        inner: usize,
        init: Init,
        bias: bool,
        reg: &mut Registry,
    ) -> Result<Self> {
        let mut w = [0; 4];
        let mut b = [None; 4];
        for (k, role) in ["query", "key", "value", "output"].into_iter().enumerate() {
            let (shape, fans, len) = if k < 3 {
                (vec![inner, dim], (dim, inner), inner)
            } else {
                (vec![dim, inner], (inner, dim), dim)
            };
            w[k] = reg.tensor(site, role, shape, fans, init, (0.0, 0.0))?;
            b[k] = bias.then(|| reg.constant(site, &format!("{role}_bias"), len, 0.0));
        }
        Ok(Self { w, b })
    }

    fn weights<'a>(&self, params: &'a [crate::model::layer::Tensor]) -> Weights<'a> {
        let t = |i: usize| params[i].data.as_slice();
        let b = |i: Option<usize>| i.map(t);
        Weights {
            q: t(self.w[0]),
            k: t(self.w[1]),
            v: t(self.w[2]),
            o: t(self.w[3]),
            q_bias: b(self.b[0]),
            k_bias: b(self.b[1]),
            v_bias: b(self.b[2]),
            o_bias: b(self.b[3]),
        }
    }

    /// The eight tensors' indices, weights then biases, for [`super::grads_of`].
    fn ids(&self) -> [Option<usize>; 8] {
        let w = self.w.map(Some);
        [
            w[0], w[1], w[2], w[3], self.b[0], self.b[1], self.b[2], self.b[3],
        ]
    }
}

/// Gradient slices in [`Projections::ids`] order as the kernel's [`WeightGrads`].
fn attention_grads(g: [Option<&mut [f32]>; 8]) -> WeightGrads<'_> {
    let [q, k, v, o, q_bias, k_bias, v_bias, o_bias] = g;
    WeightGrads {
        q,
        k,
        v,
        o,
        q_bias,
        k_bias,
        v_bias,
        o_bias,
    }
}

/// Multi-head self-attention: `[steps, dim] → [steps, dim]`.
#[derive(Debug)]
pub struct MultiHeadAttention {
    site: Site,
    steps: usize,
    dim: usize,
    heads: usize,
    head_dim: usize,
    causal: bool,
    proj: Projections,
    out: [usize; 2],
}

impl MultiHeadAttention {
    /// Builds the layer for `[steps, dim]` samples; `head_dim` defaults to
    /// `dim / heads`.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        site: Site,
        input: &[usize],
        heads: usize,
        head_dim: Option<usize>,
        causal: bool,
        init: Init,
        bias: bool,
        reg: &mut Registry,
    ) -> Result<Self> {
        let [steps, dim] = sequence(&site, "multi_head_attention", input)?;
        let head_dim = head_dims(&site, dim, heads, head_dim)?;
        let proj = Projections::build(&site, dim, heads * head_dim, init, bias, reg)?;
        Ok(Self {
            site,
            steps,
            dim,
            heads,
            head_dim,
            causal,
            proj,
            out: [steps, dim],
        })
    }

    fn params(&self, batch: usize) -> Params {
        Params {
            batch,
            q_steps: self.steps,
            kv_steps: self.steps,
            dim: self.dim,
            kv_dim: self.dim,
            heads: self.heads,
            head_dim: self.head_dim,
            causal: self.causal,
        }
    }
}

/// `head_dim`, or `dim / heads` when it divides.
fn head_dims(site: &Site, dim: usize, heads: usize, head_dim: Option<usize>) -> Result<usize> {
    if heads == 0 {
        return Err(site.error("heads must be at least 1"));
    }
    match head_dim {
        Some(0) => Err(site.error("head_dim must be at least 1")),
        Some(d) => Ok(d),
        None if dim.is_multiple_of(heads) => Ok(dim / heads),
        None => Err(site.error(format!(
            "{heads} heads do not divide {dim} features (give head_dim)"
        ))),
    }
}

impl Layer for MultiHeadAttention {
    fn kind(&self) -> &'static str {
        "multi_head_attention"
    }

    fn output_shape(&self) -> &[usize] {
        &self.out
    }

    fn cost(&self) -> Cost {
        let inner = self.heads * self.head_dim;
        let proj = 4 * self.dim * inner;
        let bias = self.proj.b.iter().flatten().count();
        Cost {
            params: proj + if bias > 0 { 3 * inner + self.dim } else { 0 },
            macs: (self.steps * proj + 2 * self.steps * self.steps * inner) as u64,
        }
    }

    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], cache: &mut Cache) -> Result<()> {
        let p = self.params(cx.batch);
        let n = attention::saved_len(&p).map_err(|e| self.site.kernel(e))?;
        cache.saved.resize(n, 0.0);
        let w = self.proj.weights(cx.params);
        attention::forward(&p, x, None, &w, None, y, &mut cache.saved[..n])
            .map_err(|e| self.site.kernel(e))
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
        let p = self.params(cx.batch);
        let err = |e| self.site.kernel(e);
        let n = attention::backward_scratch_len(&p).map_err(err)?;
        let Cache { saved, scratch, .. } = cache;
        if scratch.len() < n {
            scratch.resize(n, 0.0);
        }
        let w = self.proj.weights(cx.params);
        let g = attention_grads(super::grads_of(cx.grads, self.proj.ids()));
        attention::backward(&p, x, None, &w, saved, dy, dx, None, g, &mut scratch[..n]).map_err(err)
    }
}

/// Options of a transformer encoder block beyond its attention.
#[derive(Debug, Clone, Copy)]
pub struct EncoderOptions {
    /// Attention heads.
    pub heads: usize,
    /// Features per head (`dim / heads` when `None`).
    pub head_dim: Option<usize>,
    /// Units of the feed-forward network.
    pub ff: usize,
    /// Pre- or post-norm.
    pub norm: Norm,
    /// Look-ahead mask.
    pub causal: bool,
    /// The feed-forward activation.
    pub activation: Activation,
    /// The layer normalisations' ε.
    pub epsilon: f32,
    /// Initialiser of the projections and feed-forward weights.
    pub init: Init,
}

/// A transformer encoder block: `[steps, dim] → [steps, dim]`.
#[derive(Debug)]
pub struct TransformerEncoder {
    site: Site,
    p: encoder::Params,
    proj: Projections,
    /// γ₁, β₁, W₁, b₁, W₂, b₂, γ₂, β₂.
    rest: [usize; 8],
    out: [usize; 2],
}

impl TransformerEncoder {
    /// Builds the block for `[steps, dim]` samples.
    pub fn build(
        site: Site,
        input: &[usize],
        o: &EncoderOptions,
        reg: &mut Registry,
    ) -> Result<Self> {
        let [steps, dim] = sequence(&site, "transformer_encoder", input)?;
        let head_dim = head_dims(&site, dim, o.heads, o.head_dim)?;
        if o.ff == 0 {
            return Err(site.error("ff must be at least 1"));
        }
        if !(o.epsilon.is_finite() && o.epsilon > 0.0) {
            return Err(site.error("epsilon must be finite and > 0"));
        }
        let proj = Projections::build(&site, dim, o.heads * head_dim, o.init, true, reg)?;
        let gamma1 = reg.constant(&site, "norm1_gamma", dim, 1.0);
        let beta1 = reg.constant(&site, "norm1_beta", dim, 0.0);
        let w1 = reg.tensor(
            &site,
            "ff1",
            vec![o.ff, dim],
            (dim, o.ff),
            o.init,
            (0.0, 0.0),
        )?;
        let b1 = reg.constant(&site, "ff1_bias", o.ff, 0.0);
        let w2 = reg.tensor(
            &site,
            "ff2",
            vec![dim, o.ff],
            (o.ff, dim),
            o.init,
            (0.0, 0.0),
        )?;
        let b2 = reg.constant(&site, "ff2_bias", dim, 0.0);
        let gamma2 = reg.constant(&site, "norm2_gamma", dim, 1.0);
        let beta2 = reg.constant(&site, "norm2_beta", dim, 0.0);
        let attention = Params {
            batch: 1,
            q_steps: steps,
            kv_steps: steps,
            dim,
            kv_dim: dim,
            heads: o.heads,
            head_dim,
            causal: o.causal,
        };
        let p = encoder::Params {
            attention,
            ff: o.ff,
            norm: o.norm,
            epsilon: o.epsilon,
            activation: o.activation,
        };
        Ok(Self {
            site,
            p,
            proj,
            rest: [gamma1, beta1, w1, b1, w2, b2, gamma2, beta2],
            out: [steps, dim],
        })
    }

    fn params(&self, batch: usize) -> encoder::Params {
        let mut p = self.p;
        p.attention.batch = batch;
        p
    }

    fn weights<'a>(&self, params: &'a [crate::model::layer::Tensor]) -> encoder::Weights<'a> {
        let t = |i: usize| params[i].data.as_slice();
        let [g1, b1, w1, fb1, w2, fb2, g2, b2] = self.rest;
        encoder::Weights {
            attention: self.proj.weights(params),
            norm1: Affine {
                gamma: t(g1),
                beta: t(b1),
            },
            ff1: t(w1),
            ff1_bias: t(fb1),
            ff2: t(w2),
            ff2_bias: t(fb2),
            norm2: Affine {
                gamma: t(g2),
                beta: t(b2),
            },
        }
    }
}

impl Layer for TransformerEncoder {
    fn kind(&self) -> &'static str {
        "transformer_encoder"
    }

    fn output_shape(&self) -> &[usize] {
        &self.out
    }

    fn cost(&self) -> Cost {
        let a = &self.p.attention;
        let (d, inner, t) = (a.dim, a.heads * a.head_dim, a.q_steps);
        let ff = 2 * d * self.p.ff;
        Cost {
            params: 4 * d * inner + 3 * inner + d + ff + self.p.ff + d + 4 * d,
            macs: (t * (4 * d * inner + ff) + 2 * t * t * inner) as u64,
        }
    }

    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], cache: &mut Cache) -> Result<()> {
        let p = self.params(cx.batch);
        let n = encoder::saved_len(&p).map_err(|e| self.site.kernel(e))?;
        cache.saved.resize(n, 0.0);
        let w = self.weights(cx.params);
        encoder::forward(&p, x, &w, None, y, &mut cache.saved[..n]).map_err(|e| self.site.kernel(e))
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
        let p = self.params(cx.batch);
        let err = |e| self.site.kernel(e);
        let n = encoder::backward_scratch_len(&p).map_err(err)?;
        let Cache { saved, scratch, .. } = cache;
        if scratch.len() < n {
            scratch.resize(n, 0.0);
        }
        let w = self.weights(cx.params);
        let pi = self.proj.ids();
        let r = self.rest.map(Some);
        let ids = [
            pi[0], pi[1], pi[2], pi[3], pi[4], pi[5], pi[6], pi[7], r[0], r[1], r[2], r[3], r[4],
            r[5], r[6], r[7],
        ];
        let [q, k, v, o, qb, kb, vb, ob, g1, b1, w1, fb1, w2, fb2, g2, b2] =
            super::grads_of(cx.grads, ids);
        let grads = encoder::WeightGrads {
            attention: attention_grads([q, k, v, o, qb, kb, vb, ob]),
            norm1_gamma: g1,
            norm1_beta: b1,
            ff1: w1,
            ff1_bias: fb1,
            ff2: w2,
            ff2_bias: fb2,
            norm2_gamma: g2,
            norm2_beta: b2,
        };
        encoder::backward(&p, x, &w, saved, dy, dx, grads, &mut scratch[..n]).map_err(err)
    }
}
