//! The optimiser of a training run: the spec's choice turned into mote-kernels' update
//! rules, with one state slice per parameter tensor that a checkpoint saves.

use crate::{Error, Result};
use mote_kernels::optim::{adagrad, adam, clip, penalty, rmsprop, sgd};
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

/// How one tensor is updated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorRule {
    /// Stepped by the optimiser (false: frozen).
    pub trainable: bool,
    /// L1 penalty whose gradient is added first.
    pub l1: f32,
    /// L2 penalty whose gradient is added first.
    pub l2: f32,
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

    /// One step at `lr`, its chunks spread over the pool's threads. `grads` holds one
    /// set of gradients per pass (thread) of the batch: each chunk first sums them into
    /// the first pass in pass order (zeroing the others), adds the tensor's L1/L2
    /// penalty gradients, clips to `±clip_value`, steps the tensor when it is
    /// trainable, and zeroes the gradient for the next batch — one parallel sweep.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        lr: f32,
        params: &mut [&mut [f32]],
        grads: &mut [&mut Vec<Vec<f32>>],
        tensors: &[TensorRule],
        clip_value: Option<f32>,
        pool: &super::parallel::Pool,
    ) -> Result<()> {
        self.step += 1;
        let t = self.step;
        let rule = self.rule;
        let short = || Error::Mismatch {
            detail: "optimizer state or gradients do not match the model's tensors".into(),
        };
        let mut state = self.state.iter_mut();
        let mut per_pass: Vec<std::vec::IntoIter<&mut [f32]>> = grads
            .iter_mut()
            .map(|pass| {
                pass.iter_mut()
                    .flat_map(|g| g.chunks_mut(CHUNK))
                    .collect::<Vec<_>>()
                    .into_iter()
            })
            .collect();
        let mut jobs = Vec::new();
        for (p, r) in params.iter_mut().zip(tensors) {
            if p.is_empty() {
                state.next().ok_or_else(short)?;
                continue;
            }
            for pc in p.chunks_mut(CHUNK) {
                let s = state.next().ok_or_else(short)?;
                let gs = per_pass
                    .iter_mut()
                    .map(Iterator::next)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(short)?;
                jobs.push((pc, gs, s, *r));
            }
        }
        pool.for_each(jobs, |(p, mut gs, s, r)| {
            let Some((g, rest)) = gs.split_first_mut() else {
                return Ok(());
            };
            for other in rest {
                g.iter_mut().zip(other.iter()).for_each(|(a, &b)| *a += b);
                other.fill(0.0);
            }
            if r.l1 > 0.0 {
                penalty::l1_grad(r.l1, p, g)?;
            }
            if r.l2 > 0.0 {
                penalty::l2_grad(r.l2, p, g)?;
            }
            if let Some(v) = clip_value {
                clip::by_value(v, g)?;
            }
            if r.trainable {
                match &rule {
                    Rule::Sgd(x) => sgd::step(x, lr, t, p, g, s),
                    Rule::Adam(x) => adam::step(x, lr, t, p, g, s),
                    Rule::Rmsprop(x) => rmsprop::step(x, lr, t, p, g, s),
                    Rule::Adagrad(x) => adagrad::step(x, lr, t, p, g, s),
                }?;
            }
            g.fill(0.0);
            Ok(())
        })
    }
}
