//! Fully connected layer over `[features]` samples.

use crate::Result;
use crate::model::build::{Registry, Site};
use crate::model::layer::{Cache, Cost, Ctx, Layer};
use crate::model::lowered::Lowered;
use crate::model::spec::Weights;
use mote_kernels::f32::dense;

/// `y = x·Wᵀ + b`, `W` as `[units][inputs]`.
#[derive(Debug)]
pub struct Dense {
    site: Site,
    inputs: usize,
    out: [usize; 1],
    w: usize,
    b: Option<usize>,
}

impl Dense {
    /// Builds the layer for samples of `input` shape.
    pub fn build(
        site: Site,
        input: &[usize],
        units: usize,
        weights: Weights,
        reg: &mut Registry,
    ) -> Result<Self> {
        let &[inputs] = input else {
            return Err(site.error(format!(
                "dense needs a flat input [features], got {input:?} (add a flatten layer)"
            )));
        };
        if units == 0 {
            return Err(site.error("units must be at least 1"));
        }
        let (w, b) = reg.weights(
            &site,
            vec![units, inputs],
            (inputs, units),
            weights.bias.then_some(units),
            weights.init,
            (weights.l1, weights.l2),
        )?;
        Ok(Self {
            site,
            inputs,
            out: [units],
            w,
            b,
        })
    }

    fn params(&self, batch: usize) -> dense::Params {
        dense::Params::new(batch, self.inputs, self.out[0])
    }
}

impl Layer for Dense {
    fn kind(&self) -> &'static str {
        "dense"
    }
    fn lowered(&self) -> Lowered {
        Lowered::Dense {
            inputs: self.inputs,
            outputs: self.out[0],
            weights: self.w,
            bias: self.b,
        }
    }

    fn output_shape(&self) -> &[usize] {
        &self.out
    }

    fn cost(&self) -> Cost {
        let n = self.inputs * self.out[0];
        Cost {
            params: n + self.b.map_or(0, |_| self.out[0]),
            macs: n as u64,
        }
    }

    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], _: &mut Cache) -> Result<()> {
        let bias = self.b.map(|b| cx.params[b].data.as_slice());
        dense::forward(&self.params(cx.batch), x, &cx.params[self.w].data, bias, y)
            .map_err(|e| self.site.kernel(e))
    }

    fn backward(
        &self,
        cx: &mut Ctx<'_>,
        x: &[f32],
        _: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut Cache,
    ) -> Result<()> {
        let (dw, db) = super::weight_grads(cx.grads, self.w, self.b);
        dense::backward(
            &self.params(cx.batch),
            x,
            &cx.params[self.w].data,
            dy,
            dx,
            dw,
            db,
        )
        .map_err(|e| self.site.kernel(e))
    }
}
