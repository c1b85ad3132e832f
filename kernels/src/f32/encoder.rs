//! The transformer encoder block: self-attention and a feed-forward network, each with
//! a residual connection and layer normalisation, pre-norm or post-norm; forward and
//! backward.
//!
//! ```text
//! pre-norm  (GPT-2, ViT; Keras/PyTorch norm_first=True):
//!   r = x + MHA(LN₁(x))          y = r + FFN(LN₂(r))
//! post-norm (the original Transformer, BERT; PyTorch's default):
//!   r = LN₁(x + MHA(x))          y = LN₂(r + FFN(r))
//! FFN(v) = act(v·W₁ᵀ + b₁)·W₂ᵀ + b₂, act GELU by default
//! ```
//!
//! Sequences are `[batch][steps][dim]`; the attention is [`attention`]
//! (self-attention, optional causal and key masks), the normalisations
//! [`layer_norm`] over `dim`, the feed-forward layers
//! [`dense`] on `batch·steps` rows. Dropout is left to the caller
//! (between blocks). Forward keeps every intermediate the backward pass needs in the
//! caller's `saved` buffer ([`saved_len`]).

use super::activation::{self, Activation};
use super::attention;
use super::dense;
use super::norm::layer_norm;
use super::norm::{Affine, Grads as NormGrads};
use mote_core::error::{check_capacity, check_len, check_nonzero};
use mote_core::{Error, ErrorKind, Result};

/// Where the layer normalisations sit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Norm {
    /// Before each sub-layer, inside the residual branch.
    #[default]
    Pre,
    /// After each residual addition.
    Post,
}

/// Geometry and options of an encoder block.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// The self-attention (`q_steps = kv_steps`, `kv_dim = dim`).
    pub attention: attention::Params,
    /// Units of the feed-forward network's hidden layer.
    pub ff: usize,
    /// Pre- or post-norm.
    pub norm: Norm,
    /// The layer normalisations' ε.
    pub epsilon: f32,
    /// The feed-forward network's activation.
    pub activation: Activation,
}

/// The parameters of an encoder block.
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a> {
    /// The self-attention's projections.
    pub attention: attention::Weights<'a>,
    /// The first layer normalisation's γ, β (`[dim]` each).
    pub norm1: Affine<'a>,
    /// `W₁`, `[ff][dim]`.
    pub ff1: &'a [f32],
    /// `b₁`, `[ff]`.
    pub ff1_bias: &'a [f32],
    /// `W₂`, `[dim][ff]`.
    pub ff2: &'a [f32],
    /// `b₂`, `[dim]`.
    pub ff2_bias: &'a [f32],
    /// The second layer normalisation's γ, β.
    pub norm2: Affine<'a>,
}

/// Gradient buffers matching [`Weights`]; [`backward`] adds into those given.
#[derive(Debug, Default)]
pub struct WeightGrads<'a> {
    /// The self-attention's.
    pub attention: attention::WeightGrads<'a>,
    /// `∂L/∂γ₁`.
    pub norm1_gamma: Option<&'a mut [f32]>,
    /// `∂L/∂β₁`.
    pub norm1_beta: Option<&'a mut [f32]>,
    /// `∂L/∂W₁`.
    pub ff1: Option<&'a mut [f32]>,
    /// `∂L/∂b₁`.
    pub ff1_bias: Option<&'a mut [f32]>,
    /// `∂L/∂W₂`.
    pub ff2: Option<&'a mut [f32]>,
    /// `∂L/∂b₂`.
    pub ff2_bias: Option<&'a mut [f32]>,
    /// `∂L/∂γ₂`.
    pub norm2_gamma: Option<&'a mut [f32]>,
    /// `∂L/∂β₂`.
    pub norm2_beta: Option<&'a mut [f32]>,
}

/// Buffer lengths of a block.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    rows: usize,
    /// `rows·dim`.
    x: usize,
    /// `rows·ff`.
    hidden: usize,
    attention_saved: usize,
}

impl Params {
    fn sizes(&self) -> Result<Sizes> {
        let a = &self.attention;
        if a.q_steps != a.kv_steps || a.kv_dim != a.dim {
            return Err(Error::new(
                ErrorKind::ShapeMismatch,
                "encoder: attention must be self-attention",
            ));
        }
        check_nonzero("encoder: ff", self.ff)?;
        self.activation.validate()?;
        let attention_saved = attention::saved_len(a)?;
        let overflow = Error::new(ErrorKind::Overflow, "encoder: size");
        let rows = a.batch.checked_mul(a.q_steps).ok_or(overflow)?;
        Ok(Sizes {
            rows,
            x: rows.checked_mul(a.dim).ok_or(overflow)?,
            hidden: rows.checked_mul(self.ff).ok_or(overflow)?,
            attention_saved,
        })
    }

    fn norm(&self, rows: usize) -> layer_norm::Params {
        layer_norm::Params {
            rows,
            features: self.attention.dim,
            epsilon: self.epsilon,
        }
    }
}

/// Floats of `saved`: both normalisations' statistics, three `rows × dim` buffers, the
/// attention's saved activations and two `rows × ff` buffers.
///
/// Errors: as for [`forward`]'s geometry.
pub fn saved_len(p: &Params) -> Result<usize> {
    let s = p.sizes()?;
    [4 * s.rows, 3 * s.x, s.attention_saved, 2 * s.hidden]
        .iter()
        .try_fold(0usize, |a, &b| a.checked_add(b))
        .ok_or(Error::new(ErrorKind::Overflow, "encoder: saved"))
}

/// Floats of scratch [`backward`] needs.
///
/// Errors: as for [`forward`]'s geometry.
pub fn backward_scratch_len(p: &Params) -> Result<usize> {
    let s = p.sizes()?;
    [
        3 * s.x,
        2 * s.hidden,
        attention::backward_scratch_len(&p.attention)?,
    ]
    .iter()
    .try_fold(0usize, |a, &b| a.checked_add(b))
    .ok_or(Error::new(ErrorKind::Overflow, "encoder: scratch"))
}

/// Lengths of the regions of `saved`, in order: the two normalisations' statistics;
/// three `rows × dim` buffers `a, b, c` (pre-norm `LN₁(x)`, `r`, `LN₂(r)`; post-norm
/// `x + MHA(x)`, `r`, `r + FFN(r)`); the attention's saved activations; `f1 = v·W₁ᵀ + b₁`
/// and `g = act(f1)`.
fn regions(s: &Sizes) -> [usize; 8] {
    [
        2 * s.rows,
        2 * s.rows,
        s.x,
        s.x,
        s.x,
        s.attention_saved,
        s.hidden,
        s.hidden,
    ]
}

/// `saved` cut into [`regions`] (its length checked by the caller).
fn parts_mut<'s>(saved: &'s mut [f32], s: &Sizes) -> [&'s mut [f32]; 8] {
    let mut rest = saved;
    regions(s).map(|n| {
        let (part, tail) = core::mem::take(&mut rest).split_at_mut(n);
        rest = tail;
        part
    })
}

/// The read-only form of [`parts_mut`].
fn parts<'s>(saved: &'s [f32], s: &Sizes) -> [&'s [f32]; 8] {
    let mut rest = saved;
    regions(s).map(|n| {
        let (part, tail) = rest.split_at(n);
        rest = tail;
        part
    })
}

fn check_weights(p: &Params, w: &Weights<'_>) -> Result<()> {
    let (d, ff) = (p.attention.dim, p.ff);
    check_len("encoder: ff1", ff * d, w.ff1.len())?;
    check_len("encoder: ff1_bias", ff, w.ff1_bias.len())?;
    check_len("encoder: ff2", d * ff, w.ff2.len())?;
    check_len("encoder: ff2_bias", d, w.ff2_bias.len())?;
    for (at, v) in [
        ("encoder: norm1 gamma", w.norm1.gamma),
        ("encoder: norm1 beta", w.norm1.beta),
        ("encoder: norm2 gamma", w.norm2.gamma),
        ("encoder: norm2 beta", w.norm2.beta),
    ] {
        check_len(at, d, v.len())?;
    }
    Ok(())
}

/// The feed-forward network forward: `f1 = v·W₁ᵀ + b₁`, `g = act(f1)`, `out = g·W₂ᵀ + b₂`.
fn ffn_forward(
    p: &Params,
    s: &Sizes,
    w: &Weights<'_>,
    v: &[f32],
    f1: &mut [f32],
    g: &mut [f32],
    out: &mut [f32],
) -> Result<()> {
    let d = p.attention.dim;
    dense::forward(
        &dense::Params::new(s.rows, d, p.ff),
        v,
        w.ff1,
        Some(w.ff1_bias),
        f1,
    )?;
    activation::forward(&p.activation, f1, g)?;
    dense::forward(
        &dense::Params::new(s.rows, p.ff, d),
        g,
        w.ff2,
        Some(w.ff2_bias),
        out,
    )
}

/// Forward: `output` (`[batch][steps][dim]`) from `input`, with `key_mask` (`[batch][steps]`,
/// nonzero = attend) for the attention; `saved` ([`saved_len`]) for [`backward`].
///
/// Errors: `ShapeMismatch` unless the attention is self-attention; `Zero`,
/// `LengthMismatch`, `Overflow`, `InvalidFloat` as the parts report them.
pub fn forward(
    p: &Params,
    input: &[f32],
    weights: &Weights<'_>,
    key_mask: Option<&[u8]>,
    output: &mut [f32],
    saved: &mut [f32],
) -> Result<()> {
    let s = p.sizes()?;
    check_len("encoder: input", s.x, input.len())?;
    check_weights(p, weights)?;
    check_len("encoder: output", s.x, output.len())?;
    check_len("encoder: saved", saved_len(p)?, saved.len())?;
    let [stats1, stats2, a, b, c, att_saved, f1, g] = parts_mut(saved, &s);
    let norm = p.norm(s.rows);
    let att = &p.attention;
    match p.norm {
        Norm::Pre => {
            layer_norm::forward(&norm, input, a, weights.norm1, Some(stats1))?;
            attention::forward(att, a, None, &weights.attention, key_mask, b, att_saved)?;
            add_into(b, input);
            layer_norm::forward(&norm, b, c, weights.norm2, Some(stats2))?;
            ffn_forward(p, &s, weights, c, f1, g, output)?;
            add_into(output, b);
        }
        Norm::Post => {
            attention::forward(att, input, None, &weights.attention, key_mask, a, att_saved)?;
            add_into(a, input);
            layer_norm::forward(&norm, a, b, weights.norm1, Some(stats1))?;
            ffn_forward(p, &s, weights, b, f1, g, c)?;
            add_into(c, b);
            layer_norm::forward(&norm, c, output, weights.norm2, Some(stats2))?;
        }
    }
    Ok(())
}

/// `dst += src`.
fn add_into(dst: &mut [f32], src: &[f32]) {
    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
}

/// The feed-forward network backward from `d_out`: adds `∂L/∂v` to `dv` and the weight
/// gradients (`∂W₁, ∂b₁, ∂W₂, ∂b₂`); `dg`, `df1` are `rows × ff` scratch.
#[allow(clippy::too_many_arguments)]
fn ffn_backward(
    p: &Params,
    s: &Sizes,
    w: &Weights<'_>,
    v: &[f32],
    f1: &[f32],
    g: &[f32],
    d_out: &[f32],
    dv: &mut [f32],
    dg: &mut [f32],
    df1: &mut [f32],
    grads: [Option<&mut [f32]>; 4],
) -> Result<()> {
    let d = p.attention.dim;
    let [gw1, gb1, gw2, gb2] = grads;
    dg.fill(0.0);
    df1.fill(0.0);
    dense::backward(
        &dense::Params::new(s.rows, p.ff, d),
        g,
        w.ff2,
        d_out,
        Some(dg),
        gw2,
        gb2,
    )?;
    activation::backward(&p.activation, f1, g, dg, df1)?;
    dense::backward(
        &dense::Params::new(s.rows, d, p.ff),
        v,
        w.ff1,
        df1,
        Some(dv),
        gw1,
        gb1,
    )
}

/// Backward: from `grad_output`, adds `∂L/∂input` to `grad_input` (when given) and the
/// weight gradients to `grads`.
///
/// `input`, `weights`, `key_mask` and `saved` must be those of the [`forward`] call;
/// `scratch` is [`backward_scratch_len`] floats, not read.
///
/// Errors: as for [`forward`]; `BufferTooSmall` for a short `scratch`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &Params,
    input: &[f32],
    weights: &Weights<'_>,
    saved: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grads: WeightGrads<'_>,
    scratch: &mut [f32],
) -> Result<()> {
    let s = p.sizes()?;
    check_len("encoder: input", s.x, input.len())?;
    check_weights(p, weights)?;
    check_len("encoder: saved", saved_len(p)?, saved.len())?;
    check_len("encoder: grad_output", s.x, grad_output.len())?;
    if let Some(d) = &grad_input {
        check_len("encoder: grad_input", s.x, d.len())?;
    }
    check_capacity("encoder: scratch", backward_scratch_len(p)?, scratch.len())?;
    let [stats1, stats2, a, b, c, att_saved, f1, g] = parts(saved, &s);
    let norm = p.norm(s.rows);
    let (d1, rest) = scratch.split_at_mut(s.x);
    let (d2, rest) = rest.split_at_mut(s.x);
    let (d3, rest) = rest.split_at_mut(s.x);
    let (dg, rest) = rest.split_at_mut(s.hidden);
    let (df1, att_scratch) = rest.split_at_mut(s.hidden);
    let WeightGrads {
        attention: att_grads,
        norm1_gamma,
        norm1_beta,
        ff1,
        ff1_bias,
        ff2,
        ff2_bias,
        norm2_gamma,
        norm2_beta,
    } = grads;
    let ff_grads = [ff1, ff1_bias, ff2, ff2_bias];
    let norm_grads = |gamma, beta| NormGrads {
        input: None,
        gamma,
        beta,
    };
    let (n1, n2) = (
        norm_grads(norm1_gamma, norm1_beta),
        norm_grads(norm2_gamma, norm2_beta),
    );
    let att = &p.attention;
    let aw = &weights.attention;
    match p.norm {
        Norm::Pre => {
            // y = r + FFN(LN₂(r)): d1 = ∂r = ∂y + LN₂ backward of the FFN's ∂LN₂(r).
            d1.copy_from_slice(grad_output);
            d2.fill(0.0);
            ffn_backward(p, &s, weights, c, f1, g, grad_output, d2, dg, df1, ff_grads)?;
            let n2 = NormGrads {
                input: Some(&mut *d1),
                ..n2
            };
            layer_norm::backward(&norm, b, weights.norm2.gamma, stats2, d2, n2)?;
            // r = x + MHA(LN₁(x)): ∂x = ∂r + LN₁ backward of MHA backward of ∂r.
            d3.fill(0.0);
            attention::backward(
                att,
                a,
                None,
                aw,
                att_saved,
                d1,
                Some(d3),
                None,
                att_grads,
                att_scratch,
            )?;
            if let Some(gx) = grad_input {
                add_into(gx, d1);
                let n1 = NormGrads {
                    input: Some(gx),
                    ..n1
                };
                layer_norm::backward(&norm, input, weights.norm1.gamma, stats1, d3, n1)?;
            } else {
                layer_norm::backward(&norm, input, weights.norm1.gamma, stats1, d3, n1)?;
            }
        }
        Norm::Post => {
            // y = LN₂(c), c = r + FFN(r): d1 = ∂c.
            d1.fill(0.0);
            let n2 = NormGrads {
                input: Some(&mut *d1),
                ..n2
            };
            layer_norm::backward(&norm, c, weights.norm2.gamma, stats2, grad_output, n2)?;
            // ∂r = ∂c + FFN backward of ∂c.
            d2.copy_from_slice(d1);
            ffn_backward(p, &s, weights, b, f1, g, d1, d2, dg, df1, ff_grads)?;
            // r = LN₁(a), a = x + MHA(x): d3 = ∂a; ∂x = ∂a + MHA backward of ∂a.
            d3.fill(0.0);
            let n1 = NormGrads {
                input: Some(&mut *d3),
                ..n1
            };
            layer_norm::backward(&norm, a, weights.norm1.gamma, stats1, d2, n1)?;
            let mut gx = grad_input;
            if let Some(gx) = gx.as_deref_mut() {
                add_into(gx, d3);
            }
            attention::backward(
                att,
                input,
                None,
                aw,
                att_saved,
                d3,
                gx,
                None,
                att_grads,
                att_scratch,
            )?;
        }
    }
    Ok(())
}
