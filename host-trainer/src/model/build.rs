//! Turns a [`ModelSpec`](super::spec::ModelSpec) into layers and their tensors:
//! shapes are checked layer by layer, and an error names the layer.

use super::init;
use super::layer::Tensor;
use super::spec::{Init, PaddingSpec};
use crate::{Error, Result};
use mote_core::padding::Padding;
use mote_core::rng::Rng;

/// Where the layer being built sits, for errors and default names.
#[derive(Debug, Clone)]
pub struct Site {
    /// `layer 3 (conv2d 'c1')`.
    pub label: String,
    /// The layer's name (given or `<kind>_<n>`).
    pub name: String,
    /// Index of the top-level layer it belongs to.
    pub top: usize,
}

impl Site {
    /// An [`Error::Spec`] at this layer.
    pub fn error(&self, detail: impl Into<String>) -> Error {
        Error::spec(&self.label, detail)
    }

    /// Wraps a kernel's error with this layer's label.
    pub fn kernel(&self, e: mote_core::Error) -> Error {
        self.error(e.to_string())
    }
}

/// Collects the tensors of the layers being built and initialises them.
#[derive(Debug)]
pub struct Registry {
    /// Trainable tensors.
    pub params: Vec<Tensor>,
    /// Non-trainable tensors.
    pub buffers: Vec<Tensor>,
    /// Draws the initial weights.
    pub rng: Rng,
}

impl Registry {
    /// An empty registry whose initial weights come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            params: Vec::new(),
            buffers: Vec::new(),
            rng: Rng::new(seed),
        }
    }

    /// Adds a weight tensor (`shape`, fan-in and fan-out for the initialiser) and its
    /// optional bias; returns their indices.
    pub fn weights(
        &mut self,
        site: &Site,
        shape: Vec<usize>,
        fans: (usize, usize),
        bias_len: Option<usize>,
        init: Init,
        penalties: (f32, f32),
    ) -> Result<(usize, Option<usize>)> {
        let n = checked_product(site, &shape)?;
        let mut w = vec![0.0; n];
        let mut b = bias_len.map(|len| vec![0.0; len]);
        init::fill(
            init,
            fans.0,
            fans.1,
            &mut w,
            b.as_deref_mut(),
            &mut self.rng,
        );
        let (l1, l2) = penalties;
        if !(l1.is_finite() && l1 >= 0.0 && l2.is_finite() && l2 >= 0.0) {
            return Err(site.error("l1 and l2 must be finite and ≥ 0"));
        }
        let wi = self.push(site, "weights", shape, w, (l1, l2));
        let bi = b.map(|b| {
            let len = b.len();
            self.push(site, "bias", vec![len], b, (0.0, 0.0))
        });
        Ok((wi, bi))
    }

    /// Adds a trainable tensor `<layer>/<role>` of `shape`, initialised by `init` with
    /// these fans (no bias); returns its index.
    pub fn tensor(
        &mut self,
        site: &Site,
        role: &str,
        shape: Vec<usize>,
        fans: (usize, usize),
        init: Init,
        penalties: (f32, f32),
    ) -> Result<usize> {
        let n = checked_product(site, &shape)?;
        let mut w = vec![0.0; n];
        init::fill(init, fans.0, fans.1, &mut w, None, &mut self.rng);
        let (l1, l2) = penalties;
        if !(l1.is_finite() && l1 >= 0.0 && l2.is_finite() && l2 >= 0.0) {
            return Err(site.error("l1 and l2 must be finite and ≥ 0"));
        }
        Ok(self.push(site, role, shape, w, (l1, l2)))
    }

    /// Adds a trainable tensor filled with `value`; returns its index.
    pub fn constant(&mut self, site: &Site, role: &str, len: usize, value: f32) -> usize {
        self.push(site, role, vec![len], vec![value; len], (0.0, 0.0))
    }

    /// Adds a buffer filled with `value`; returns its index.
    pub fn buffer(&mut self, site: &Site, role: &str, len: usize, value: f32) -> usize {
        self.buffers.push(Tensor {
            name: format!("{}/{role}", site.name),
            shape: vec![len],
            data: vec![value; len],
            layer: site.top,
            l1: 0.0,
            l2: 0.0,
        });
        self.buffers.len() - 1
    }

    fn push(
        &mut self,
        site: &Site,
        role: &str,
        shape: Vec<usize>,
        data: Vec<f32>,
        (l1, l2): (f32, f32),
    ) -> usize {
        self.params.push(Tensor {
            name: format!("{}/{role}", site.name),
            shape,
            data,
            layer: site.top,
            l1,
            l2,
        });
        self.params.len() - 1
    }
}

/// Product of `dims`, or an error at `site` when it overflows or is zero.
pub fn checked_product(site: &Site, dims: &[usize]) -> Result<usize> {
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| site.error(format!("size {dims:?} overflows")))?;
    if n == 0 {
        return Err(site.error(format!("size {dims:?} has a zero dimension")));
    }
    Ok(n)
}

/// The padding a spec names.
pub fn padding(site: &Site, p: &PaddingSpec) -> Result<Padding> {
    match p {
        PaddingSpec::Named(s) if s == "valid" => Ok(Padding::Valid),
        PaddingSpec::Named(s) if s == "same" => Ok(Padding::Same),
        PaddingSpec::Named(s) => Err(site.error(format!(
            "padding '{s}' is not one of 'valid', 'same' or a number"
        ))),
        &PaddingSpec::Amount(n) => Ok(Padding::Explicit {
            before: n,
            after: n,
        }),
    }
}

/// `[h, w, c]` of an image-shaped input, or an error naming what the layer needs.
pub fn image(site: &Site, kind: &str, shape: &[usize]) -> Result<[usize; 3]> {
    match *shape {
        [h, w, c] => Ok([h, w, c]),
        _ => Err(site.error(format!(
            "{kind} needs an input of shape [h, w, c], got {shape:?}"
        ))),
    }
}

/// `[length, c]` of a sequence-shaped input.
pub fn sequence(site: &Site, kind: &str, shape: &[usize]) -> Result<[usize; 2]> {
    match *shape {
        [l, c] => Ok([l, c]),
        _ => Err(site.error(format!(
            "{kind} needs an input of shape [length, c], got {shape:?}"
        ))),
    }
}
