//! The optimiser of a training run: the spec's choice turned into mote-kernels' update
//! rules, with one state slice per parameter tensor that a checkpoint saves.

use crate::{Error, Result};
use mote_kernels::optim::{adagrad, adam, rmsprop, sgd};
use serde::{Deserialize, Serialize};

/// `[training.optimizer]`: the rule and its hyper-parameters (PyTorch's defaults for
/// any left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSpec {
    /// `sgd`, `adam`, `adamw`, `rmsprop` or `adagrad`.
    pub kind: String,
    /// Base learning rate.
    pub lr: f32,
    /// SGD/RMSprop momentum.
    pub momentum: Option<f32>,
    /// SGD dampening.
    pub dampening: Option<f32>,
    /// SGD Nesterov momentum.
    pub nesterov: Option<bool>,
    /// Adam β₁.
    pub beta1: Option<f32>,
    /// Adam β₂.
    pub beta2: Option<f32>,
    /// ε of Adam, RMSprop, Adagrad.
    pub eps: Option<f32>,
    /// Weight decay (L2 for all but AdamW, decoupled for AdamW).
    pub weight_decay: Option<f32>,
    /// AMSGrad variant of Adam/AdamW.
    pub amsgrad: Option<bool>,
    /// RMSprop smoothing α.
    pub alpha: Option<f32>,
    /// Centered RMSprop.
    pub centered: Option<bool>,
    /// Adagrad learning-rate decay.
    pub lr_decay: Option<f32>,
    /// Adagrad initial accumulator.
    pub initial_accumulator_value: Option<f32>,
}

impl OptimizerSpec {
    /// Adam at `lr` with PyTorch's defaults.
    pub fn adam(lr: f32) -> Self {
        Self {
            kind: "adam".into(),
            lr,
            momentum: None,
            dampening: None,
            nesterov: None,
            beta1: None,
            beta2: None,
            eps: None,
            weight_decay: None,
            amsgrad: None,
            alpha: None,
            centered: None,
            lr_decay: None,
            initial_accumulator_value: None,
        }
    }
}

/// An update rule with its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// SGD with optional momentum.
    Sgd(sgd::Params),
    /// Adam or AdamW.
    Adam(adam::Params),
    /// RMSprop.
    Rmsprop(rmsprop::Params),
    /// Adagrad.
    Adagrad(adagrad::Params),
}

impl Rule {
    /// The rule a spec names, validated.
    pub fn from_spec(s: &OptimizerSpec) -> Result<Self> {
        let at = "training.optimizer";
        if !(s.lr.is_finite() && s.lr > 0.0) {
            return Err(Error::spec(
                at,
                format!("lr {} must be finite and > 0", s.lr),
            ));
        }
        let rule = match s.kind.as_str() {
            "sgd" => {
                let d = sgd::Params::default();
                Self::Sgd(sgd::Params {
                    momentum: s.momentum.unwrap_or(d.momentum),
                    dampening: s.dampening.unwrap_or(d.dampening),
                    nesterov: s.nesterov.unwrap_or(d.nesterov),
                    weight_decay: s.weight_decay.unwrap_or(d.weight_decay),
                })
            }
            "adam" | "adamw" => {
                let d = if s.kind == "adam" {
                    adam::Params::adam()
                } else {
                    adam::Params::adamw()
                };
                Self::Adam(adam::Params {
                    beta1: s.beta1.unwrap_or(d.beta1),
                    beta2: s.beta2.unwrap_or(d.beta2),
                    eps: s.eps.unwrap_or(d.eps),
                    weight_decay: s.weight_decay.unwrap_or(d.weight_decay),
                    amsgrad: s.amsgrad.unwrap_or(d.amsgrad),
                    ..d
                })
            }
            "rmsprop" => {
                let d = rmsprop::Params::default();
                Self::Rmsprop(rmsprop::Params {
                    alpha: s.alpha.unwrap_or(d.alpha),
                    eps: s.eps.unwrap_or(d.eps),
                    weight_decay: s.weight_decay.unwrap_or(d.weight_decay),
                    momentum: s.momentum.unwrap_or(d.momentum),
                    centered: s.centered.unwrap_or(d.centered),
                })
            }
            "adagrad" => {
                let d = adagrad::Params::default();
                Self::Adagrad(adagrad::Params {
                    lr_decay: s.lr_decay.unwrap_or(d.lr_decay),
                    weight_decay: s.weight_decay.unwrap_or(d.weight_decay),
                    initial_accumulator_value: s
                        .initial_accumulator_value
                        .unwrap_or(d.initial_accumulator_value),
                    eps: s.eps.unwrap_or(d.eps),
                })
            }
            other => {
                return Err(Error::spec(
                    at,
                    format!("unknown optimizer '{other}' (sgd, adam, adamw, rmsprop, adagrad)"),
                ));
            }
        };
        let checked = match rule {
            Self::Sgd(p) => p.validate(),
            Self::Adam(p) => p.validate(),
            Self::Rmsprop(p) => p.validate(),
            Self::Adagrad(p) => p.validate(),
        };
        checked.map_err(|e| Error::spec(at, e.to_string()))?;
        Ok(rule)
    }

    fn state_len(&self, n: usize) -> usize {
        match self {
            Self::Sgd(p) => sgd::state_len(p, n),
            Self::Adam(p) => adam::state_len(p, n),
            Self::Rmsprop(p) => rmsprop::state_len(p, n),
            Self::Adagrad(p) => adagrad::state_len(p, n),
        }
    }
}

/// Elements per optimiser chunk: every tensor is updated in chunks of this many
/// elements (the last one shorter), each with its own state slice, so the chunks can be
/// spread over threads. The rules are element-wise, so chunking changes no result.
pub const CHUNK: usize = 1 << 14;

/// A rule and its state over a model's tensors, one state slice per [`CHUNK`] of each
/// tensor (tensor by tensor, chunk by chunk).
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    /// The rule.
    pub rule: Rule,
    /// Steps taken so far.
    pub step: u64,
    /// One state slice per chunk.
    pub state: Vec<Vec<f32>>,
}

/// The chunks of a tensor of `n` elements: `⌈n / CHUNK⌉`, at least one.
fn chunk_count(n: usize) -> usize {
    n.div_ceil(CHUNK).max(1)
}

impl Optimizer {
    /// Fresh state for tensors of `sizes`.
    pub fn new(rule: Rule, sizes: &[usize]) -> Self {
        let state = sizes
            .iter()
            .flat_map(|&n| (0..chunk_count(n)).map(move |c| (n - (c * CHUNK).min(n)).min(CHUNK)))
            .map(|len| vec![0.0; rule.state_len(len)])
            .collect();
        Self {
            rule,
            step: 0,
            state,
        }
    }

    /// One step at `lr` over every tensor whose `trainable` flag is set, its chunks
    /// spread over the pool's threads.
    pub fn update(
        &mut self,
        lr: f32,
        params: &mut [&mut [f32]],
        grads: &[Vec<f32>],
        trainable: &[bool],
        pool: &super::parallel::Pool,
    ) -> Result<()> {
        self.step += 1;
        let t = self.step;
        let rule = self.rule;
        let mut state = self.state.iter_mut();
        let mut jobs = Vec::new();
        for ((p, g), &on) in params.iter_mut().zip(grads).zip(trainable) {
            let n = chunk_count(p.len());
            let mut pc = p.chunks_mut(CHUNK);
            let mut gc = g.chunks(CHUNK);
            for _ in 0..n {
                let s = state.next().ok_or_else(|| Error::Mismatch {
                    detail: "optimizer state has fewer chunks than the model".into(),
                })?;
                let (p, g) = (pc.next().unwrap_or(&mut []), gc.next().unwrap_or(&[]));
                if on && !p.is_empty() {
                    jobs.push((p, g, s));
                }
            }
        }
        pool.for_each(jobs, |(p, g, s)| {
            match &rule {
                Rule::Sgd(r) => sgd::step(r, lr, t, p, g, s),
                Rule::Adam(r) => adam::step(r, lr, t, p, g, s),
                Rule::Rmsprop(r) => rmsprop::step(r, lr, t, p, g, s),
                Rule::Adagrad(r) => adagrad::step(r, lr, t, p, g, s),
            }?;
            Ok(())
        })
    }
}
