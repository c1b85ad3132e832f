//! Pooling: max and average windows over `[h, w, c]` (1-D as height 1), and global
//! pooling over all positions.

use crate::Result;
use crate::model::build::{Site, image, padding, sequence};
use crate::model::layer::{Cache, Cost, Ctx, Layer, hash_bits, input_grad};
use crate::model::lowered::Lowered;
use crate::model::spec::PaddingSpec;
use mote_core::padding::Window;
use mote_kernels::f32::pool;

pub use pool::Kind;

/// Which inputs a max pool passed on (their values appear in the output): a step that
/// changes it moved a window's maximum.
fn max_pattern(x: &[f32], y: &[f32]) -> u64 {
    let chosen: std::collections::HashSet<u32> = y.iter().map(|v| v.to_bits()).collect();
    hash_bits(x.iter().map(|v| chosen.contains(&v.to_bits())))
}

/// A windowed max or average pool.
#[derive(Debug)]
pub struct Pool {
    site: Site,
    kind: &'static str,
    params: pool::Params,
    out: Vec<usize>,
}

impl Pool {
    /// Pools `[h, w, c]` (or `[length, c]` when `one_d`) with `size` windows moved by
    /// `stride` (the size when `None`).
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        site: Site,
        input: &[usize],
        op: Kind,
        size: [usize; 2],
        stride: Option<[usize; 2]>,
        pad: &PaddingSpec,
        one_d: bool,
    ) -> Result<Self> {
        let kind = match (op, one_d) {
            (Kind::Max, false) => "max_pool2d",
            (Kind::Average, false) => "avg_pool2d",
            (Kind::Max, true) => "max_pool1d",
            (Kind::Average, true) => "avg_pool1d",
        };
        let [h, w, c] = if one_d {
            let [l, c] = sequence(&site, kind, input)?;
            [1, l, c]
        } else {
            image(&site, kind, input)?
        };
        let stride = stride.unwrap_or(size);
        let pad = padding(&site, pad)?;
        let params = pool::Params {
            kind: op,
            batch: 1,
            height: h,
            width: w,
            channels: c,
            window_h: Window::new(size[0], stride[0]),
            window_w: Window::new(size[1], stride[1]),
            padding_h: if one_d { Default::default() } else { pad },
            padding_w: pad,
        };
        let [_, oh, ow, oc] = params.output_shape().map_err(|e| site.kernel(e))?;
        let out = if one_d {
            vec![ow, oc]
        } else {
            vec![oh, ow, oc]
        };
        Ok(Self {
            site,
            kind,
            params,
            out,
        })
    }

    fn at(&self, batch: usize) -> pool::Params {
        pool::Params {
            batch,
            ..self.params
        }
    }
}

impl Layer for Pool {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn lowered(&self) -> Lowered {
        Lowered::Pool(self.params)
    }
    fn kink_pattern(&self, x: &[f32], y: &[f32]) -> Option<u64> {
        (self.params.kind == Kind::Max).then(|| max_pattern(x, y))
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn cost(&self) -> Cost {
        Cost::default()
    }
    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], _: &mut Cache) -> Result<()> {
        pool::forward(&self.at(cx.batch), x, y).map_err(|e| self.site.kernel(e))
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
        input_grad(&self.site, dx, |dx| {
            pool::backward(&self.at(cx.batch), x, dy, dx)
        })
    }
}

/// Global max or average over all positions: `[h, w, c]` or `[length, c]` → `[c]`.
#[derive(Debug)]
pub struct Global {
    site: Site,
    kind: &'static str,
    params: pool::Global,
    out: [usize; 1],
}

impl Global {
    /// Builds the layer for samples of `input` shape.
    pub fn build(site: Site, input: &[usize], op: Kind) -> Result<Self> {
        let kind = match op {
            Kind::Max => "global_max_pool",
            Kind::Average => "global_avg_pool",
        };
        let (h, w, c) = match *input {
            [h, w, c] => (h, w, c),
            [l, c] => (1, l, c),
            _ => {
                return Err(site.error(format!(
                    "{kind} needs [h, w, c] or [length, c], got {input:?}"
                )));
            }
        };
        let params = pool::Global {
            kind: op,
            batch: 1,
            height: h,
            width: w,
            channels: c,
        };
        Ok(Self {
            site,
            kind,
            params,
            out: [c],
        })
    }

    fn at(&self, batch: usize) -> pool::Global {
        pool::Global {
            batch,
            ..self.params
        }
    }
}

impl Layer for Global {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn lowered(&self) -> Lowered {
        Lowered::GlobalPool(self.params)
    }
    fn kink_pattern(&self, x: &[f32], y: &[f32]) -> Option<u64> {
        (self.params.kind == Kind::Max).then(|| max_pattern(x, y))
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn cost(&self) -> Cost {
        Cost::default()
    }
    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], _: &mut Cache) -> Result<()> {
        pool::global_forward(&self.at(cx.batch), x, y).map_err(|e| self.site.kernel(e))
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
        input_grad(&self.site, dx, |dx| {
            pool::global_backward(&self.at(cx.batch), x, dy, dx)
        })
    }
}
