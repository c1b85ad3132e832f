//! The built layers, one file per family, and the spec → layer translation they share.

pub mod attention;
pub mod conv;
pub mod dense;
pub mod embedding;
pub mod norm;
pub mod pool;
pub mod recurrent;
pub mod simple;

use super::build::Site;
use crate::Result;
use mote_kernels::f32::activation::Activation;

/// The gradient slices of a weight tensor and its optional bias (none when the pass
/// computes no parameter gradients).
pub fn weight_grads(
    grads: &mut [Vec<f32>],
    w: usize,
    b: Option<usize>,
) -> (Option<&mut [f32]>, Option<&mut [f32]>) {
    match b {
        Some(b) if b > w => {
            let (lo, hi) = grads.split_at_mut(b);
            (
                lo.get_mut(w).map(Vec::as_mut_slice),
                hi.first_mut().map(Vec::as_mut_slice),
            )
        }
        Some(b) if b < w => {
            let (lo, hi) = grads.split_at_mut(w);
            (
                hi.first_mut().map(Vec::as_mut_slice),
                lo.get_mut(b).map(Vec::as_mut_slice),
            )
        }
        _ => (grads.get_mut(w).map(Vec::as_mut_slice), None),
    }
}

/// The gradient slices of `N` distinct tensors, by index (each `None` where the index
/// is `None`, or when the pass computes no parameter gradients).
pub fn grads_of<const N: usize>(
    grads: &mut [Vec<f32>],
    ids: [Option<usize>; N],
) -> [Option<&mut [f32]>; N] {
    let mut out: [Option<&mut [f32]>; N] = [const { None }; N];
    for (i, g) in grads.iter_mut().enumerate() {
        if let Some(k) = ids.iter().position(|&id| id == Some(i)) {
            out[k] = Some(g.as_mut_slice());
        }
    }
    out
}

/// What an activation name in a spec means: `relu`, `relu6`, `leaky_relu[(α)]`,
/// `elu[(α)]`, `sigmoid`, `tanh`, `gelu`, `gelu_tanh`, `silu` (`swish`),
/// `hard_sigmoid`, `hard_swish`, `linear` (`identity`). `softmax` is a layer of its
/// own and returns `None`.
pub fn activation(site: &Site, name: &str) -> Result<Option<Activation>> {
    let name = name.trim();
    let (base, arg) = match name.split_once('(') {
        Some((b, rest)) => {
            let Some(inner) = rest.strip_suffix(')') else {
                return Err(site.error(format!("activation '{name}': missing ')'")));
            };
            let v: f32 = inner.trim().parse().map_err(|_| {
                site.error(format!("activation '{name}': '{inner}' is not a number"))
            })?;
            (b.trim(), Some(v))
        }
        None => (name, None),
    };
    let plain = |a: Activation| match arg {
        None => Ok(Some(a)),
        Some(_) => Err(site.error(format!("activation '{base}' takes no argument"))),
    };
    match base {
        "linear" | "identity" => plain(Activation::Identity),
        "relu" => plain(Activation::Relu),
        "relu6" => plain(Activation::Relu6),
        "leaky_relu" => Ok(Some(Activation::LeakyRelu {
            alpha: arg.unwrap_or(0.01),
        })),
        "elu" => Ok(Some(Activation::Elu {
            alpha: arg.unwrap_or(1.0),
        })),
        "sigmoid" => plain(Activation::Sigmoid),
        "tanh" => plain(Activation::Tanh),
        "gelu" => plain(Activation::Gelu),
        "gelu_tanh" => plain(Activation::GeluTanh),
        "silu" | "swish" => plain(Activation::Silu),
        "hard_sigmoid" => plain(Activation::HardSigmoid),
        "hard_swish" => plain(Activation::HardSwish),
        "softmax" => match arg {
            None => Ok(None),
            Some(_) => Err(site.error("activation 'softmax' takes no argument")),
        },
        _ => Err(site.error(format!(
            "unknown activation '{name}' (known: linear, relu, relu6, leaky_relu, elu, \
             sigmoid, tanh, gelu, gelu_tanh, silu, hard_sigmoid, hard_swish, softmax)"
        ))),
    }
}
