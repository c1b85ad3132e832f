//! Multi-head scaled dot-product attention with its projections, forward and backward.
//!
//! | buffer | layout |
//! |---|---|
//! | query input `x_q` | `[batch][q_steps][dim]` |
//! | key/value input `x_kv` | `[batch][kv_steps][kv_dim]` (`None`: self-attention on `x_q`) |
//! | `w_q` | `[heads·head_dim][dim]` |
//! | `w_k`, `w_v` | `[heads·head_dim][kv_dim]` |
//! | `w_o` | `[dim][heads·head_dim]` |
//! | biases | `[heads·head_dim]` (`b_q`, `b_k`, `b_v`), `[dim]` (`b_o`), each optional |
//! | key mask | `[batch][kv_steps]`, nonzero = attend (padding mask), optional |
//! | output | `[batch][q_steps][dim]` |
//!
//! Per head `h` (columns `h·head_dim…` of the projections, PyTorch's and Keras' split):
//! `P = softmax(Q_h·K_hᵀ / √head_dim + mask)`, `O_h = P·V_h`; the heads' outputs side
//! by side go through `w_o`. With `causal`, query step `i` attends to key steps `≤ i`
//! (a decoder's look-ahead mask; needs `q_steps = kv_steps`); the key mask hides padded
//! keys. A query row whose keys are all masked attends to nothing: its weights are zero
//! and its output is `b_o` (PyTorch returns NaN there, Keras uniform weights). Softmax
//! subtracts each row's maximum first, so large logits do not overflow.
//!
//! Forward keeps `Q`, `K`, `V`, every head's attention weights `P` and the heads'
//! outputs in the caller's `saved` buffer ([`saved_len`]) for [`backward`].

use mote_core::error::{check_capacity, check_len, check_nonzero};
use mote_core::{Error, ErrorKind, Result};
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use mote_simd::math::exp_in_place;

/// Geometry and options of a multi-head attention layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Sequences in the batch.
    pub batch: usize,
    /// Query steps per sequence.
    pub q_steps: usize,
    /// Key/value steps per sequence (= `q_steps` for self-attention).
    pub kv_steps: usize,
    /// Features of the query input and of the output.
    pub dim: usize,
    /// Features of the key/value input (= `dim` for self-attention).
    pub kv_dim: usize,
    /// Attention heads.
    pub heads: usize,
    /// Features per head of the query, key and value projections.
    pub head_dim: usize,
    /// Query step `i` attends only to key steps `≤ i`.
    pub causal: bool,
}

impl Params {
    /// Self-attention over `batch` sequences of `steps` steps of `dim` features, with
    /// `heads` heads of `dim / heads` features (the usual split; `None` unless `heads`
    /// divides `dim`).
    pub const fn self_attention(
        batch: usize,
        steps: usize,
        dim: usize,
        heads: usize,
    ) -> Option<Self> {
        if heads == 0 || !dim.is_multiple_of(heads) {
            return None;
        }
        Some(Self {
            batch,
            q_steps: steps,
            kv_steps: steps,
            dim,
            kv_dim: dim,
            heads,
            head_dim: dim / heads,
            causal: false,
        })
    }

    /// The same layer with the causal mask on or off.
    pub const fn causal(self, yes: bool) -> Self {
        Self {
            causal: yes,
            ..self
        }
    }

    fn sizes(&self) -> Result<Sizes> {
        check_nonzero("attention: batch", self.batch)?;
        check_nonzero("attention: q_steps", self.q_steps)?;
        check_nonzero("attention: kv_steps", self.kv_steps)?;
        check_nonzero("attention: dim", self.dim)?;
        check_nonzero("attention: kv_dim", self.kv_dim)?;
        check_nonzero("attention: heads", self.heads)?;
        check_nonzero("attention: head_dim", self.head_dim)?;
        if self.causal && self.q_steps != self.kv_steps {
            return Err(Error::new(
                ErrorKind::ShapeMismatch,
                "attention: causal needs q_steps = kv_steps",
            ));
        }
        let m = |a: usize, b: usize| {
            a.checked_mul(b)
                .ok_or(Error::new(ErrorKind::Overflow, "attention: size"))
        };
        let inner = m(self.heads, self.head_dim)?;
        let q_rows = m(self.batch, self.q_steps)?;
        let kv_rows = m(self.batch, self.kv_steps)?;
        Ok(Sizes {
            inner,
            q_rows,
            kv_rows,
            x_q: m(q_rows, self.dim)?,
            x_kv: m(kv_rows, self.kv_dim)?,
            q: m(q_rows, inner)?,
            kv: m(kv_rows, inner)?,
            probs: m(m(q_rows, self.heads)?, self.kv_steps)?,
        })
    }
}

/// Buffer lengths of one layer.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    /// `heads·head_dim`.
    inner: usize,
    /// `batch·q_steps`.
    q_rows: usize,
    /// `batch·kv_steps`.
    kv_rows: usize,
    /// The query input's length.
    x_q: usize,
    /// The key/value input's length.
    x_kv: usize,
    /// `Q` (and the heads' outputs): `batch·q_steps·inner`.
    q: usize,
    /// `K`, `V`: `batch·kv_steps·inner`.
    kv: usize,
    /// Attention weights: `batch·heads·q_steps·kv_steps`.
    probs: usize,
}

/// The projection weights of a layer (see the module table); biases optional.
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a> {
    /// `w_q`.
    pub q: &'a [f32],
    /// `w_k`.
    pub k: &'a [f32],
    /// `w_v`.
    pub v: &'a [f32],
    /// `w_o`.
    pub o: &'a [f32],
    /// `b_q`.
    pub q_bias: Option<&'a [f32]>,
    /// `b_k`.
    pub k_bias: Option<&'a [f32]>,
    /// `b_v`.
    pub v_bias: Option<&'a [f32]>,
    /// `b_o`.
    pub o_bias: Option<&'a [f32]>,
}

/// Gradient buffers matching [`Weights`]; [`backward`] adds into those given.
#[derive(Debug, Default)]
pub struct WeightGrads<'a> {
    /// `∂L/∂w_q`.
    pub q: Option<&'a mut [f32]>,
    /// `∂L/∂w_k`.
    pub k: Option<&'a mut [f32]>,
    /// `∂L/∂w_v`.
    pub v: Option<&'a mut [f32]>,
    /// `∂L/∂w_o`.
    pub o: Option<&'a mut [f32]>,
    /// `∂L/∂b_q`.
    pub q_bias: Option<&'a mut [f32]>,
    /// `∂L/∂b_k`.
    pub k_bias: Option<&'a mut [f32]>,
    /// `∂L/∂b_v`.
    pub v_bias: Option<&'a mut [f32]>,
    /// `∂L/∂b_o`.
    pub o_bias: Option<&'a mut [f32]>,
}

/// Floats of `saved`: `Q`, `K`, `V`, the attention weights and the heads' outputs.
///
/// Errors: as for [`forward`]'s geometry.
pub fn saved_len(p: &Params) -> Result<usize> {
    let s = p.sizes()?;
    [s.q, 2 * s.kv, s.probs, s.q]
        .iter()
        .try_fold(0usize, |a, &b| a.checked_add(b))
        .ok_or(Error::new(ErrorKind::Overflow, "attention: saved"))
}

/// Floats of scratch [`backward`] needs: gradients of `Q`, `K`, `V`, of the heads'
/// outputs, and one head's attention weights.
///
/// Errors: as for [`forward`]'s geometry.
pub fn backward_scratch_len(p: &Params) -> Result<usize> {
    let s = p.sizes()?;
    let one = p.q_steps.checked_mul(p.kv_steps);
    [Some(2 * s.q), Some(2 * s.kv), one]
        .iter()
        .try_fold(0usize, |a, &b| b.and_then(|b| a.checked_add(b)))
        .ok_or(Error::new(ErrorKind::Overflow, "attention: scratch"))
}

/// `saved` split into `Q`, `K`, `V`, weights, heads' outputs.
#[allow(clippy::type_complexity)]
fn split<'a>(
    saved: &'a [f32],
    s: &Sizes,
) -> (&'a [f32], &'a [f32], &'a [f32], &'a [f32], &'a [f32]) {
    let (q, rest) = saved.split_at(s.q);
    let (k, rest) = rest.split_at(s.kv);
    let (v, rest) = rest.split_at(s.kv);
    let (pr, o) = rest.split_at(s.probs);
    (q, k, v, pr, o)
}

fn check_weights(p: &Params, s: &Sizes, w: &Weights<'_>) -> Result<()> {
    check_len("attention: w_q", s.inner * p.dim, w.q.len())?;
    check_len("attention: w_k", s.inner * p.kv_dim, w.k.len())?;
    check_len("attention: w_v", s.inner * p.kv_dim, w.v.len())?;
    check_len("attention: w_o", p.dim * s.inner, w.o.len())?;
    for (at, b, len) in [
        ("attention: b_q", w.q_bias, s.inner),
        ("attention: b_k", w.k_bias, s.inner),
        ("attention: b_v", w.v_bias, s.inner),
        ("attention: b_o", w.o_bias, p.dim),
    ] {
        if let Some(b) = b {
            check_len(at, len, b.len())?;
        }
    }
    Ok(())
}

/// `out ← x·wᵀ + bias` for `rows` rows.
fn project(
    x: &[f32],
    rows: usize,
    cols: usize,
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<()> {
    let n = w.len() / cols;
    for row in out.chunks_exact_mut(n) {
        match bias {
            Some(b) => row.copy_from_slice(b),
            None => row.fill(0.0),
        }
    }
    sgemm(
        1.0,
        MatRef::row_major(x, rows, cols)?,
        MatRef::row_major(w, n, cols)?.t(),
        1.0,
        MatMut::row_major(out, rows, n)?,
    )
}

/// Head `h` of sequence `b` of a `[batch][steps][inner]` buffer: `steps × head_dim`.
fn head<'a>(m: &'a [f32], p: &Params, steps: usize, b: usize, h: usize) -> Result<MatRef<'a>> {
    let inner = p.heads * p.head_dim;
    MatRef::new(
        &m[b * steps * inner + h * p.head_dim..],
        steps,
        p.head_dim,
        inner,
        1,
    )
}

/// The mutable form of [`head`].
fn head_mut<'a>(
    m: &'a mut [f32],
    p: &Params,
    steps: usize,
    b: usize,
    h: usize,
) -> Result<MatMut<'a>> {
    let inner = p.heads * p.head_dim;
    MatMut::new(
        &mut m[b * steps * inner + h * p.head_dim..],
        steps,
        p.head_dim,
        inner,
        1,
    )
}

/// Forward: `output` is the attention layer's output; `saved` ([`saved_len`] floats)
/// keeps what [`backward`] needs.
///
/// Errors: `Zero` for a zero size; `ShapeMismatch` for `causal` with `q_steps ≠
/// kv_steps`, or self-attention (`x_kv` `None`) with `kv_steps ≠ q_steps` or `kv_dim ≠
/// dim`; `LengthMismatch` for a buffer of the wrong length; `Overflow`.
pub fn forward(
    p: &Params,
    x_q: &[f32],
    x_kv: Option<&[f32]>,
    weights: &Weights<'_>,
    key_mask: Option<&[u8]>,
    output: &mut [f32],
    saved: &mut [f32],
) -> Result<()> {
    let s = p.sizes()?;
    let x_kv = check_inputs(p, &s, x_q, x_kv)?;
    check_weights(p, &s, weights)?;
    if let Some(m) = key_mask {
        check_len("attention: key_mask", s.kv_rows, m.len())?;
    }
    check_len("attention: output", s.x_q, output.len())?;
    check_len("attention: saved", saved_len(p)?, saved.len())?;
    let (q, rest) = saved.split_at_mut(s.q);
    let (k, rest) = rest.split_at_mut(s.kv);
    let (v, rest) = rest.split_at_mut(s.kv);
    let (probs, heads_out) = rest.split_at_mut(s.probs);
    project(x_q, s.q_rows, p.dim, weights.q, weights.q_bias, q)?;
    project(x_kv, s.kv_rows, p.kv_dim, weights.k, weights.k_bias, k)?;
    project(x_kv, s.kv_rows, p.kv_dim, weights.v, weights.v_bias, v)?;
    let scale = 1.0 / libm::sqrtf(p.head_dim as f32);
    let (tq, tk) = (p.q_steps, p.kv_steps);
    for b in 0..p.batch {
        let mask = key_mask.map(|m| &m[b * tk..(b + 1) * tk]);
        for h in 0..p.heads {
            let at = (b * p.heads + h) * tq * tk;
            let pr = &mut probs[at..at + tq * tk];
            let qh = head(q, p, tq, b, h)?;
            let kh = head(k, p, tk, b, h)?;
            sgemm(scale, qh, kh.t(), 0.0, MatMut::row_major(pr, tq, tk)?)?;
            for (i, row) in pr.chunks_exact_mut(tk).enumerate() {
                let limit = if p.causal { i + 1 } else { tk };
                softmax_masked(row, limit, mask);
            }
            let vh = head(v, p, tk, b, h)?;
            sgemm(
                1.0,
                MatRef::row_major(pr, tq, tk)?,
                vh,
                0.0,
                head_mut(heads_out, p, tq, b, h)?,
            )?;
        }
    }
    project(
        heads_out,
        s.q_rows,
        s.inner,
        weights.o,
        weights.o_bias,
        output,
    )
}

/// Softmax of `row[..limit]` over the keys the mask keeps; every other entry 0 (all of
/// them when no key is kept). The exponentials are `mote_simd::math::exp_in_place`'s
/// (vectorised; within 2 ulp).
fn softmax_masked(row: &mut [f32], limit: usize, mask: Option<&[u8]>) {
    let keep = |j: usize| j < limit && mask.is_none_or(|m| m[j] != 0);
    let max = (0..row.len())
        .filter(|&j| keep(j))
        .map(|j| row[j])
        .fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        row.fill(0.0);
        return;
    }
    row.iter_mut().for_each(|x| *x -= max);
    exp_in_place(row);
    let mut sum = 0.0;
    for (j, x) in row.iter_mut().enumerate() {
        if !keep(j) {
            *x = 0.0;
        }
        sum += *x;
    }
    if sum > 0.0 {
        let inv = 1.0 / sum;
        row.iter_mut().for_each(|x| *x *= inv);
    }
}

/// Checks the inputs and returns the key/value input (the query input for
/// self-attention).
fn check_inputs<'a>(
    p: &Params,
    s: &Sizes,
    x_q: &'a [f32],
    x_kv: Option<&'a [f32]>,
) -> Result<&'a [f32]> {
    check_len("attention: x_q", s.x_q, x_q.len())?;
    match x_kv {
        Some(x) => {
            check_len("attention: x_kv", s.x_kv, x.len())?;
            Ok(x)
        }
        None if p.kv_steps == p.q_steps && p.kv_dim == p.dim => Ok(x_q),
        None => Err(Error::new(
            ErrorKind::ShapeMismatch,
            "attention: self-attention needs kv = q shapes",
        )),
    }
}

/// Backward: from `grad_output`, adds `∂L/∂x_q` (and, for self-attention, the key/value
/// path's share too) to `grad_q`, `∂L/∂x_kv` to `grad_kv` (cross-attention only; must
/// be `None` for self-attention), and the weight gradients to `grads`, each where given.
///
/// `x_q`, `x_kv`, `weights`, `key_mask` and `saved` must be those of the [`forward`]
/// call; `scratch` is [`backward_scratch_len`] floats, not read.
///
/// Errors: as for [`forward`]; `ShapeMismatch` for a `grad_kv` with self-attention;
/// `BufferTooSmall` for a short `scratch`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &Params,
    x_q: &[f32],
    x_kv: Option<&[f32]>,
    weights: &Weights<'_>,
    saved: &[f32],
    grad_output: &[f32],
    mut grad_q: Option<&mut [f32]>,
    grad_kv: Option<&mut [f32]>,
    grads: WeightGrads<'_>,
    scratch: &mut [f32],
) -> Result<()> {
    let s = p.sizes()?;
    let self_attention = x_kv.is_none();
    let x_kv_data = check_inputs(p, &s, x_q, x_kv)?;
    check_weights(p, &s, weights)?;
    check_len("attention: saved", saved_len(p)?, saved.len())?;
    check_len("attention: grad_output", s.x_q, grad_output.len())?;
    if let Some(d) = &grad_q {
        check_len("attention: grad_q", s.x_q, d.len())?;
    }
    match (&grad_kv, self_attention) {
        (Some(_), true) => {
            return Err(Error::new(
                ErrorKind::ShapeMismatch,
                "attention: grad_kv (self-attention)",
            ));
        }
        (Some(d), false) => check_len("attention: grad_kv", s.x_kv, d.len())?,
        (None, _) => {}
    }
    check_grads(p, &s, &grads)?;
    check_capacity(
        "attention: scratch",
        backward_scratch_len(p)?,
        scratch.len(),
    )?;
    let (q, k, v, probs, heads_out) = split(saved, &s);
    let (dq, rest) = scratch.split_at_mut(s.q);
    let (dk, rest) = rest.split_at_mut(s.kv);
    let (dv, rest) = rest.split_at_mut(s.kv);
    let (dheads, rest) = rest.split_at_mut(s.q);
    let (tq, tk) = (p.q_steps, p.kv_steps);
    let dp = &mut rest[..tq * tk];
    let WeightGrads {
        q: gwq,
        k: gwk,
        v: gwv,
        o: gwo,
        q_bias: gbq,
        k_bias: gbk,
        v_bias: gbv,
        o_bias: gbo,
    } = grads;
    // Output projection: ∂heads = ∂y·w_o, ∂w_o += ∂yᵀ·heads, ∂b_o += Σ ∂y.
    let dy = MatRef::row_major(grad_output, s.q_rows, p.dim)?;
    sgemm(
        1.0,
        dy,
        MatRef::row_major(weights.o, p.dim, s.inner)?,
        0.0,
        MatMut::row_major(dheads, s.q_rows, s.inner)?,
    )?;
    if let Some(g) = gwo {
        sgemm(
            1.0,
            dy.t(),
            MatRef::row_major(heads_out, s.q_rows, s.inner)?,
            1.0,
            MatMut::row_major(g, p.dim, s.inner)?,
        )?;
    }
    if let Some(g) = gbo {
        column_sums(g, grad_output);
    }
    let scale = 1.0 / libm::sqrtf(p.head_dim as f32);
    for b in 0..p.batch {
        for h in 0..p.heads {
            let at = (b * p.heads + h) * tq * tk;
            let pr = &probs[at..at + tq * tk];
            let pm = MatRef::row_major(pr, tq, tk)?;
            let doh = head(dheads, p, tq, b, h)?;
            // ∂V_h = Pᵀ·∂O_h; ∂P = ∂O_h·V_hᵀ.
            sgemm(1.0, pm.t(), doh, 0.0, head_mut(dv, p, tk, b, h)?)?;
            sgemm(
                1.0,
                doh,
                head(v, p, tk, b, h)?.t(),
                0.0,
                MatMut::row_major(dp, tq, tk)?,
            )?;
            // Softmax backward: ∂S = P·(∂P − Σ_j P·∂P), masked entries have P = 0.
            for (prow, drow) in pr.chunks_exact(tk).zip(dp.chunks_exact_mut(tk)) {
                let dot: f32 = prow.iter().zip(drow.iter()).map(|(a, b)| a * b).sum();
                drow.iter_mut()
                    .zip(prow)
                    .for_each(|(d, &pv)| *d = pv * (*d - dot));
            }
            let ds = MatRef::row_major(dp, tq, tk)?;
            // S = scale·Q·Kᵀ: ∂Q_h = scale·∂S·K_h, ∂K_h = scale·∂Sᵀ·Q_h.
            sgemm(
                scale,
                ds,
                head(k, p, tk, b, h)?,
                0.0,
                head_mut(dq, p, tq, b, h)?,
            )?;
            sgemm(
                scale,
                ds.t(),
                head(q, p, tq, b, h)?,
                0.0,
                head_mut(dk, p, tk, b, h)?,
            )?;
        }
    }
    // Input projections.
    unproject(
        dq,
        x_q,
        s.q_rows,
        p.dim,
        weights.q,
        grad_q.as_deref_mut(),
        gwq,
        gbq,
    )?;
    let mut kv_target = if self_attention { grad_q } else { grad_kv };
    unproject(
        dk,
        x_kv_data,
        s.kv_rows,
        p.kv_dim,
        weights.k,
        kv_target.as_deref_mut(),
        gwk,
        gbk,
    )?;
    unproject(
        dv, x_kv_data, s.kv_rows, p.kv_dim, weights.v, kv_target, gwv, gbv,
    )?;
    Ok(())
}

/// The backward of [`project`]: `∂x += ∂out·w`, `∂w += ∂outᵀ·x`, `∂b += Σ ∂out`.
#[allow(clippy::too_many_arguments)]
fn unproject(
    d_out: &[f32],
    x: &[f32],
    rows: usize,
    cols: usize,
    w: &[f32],
    dx: Option<&mut [f32]>,
    dw: Option<&mut [f32]>,
    db: Option<&mut [f32]>,
) -> Result<()> {
    let n = w.len() / cols;
    let d = MatRef::row_major(d_out, rows, n)?;
    if let Some(dx) = dx {
        sgemm(
            1.0,
            d,
            MatRef::row_major(w, n, cols)?,
            1.0,
            MatMut::row_major(dx, rows, cols)?,
        )?;
    }
    if let Some(dw) = dw {
        sgemm(
            1.0,
            d.t(),
            MatRef::row_major(x, rows, cols)?,
            1.0,
            MatMut::row_major(dw, n, cols)?,
        )?;
    }
    if let Some(db) = db {
        column_sums(db, d_out);
    }
    Ok(())
}

/// Adds the column sums of the `sum.len()`-wide rows of `rows` to `sum`.
fn column_sums(sum: &mut [f32], rows: &[f32]) {
    for row in rows.chunks_exact(sum.len()) {
        sum.iter_mut().zip(row).for_each(|(s, &r)| *s += r);
    }
}

fn check_grads(p: &Params, s: &Sizes, g: &WeightGrads<'_>) -> Result<()> {
    for (at, d, len) in [
        ("attention: grad w_q", &g.q, s.inner * p.dim),
        ("attention: grad w_k", &g.k, s.inner * p.kv_dim),
        ("attention: grad w_v", &g.v, s.inner * p.kv_dim),
        ("attention: grad w_o", &g.o, p.dim * s.inner),
        ("attention: grad b_q", &g.q_bias, s.inner),
        ("attention: grad b_k", &g.k_bias, s.inner),
        ("attention: grad b_v", &g.v_bias, s.inner),
        ("attention: grad b_o", &g.o_bias, p.dim),
    ] {
        if let Some(d) = d {
            check_len(at, len, d.len())?;
        }
    }
    Ok(())
}
