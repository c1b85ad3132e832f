//! f64 reference of multi-head attention, from its definition, one sequence, head and
//! query at a time.

use mote_kernels::f32::attention::Params;

/// Projection weights and biases in f64 (absent biases as zeros).
#[derive(Clone, Debug)]
pub struct Weights<'a> {
    /// `[heads·head_dim][dim]`, `[…][kv_dim]`, `[…][kv_dim]`, `[dim][heads·head_dim]`.
    pub q: &'a [f64],
    /// See `q`.
    pub k: &'a [f64],
    /// See `q`.
    pub v: &'a [f64],
    /// See `q`.
    pub o: &'a [f64],
    /// Biases, same order.
    pub q_bias: &'a [f64],
    /// See `q_bias`.
    pub k_bias: &'a [f64],
    /// See `q_bias`.
    pub v_bias: &'a [f64],
    /// See `q_bias`.
    pub o_bias: &'a [f64],
}

/// `x·wᵀ + b` for one row.
fn linear(x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let cols = x.len();
    (0..n)
        .map(|o| b[o] + (0..cols).map(|i| w[o * cols + i] * x[i]).sum::<f64>())
        .collect()
}

/// The layer's output `[batch][q_steps][dim]`; `x_kv` is `x_q` for self-attention.
pub fn attention(
    p: &Params,
    x_q: &[f64],
    x_kv: &[f64],
    w: &Weights<'_>,
    mask: Option<&[u8]>,
) -> Vec<f64> {
    let (tq, tk, d, dk, hd) = (p.q_steps, p.kv_steps, p.dim, p.kv_dim, p.head_dim);
    let mut out = Vec::new();
    for b in 0..p.batch {
        let q: Vec<Vec<f64>> = (0..tq)
            .map(|i| linear(&x_q[(b * tq + i) * d..(b * tq + i + 1) * d], w.q, w.q_bias))
            .collect();
        let k: Vec<Vec<f64>> = (0..tk)
            .map(|j| {
                linear(
                    &x_kv[(b * tk + j) * dk..(b * tk + j + 1) * dk],
                    w.k,
                    w.k_bias,
                )
            })
            .collect();
        let v: Vec<Vec<f64>> = (0..tk)
            .map(|j| {
                linear(
                    &x_kv[(b * tk + j) * dk..(b * tk + j + 1) * dk],
                    w.v,
                    w.v_bias,
                )
            })
            .collect();
        for (i, qi) in q.iter().enumerate() {
            let mut heads = vec![0.0; p.heads * hd];
            for h in 0..p.heads {
                let keep: Vec<usize> = (0..tk)
                    .filter(|&j| (!p.causal || j <= i) && mask.is_none_or(|m| m[b * tk + j] != 0))
                    .collect();
                let logits: Vec<f64> = keep
                    .iter()
                    .map(|&j| {
                        (0..hd)
                            .map(|e| qi[h * hd + e] * k[j][h * hd + e])
                            .sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = logits.iter().map(|l| (l - max).exp()).sum();
                for (&j, l) in keep.iter().zip(&logits) {
                    let pj = (l - max).exp() / z;
                    for e in 0..hd {
                        heads[h * hd + e] += pj * v[j][h * hd + e];
                    }
                }
            }
            out.extend(linear(&heads, w.o, w.o_bias));
        }
    }
    out
}
