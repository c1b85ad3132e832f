//! Recurrent layers over `[steps, features]` samples: LSTM, GRU and simple RNN, on the
//! whole-sequence kernels of `mote_kernels::f32::recurrent`.

use crate::Result;
use crate::model::build::{Registry, Site, sequence};
use crate::model::layer::{Cache, Cost, Ctx, Layer};
use crate::model::lowered::Lowered;
use crate::model::spec::Init;
use mote_kernels::f32::recurrent::{
    Params, StateMut, StateRef, WeightGrads, Weights, gru, lstm, rnn,
};

/// Which recurrent cell, with its options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// LSTM; the constant added to the forget gate.
    Lstm {
        /// TensorFlow's `forget_bias` (0 in Keras and PyTorch).
        forget_bias: f32,
    },
    /// GRU.
    Gru(gru::Reset),
    /// Simple RNN.
    Rnn(rnn::Activation),
}

impl Cell {
    /// Gate blocks of the weights.
    fn gates(self) -> usize {
        match self {
            Self::Lstm { .. } => 4,
            Self::Gru(_) => 3,
            Self::Rnn(_) => 1,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Lstm { .. } => "lstm",
            Self::Gru(_) => "gru",
            Self::Rnn(_) => "simple_rnn",
        }
    }
}

/// How a recurrent layer's tensors start and what it returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Hidden units.
    pub units: usize,
    /// Output every step (`[steps, units]`) rather than the last (`[units]`).
    pub return_sequences: bool,
    /// Read the sequence backwards (the second half of a bidirectional pair).
    pub reverse: bool,
    /// Initialiser of the input weights.
    pub init: Init,
    /// Initialiser of the recurrent weights.
    pub recurrent_init: Init,
    /// Whether there is a bias.
    pub bias: bool,
    /// LSTM: start the forget gate's bias at 1 (Keras' `unit_forget_bias`).
    pub unit_forget_bias: bool,
    /// L1 and L2 penalties on the input and recurrent weights.
    pub penalties: (f32, f32),
}

/// A recurrent layer: `[steps, inputs] → [units]` or `[steps, units]`.
#[derive(Debug)]
pub struct Recurrent {
    site: Site,
    cell: Cell,
    steps: usize,
    inputs: usize,
    units: usize,
    return_sequences: bool,
    reverse: bool,
    out: Vec<usize>,
    w: usize,
    u: usize,
    b: Option<usize>,
}

impl Recurrent {
    /// Builds the layer for samples of `input` shape `[steps, features]`.
    pub fn build(
        site: Site,
        input: &[usize],
        cell: Cell,
        o: &Options,
        reg: &mut Registry,
    ) -> Result<Self> {
        let [steps, inputs] = sequence(&site, cell.kind(), input)?;
        if o.units == 0 {
            return Err(site.error("units must be at least 1"));
        }
        let g = cell.gates() * o.units;
        // PyTorch draws every weight and bias of its recurrent layers from U(±1/√units).
        let torch = o.init == Init::Torch;
        let w_fans = if torch { (o.units, g) } else { (inputs, g) };
        let w = reg.tensor(
            &site,
            "weights",
            vec![g, inputs],
            w_fans,
            o.init,
            o.penalties,
        )?;
        let u = reg.tensor(
            &site,
            "recurrent",
            vec![g, o.units],
            (o.units, g),
            o.recurrent_init,
            o.penalties,
        )?;
        let b = match (o.bias, torch) {
            (false, _) => None,
            (true, true) => {
                let fans = (o.units, g);
                Some(reg.tensor(&site, "bias", vec![g], fans, o.init, (0.0, 0.0))?)
            }
            (true, false) => Some(reg.constant(&site, "bias", g, 0.0)),
        };
        if let (Some(b), Cell::Lstm { .. }, true) = (b, cell, o.unit_forget_bias) {
            reg.params[b].data[o.units..2 * o.units].fill(1.0);
        }
        Ok(Self {
            out: if o.return_sequences {
                vec![steps, o.units]
            } else {
                vec![o.units]
            },
            site,
            cell,
            steps,
            inputs,
            units: o.units,
            return_sequences: o.return_sequences,
            reverse: o.reverse,
            w,
            u,
            b,
        })
    }

    fn params(&self, batch: usize) -> Params {
        Params::new(batch, self.steps, self.inputs, self.units)
            .sequences(self.return_sequences)
            .reversed(self.reverse)
    }

    fn weights<'a>(&self, cx: &'a Ctx<'_>) -> Weights<'a> {
        Weights {
            input: &cx.params[self.w].data,
            recurrent: &cx.params[self.u].data,
            bias: self.b.map(|b| cx.params[b].data.as_slice()),
            recurrent_bias: None,
        }
    }
}

impl Layer for Recurrent {
    fn kind(&self) -> &'static str {
        self.cell.kind()
    }

    fn output_shape(&self) -> &[usize] {
        &self.out
    }

    fn lowered(&self) -> Lowered {
        match self.cell {
            Cell::Lstm { forget_bias } => Lowered::Lstm {
                steps: self.steps,
                inputs: self.inputs,
                units: self.units,
                return_sequences: self.return_sequences,
                reverse: self.reverse,
                forget_bias,
                weights: self.w,
                recurrent: self.u,
                bias: self.b,
            },
            Cell::Gru(_) | Cell::Rnn(_) => Lowered::Unsupported,
        }
    }

    fn cost(&self) -> Cost {
        let g = self.cell.gates() * self.units;
        let per_step = g * (self.inputs + self.units);
        Cost {
            params: per_step + self.b.map_or(0, |_| g),
            macs: (per_step * self.steps) as u64,
        }
    }

    fn forward(&self, cx: &mut Ctx<'_>, x: &[f32], y: &mut [f32], cache: &mut Cache) -> Result<()> {
        let p = self.params(cx.batch);
        let err = |e| self.site.kernel(e);
        let n = match self.cell {
            Cell::Lstm { .. } => lstm::saved_len(&p),
            Cell::Gru(_) => gru::saved_len(&p),
            Cell::Rnn(_) => rnn::saved_len(&p),
        }
        .map_err(err)?;
        cache.saved.resize(n, 0.0);
        let saved = &mut cache.saved[..n];
        let w = self.weights(cx);
        let none = StateRef::default();
        match self.cell {
            Cell::Lstm { forget_bias } => {
                lstm::forward(&p, &lstm::Cell { forget_bias }, x, &w, none, y, saved)
            }
            Cell::Gru(reset) => gru::forward(&p, reset, x, &w, none, y, saved),
            Cell::Rnn(act) => rnn::forward(&p, act, x, &w, none, y, saved),
        }
        .map_err(err)
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
        let n = match self.cell {
            Cell::Lstm { .. } => lstm::backward_scratch_len(&p),
            Cell::Gru(_) => gru::backward_scratch_len(&p),
            Cell::Rnn(_) => rnn::backward_scratch_len(&p),
        }
        .map_err(err)?;
        let Cache { saved, scratch, .. } = cache;
        if scratch.len() < n {
            scratch.resize(n, 0.0);
        }
        let scratch = &mut scratch[..n];
        let (params, grads) = (cx.params, &mut *cx.grads);
        let w = Weights {
            input: &params[self.w].data,
            recurrent: &params[self.u].data,
            bias: self.b.map(|b| params[b].data.as_slice()),
            recurrent_bias: None,
        };
        let g = super::grads_of(grads, [Some(self.w), Some(self.u), self.b]);
        let [gw, gu, gb] = g;
        let wg = WeightGrads {
            input: gw,
            recurrent: gu,
            bias: gb,
            recurrent_bias: None,
        };
        let none = StateRef::default();
        let no_grad = StateMut::default();
        match self.cell {
            Cell::Lstm { forget_bias } => lstm::backward(
                &p,
                &lstm::Cell { forget_bias },
                x,
                &w,
                none,
                saved,
                dy,
                none,
                dx,
                wg,
                no_grad,
                scratch,
            ),
            Cell::Gru(reset) => gru::backward(
                &p, reset, x, &w, none, saved, dy, none, dx, wg, no_grad, scratch,
            ),
            Cell::Rnn(act) => rnn::backward(
                &p, act, x, &w, none, saved, dy, none, dx, wg, no_grad, scratch,
            ),
        }
        .map_err(err)
    }
}
