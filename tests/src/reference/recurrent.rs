//! f64 references of the recurrent layers, written from their gate equations one
//! sequence, one step and one unit at a time.

use mote_kernels::f32::recurrent::Params;

/// The parameters of a gated layer in f64 (absent biases as zeros).
#[derive(Clone, Debug)]
pub struct Weights<'a> {
    /// `[G·hidden][inputs]`.
    pub input: &'a [f64],
    /// `[G·hidden][hidden]`.
    pub recurrent: &'a [f64],
    /// `[G·hidden]`.
    pub bias: &'a [f64],
    /// `[G·hidden]`.
    pub recurrent_bias: &'a [f64],
}

/// What a layer computes: the output (as the kernel lays it out), and the final `h` and
/// (LSTM) `c`, `[batch][hidden]`.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The output.
    pub output: Vec<f64>,
    /// The hidden state after the last step processed.
    pub h: Vec<f64>,
    /// The cell state after the last step processed (empty for a GRU or RNN).
    pub c: Vec<f64>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Row `r` of `m` (`cols` wide) dotted with `v`.
fn row_dot(m: &[f64], r: usize, cols: usize, v: &[f64]) -> f64 {
    m[r * cols..(r + 1) * cols]
        .iter()
        .zip(v)
        .map(|(a, b)| a * b)
        .sum()
}

/// Runs `cell(x_t, h, c) -> (h, c)` over every sequence in the kernel's order and lays
/// out the output as the kernel does.
fn run(
    p: &Params,
    x: &[f64],
    h0: &[f64],
    c0: &[f64],
    mut cell: impl FnMut(&[f64], &[f64], &[f64]) -> (Vec<f64>, Vec<f64>),
) -> Outcome {
    let (hd, steps) = (p.hidden, p.steps);
    let out_len = if p.return_sequences {
        p.batch * steps * hd
    } else {
        p.batch * hd
    };
    let mut out = Outcome {
        output: vec![0.0; out_len],
        h: vec![],
        c: vec![],
    };
    for b in 0..p.batch {
        let mut h = h0[b * hd..(b + 1) * hd].to_vec();
        let mut c = if c0.is_empty() {
            vec![]
        } else {
            c0[b * hd..(b + 1) * hd].to_vec()
        };
        for s in 0..steps {
            let t = if p.reverse { steps - 1 - s } else { s };
            let xt = &x[(b * steps + t) * p.inputs..(b * steps + t + 1) * p.inputs];
            (h, c) = cell(xt, &h, &c);
            if p.return_sequences {
                out.output[(b * steps + t) * hd..(b * steps + t + 1) * hd].copy_from_slice(&h);
            }
        }
        if !p.return_sequences {
            out.output[b * hd..(b + 1) * hd].copy_from_slice(&h);
        }
        out.h.extend_from_slice(&h);
        out.c.extend_from_slice(&c);
    }
    out
}

/// An LSTM (gates `i, f, g, o`; see `mote_kernels::f32::recurrent::lstm`).
pub fn lstm(
    p: &Params,
    forget_bias: f64,
    x: &[f64],
    w: &Weights<'_>,
    h0: &[f64],
    c0: &[f64],
) -> Outcome {
    let (hd, n) = (p.hidden, p.inputs);
    run(p, x, h0, c0, |xt, h, c| {
        let a = |r: usize| {
            row_dot(w.input, r, n, xt)
                + w.bias[r]
                + row_dot(w.recurrent, r, hd, h)
                + w.recurrent_bias[r]
        };
        let mut h2 = vec![0.0; hd];
        let mut c2 = vec![0.0; hd];
        for j in 0..hd {
            let i = sigmoid(a(j));
            let f = sigmoid(a(hd + j) + forget_bias);
            let g = a(2 * hd + j).tanh();
            let o = sigmoid(a(3 * hd + j));
            c2[j] = f * c[j] + i * g;
            h2[j] = o * c2[j].tanh();
        }
        (h2, c2)
    })
}

/// A GRU (gates `z, r, n`; see `mote_kernels::f32::recurrent::gru`), reset after the
/// recurrent product when `reset_after`, else before it.
pub fn gru(p: &Params, reset_after: bool, x: &[f64], w: &Weights<'_>, h0: &[f64]) -> Outcome {
    let (hd, n) = (p.hidden, p.inputs);
    run(p, x, h0, &[], |xt, h, _| {
        let xh = |r: usize| row_dot(w.input, r, n, xt) + w.bias[r];
        let uh = |r: usize, v: &[f64]| row_dot(w.recurrent, r, hd, v) + w.recurrent_bias[r];
        let z: Vec<f64> = (0..hd).map(|j| sigmoid(xh(j) + uh(j, h))).collect();
        let r: Vec<f64> = (0..hd)
            .map(|j| sigmoid(xh(hd + j) + uh(hd + j, h)))
            .collect();
        let rh: Vec<f64> = (0..hd).map(|j| r[j] * h[j]).collect();
        let h2 = (0..hd)
            .map(|j| {
                let cand = if reset_after {
                    xh(2 * hd + j) + r[j] * uh(2 * hd + j, h)
                } else {
                    xh(2 * hd + j) + uh(2 * hd + j, &rh)
                };
                z[j] * h[j] + (1.0 - z[j]) * cand.tanh()
            })
            .collect();
        (h2, vec![])
    })
}

/// A simple RNN, `tanh` or (when `relu`) ReLU; also returns the smallest magnitude of
/// any pre-activation (finite differences of ReLU are wrong within a step of its kink).
pub fn rnn(p: &Params, relu: bool, x: &[f64], w: &Weights<'_>, h0: &[f64]) -> (Outcome, f64) {
    let (hd, n) = (p.hidden, p.inputs);
    let mut closest = f64::INFINITY;
    let out = run(p, x, h0, &[], |xt, h, _| {
        let h2 = (0..hd)
            .map(|j| {
                let a = row_dot(w.input, j, n, xt)
                    + w.bias[j]
                    + row_dot(w.recurrent, j, hd, h)
                    + w.recurrent_bias[j];
                closest = closest.min(a.abs());
                if relu { a.max(0.0) } else { a.tanh() }
            })
            .collect();
        (h2, vec![])
    });
    (out, closest)
}
