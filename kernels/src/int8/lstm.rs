//! Long short-term memory over whole sequences, integer: TFLite Micro's
//! `UNIDIRECTIONAL_SEQUENCE_LSTM` integer kernels (CMSIS-NN's
//! `arm_lstm_unidirectional_s8` / `_s16`), bit-exact.
//!
//! Two schemes share this module's code and types:
//!
//! | scheme | input, hidden state, output | weights | bias | gate products |
//! |---|---|---|---|---|
//! | s8 ([`forward`]) | int8, asymmetric | int8, symmetric | int32 | int32, `requant32` |
//! | s16 ([`crate::int16::lstm::forward`]) | int16 | int8, symmetric | int64 | int64, `requant64` |
//!
//! In both, the gates and the cell state are int16: gate pre-activations in Q3.12
//! (`2^-12` per unit, so ±8), gate activations in Q0.15, and the cell state in units of
//! `2^cell_scale_power`.
//!
//! # Arithmetic
//!
//! Gate order `i, f, g, o` (input, forget, cell candidate, output), each a block of
//! `hidden` rows of the weights and bias — TFLite's order, and that of the f32
//! [`lstm`](crate::f32::recurrent::lstm). One step for one sequence, with `x` its input
//! row and `h`, `c` its state (`RQ` is `requant32` for s8 — TFLite's double rounding
//! by default, see [`Quant::rounding`] — and `requant64`, the reduced-multiplier form of
//! [`QuantizedMultiplier::apply_i64`], for s16; `sat16` clamps to int16):
//!
//! ```text
//! for each gate G ∈ {i, f, g, o}, row j:                                   (Q3.12)
//!   a_j = sat16(RQ(bias_G[j] + Σ_k W_G[j][k]·(x_k − input_zero_point),  G.input))
//!   r_j = sat16(RQ(            Σ_k U_G[j][k]·(h_k − hidden_zero_point), G.hidden))
//!   z_j = sat16(a_j + r_j)
//!   G_j = σ16(z_j) for i, f, o;  tanh16(z_j, −12) for g                   (Q0.15)
//! c_j = sat16( sat16(requant32(f_j·c_j, forget_to_cell))
//!            + sat16(requant32(i_j·g_j, input_to_cell)) )
//! with a cell clip:  c_j = clamp(c_j, −cell_clip, cell_clip)
//! h_j = clamp(requant32(tanh16(c_j, cell_scale_power)·o_j, output) + hidden_zero_point,
//!             the range of the activation type)
//! ```
//!
//! and `h` is also the step's output. Every gate of a step is computed from the previous
//! `h` before `c` and `h` change. `σ16` and `tanh16` are TFLite's int16 LOGISTIC and
//! TANH look-up-table functions ([`crate::int16::activation`]) with the input scaled by
//! a power of two instead of a multiplier:
//!
//! ```text
//! σ16(z)        = logistic of v = 3z
//! tanh16(z, p)  = tanh of v = 3z·2^L if L ≥ 0, else (3z + 2^(−L−1)) >> −L,   L = 12 + p
//! ```
//!
//! (`v` in units of `1/(3·4096)`, the table functions' input), which is TFLM's
//! `Sigmoid` / `Tanh(cell_state_scale_power, …)` of `lstm_eval`. With `p = −12` the cell
//! gate's `tanh16` reads a Q3.12 input. The element-wise products (`f·c`, `i·g`,
//! `tanh(c)·o`) are TFLM's int16 `MulElementwise` with symmetric inputs; the sums are
//! its `AddElementWise`, saturating to int16.
//!
//! TFLM's Prepare derives the multipliers from the tensors' scales:
//! `G.input = input_scale·W_G_scale / 2^-12`, `G.hidden = hidden_scale·U_G_scale / 2^-12`,
//! `forget_to_cell = 2^-15`, `input_to_cell = 2^-30 / 2^cell_scale_power`,
//! `output = 2^-30 / hidden_scale`, and the cell clip as [`Quant::cell_clip`] says; the
//! bias has scale `input_scale·W_G_scale`. Integer sums wrap (int32 for s8, int64 for s16) where
//! TFLite's would overflow, which converted models never do.
//!
//! # What is supported
//!
//! TFLM's integer kernel as it stands: no peephole, no projection, no layer
//! normalisation, no CIFG (coupled input and forget gates), symmetric int8 weights, no
//! recurrent bias, and one activation (the gates' sigmoid/tanh and the cell's tanh; TFLM
//! rejects any other). None of these has a place in [`Quant`] or [`Weights`], so they
//! cannot be asked for; a model converter mapping a TFLite LSTM with any of those
//! tensors onto this kernel has to refuse it.
//!
//! # Layout, state and scratch
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | `input` | `[batch][steps][inputs]`, or `[steps][batch][inputs]` if [`Params::time_major`] | `batch·steps·inputs` |
//! | `weights.input` | `[4·hidden][inputs]` (blocks `i, f, g, o`) | `4·hidden·inputs` |
//! | `weights.recurrent` | `[4·hidden][hidden]` | `4·hidden·hidden` |
//! | `weights.bias` | `[4·hidden]`, or `None` for zeros | `4·hidden` |
//! | `state.h`, `state.c` | `[batch][hidden]` | `batch·hidden` each |
//! | `output` | as `input`, with `hidden` features; or empty (the last state is `state.h`) | `batch·steps·hidden` or 0 |
//! | `scratch` | — | at least [`scratch_len`] int16 |
//!
//! The state is the caller's and is updated in place, so it carries over between calls
//! as in TFLM's stateful LSTM; [`State::reset`] sets the initial state TFLM starts from
//! (hidden state = `hidden_zero_point`, the real 0, and cell state 0). Layouts only
//! change where rows are read and written: sequences are independent, so the order in
//! which TFLM visits them does not change any bit.
//!
//! The matrix–vector products are [`mote_simd::int8::gemv`] (s8: each gate block's
//! input and recurrent terms, the input row prepared once per block, sixteen weight rows
//! per call) and [`mote_simd::dot::dot_i16_i8`] (s16, one weight row each), so the SIMD
//! paths apply; every path gives the same bits.

use crate::int8::dense::requant;
use crate::int16::activation::{logistic_scaled, scaled, tanh_scaled};
use mote_core::error::{check_capacity, check_len, check_nonzero};
use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_core::{Error, ErrorKind, Result};

/// Gate blocks of an LSTM: `i, f, g, o`.
pub const GATES: usize = 4;

/// The smallest and largest `cell_scale_power` accepted (see
/// [`mote_core::quant::LSTM_CELL_SCALE_POWER_RANGE`], which the model reader checks too).
pub const CELL_SCALE_POWER_RANGE: (i32, i32) = mote_core::quant::LSTM_CELL_SCALE_POWER_RANGE;

/// Geometry of an integer LSTM layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Sequences in the batch.
    pub batch: usize,
    /// Time steps per sequence.
    pub steps: usize,
    /// Features per input step.
    pub inputs: usize,
    /// Units of the hidden and cell states (features per output step).
    pub hidden: usize,
    /// Input and output are `[steps][batch][features]` (TFLite's `time_major`), else
    /// `[batch][steps][features]`.
    pub time_major: bool,
}

impl Params {
    /// A layer of `hidden` units over `batch` sequences of `steps` steps of `inputs`
    /// features, batch-major.
    pub const fn new(batch: usize, steps: usize, inputs: usize, hidden: usize) -> Self {
        Self {
            batch,
            steps,
            inputs,
            hidden,
            time_major: false,
        }
    }

    /// The same layer with time-major input and output when `yes`.
    pub const fn in_time_major(self, yes: bool) -> Self {
        Self {
            time_major: yes,
            ..self
        }
    }

    /// The buffer lengths of a cell with `gates` blocks, after checking that no size is
    /// zero and no product overflows; `at` names the calling kernel.
    pub(crate) fn lens(&self, at: &'static str, gates: usize) -> Result<Lens> {
        check_nonzero(at, self.batch)?;
        check_nonzero(at, self.steps)?;
        check_nonzero(at, self.inputs)?;
        check_nonzero(at, self.hidden)?;
        let mul = |a: usize, b: usize| a.checked_mul(b).ok_or(Error::new(ErrorKind::Overflow, at));
        let rows = mul(self.batch, self.steps)?;
        let gates = mul(gates, self.hidden)?;
        Ok(Lens {
            input: mul(rows, self.inputs)?,
            output: mul(rows, self.hidden)?,
            state: mul(self.batch, self.hidden)?,
            weights: mul(gates, self.inputs)?,
            recurrent: mul(gates, self.hidden)?,
            gates,
        })
    }

    /// Index of the row of sequence `b` at step `t` in a sequence buffer.
    #[inline]
    pub(crate) fn row(&self, b: usize, t: usize) -> usize {
        if self.time_major {
            t * self.batch + b
        } else {
            b * self.steps + t
        }
    }
}

/// Buffer lengths of one layer (see [`Params::lens`]).
pub(crate) struct Lens {
    pub input: usize,
    pub output: usize,
    pub state: usize,
    pub weights: usize,
    pub recurrent: usize,
    /// `gates·hidden`.
    pub gates: usize,
}

/// Requantisation of one gate's two products to Q3.12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GateQuant {
    /// `W·(x − input_zero_point) + bias` to Q3.12: `input_scale·W_scale / 2^-12`.
    pub input: QuantizedMultiplier,
    /// `U·(h − hidden_zero_point)` to Q3.12: `hidden_scale·U_scale / 2^-12`.
    pub hidden: QuantizedMultiplier,
}

/// Quantisation of an integer LSTM (TFLM's `IntegerLstmParameter` and `CellStateInfo`,
/// in TFLite's sign conventions: zero points are TFLite's, shifts positive to the left).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Quant {
    /// Zero point of the input, within the activation type (0 in TFLite's s16).
    pub input_zero_point: i32,
    /// Zero point of the hidden state and output, within the activation type (0 in
    /// TFLite's s16).
    pub hidden_zero_point: i32,
    /// The gates' multipliers, in the order `i, f, g, o`.
    pub gates: [GateQuant; GATES],
    /// `f·c` (Q0.15 × cell units) to cell units: `2^-15`.
    pub forget_to_cell: QuantizedMultiplier,
    /// `i·g` (Q0.15 × Q0.15) to cell units: `2^-30 / 2^cell_scale_power`.
    pub input_to_cell: QuantizedMultiplier,
    /// `tanh(c)·o` (Q0.15 × Q0.15) to hidden units: `2^-30 / hidden_scale`.
    pub output: QuantizedMultiplier,
    /// The cell state's scale is `2^cell_scale_power`; within
    /// [`CELL_SCALE_POWER_RANGE`].
    pub cell_scale_power: i32,
    /// Clip of the cell state in cell units, `0..=32767`, or `None`. TFLM clips when
    /// the model's float clip is positive, with `clip / 2^cell_scale_power` truncated
    /// and limited to 32767 (so a clip below one cell unit is `Some(0)`, which holds the
    /// cell state at 0, as in TFLM); a float clip of 0 is `None`.
    pub cell_clip: Option<i32>,
    /// How the int32 products are requantised (the gate products of s8 and the
    /// element-wise products of both schemes); [`Rounding::Double`] is TFLite's
    /// default. The s16 gate products always use the reduced-multiplier form.
    pub rounding: Rounding,
}

impl Quant {
    /// Multipliers a `.mote` LSTM record holds, in its order: each gate's input and
    /// recurrent product (`i.x, i.h, f.x, f.h, g.x, g.h, o.x, o.h`), then `forget→cell`,
    /// `input→cell` and `cell→output`.
    pub const RECORD_MULTIPLIERS: usize = 11;

    /// The quantisation a `.mote` LSTM record describes (see
    /// [`RECORD_MULTIPLIERS`](Self::RECORD_MULTIPLIERS)): TFLite's double rounding, a
    /// negative `cell_clip` for none.
    ///
    /// Errors: `LengthMismatch` (at `"lstm: multipliers"`) when `multipliers` does not
    /// hold exactly 11; the other values are checked by [`forward`].
    pub fn from_record(
        multipliers: &[QuantizedMultiplier],
        input_zero_point: i32,
        hidden_zero_point: i32,
        cell_scale_power: i32,
        cell_clip: i32,
    ) -> Result<Self> {
        let &[
            ix,
            ih,
            fx,
            fh,
            gx,
            gh,
            ox,
            oh,
            forget_to_cell,
            input_to_cell,
            output,
        ] = multipliers
        else {
            return Err(Error::length(
                "lstm: multipliers",
                Self::RECORD_MULTIPLIERS,
                multipliers.len(),
            ));
        };
        let gate = |input, hidden| GateQuant { input, hidden };
        Ok(Self {
            input_zero_point,
            hidden_zero_point,
            gates: [gate(ix, ih), gate(fx, fh), gate(gx, gh), gate(ox, oh)],
            forget_to_cell,
            input_to_cell,
            output,
            cell_scale_power,
            cell_clip: (cell_clip >= 0).then_some(cell_clip),
            rounding: Rounding::Double,
        })
    }
}

/// The weights of an integer LSTM, gate blocks `i, f, g, o` of `hidden` rows each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Weights<'a, B> {
    /// Input-to-gates weights, `[4·hidden][inputs]`, symmetric int8.
    pub input: &'a [i8],
    /// Hidden-to-gates weights, `[4·hidden][hidden]`, symmetric int8.
    pub recurrent: &'a [i8],
    /// Gate bias, `[4·hidden]` (int32 for s8, int64 for s16), added to the input
    /// product; `None` for zeros.
    pub bias: Option<&'a [B]>,
}

/// The state of an integer LSTM, `[batch][hidden]` each, updated in place.
#[derive(Debug, PartialEq, Eq)]
pub struct State<'a, X> {
    /// The hidden state (the last output), in the output's quantisation.
    pub h: &'a mut [X],
    /// The cell state, in units of `2^cell_scale_power`.
    pub c: &'a mut [i16],
}

impl State<'_, i8> {
    /// TFLM's initial state: every `h` at `quant.hidden_zero_point` (the real 0,
    /// saturated to int8) and every `c` at 0.
    pub fn reset(&mut self, quant: &Quant) {
        reset(self, quant);
    }
}

impl State<'_, i16> {
    /// TFLM's initial state: every `h` at `quant.hidden_zero_point` (the real 0,
    /// saturated to int16) and every `c` at 0.
    pub fn reset(&mut self, quant: &Quant) {
        reset(self, quant);
    }
}

/// TFLM's initial state for either scheme (see [`State::reset`]).
pub(crate) fn reset<X: Activation>(state: &mut State<'_, X>, quant: &Quant) {
    state.h.fill(X::saturate(quant.hidden_zero_point));
    state.c.fill(0);
}

/// An activation type of the integer LSTM, `i8` (s8 scheme) or `i16` (s16 scheme):
/// its bias type, range, gate product and the names its errors carry.
pub(crate) trait Activation: Copy {
    /// The bias type: `i32` for s8, `i64` for s16.
    type Bias: Copy;
    /// A zero bias.
    const ZERO: Self::Bias;
    /// The smallest value of the type.
    const LO: i32;
    /// The largest value of the type.
    const HI: i32;
    /// Where the LSTM's errors are found: size, input, input weights, recurrent
    /// weights, bias, hidden state, cell state, output, scratch, input_zero_point,
    /// hidden_zero_point, cell_scale_power, cell_clip, recurrent bias.
    const AT: [&'static str; 14];
    /// The same for the GRU ([`crate::int8::gru`]).
    const GRU_AT: [&'static str; 14];
    /// `v` clamped to the type.
    fn saturate(v: i32) -> Self;
    /// The value as `i32`.
    fn widen(self) -> i32;
    /// `sat16(RQ(bias + Σ w[k]·(x[k] − zp), m))` over the common length.
    fn gate(
        xs: &[Self],
        zp: i32,
        ws: &[i8],
        bias: Self::Bias,
        m: QuantizedMultiplier,
        r: Rounding,
    ) -> i16;
    /// [`gate`](Self::gate) for the `out.len()` consecutive weight rows `ws` (each as
    /// long as `xs`), with `bias[j]` (zeros where `None`): writes each row's value into
    /// `out[j]`, or with `add` adds it, saturating, to what `out[j]` holds.
    #[allow(clippy::too_many_arguments)]
    fn gate_rows(
        xs: &[Self],
        zp: i32,
        ws: &[i8],
        bias: Option<&[Self::Bias]>,
        m: QuantizedMultiplier,
        r: Rounding,
        out: &mut [i16],
        add: bool,
    ) {
        let bias = |j: usize| bias.and_then(|b| b.get(j)).copied().unwrap_or(Self::ZERO);
        for (j, (o, w)) in out
            .iter_mut()
            .zip(ws.chunks_exact(xs.len().max(1)))
            .enumerate()
        {
            let v = Self::gate(xs, zp, w, bias(j), m, r);
            *o = if add {
                sat16(i32::from(*o) + i32::from(v))
            } else {
                v
            };
        }
    }
}

/// Rows per call of the int8 GEMV in [`Activation::gate_rows`]: its `i32` sums live on
/// the stack.
const ROWS_PER_GEMV: usize = 16;
/// Longest input row the int8 GEMV prepares (longer rows are read as they are).
const PREPARED_MAX: usize = 256;

/// The error locations of a kernel named `$k`.
macro_rules! at {
    ($k:literal) => {
        [
            concat!($k, ": size"),
            concat!($k, ": input"),
            concat!($k, ": input weights"),
            concat!($k, ": recurrent weights"),
            concat!($k, ": bias"),
            concat!($k, ": hidden state"),
            concat!($k, ": cell state"),
            concat!($k, ": output"),
            concat!($k, ": scratch"),
            concat!($k, ": input_zero_point"),
            concat!($k, ": hidden_zero_point"),
            concat!($k, ": cell_scale_power"),
            concat!($k, ": cell_clip"),
            concat!($k, ": recurrent bias"),
        ]
    };
}

#[inline]
pub(crate) fn sat16(v: i32) -> i16 {
    v.clamp(i16::MIN.into(), i16::MAX.into()) as i16
}

impl Activation for i8 {
    type Bias = i32;
    const LO: i32 = i8::MIN as i32;
    const HI: i32 = i8::MAX as i32;
    const ZERO: i32 = 0;
    const AT: [&'static str; 14] = at!("lstm_s8");
    const GRU_AT: [&'static str; 14] = at!("gru_s8");

    #[inline]
    fn saturate(v: i32) -> i8 {
        v.clamp(Self::LO, Self::HI) as i8
    }

    #[inline]
    fn widen(self) -> i32 {
        self.into()
    }

    #[inline]
    fn gate(xs: &[i8], zp: i32, ws: &[i8], bias: i32, m: QuantizedMultiplier, r: Rounding) -> i16 {
        // The zero point is validated (within i8), so its negation fits the offset; the
        // lengths are equal by construction, so the error branch is never taken. The
        // sum wraps in int32 like TFLite's accumulator.
        let acc = mote_simd::dot::dot_i8_offset(xs, -zp, ws, 0).unwrap_or(0);
        sat16(requant(m, acc.wrapping_add(bias), r))
    }

    /// The rows through `mote_simd::int8::gemv`: the input prepared once (offset-added
    /// 16-bit lanes on 32-bit Arm), then sixteen rows per call in its register tiles —
    /// the same wrapping sums as [`gate`](Activation::gate)'s dot products, so the same
    /// bits.
    fn gate_rows(
        xs: &[i8],
        zp: i32,
        ws: &[i8],
        bias: Option<&[i32]>,
        m: QuantizedMultiplier,
        r: Rounding,
        out: &mut [i16],
        add: bool,
    ) {
        use core::mem::MaybeUninit;
        use mote_simd::int8::{Row1, gemv};
        let k = xs.len();
        let mut lanes = [MaybeUninit::<i16>::uninit(); PREPARED_MAX];
        let scratch: &mut [MaybeUninit<i16>] = if Row1::prepares(k, -zp) && k <= PREPARED_MAX {
            &mut lanes[..k]
        } else {
            &mut []
        };
        let row = Row1::new(xs, -zp, scratch);
        let mut acc = [0i32; ROWS_PER_GEMV];
        for (c, block) in out.chunks_mut(ROWS_PER_GEMV).enumerate() {
            let first = c * ROWS_PER_GEMV;
            let acc = &mut acc[..block.len()];
            let w = ws
                .get(first * k..(first + block.len()) * k)
                .unwrap_or_default();
            // The lengths agree by construction (the kernel checked them), so the
            // error branch is never taken; it would leave zeros.
            if gemv(&row, w, acc).is_err() {
                acc.fill(0);
            }
            for (j, (o, &a)) in block.iter_mut().zip(acc.iter()).enumerate() {
                let b = bias.and_then(|b| b.get(first + j)).copied().unwrap_or(0);
                let v = sat16(requant(m, a.wrapping_add(b), r));
                *o = if add {
                    sat16(i32::from(*o) + i32::from(v))
                } else {
                    v
                };
            }
        }
    }
}

impl Activation for i16 {
    type Bias = i64;
    const LO: i32 = i16::MIN as i32;
    const HI: i32 = i16::MAX as i32;
    const ZERO: i64 = 0;
    const AT: [&'static str; 14] = at!("lstm_s16");
    const GRU_AT: [&'static str; 14] = at!("gru_s16");

    #[inline]
    fn saturate(v: i32) -> i16 {
        sat16(v)
    }

    #[inline]
    fn widen(self) -> i32 {
        self.into()
    }

    #[inline]
    fn gate(xs: &[i16], zp: i32, ws: &[i8], bias: i64, m: QuantizedMultiplier, _: Rounding) -> i16 {
        // As for i8, with the zero point within i16 and an int64 accumulator.
        let acc = mote_simd::dot::dot_i16_i8(xs, -zp, ws, 0).unwrap_or(0);
        sat16(m.apply_i64(acc.wrapping_add(bias)))
    }
}

/// `σ16(z)`: the logistic of a Q3.12 value, in Q0.15.
#[inline]
pub(crate) fn sigmoid16(z: i16) -> i16 {
    logistic_scaled(scaled(z, 3, 0))
}

/// `tanh16(z, p)`: the tanh of a value in units of `2^p`, in Q0.15 (`p` within
/// [`CELL_SCALE_POWER_RANGE`], so the shift `12 + p` lies in `[−31, 15]`).
#[inline]
pub(crate) fn tanh16(z: i16, p: i32) -> i16 {
    let l = 12 + p;
    let v = if l >= 0 {
        scaled(z, 3 << l, 0)
    } else {
        scaled(z, 3, l.unsigned_abs())
    };
    tanh_scaled(v)
}

/// int16 elements of `scratch` [`forward`] needs: `4·hidden` (one step's gates of one
/// sequence). Invalid parameters give 0 (the kernel reports the error).
pub fn scratch_len(params: &Params) -> usize {
    params.hidden.checked_mul(GATES).unwrap_or(0)
}

/// Checks every argument of [`run`] and returns the lengths.
fn check<X: Activation>(
    p: &Params,
    q: &Quant,
    input: &[X],
    weights: &Weights<'_, X::Bias>,
    state: &State<'_, X>,
    output: &[X],
    scratch: &[i16],
) -> Result<()> {
    let at = X::AT;
    let l = p.lens(at[0], GATES)?;
    check_len(at[1], l.input, input.len())?;
    check_len(at[2], l.weights, weights.input.len())?;
    check_len(at[3], l.recurrent, weights.recurrent.len())?;
    if let Some(b) = weights.bias {
        check_len(at[4], l.gates, b.len())?;
    }
    check_len(at[5], l.state, state.h.len())?;
    check_len(at[6], l.state, state.c.len())?;
    if !output.is_empty() {
        check_len(at[7], l.output, output.len())?;
    }
    check_capacity(at[8], l.gates, scratch.len())?;
    range(at[9], q.input_zero_point, (X::LO, X::HI))?;
    range(at[10], q.hidden_zero_point, (X::LO, X::HI))?;
    range(at[11], q.cell_scale_power, CELL_SCALE_POWER_RANGE)?;
    match q.cell_clip {
        Some(clip) => range(at[12], clip, (0, i16::MAX.into())),
        None => Ok(()),
    }
}

/// `Ok` when `v` lies in `[lo, hi]`, else `OutOfRange` at `at`.
pub(crate) fn range(at: &'static str, v: i32, (lo, hi): (i32, i32)) -> Result<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(Error::out_of_range(at, v.into(), lo.into(), hi.into()))
    }
}

/// The shared loop of both schemes (arguments checked).
fn run<X: Activation>(
    p: &Params,
    q: &Quant,
    input: &[X],
    weights: &Weights<'_, X::Bias>,
    state: &mut State<'_, X>,
    output: &mut [X],
    scratch: &mut [i16],
) {
    let (n, hn) = (p.inputs, p.hidden);
    let gates = &mut scratch[..GATES * hn];
    // Within 0..=32767 after the check.
    let clip = q.cell_clip.map(|v| v as i16);
    for b in 0..p.batch {
        let h = &mut state.h[b * hn..(b + 1) * hn];
        let c = &mut state.c[b * hn..(b + 1) * hn];
        for t in 0..p.steps {
            let r = p.row(b, t);
            let x = &input[r * n..(r + 1) * n];
            // Every gate from the previous h: each block's input and recurrent terms.
            for (gate, g) in gates.chunks_exact_mut(hn).enumerate() {
                let gq = q.gates[gate];
                let rows = gate * hn..(gate + 1) * hn;
                let wx = &weights.input[rows.start * n..rows.end * n];
                let wh = &weights.recurrent[rows.start * hn..rows.end * hn];
                let bias = weights.bias.map(|b| &b[rows]);
                let (izp, hzp) = (q.input_zero_point, q.hidden_zero_point);
                X::gate_rows(x, izp, wx, bias, gq.input, q.rounding, g, false);
                X::gate_rows(h, hzp, wh, None, gq.hidden, q.rounding, g, true);
                for z in g.iter_mut() {
                    *z = if gate == 2 {
                        tanh16(*z, -12)
                    } else {
                        sigmoid16(*z)
                    };
                }
            }
            let (gi, rest) = gates.split_at(hn);
            let (gf, rest) = rest.split_at(hn);
            let (gg, go) = rest.split_at(hn);
            // Empty when only the last state is wanted (`state.h`).
            let y = output.get_mut(r * hn..(r + 1) * hn).unwrap_or_default();
            for j in 0..hn {
                let (i, f, g, o) = (gi[j], gf[j], gg[j], go[j]);
                // Products of two int16 fit int32 (the largest is (−2^15)² = 2^30).
                let fc = requant(q.forget_to_cell, i32::from(f) * i32::from(c[j]), q.rounding);
                let ig = requant(q.input_to_cell, i32::from(i) * i32::from(g), q.rounding);
                let mut cj = sat16(i32::from(sat16(fc)) + i32::from(sat16(ig)));
                if let Some(clip) = clip {
                    cj = cj.clamp(-clip, clip);
                }
                c[j] = cj;
                let th = tanh16(cj, q.cell_scale_power);
                let hv = requant(q.output, i32::from(th) * i32::from(o), q.rounding)
                    .saturating_add(q.hidden_zero_point);
                h[j] = X::saturate(hv);
                if let Some(yj) = y.get_mut(j) {
                    *yj = h[j];
                }
            }
        }
    }
}

/// The s8 LSTM (int8 input, hidden state and output; int8 weights; int32 bias) over
/// whole sequences: `output` gets every step's hidden state, `state` holds the last `h`
/// and `c` on return (see the module docs).
///
/// `state` is read as the initial state ([`State::reset`] for TFLM's); `output` is
/// overwritten, or empty when only the last hidden state is wanted (Keras'
/// `return_sequences=False`: it is `state.h` on return, so no sequence buffer is
/// needed); `scratch` needs at least [`scratch_len`] elements, its contents on entry
/// do not matter.
///
/// Errors: `Zero` for a zero size; `LengthMismatch` for a buffer of the wrong length;
/// `BufferTooSmall` for a short `scratch`; `OutOfRange` for a zero point outside int8,
/// a `cell_scale_power` outside [`CELL_SCALE_POWER_RANGE`] or a cell clip outside
/// `0..=32767`; `Overflow` when a length overflows.
///
/// ```
/// use mote_core::quant::{QuantizedMultiplier as Qm, Rounding};
/// use mote_kernels::int8::lstm::{GateQuant, Params, Quant, State, Weights, forward, scratch_len};
///
/// // One unit, one input; hidden scale 2^-7 (zero point 0), cell scale 2^-11.
/// let gate = GateQuant { input: Qm::from_real(0.5)?, hidden: Qm::from_real(0.25)? };
/// let q = Quant {
///     input_zero_point: 0,
///     hidden_zero_point: 0,
///     gates: [gate; 4],
///     forget_to_cell: Qm::from_real(2f64.powi(-15))?,
///     input_to_cell: Qm::from_real(2f64.powi(-19))?,
///     output: Qm::from_real(2f64.powi(-23))?,
///     cell_scale_power: -11,
///     cell_clip: None,
///     rounding: Rounding::Double,
/// };
/// let p = Params::new(1, 3, 1, 1);
/// // Gate blocks i, f, g, o: one row each.
/// let w = Weights {
///     input: &[60, 60, 90, 60],
///     recurrent: &[10, 10, 10, 10],
///     bias: Some(&[0, 4096, 0, 0]),
/// };
/// let (mut h, mut c) = ([0i8], [0i16]);
/// let mut state = State { h: &mut h, c: &mut c };
/// state.reset(&q);
/// let mut y = [0i8; 3];
/// let mut scratch = vec![0i16; scratch_len(&p)];
/// forward(&p, &q, &[100, 100, -100], &w, &mut state, &mut y, &mut scratch)?;
/// assert!(y[0] > 0 && y[1] > y[0] && y[2] < y[1]);
/// assert_eq!(h, [y[2]]);
/// # Ok::<(), mote_core::Error>(())
/// ```
pub fn forward(
    params: &Params,
    quant: &Quant,
    input: &[i8],
    weights: &Weights<'_, i32>,
    state: &mut State<'_, i8>,
    output: &mut [i8],
    scratch: &mut [i16],
) -> Result<()> {
    forward_any(params, quant, input, weights, state, output, scratch)
}

/// [`forward`] for either scheme (the s16 entry is [`crate::int16::lstm::forward`]).
pub(crate) fn forward_any<X: Activation>(
    params: &Params,
    quant: &Quant,
    input: &[X],
    weights: &Weights<'_, X::Bias>,
    state: &mut State<'_, X>,
    output: &mut [X],
    scratch: &mut [i16],
) -> Result<()> {
    check(params, quant, input, weights, state, output, scratch)?;
    run(params, quant, input, weights, state, output, scratch);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> QuantizedMultiplier {
        // 1.0: requantisation is the identity.
        QuantizedMultiplier::new(1 << 30, 1).unwrap()
    }

    fn quant(hidden_zero_point: i32) -> Quant {
        Quant {
            input_zero_point: 0,
            hidden_zero_point,
            gates: [GateQuant {
                input: one(),
                hidden: one(),
            }; GATES],
            // TFLite's for a cell scale of 2^-11 and a hidden scale of 2^-7.
            forget_to_cell: QuantizedMultiplier::from_real(2f64.powi(-15)).unwrap(),
            input_to_cell: QuantizedMultiplier::from_real(2f64.powi(-19)).unwrap(),
            output: QuantizedMultiplier::from_real(2f64.powi(-23)).unwrap(),
            cell_scale_power: -11,
            cell_clip: None,
            rounding: Rounding::Double,
        }
    }

    /// One unit, one input, zero weights: the gates are the bias alone (Q3.12), so
    /// every quantity can be followed by hand in floats.
    #[test]
    fn by_hand() {
        let p = Params::new(1, 2, 1, 1);
        let q = quant(3);
        // i = σ(1), f = σ(2), g = tanh(0.5), o = σ(−1).
        let bias = [4096, 8192, 2048, -4096];
        let w = Weights {
            input: &[0; 4],
            recurrent: &[0; 4],
            bias: Some(&bias[..]),
        };
        let (mut h, mut c) = ([0i8], [0i16]);
        let mut state = State {
            h: &mut h,
            c: &mut c,
        };
        state.reset(&q);
        assert_eq!(state.h, [3]);
        let mut y = [0i8; 2];
        let mut scratch = [0i16; 4];
        forward(&p, &q, &[5, -7], &w, &mut state, &mut y, &mut scratch).unwrap();
        let s = |x: f64| 1.0 / (1.0 + libm::exp(-x));
        let (i, f, g, o) = (s(1.0), s(2.0), libm::tanh(0.5), s(-1.0));
        let c1 = i * g;
        let c2 = f * c1 + i * g;
        for (k, c) in [c1, c2].into_iter().enumerate() {
            let want = o * libm::tanh(c) * 128.0 + 3.0;
            assert!(
                (f64::from(y[k]) - want).abs() <= 0.6,
                "{k}: {y:?} vs {want}"
            );
        }
        assert_eq!(h[0], y[1]);
        assert!((f64::from(c[0]) - c2 * 2048.0).abs() <= 4.0, "{c:?}");
        // No sequence buffer: the same last state.
        let (mut h2, mut c2) = ([0i8], [0i16]);
        let mut state = State {
            h: &mut h2,
            c: &mut c2,
        };
        state.reset(&q);
        forward(&p, &q, &[5, -7], &w, &mut state, &mut [], &mut scratch).unwrap();
        assert_eq!((h2, c2), (h, c));
    }

    #[test]
    fn cell_clip_limits_the_state() {
        let p = Params::new(1, 20, 1, 1);
        let mut q = quant(0);
        q.cell_clip = Some(1000);
        // i = f = σ(8), g = tanh(8): c grows towards 20 (2^-11 units) without a clip.
        let bias = [32767, 32767, 32767, 0];
        let w = Weights {
            input: &[0; 4],
            recurrent: &[0; 4],
            bias: Some(&bias[..]),
        };
        let (mut h, mut c) = ([0i8], [0i16]);
        let mut y = [0i8; 20];
        let mut scratch = [0i16; 4];
        let mut state = State {
            h: &mut h,
            c: &mut c,
        };
        forward(&p, &q, &[0; 20], &w, &mut state, &mut y, &mut scratch).unwrap();
        assert_eq!(c, [1000]);
        // A clip below one cell unit holds the state at 0, as in TFLM.
        q.cell_clip = Some(0);
        let mut state = State {
            h: &mut h,
            c: &mut c,
        };
        forward(&p, &q, &[0; 20], &w, &mut state, &mut y, &mut scratch).unwrap();
        assert_eq!(c, [0]);
        q.cell_clip = None;
        let mut state = State {
            h: &mut h,
            c: &mut c,
        };
        forward(&p, &q, &[0; 20], &w, &mut state, &mut y, &mut scratch).unwrap();
        assert!(c[0] > 20_000, "{c:?}");
    }

    #[test]
    fn errors_name_the_argument() {
        let p = Params::new(2, 3, 4, 5);
        let q = quant(0);
        let (x, wi, wr, b) = ([0i8; 24], [0i8; 80], [0i8; 100], [0i32; 20]);
        let (mut h, mut c) = ([0i8; 10], [0i16; 10]);
        let (mut y, mut scratch) = ([0i8; 30], [0i16; 20]);
        let mut run = |p: &Params, q: &Quant, x: &[i8], wi: &[i8], b: &[i32], n: usize| {
            let w = Weights {
                input: wi,
                recurrent: &wr,
                bias: Some(b),
            };
            let mut state = State {
                h: &mut h,
                c: &mut c,
            };
            forward(p, q, x, &w, &mut state, &mut y, &mut scratch[..n]).map_err(|e| e.at)
        };
        assert_eq!(run(&p, &q, &x, &wi, &b, 20), Ok(()));
        assert_eq!(run(&p, &q, &x, &wi, &b, 19), Err("lstm_s8: scratch"));
        assert_eq!(run(&p, &q, &x[1..], &wi, &b, 20), Err("lstm_s8: input"));
        assert_eq!(
            run(&p, &q, &x, &wi[1..], &b, 20),
            Err("lstm_s8: input weights")
        );
        assert_eq!(run(&p, &q, &x, &wi, &b[1..], 20), Err("lstm_s8: bias"));
        let zero = Params { hidden: 0, ..p };
        assert_eq!(run(&zero, &q, &x, &wi, &b, 20), Err("lstm_s8: size"));
        let huge = Params {
            batch: usize::MAX,
            ..p
        };
        assert_eq!(run(&huge, &q, &x, &wi, &b, 20), Err("lstm_s8: size"));
        for (bad, at) in [
            (
                Quant {
                    input_zero_point: 128,
                    ..q
                },
                "lstm_s8: input_zero_point",
            ),
            (
                Quant {
                    hidden_zero_point: -129,
                    ..q
                },
                "lstm_s8: hidden_zero_point",
            ),
            (
                Quant {
                    cell_scale_power: 4,
                    ..q
                },
                "lstm_s8: cell_scale_power",
            ),
            (
                Quant {
                    cell_clip: Some(-1),
                    ..q
                },
                "lstm_s8: cell_clip",
            ),
        ] {
            assert_eq!(run(&p, &bad, &x, &wi, &b, 20), Err(at));
        }
        assert_eq!(scratch_len(&p), 20);
        assert_eq!(
            scratch_len(&Params {
                hidden: usize::MAX,
                ..p
            }),
            0
        );
    }

    #[test]
    fn s16_state_and_errors() {
        let p = Params::new(1, 1, 1, 2);
        let q = Quant {
            hidden_zero_point: 40000,
            ..quant(0)
        };
        let (mut h, mut c) = ([7i16; 2], [9i16; 2]);
        let mut state = State {
            h: &mut h,
            c: &mut c,
        };
        state.reset(&q);
        assert_eq!((h, c), ([32767; 2], [0; 2]));
        let w = Weights {
            input: &[0; 8],
            recurrent: &[0; 16],
            bias: None,
        };
        let mut state = State {
            h: &mut h,
            c: &mut c,
        };
        let r = crate::int16::lstm::forward(&p, &q, &[0], &w, &mut state, &mut [0; 2], &mut [0; 8]);
        assert_eq!(r.map_err(|e| e.at), Err("lstm_s16: hidden_zero_point"));
    }
}
