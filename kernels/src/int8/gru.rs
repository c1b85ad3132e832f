//! Gated recurrent unit over whole sequences, integer, in the style of the integer LSTM
//! ([`crate::int8::lstm`]): int8 (s8, [`forward`]) or int16 (s16,
//! [`crate::int16::gru::forward`]) input, hidden state and output, symmetric int8
//! weights, int32 / int64 biases, int16 gates.
//!
//! TFLite has no built-in quantised GRU, so there is no reference kernel to be
//! bit-exact with; this one is built from the LSTM's pieces (the same gate products,
//! the same look-up-table sigmoid and tanh), and its accuracy against the f32
//! [`gru`](crate::f32::recurrent::gru) is measured by property tests
//! (`tests/tests/int_gru.rs`): s8 within 2 LSB of the output (measured 1.51), s16
//! within `10^-3` (measured `3.7·10^-4`). Only the reset-after form is provided (the
//! reset-before one, Keras' `reset_after=False`, would need `U_n·(r·h)`, a product of
//! the gates with a requantised state: not written).
//!
//! # Arithmetic
//!
//! The reset-after form (Keras' default since TF 2, PyTorch, cuDNN), gate order
//! `z, r, n` (update, reset, candidate) — Keras' order, as in the f32 GRU. Float:
//!
//! ```text
//! z = σ(W_z·x + b_z + U_z·h + b_Uz)    r = σ(W_r·x + b_r + U_r·h + b_Ur)
//! n = tanh(W_n·x + b_n + r·(U_n·h + b_Un))
//! h' = z·h + (1 − z)·n
//! ```
//!
//! Integer, one step of one sequence (`RQ`, `sat16`, `σ16`, `tanh16` as in the LSTM;
//! `RDBPOT(v, e)` rounds `v / 2^e` to nearest, ties away from zero):
//!
//! ```text
//! for each gate G ∈ {z, r, n}, row j:                                      (Q3.12)
//!   a_G,j = sat16(RQ(b_G[j]  + Σ_k W_G[j][k]·(x_k − input_zero_point),  G.input))
//!   u_G,j = sat16(RQ(bU_G[j] + Σ_k U_G[j][k]·(h_k − hidden_zero_point), G.hidden))
//! z_j = σ16(sat16(a_z + u_z))       r_j = σ16(sat16(a_r + u_r))              (Q0.15)
//! n_j = tanh16(sat16(a_n + sat16(RDBPOT(r_j·u_n, 15))), −12)                (Q0.15)
//! h'_j = clamp(hidden_zero_point
//!              + RDBPOT(z_j·(h_j − hidden_zero_point) + RQ32((2^15 − z_j)·n_j, output), 15),
//!              the range of the activation type)
//! ```
//!
//! `RQ32` is `requant32` with [`Quant::rounding`]. Both terms of `h'` are in hidden
//! units with 15 fraction bits (`z·(h − zp)` exactly; `(1 − z)·n`, a Q0.30 product,
//! through `output = 2^-15 / hidden_scale`), so `h'` is rounded once. `b` has scale
//! `input_scale·W_scale` and `bU` `hidden_scale·U_scale`; the multipliers are
//! `G.input = input_scale·W_G_scale / 2^-12` and `G.hidden = hidden_scale·U_G_scale /
//! 2^-12`. Pre-activations beyond ±8 saturate (as the LSTM's do), including the
//! candidate's recurrent term before `r` scales it.
//!
//! # Layout, state and scratch
//!
//! [`Params`] as the LSTM's (batch- or time-major). Weights `[3·hidden][inputs]` and
//! `[3·hidden][hidden]` (blocks `z, r, n`), biases `[3·hidden]` or `None` for zeros;
//! the hidden state `[batch][hidden]` is the caller's, read as the initial state and
//! updated in place ([`reset`] gives the zero state); `output` gets every step's hidden
//! state; `scratch` needs [`scratch_len`] int16 (`3·hidden`).

use crate::int8::dense::requant;
use crate::int8::lstm::{Activation, range, sat16, sigmoid16, tanh16};
pub use crate::int8::lstm::{GateQuant, Params};
use mote_core::Result;
use mote_core::error::{check_capacity, check_len};
use mote_core::fixed::rounding_divide_by_pot_i64;
use mote_core::quant::{QuantizedMultiplier, Rounding};

/// Gate blocks of a GRU: `z, r, n`.
pub const GATES: usize = 3;

/// Quantisation of an integer GRU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Quant {
    /// Zero point of the input, within the activation type.
    pub input_zero_point: i32,
    /// Zero point of the hidden state and output, within the activation type.
    pub hidden_zero_point: i32,
    /// The gates' multipliers to Q3.12, in the order `z, r, n`.
    pub gates: [GateQuant; GATES],
    /// `(1 − z)·n` (Q0.15 × Q0.15) to hidden units with 15 fraction bits:
    /// `2^-15 / hidden_scale`.
    pub output: QuantizedMultiplier,
    /// How int32 products are requantised (the s8 gate products and the candidate
    /// term of `h'`); the s16 gate products use the reduced-multiplier form.
    pub rounding: Rounding,
}

/// The weights of an integer GRU, gate blocks `z, r, n` of `hidden` rows each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Weights<'a, B> {
    /// Input-to-gates weights, `[3·hidden][inputs]`, symmetric int8.
    pub input: &'a [i8],
    /// Hidden-to-gates weights, `[3·hidden][hidden]`, symmetric int8.
    pub recurrent: &'a [i8],
    /// Bias of the input products, `[3·hidden]`; `None` for zeros.
    pub bias: Option<&'a [B]>,
    /// Bias of the recurrent products, `[3·hidden]` (for `n`, inside the reset gate's
    /// product); `None` for zeros.
    pub recurrent_bias: Option<&'a [B]>,
}

/// int16 elements of `scratch` [`forward`] needs: `3·hidden`. Invalid parameters give
/// 0 (the kernel reports the error).
pub fn scratch_len(params: &Params) -> usize {
    params.hidden.checked_mul(GATES).unwrap_or(0)
}

/// The zero state: every element of `h` at `quant.hidden_zero_point` (the real 0),
/// saturated to int8.
pub fn reset(quant: &Quant, h: &mut [i8]) {
    h.fill(<i8 as Activation>::saturate(quant.hidden_zero_point));
}

/// The s8 GRU over whole sequences: `output` gets every step's hidden state, `h` holds
/// the last on return (see the module docs).
///
/// `h` is read as the initial state ([`reset`] for zeros); `output` is overwritten;
/// `scratch` needs at least [`scratch_len`] elements, its contents on entry do not
/// matter.
///
/// Errors: `Zero` for a zero size; `LengthMismatch` for a buffer of the wrong length;
/// `BufferTooSmall` for a short `scratch`; `OutOfRange` for a zero point outside int8;
/// `Overflow` when a length overflows.
pub fn forward(
    params: &Params,
    quant: &Quant,
    input: &[i8],
    weights: &Weights<'_, i32>,
    h: &mut [i8],
    output: &mut [i8],
    scratch: &mut [i16],
) -> Result<()> {
    forward_any(params, quant, input, weights, h, output, scratch)
}

/// [`forward`] for either scheme (the s16 entry is [`crate::int16::gru::forward`]).
pub(crate) fn forward_any<X: Activation>(
    p: &Params,
    q: &Quant,
    input: &[X],
    weights: &Weights<'_, X::Bias>,
    h: &mut [X],
    output: &mut [X],
    scratch: &mut [i16],
) -> Result<()> {
    let at = X::GRU_AT;
    let l = p.lens(at[0], GATES)?;
    check_len(at[1], l.input, input.len())?;
    check_len(at[2], l.weights, weights.input.len())?;
    check_len(at[3], l.recurrent, weights.recurrent.len())?;
    if let Some(b) = weights.bias {
        check_len(at[4], l.gates, b.len())?;
    }
    if let Some(b) = weights.recurrent_bias {
        check_len(at[13], l.gates, b.len())?;
    }
    check_len(at[5], l.state, h.len())?;
    check_len(at[7], l.output, output.len())?;
    check_capacity(at[8], l.gates, scratch.len())?;
    range(at[9], q.input_zero_point, (X::LO, X::HI))?;
    range(at[10], q.hidden_zero_point, (X::LO, X::HI))?;
    run(p, q, input, weights, h, output, &mut scratch[..l.gates]);
    Ok(())
}

/// The loop (arguments checked; `gates` is `3·hidden` long).
fn run<X: Activation>(
    p: &Params,
    q: &Quant,
    input: &[X],
    weights: &Weights<'_, X::Bias>,
    state: &mut [X],
    output: &mut [X],
    gates: &mut [i16],
) {
    let (n, hn) = (p.inputs, p.hidden);
    let hzp = q.hidden_zero_point;
    let bias =
        |b: Option<&[X::Bias]>, row: usize| b.and_then(|b| b.get(row)).copied().unwrap_or(X::ZERO);
    for b in 0..p.batch {
        let h = &mut state[b * hn..(b + 1) * hn];
        for t in 0..p.steps {
            let r = p.row(b, t);
            let x = &input[r * n..(r + 1) * n];
            // Row `row`'s two Q3.12 terms, from the previous h.
            let terms = |row: usize, h: &[X]| {
                let gq = q.gates[row / hn];
                let wx = &weights.input[row * n..(row + 1) * n];
                let wh = &weights.recurrent[row * hn..(row + 1) * hn];
                let bx = bias(weights.bias, row);
                let bh = bias(weights.recurrent_bias, row);
                (
                    X::gate(x, q.input_zero_point, wx, bx, gq.input, q.rounding),
                    X::gate(h, hzp, wh, bh, gq.hidden, q.rounding),
                )
            };
            let (zr, gn) = gates.split_at_mut(2 * hn);
            for (row, g) in zr.iter_mut().enumerate() {
                let (a, u) = terms(row, h);
                *g = sigmoid16(sat16(i32::from(a) + i32::from(u)));
            }
            for (j, g) in gn.iter_mut().enumerate() {
                let (a, u) = terms(2 * hn + j, h);
                // r (Q0.15) · u (Q3.12) → Q3.12; |r·u| < 2^30.
                let ru = rounding_divide_by_pot_i64(i64::from(zr[hn + j]) * i64::from(u), 15);
                *g = tanh16(sat16(i32::from(a) + i32::from(sat16(ru as i32))), -12);
            }
            let y = &mut output[r * hn..(r + 1) * hn];
            for (j, (hj, yj)) in h.iter_mut().zip(y).enumerate() {
                let (z, nj) = (i32::from(zr[j]), i32::from(gn[j]));
                let prev = X::widen(*hj) - hzp;
                // Both terms in hidden units · 2^15, rounded once. z ∈ [1, 32767] (σ16's
                // range), so 2^15 − z ∈ [1, 32767] and the product with n fits int32;
                // z·prev fits int64.
                let keep = i64::from(z) * i64::from(prev);
                let new = requant(q.output, ((1 << 15) - z) * nj, q.rounding);
                let v = i64::from(hzp) + rounding_divide_by_pot_i64(keep + i64::from(new), 15);
                *hj = X::saturate(v.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
                *yj = *hj;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zero weights, the gates set by the biases alone (Q3.12 with unit multipliers):
    /// `h' = z·h + (1 − z)·n` followed by hand.
    #[test]
    fn by_hand() {
        let one = QuantizedMultiplier::new(1 << 30, 1).unwrap();
        let q = Quant {
            input_zero_point: 0,
            hidden_zero_point: -3,
            gates: [GateQuant {
                input: one,
                hidden: one,
            }; GATES],
            // hidden scale 2^-7.
            output: QuantizedMultiplier::from_real(2f64.powi(-8)).unwrap(),
            rounding: Rounding::Double,
        };
        // z = σ(0.5), r = σ(−1), n = tanh(0.25 + r·(−0.5)).
        let (bias, rbias) = ([2048, -4096, 1024], [0, 0, -2048]);
        let w = Weights {
            input: &[0; 3],
            recurrent: &[0; 3],
            bias: Some(&bias[..]),
            recurrent_bias: Some(&rbias[..]),
        };
        let mut h = [0i8];
        reset(&q, &mut h);
        assert_eq!(h, [-3]);
        let mut y = [0i8; 3];
        let p = Params::new(1, 3, 1, 1);
        forward(&p, &q, &[1, 2, 3], &w, &mut h, &mut y, &mut [0; 3]).unwrap();
        let s = |x: f64| 1.0 / (1.0 + libm::exp(-x));
        let (z, r) = (s(0.5), s(-1.0));
        let n = libm::tanh(0.25 - 0.5 * r);
        let mut hf = 0.0;
        for (k, &yk) in y.iter().enumerate() {
            hf = z * hf + (1.0 - z) * n;
            let want = hf * 128.0 - 3.0;
            assert!((f64::from(yk) - want).abs() <= 0.6, "{k}: {y:?} vs {want}");
        }
        assert_eq!(h[0], y[2]);
        assert_eq!(scratch_len(&p), 3);
    }
}
