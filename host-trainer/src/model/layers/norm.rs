//! Batch and layer normalisation over the last axis.

use crate::Result;
use crate::model::build::{Registry, Site};
use crate::model::layer::{Cache, Cost, Ctx, Layer};
use crate::model::lowered::Lowered;
use mote_kernels::f32::norm::{Affine, Grads, batch_norm, layer_norm};

/// Two distinct elements of `v`, both mutable.
fn pair_mut<T>(v: &mut [T], a: usize, b: usize) -> Option<(&mut T, &mut T)> {
    if a < b {
        let (lo, hi) = v.split_at_mut(b);
        Some((lo.get_mut(a)?, hi.first_mut()?))
    } else if b < a {
        let (lo, hi) = v.split_at_mut(a);
        let (y, x) = (lo.get_mut(b)?, hi.first_mut()?);
        Some((x, y))
    } else {
        None
    }
}

/// Batch normalisation (PyTorch conventions: biased batch variance, unbiased running
/// variance, momentum 0.1 by default).
#[derive(Debug)]
pub struct BatchNorm {
    site: Site,
    out: Vec<usize>,
    per_sample_rows: usize,
    channels: usize,
    epsilon: f32,
    momentum: f32,
    gamma: usize,
    beta: usize,
    mean: usize,
    var: usize,
}

impl BatchNorm {
    /// Builds the layer for samples of `input` shape.
    pub fn build(
        site: Site,
        input: &[usize],
        momentum: f32,
        epsilon: f32,
        reg: &mut Registry,
    ) -> Result<Self> {
        let Some((&channels, rest)) = input.split_last() else {
            return Err(site.error("batch_norm needs a non-empty input shape"));
        };
        let gamma = reg.constant(&site, "gamma", channels, 1.0);
        let beta = reg.constant(&site, "beta", channels, 0.0);
        let mean = reg.buffer(&site, "running_mean", channels, 0.0);
        let var = reg.buffer(&site, "running_var", channels, 1.0);
        let layer = Self {
            site,
            out: input.to_vec(),
            per_sample_rows: rest.iter().product(),
            channels,
            epsilon,
            momentum,
            gamma,
            beta,
            mean,
            var,
        };
        layer.params(2).validate_at(&layer.site)?;
        Ok(layer)
    }

    fn params(&self, batch: usize) -> batch_norm::Params {
        batch_norm::Params {
            rows: batch * self.per_sample_rows,
            channels: self.channels,
            epsilon: self.epsilon,
            momentum: self.momentum,
        }
    }
}

trait ValidateAt {
    fn validate_at(&self, site: &Site) -> Result<()>;
}

impl ValidateAt for batch_norm::Params {
    fn validate_at(&self, site: &Site) -> Result<()> {
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(site.error("epsilon must be finite and > 0"));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(site.error("momentum must be in [0, 1]"));
        }
        Ok(())
    }
}

impl Layer for BatchNorm {
    fn kind(&self) -> &'static str {
        "batch_norm"
    }
    fn lowered(&self) -> Lowered {
        Lowered::BatchNorm {
            channels: self.channels,
            epsilon: self.epsilon,
            gamma: self.gamma,
            beta: self.beta,
            mean: self.mean,
            var: self.var,
        }
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn cost(&self) -> Cost {
        Cost {
            params: 2 * self.channels,
            macs: (self.per_sample_rows * self.channels) as u64,
        }
    }
    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], cache: &mut Cache) -> Result<()> {
        let p = self.params(cx.batch);
        let affine = Affine {
            gamma: &cx.params[self.gamma].data,
            beta: &cx.params[self.beta].data,
        };
        let Some((mean, var)) = pair_mut(cx.buffers, self.mean, self.var) else {
            return Err(self.site.error("running statistics missing"));
        };
        let r = if cx.train {
            cache.saved.resize(batch_norm::saved_len(&p), 0.0);
            let running = batch_norm::RunningMut { mean, var };
            batch_norm::forward_train(&p, x, y, affine, running, &mut cache.saved)
        } else {
            let running = batch_norm::Running { mean, var };
            let s = cache.scratch(batch_norm::scratch_len(&p));
            batch_norm::forward_inference(&p, x, y, affine, running, s)
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
        let p = self.params(cx.batch);
        let (gamma, beta) = super::weight_grads(cx.grads, self.gamma, Some(self.beta));
        let grads = Grads {
            input: dx,
            gamma,
            beta,
        };
        let s = cache.scratch.len().max(batch_norm::scratch_len(&p));
        cache.scratch.resize(s, 0.0);
        batch_norm::backward_train(
            &p,
            x,
            &cx.params[self.gamma].data,
            &cache.saved,
            dy,
            grads,
            &mut cache.scratch,
        )
        .map_err(|e| self.site.kernel(e))
    }
}

/// Layer normalisation over the last axis, with learned γ and β.
#[derive(Debug)]
pub struct LayerNorm {
    site: Site,
    out: Vec<usize>,
    per_sample_rows: usize,
    features: usize,
    epsilon: f32,
    gamma: usize,
    beta: usize,
}

impl LayerNorm {
    /// Builds the layer for samples of `input` shape.
    pub fn build(site: Site, input: &[usize], epsilon: f32, reg: &mut Registry) -> Result<Self> {
        let Some((&features, rest)) = input.split_last() else {
            return Err(site.error("layer_norm needs a non-empty input shape"));
        };
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(site.error("epsilon must be finite and > 0"));
        }
        let gamma = reg.constant(&site, "gamma", features, 1.0);
        let beta = reg.constant(&site, "beta", features, 0.0);
        Ok(Self {
            site,
            out: input.to_vec(),
            per_sample_rows: rest.iter().product(),
            features,
            epsilon,
            gamma,
            beta,
        })
    }

    fn params(&self, batch: usize) -> layer_norm::Params {
        layer_norm::Params {
            rows: batch * self.per_sample_rows,
            features: self.features,
            epsilon: self.epsilon,
        }
    }
}

impl Layer for LayerNorm {
    fn kind(&self) -> &'static str {
        "layer_norm"
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn cost(&self) -> Cost {
        Cost {
            params: 2 * self.features,
            macs: (self.per_sample_rows * self.features) as u64,
        }
    }
    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], cache: &mut Cache) -> Result<()> {
        let p = self.params(cx.batch);
        cache.saved.resize(layer_norm::saved_len(&p), 0.0);
        let affine = Affine {
            gamma: &cx.params[self.gamma].data,
            beta: &cx.params[self.beta].data,
        };
        layer_norm::forward(&p, x, y, affine, Some(&mut cache.saved))
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
        let (gamma, beta) = super::weight_grads(cx.grads, self.gamma, Some(self.beta));
        let grads = Grads {
            input: dx,
            gamma,
            beta,
        };
        layer_norm::backward(&p, x, &cx.params[self.gamma].data, &cache.saved, dy, grads)
            .map_err(|e| self.site.kernel(e))
    }
}
