//! f64 references of the losses and optimisers: the definitions written out directly
//! (per element, per row), in the textbook / PyTorch formulation, independently of how
//! the kernels arrange the arithmetic.
//!
//! Losses take row-major `[batch][classes]` slices and return the *mean* reduction the
//! kernels use by default (over all elements for the element-wise losses, over the
//! batch for the cross-entropies). Optimisers keep their state in `Vec<f64>`s created
//! lazily at the first step, as PyTorch does, and take the kernels' own `Params`
//! (plain data) with every hyper-parameter widened to f64.

use mote_kernels::optim::{adagrad, adam, rmsprop, sgd};

// ---- losses ---------------------------------------------------------------------------

/// `(1/N) Σ (x − t)²`.
pub fn mse(x: &[f64], t: &[f64]) -> f64 {
    mean(x.iter().zip(t).map(|(x, t)| (x - t) * (x - t)), x.len())
}

/// `(1/N) Σ |x − t|`.
pub fn mae(x: &[f64], t: &[f64]) -> f64 {
    mean(x.iter().zip(t).map(|(x, t)| (x - t).abs()), x.len())
}

/// `(1/N) Σ huber(x − t)`: `½d²` for `|d| < δ`, else `δ(|d| − ½δ)`.
pub fn huber(x: &[f64], t: &[f64], delta: f64) -> f64 {
    let term = |d: f64| {
        if d.abs() < delta {
            0.5 * d * d
        } else {
            delta * (d.abs() - 0.5 * delta)
        }
    };
    mean(x.iter().zip(t).map(|(x, t)| term(x - t)), x.len())
}

/// `(1/N) Σ −[t ln x̂ + (1 − t) ln(1 − x̂)]` with `x̂ = clamp(x, ε, 1 − ε)`; the clamp
/// bounds are the f32 values the kernel uses.
pub fn bce(x: &[f64], t: &[f64], eps: f32) -> f64 {
    let (lo, hi) = (eps as f64, (1.0 - eps) as f64);
    mean(
        x.iter().zip(t).map(|(&x, &t)| {
            let q = x.clamp(lo, hi);
            -(t * q.ln() + (1.0 - t) * (1.0 - q).ln())
        }),
        x.len(),
    )
}

/// `softplus(z) = ln(1 + eᶻ)`, evaluated without overflow.
pub fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// `(1/N) Σ −[t ln σ(x) + (1 − t) ln(1 − σ(x))]`, written as
/// `t·softplus(−x) + (1 − t)·softplus(x)` (since `−ln σ(x) = softplus(−x)` and
/// `−ln(1 − σ(x)) = softplus(x)`), so it holds for any logit.
pub fn bce_with_logits(x: &[f64], t: &[f64]) -> f64 {
    mean(
        x.iter()
            .zip(t)
            .map(|(&x, &t)| t * softplus(-x) + (1.0 - t) * softplus(x)),
        x.len(),
    )
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `(1/B) Σ_b Σ_j −t ln clamp(x, ε, 1 − ε)`.
pub fn categorical(x: &[f64], t: &[f64], classes: usize, eps: f32) -> f64 {
    let (lo, hi) = (eps as f64, (1.0 - eps) as f64);
    let total: f64 = x
        .iter()
        .zip(t)
        .map(|(&x, &t)| -t * x.clamp(lo, hi).ln())
        .sum();
    total / (x.len() / classes) as f64
}

/// [`categorical`] with one-hot targets from integer labels.
pub fn sparse_categorical(x: &[f64], labels: &[usize], classes: usize, eps: f32) -> f64 {
    categorical(x, &one_hot(labels, classes), classes, eps)
}

/// Softmax of one row, `e^(x_j − max) / Σ e^(x_k − max)`.
pub fn softmax(x: &[f64]) -> Vec<f64> {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|&v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// `(1/B) Σ_b Σ_j −t'_j ln softmax(x_b)_j` with the smoothed targets
/// `t' = (1 − ε)t + ε/C`.
pub fn softmax_cross_entropy(x: &[f64], t: &[f64], classes: usize, smoothing: f64) -> f64 {
    let spread = smoothing / classes as f64;
    let total: f64 = x
        .chunks(classes)
        .zip(t.chunks(classes))
        .map(|(x, t)| {
            softmax(x)
                .iter()
                .zip(t)
                .map(|(s, &t)| -((1.0 - smoothing) * t + spread) * s.ln())
                .sum::<f64>()
        })
        .sum();
    total / (x.len() / classes) as f64
}

/// [`softmax_cross_entropy`] with one-hot targets from integer labels.
pub fn sparse_softmax_cross_entropy(
    x: &[f64],
    labels: &[usize],
    classes: usize,
    smoothing: f64,
) -> f64 {
    softmax_cross_entropy(x, &one_hot(labels, classes), classes, smoothing)
}

/// Row-major one-hot rows of `classes` values.
pub fn one_hot(labels: &[usize], classes: usize) -> Vec<f64> {
    let mut t = vec![0.0; labels.len() * classes];
    for (b, &y) in labels.iter().enumerate() {
        t[b * classes + y] = 1.0;
    }
    t
}

fn mean(terms: impl Iterator<Item = f64>, n: usize) -> f64 {
    terms.sum::<f64>() / n as f64
}

// ---- penalties and clipping -----------------------------------------------------------

/// `λ Σ |p|`.
pub fn l1(lambda: f64, p: &[f64]) -> f64 {
    lambda * p.iter().map(|p| p.abs()).sum::<f64>()
}

/// `½ λ Σ p²`.
pub fn l2(lambda: f64, p: &[f64]) -> f64 {
    0.5 * lambda * p.iter().map(|p| p * p).sum::<f64>()
}

/// `√(Σ g²)` over all slices.
pub fn global_norm(grads: &[Vec<f64>]) -> f64 {
    grads.iter().flatten().map(|g| g * g).sum::<f64>().sqrt()
}

// ---- optimisers (PyTorch's single-tensor update rules) --------------------------------

/// Momentum buffer of [`sgd_step`]; `None` until the first step with momentum.
pub type SgdState = Option<Vec<f64>>;

/// `torch.optim.SGD`'s update for one tensor.
pub fn sgd_step(cfg: &sgd::Params, lr: f64, p: &mut [f64], g: &[f64], buf: &mut SgdState) {
    let (mu, damp, wd) = (
        cfg.momentum as f64,
        cfg.dampening as f64,
        cfg.weight_decay as f64,
    );
    let mut d: Vec<f64> = g.iter().zip(p.iter()).map(|(g, p)| g + wd * p).collect();
    if mu != 0.0 {
        let b = match buf {
            None => buf.insert(d.clone()),
            Some(b) => {
                for (b, d) in b.iter_mut().zip(&d) {
                    *b = mu * *b + (1.0 - damp) * d;
                }
                b
            }
        };
        if cfg.nesterov {
            for (d, b) in d.iter_mut().zip(b.iter()) {
                *d += mu * b;
            }
        } else {
            d.clone_from(b);
        }
    }
    for (p, d) in p.iter_mut().zip(&d) {
        *p -= lr * d;
    }
}

/// Moments of [`adam_step`]: empty until the first step.
#[derive(Default, Debug, Clone)]
pub struct AdamState {
    /// First moment.
    pub m: Vec<f64>,
    /// Second moment.
    pub v: Vec<f64>,
    /// Running maximum of the second moment (AMSGrad).
    pub v_max: Vec<f64>,
}

/// `torch.optim.Adam` / `AdamW`'s update for one tensor at 1-based step `t`.
pub fn adam_step(cfg: &adam::Params, lr: f64, t: u64, p: &mut [f64], g: &[f64], s: &mut AdamState) {
    let n = p.len();
    if s.m.is_empty() {
        *s = AdamState {
            m: vec![0.0; n],
            v: vec![0.0; n],
            v_max: vec![0.0; n],
        };
    }
    let (b1, b2, eps, wd) = (
        cfg.beta1 as f64,
        cfg.beta2 as f64,
        cfg.eps as f64,
        cfg.weight_decay as f64,
    );
    let bias1 = 1.0 - b1.powi(t as i32);
    let bias2 = 1.0 - b2.powi(t as i32);
    for i in 0..n {
        let mut g = g[i];
        match cfg.decay {
            adam::Decay::L2 => g += wd * p[i],
            adam::Decay::Decoupled => p[i] *= 1.0 - lr * wd,
        }
        s.m[i] = b1 * s.m[i] + (1.0 - b1) * g;
        s.v[i] = b2 * s.v[i] + (1.0 - b2) * g * g;
        s.v_max[i] = s.v_max[i].max(s.v[i]);
        let v = if cfg.amsgrad { s.v_max[i] } else { s.v[i] };
        let m_hat = s.m[i] / bias1;
        let v_hat_sqrt = v.sqrt() / bias2.sqrt();
        p[i] -= lr * m_hat / (v_hat_sqrt + eps);
    }
}

/// Averages of [`rmsprop_step`]: empty until the first step.
#[derive(Default, Debug, Clone)]
pub struct RmspropState {
    /// Average of squared gradients.
    pub square_avg: Vec<f64>,
    /// Momentum buffer.
    pub momentum: Vec<f64>,
    /// Average of gradients (centered).
    pub grad_avg: Vec<f64>,
}

/// `torch.optim.RMSprop`'s update for one tensor.
pub fn rmsprop_step(
    cfg: &rmsprop::Params,
    lr: f64,
    p: &mut [f64],
    g: &[f64],
    s: &mut RmspropState,
) {
    let n = p.len();
    if s.square_avg.is_empty() {
        *s = RmspropState {
            square_avg: vec![0.0; n],
            momentum: vec![0.0; n],
            grad_avg: vec![0.0; n],
        };
    }
    let (alpha, eps, wd, mu) = (
        cfg.alpha as f64,
        cfg.eps as f64,
        cfg.weight_decay as f64,
        cfg.momentum as f64,
    );
    for i in 0..n {
        let g = g[i] + wd * p[i];
        s.square_avg[i] = alpha * s.square_avg[i] + (1.0 - alpha) * g * g;
        let avg = if cfg.centered {
            s.grad_avg[i] = alpha * s.grad_avg[i] + (1.0 - alpha) * g;
            // Never negative in exact arithmetic; the guard only absorbs f64 rounding.
            (s.square_avg[i] - s.grad_avg[i] * s.grad_avg[i])
                .max(0.0)
                .sqrt()
                + eps
        } else {
            s.square_avg[i].sqrt() + eps
        };
        if mu > 0.0 {
            s.momentum[i] = mu * s.momentum[i] + g / avg;
            p[i] -= lr * s.momentum[i];
        } else {
            p[i] -= lr * g / avg;
        }
    }
}

/// Squared-gradient sums of [`adagrad_step`]: empty until the first step.
pub type AdagradState = Vec<f64>;

/// `torch.optim.Adagrad`'s update for one tensor at 1-based step `t`.
pub fn adagrad_step(
    cfg: &adagrad::Params,
    lr: f64,
    t: u64,
    p: &mut [f64],
    g: &[f64],
    sum: &mut AdagradState,
) {
    if sum.is_empty() {
        *sum = vec![cfg.initial_accumulator_value as f64; p.len()];
    }
    let (wd, eps) = (cfg.weight_decay as f64, cfg.eps as f64);
    let clr = lr / (1.0 + (t - 1) as f64 * cfg.lr_decay as f64);
    for i in 0..p.len() {
        let g = g[i] + wd * p[i];
        sum[i] += g * g;
        p[i] -= clr * g / (sum[i].sqrt() + eps);
    }
}
