//! Layers without weights that keep to one kernel call: activations, softmax, dropout,
//! reshape/flatten and up-sampling.

use crate::Result;
use crate::model::build::{Site, image};
use crate::model::layer::{Cache, Cost, Ctx, Layer, hash_bits, input_grad};
use crate::model::lowered::Lowered;
use mote_kernels::f32::activation::{self, Activation, Axis, softmax};
use mote_kernels::f32::{dropout, upsample};

/// An element-wise activation.
#[derive(Debug)]
pub struct Act {
    site: Site,
    function: Activation,
    out: Vec<usize>,
}

impl Act {
    /// Applies `function` to samples of `input` shape.
    pub fn build(site: Site, input: &[usize], function: Activation) -> Result<Self> {
        function.validate().map_err(|e| site.kernel(e))?;
        Ok(Self {
            site,
            function,
            out: input.to_vec(),
        })
    }
}

impl Layer for Act {
    fn kind(&self) -> &'static str {
        "activation"
    }
    fn lowered(&self) -> Lowered {
        Lowered::Activation(self.function)
    }
    fn kink_pattern(&self, x: &[f32], _: &[f32]) -> Option<u64> {
        // Where each kinked function bends: ReLU and leaky ReLU at 0, ReLU6 at 0 and 6,
        // hard sigmoid / hard swish at ±3.
        let (lo, hi) = match self.function {
            Activation::Relu | Activation::LeakyRelu { .. } => (0.0, f32::INFINITY),
            Activation::Relu6 => (0.0, 6.0),
            Activation::HardSigmoid | Activation::HardSwish => (-3.0, 3.0),
            _ => return None,
        };
        Some(hash_bits(x.iter().flat_map(|&v| [v > lo, v < hi])))
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn cost(&self) -> Cost {
        Cost::default()
    }
    fn forward(&self, _: &mut Ctx<'_>, x: &[f32], y: &mut [f32], _: &mut Cache) -> Result<()> {
        activation::forward(&self.function, x, y).map_err(|e| self.site.kernel(e))
    }
    fn backward(
        &self,
        _: &mut Ctx<'_>,
        x: &[f32],
        y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut Cache,
    ) -> Result<()> {
        match dx {
            Some(dx) => {
                activation::backward(&self.function, x, y, dy, dx).map_err(|e| self.site.kernel(e))
            }
            None => Ok(()),
        }
    }
}

/// Softmax over the last axis.
#[derive(Debug)]
pub struct Softmax {
    site: Site,
    out: Vec<usize>,
    axis: usize,
    rows_per_sample: usize,
}

impl Softmax {
    /// Softmax over the last axis of samples of `input` shape.
    pub fn build(site: Site, input: &[usize]) -> Result<Self> {
        let Some((&axis, rest)) = input.split_last() else {
            return Err(site.error("softmax needs a non-empty input shape"));
        };
        Ok(Self {
            site,
            out: input.to_vec(),
            axis,
            rows_per_sample: rest.iter().product(),
        })
    }

    fn axis(&self, batch: usize) -> Axis {
        Axis::last(batch * self.rows_per_sample, self.axis)
    }
}

impl Layer for Softmax {
    fn kind(&self) -> &'static str {
        "softmax"
    }
    fn lowered(&self) -> Lowered {
        Lowered::Softmax
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn cost(&self) -> Cost {
        Cost::default()
    }
    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], _: &mut Cache) -> Result<()> {
        softmax::forward(&self.axis(cx.batch), x, y).map_err(|e| self.site.kernel(e))
    }
    fn backward(
        &self,
        cx: &mut Ctx<'_>,
        _: &[f32],
        y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut Cache,
    ) -> Result<()> {
        match dx {
            Some(dx) => {
                softmax::backward(&self.axis(cx.batch), y, dy, dx).map_err(|e| self.site.kernel(e))
            }
            None => Ok(()),
        }
    }
}

/// Inverted dropout: zeroes values with probability `rate` in training and scales the
/// rest by `1/(1 − rate)`; the identity at inference.
#[derive(Debug)]
pub struct Dropout {
    site: Site,
    params: dropout::Params,
    out: Vec<usize>,
}

impl Dropout {
    /// Dropout at `rate` on samples of `input` shape.
    pub fn build(site: Site, input: &[usize], rate: f32) -> Result<Self> {
        let params = dropout::Params { rate };
        params.scale().map_err(|e| site.kernel(e))?;
        Ok(Self {
            site,
            params,
            out: input.to_vec(),
        })
    }
}

impl Layer for Dropout {
    fn kind(&self) -> &'static str {
        "dropout"
    }
    fn lowered(&self) -> Lowered {
        Lowered::Identity
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn cost(&self) -> Cost {
        Cost::default()
    }
    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], cache: &mut Cache) -> Result<()> {
        let r = if cx.train {
            cache.mask.resize(x.len(), 0);
            dropout::forward_train(&self.params, cx.rng, x, y, &mut cache.mask)
        } else {
            dropout::forward_inference(x, y)
        };
        r.map_err(|e| self.site.kernel(e))
    }
    fn backward(
        &self,
        _: &mut Ctx<'_>,
        _: &[f32],
        _: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        cache: &mut Cache,
    ) -> Result<()> {
        input_grad(&self.site, dx, |dx| {
            dropout::backward(&self.params, &cache.mask, dy, dx)
        })
    }
}

/// Flatten or reshape: the same values under another sample shape.
#[derive(Debug)]
pub struct Reshape {
    kind: &'static str,
    out: Vec<usize>,
}

impl Reshape {
    /// Reshapes samples of `input` shape to `shape` (the same number of values).
    pub fn build(
        site: Site,
        input: &[usize],
        shape: Vec<usize>,
        kind: &'static str,
    ) -> Result<Self> {
        let n: usize = input.iter().product();
        let m = crate::model::build::checked_product(&site, &shape)?;
        if n != m {
            return Err(site.error(format!(
                "cannot reshape {input:?} ({n} values) to {shape:?} ({m} values)"
            )));
        }
        Ok(Self { kind, out: shape })
    }
}

impl Layer for Reshape {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn lowered(&self) -> Lowered {
        Lowered::Reshape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn cost(&self) -> Cost {
        Cost::default()
    }
    fn forward(&self, _: &mut Ctx<'_>, x: &[f32], y: &mut [f32], _: &mut Cache) -> Result<()> {
        y.copy_from_slice(x);
        Ok(())
    }
    fn backward(
        &self,
        _: &mut Ctx<'_>,
        _: &[f32],
        _: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut Cache,
    ) -> Result<()> {
        if let Some(dx) = dx {
            dx.iter_mut().zip(dy).for_each(|(d, &g)| *d += g);
        }
        Ok(())
    }
}

/// Nearest or bilinear up-sampling of `[h, w, c]` by integer factors.
#[derive(Debug)]
pub struct Upsample {
    site: Site,
    params: upsample::Params,
    out: Vec<usize>,
}

impl Upsample {
    /// Up-samples samples of `input` shape by `scale`.
    pub fn build(
        site: Site,
        input: &[usize],
        scale: [usize; 2],
        mode: upsample::Mode,
    ) -> Result<Self> {
        let [h, w, c] = image(&site, "upsample", input)?;
        let params = upsample::Params::scaled(mode, 1, h, w, c, scale[0], scale[1])
            .map_err(|e| site.kernel(e))?;
        let out = vec![params.out_height, params.out_width, c];
        Ok(Self { site, params, out })
    }

    fn at(&self, batch: usize) -> upsample::Params {
        upsample::Params {
            batch,
            ..self.params
        }
    }
}

impl Layer for Upsample {
    fn kind(&self) -> &'static str {
        "upsample"
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn cost(&self) -> Cost {
        Cost::default()
    }
    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], _: &mut Cache) -> Result<()> {
        upsample::forward(&self.at(cx.batch), x, y).map_err(|e| self.site.kernel(e))
    }
    fn backward(
        &self,
        cx: &mut Ctx<'_>,
        _: &[f32],
        _: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut Cache,
    ) -> Result<()> {
        input_grad(&self.site, dx, |dx| {
            upsample::backward(&self.at(cx.batch), dy, dx)
        })
    }
}
