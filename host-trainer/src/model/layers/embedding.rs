//! Token sequences: the embedding lookup (`[steps]` token ids → `[steps, dim]`) and the
//! sinusoidal positional encoding added to a `[steps, dim]` sequence.

use crate::Result;
use crate::model::build::{Registry, Site, sequence};
use crate::model::layer::{Cache, Cost, Ctx, Layer};
use crate::model::spec::Init;
use mote_kernels::f32::embedding::{self, Params};

/// An embedding table: each input value is a token id (an integer in `[0, vocab)`,
/// carried as f32 like every input), replaced by its row.
#[derive(Debug)]
pub struct Embedding {
    site: Site,
    p: Params,
    table: usize,
    out: [usize; 2],
}

impl Embedding {
    /// Builds the layer for `[steps]` samples of token ids.
    pub fn build(
        site: Site,
        input: &[usize],
        vocab: usize,
        dim: usize,
        init: Init,
        reg: &mut Registry,
    ) -> Result<Self> {
        let &[steps] = input else {
            return Err(site.error(format!(
                "embedding needs an input of token ids [steps], got {input:?}"
            )));
        };
        if vocab == 0 || dim == 0 {
            return Err(site.error("vocab and dim must be at least 1"));
        }
        // Keras' default for embeddings is a uniform start of ±0.05; fans (1, dim)
        // give Glorot a comparable spread.
        let table = reg.tensor(&site, "table", vec![vocab, dim], (1, dim), init, (0.0, 0.0))?;
        Ok(Self {
            site,
            p: Params { vocab, dim },
            table,
            out: [steps, dim],
        })
    }

    /// The token ids of a batch, checked: integers in `[0, vocab)`.
    fn ids(&self, x: &[f32]) -> Result<Vec<u32>> {
        x.iter()
            .enumerate()
            .map(|(i, &v)| {
                if v.fract() == 0.0 && v >= 0.0 && (v as usize) < self.p.vocab {
                    Ok(v as u32)
                } else {
                    Err(self.site.error(format!(
                        "token id {v} at position {i} of the batch is not an integer in [0, {})",
                        self.p.vocab
                    )))
                }
            })
            .collect()
    }
}

impl Layer for Embedding {
    fn kind(&self) -> &'static str {
        "embedding"
    }

    fn output_shape(&self) -> &[usize] {
        &self.out
    }

    fn cost(&self) -> Cost {
        Cost {
            params: self.p.vocab * self.p.dim,
            macs: 0,
        }
    }

    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], _: &mut Cache) -> Result<()> {
        let ids = self.ids(x)?;
        embedding::forward(&self.p, &ids, &cx.params[self.table].data, y)
            .map_err(|e| self.site.kernel(e))
    }

    fn backward(
        &self,
        cx: &mut Ctx<'_>,
        x: &[f32],
        _: &[f32],
        dy: &[f32],
        _: Option<&mut [f32]>,
        _: &mut Cache,
    ) -> Result<()> {
        // Token ids carry no gradient; only the table learns.
        let ids = self.ids(x)?;
        match cx.grads.get_mut(self.table) {
            Some(g) => embedding::backward(&self.p, &ids, dy, g).map_err(|e| self.site.kernel(e)),
            None => Ok(()),
        }
    }
}

/// Adds the sinusoidal positional encoding to `[steps, dim]` samples (no parameters;
/// the gradient passes through).
#[derive(Debug)]
pub struct PositionalEncoding {
    site: Site,
    table: Vec<f32>,
    out: [usize; 2],
}

impl PositionalEncoding {
    /// Builds the layer for `[steps, dim]` samples.
    pub fn build(site: Site, input: &[usize]) -> Result<Self> {
        let [steps, dim] = sequence(&site, "positional_encoding", input)?;
        let mut table = vec![0.0; steps * dim];
        embedding::positional_encoding(dim, &mut table).map_err(|e| site.kernel(e))?;
        Ok(Self {
            site,
            table,
            out: [steps, dim],
        })
    }
}

impl Layer for PositionalEncoding {
    fn kind(&self) -> &'static str {
        "positional_encoding"
    }

    fn output_shape(&self) -> &[usize] {
        &self.out
    }

    fn cost(&self) -> Cost {
        Cost::default()
    }

    fn forward(&self, _: &mut Ctx<'_>, x: &[f32], y: &mut [f32], _: &mut Cache) -> Result<()> {
        y.copy_from_slice(x);
        embedding::add_positional(&self.table, y).map_err(|e| self.site.kernel(e))
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
