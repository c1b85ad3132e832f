//! Operator records of a `.mote` file: what runs, on which tensors, with which
//! precomputed integer parameters.
//!
//! Every record has the same 96-byte layout; the meaning of the fifteen `params`
//! slots depends on the [`OpCode`] and is given on each variant (unused slots are 0).
//! Zero points are not repeated here: they are the tensors'.

use super::bytes::{Bytes, malformed};
use crate::error::Result;
use crate::quant::QuantizedMultiplier;

/// Bytes of one operator record.
pub const OP_RECORD: usize = 96;
/// Most inputs an operator record holds.
pub const MAX_INPUTS: usize = 8;
/// Number of `params` slots.
pub const PARAMS: usize = 15;

/// What an operator computes (TFLite's builtin of the same name, integer semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OpCode {
    /// Inputs `[x, weights, bias?]`, weights OHWI `[out_c, kh, kw, in_c/groups]`, int32
    /// bias (int64 for int16 activations). Params `[stride_h, stride_w, dilation_h,
    /// dilation_w, pad_top, pad_bottom, pad_left, pad_right]`; groups = `in_c` /
    /// weights' last dimension. Multipliers: 1 or `out_c`.
    Conv2d = 1,
    /// Inputs `[x, weights, bias?]`, weights `[1, kh, kw, out_c]`, `out_c` a multiple of
    /// `in_c`. Params as [`Conv2d`](Self::Conv2d). Multipliers: 1 or `out_c`.
    DepthwiseConv2d = 2,
    /// Inputs `[x, weights, bias?]`, weights `[out_c, kh, kw, in_c]`. Params
    /// `[stride_h, stride_w, pad_top, pad_left]`. Multipliers: 1 or `out_c`.
    TransposeConv2d = 3,
    /// Inputs `[x, weights, bias?]`, weights `[outputs, inputs]`; `x` is read as rows of
    /// `inputs`. No params. Multipliers: 1 or `outputs`.
    FullyConnected = 4,
    /// Inputs `[x]`, NHWC. Params `[kernel_h, kernel_w, stride_h, stride_w, pad_top,
    /// pad_left]`.
    MaxPool2d = 5,
    /// As [`MaxPool2d`](Self::MaxPool2d); padding is not counted in the average.
    AvgPool2d = 6,
    /// Inputs `[a, b]` of the output's length. Params `[left_shift]`. Multipliers
    /// `[a's, b's, output's]`.
    Add = 7,
    /// Inputs `[a, b]` of the output's length. Multipliers `[output's]`.
    Mul = 8,
    /// Over the last axis. int8 input: inputs `[x]`, params `[input_multiplier,
    /// input_left_shift, diff_min]`, no multipliers. int16: inputs `[x, exp_lut,
    /// one_by_one_lut]` (constant int16 tables of 513 entries), multipliers `[input]`
    /// (onto the table's `[−10, 0]`), no params.
    Softmax = 9,
    /// Inputs `[x]` of the output's byte length, type and quantisation: a new shape.
    Reshape = 10,
    /// Inputs `[x]`. int8: multipliers `[input]` (into Q4.27), params
    /// `[input_range_radius]`, output scale 1/256 and zero point −128. int16: no
    /// multipliers, params `[input_multiplier, input_left_shift]`, output scale 1/32768
    /// and zero point 0.
    Logistic = 11,
    /// As [`Logistic`](Self::Logistic); int8 output scale 1/128 and zero point 0.
    Tanh = 12,
    /// Inputs `[x]`: `clamp(requantise(x))` into `[act_min, act_max]`. Multipliers
    /// `[input→output]`.
    Relu = 13,
    /// Inputs `[x]`. Params `[before, after]` for each of the output's axes, outermost
    /// first (8 slots). Padding value: the output zero point.
    Pad = 14,
    /// Inputs: the parts, in order. Params `[axis]`.
    Concat = 15,
    /// Inputs `[x]`: `requantise(x − zp_in) + zp_out`. Multipliers `[input→output]`.
    Requantize = 16,
    /// A whole-sequence LSTM (TFLite's integer kernel, gates `i, f, g, o`; see
    /// `mote_kernels::int8::lstm`), starting from the zero state at every invocation.
    /// Inputs `[x, weights, recurrent, bias?]`: `x` `[…, steps, inputs]` (batch the
    /// product of the leading dimensions), weights `[4·hidden, inputs]` and recurrent
    /// `[4·hidden, hidden]` constant symmetric i8, bias `[4·hidden]` i32 (i64 for int16
    /// activations). Output `[…, steps, hidden]` (every step) or `[…, hidden]` (the last
    /// step), the hidden state's quantisation. Multipliers (11): each gate's input and
    /// recurrent product into Q3.12 (`i.x, i.h, f.x, f.h, g.x, g.h, o.x, o.h`), then
    /// `forget→cell`, `input→cell`, `cell→output`. Params `[scratch, cell_scale_power,
    /// cell_clip]`: `scratch` the index of an i16 arena tensor the operator may
    /// overwrite ([`LstmShape::scratch_len`](super::LstmShape::scratch_len) elements at least; no operator writes it, and it
    /// overlaps neither `x` nor the output), `cell_clip` −1 for none.
    Lstm = 17,
}

impl OpCode {
    /// Every code, in numeric order.
    pub const ALL: [OpCode; 17] = [
        Self::Conv2d,
        Self::DepthwiseConv2d,
        Self::TransposeConv2d,
        Self::FullyConnected,
        Self::MaxPool2d,
        Self::AvgPool2d,
        Self::Add,
        Self::Mul,
        Self::Softmax,
        Self::Reshape,
        Self::Logistic,
        Self::Tanh,
        Self::Relu,
        Self::Pad,
        Self::Concat,
        Self::Requantize,
        Self::Lstm,
    ];

    /// The code stored in a record.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The operator with code `code`.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }

    /// TFLite's name of the operator.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Conv2d => "CONV_2D",
            Self::DepthwiseConv2d => "DEPTHWISE_CONV_2D",
            Self::TransposeConv2d => "TRANSPOSE_CONV",
            Self::FullyConnected => "FULLY_CONNECTED",
            Self::MaxPool2d => "MAX_POOL_2D",
            Self::AvgPool2d => "AVERAGE_POOL_2D",
            Self::Add => "ADD",
            Self::Mul => "MUL",
            Self::Softmax => "SOFTMAX",
            Self::Reshape => "RESHAPE",
            Self::Logistic => "LOGISTIC",
            Self::Tanh => "TANH",
            Self::Relu => "RELU",
            Self::Pad => "PAD",
            Self::Concat => "CONCATENATION",
            Self::Requantize => "QUANTIZE",
            Self::Lstm => "UNIDIRECTIONAL_SEQUENCE_LSTM",
        }
    }

    /// `(min, max)` number of inputs.
    pub const fn inputs(self) -> (usize, usize) {
        match self {
            Self::Conv2d | Self::DepthwiseConv2d | Self::TransposeConv2d | Self::FullyConnected => {
                (2, 3)
            }
            Self::Add | Self::Mul => (2, 2),
            Self::Softmax => (1, 3),
            Self::Concat => (1, MAX_INPUTS),
            Self::Lstm => (3, 4),
            _ => (1, 1),
        }
    }

    /// `(min, max)` number of multipliers.
    pub const fn multipliers(self) -> (usize, usize) {
        match self {
            Self::Conv2d | Self::DepthwiseConv2d | Self::TransposeConv2d | Self::FullyConnected => {
                (1, usize::MAX)
            }
            Self::Add => (3, 3),
            Self::Mul | Self::Relu | Self::Requantize => (1, 1),
            Self::Logistic | Self::Tanh | Self::Softmax => (0, 1),
            Self::Lstm => (11, 11),
            _ => (0, 0),
        }
    }
}

/// One validated operator record.
#[derive(Debug, Clone, Copy)]
pub struct OpInfo<'a> {
    /// What it computes.
    pub code: OpCode,
    inputs: [u16; MAX_INPUTS],
    n_inputs: usize,
    /// Index of the output tensor.
    pub output: usize,
    /// Precomputed requantisation multipliers (see each [`OpCode`]).
    pub multipliers: &'a [QuantizedMultiplier],
    /// Lower clamp of the output (fused activation), in output units.
    pub act_min: i32,
    /// Upper clamp of the output, in output units.
    pub act_max: i32,
    /// The operator's parameters (see each [`OpCode`]).
    pub params: [i32; PARAMS],
}

impl OpInfo<'_> {
    /// Number of inputs.
    pub fn input_count(&self) -> usize {
        self.n_inputs
    }

    /// Index of input `i`'s tensor.
    pub fn input(&self, i: usize) -> Option<usize> {
        (i < self.n_inputs).then(|| self.inputs[i] as usize)
    }

    /// The input tensor indices.
    pub fn inputs(&self) -> impl Iterator<Item = usize> + '_ {
        self.inputs[..self.n_inputs].iter().map(|&i| i as usize)
    }
}

/// Reads the operator record at `at`, checking field ranges against `n_tensors`;
/// tensor semantics are checked by the caller.
pub(crate) fn read<'a>(file: Bytes<'a>, at: usize, n_tensors: usize) -> Result<OpInfo<'a>> {
    let code = OpCode::from_code(file.u8("op: opcode", at)?).ok_or(malformed("op: opcode", at))?;
    let n_inputs = file.u8("op: input count", at + 1)? as usize;
    let (lo, hi) = code.inputs();
    if n_inputs < lo || n_inputs > hi {
        return Err(malformed("op: input count", at + 1));
    }
    let output = file.u16("op: output", at + 2)? as usize;
    if output >= n_tensors {
        return Err(malformed("op: output (no such tensor)", at + 2));
    }
    let mut inputs = [0u16; MAX_INPUTS];
    for (i, slot) in inputs.iter_mut().enumerate() {
        let field = at + 4 + 2 * i;
        let t = file.u16("op: inputs", field)?;
        if i < n_inputs {
            if t as usize >= n_tensors {
                return Err(malformed("op: input (no such tensor)", field));
            }
        } else if t != u16::MAX {
            return Err(malformed("op: inputs (unused must be 0xFFFF)", field));
        }
        *slot = t;
    }
    let m_off = file.usize("op: multipliers", at + 20)?;
    let m_count = file.usize("op: multipliers", at + 24)?;
    let (mlo, mhi) = code.multipliers();
    if m_count < mlo || m_count > mhi {
        return Err(malformed("op: multiplier count", at + 24));
    }
    let multipliers = if m_count == 0 {
        if m_off != 0 {
            return Err(malformed("op: multipliers (offset without count)", at + 20));
        }
        &[][..]
    } else {
        let len = m_count
            .checked_mul(8)
            .ok_or(malformed("op: multiplier count", at + 24))?;
        let raw = file.slice("op: multipliers", m_off, len)?;
        bytemuck::checked::try_cast_slice::<u8, QuantizedMultiplier>(raw).map_err(|_| {
            malformed(
                "op: multipliers (misaligned, or a shift outside [-31, 30])",
                m_off,
            )
        })?
    };
    let act_min = file.i32("op: act_min", at + 28)?;
    let act_max = file.i32("op: act_max", at + 32)?;
    if act_min > act_max {
        return Err(malformed("op: act_min > act_max", at + 28));
    }
    let mut params = [0i32; PARAMS];
    for (i, p) in params.iter_mut().enumerate() {
        *p = file.i32("op: params", at + 36 + 4 * i)?;
    }
    Ok(OpInfo {
        code,
        inputs,
        n_inputs,
        output,
        multipliers,
        act_min,
        act_max,
        params,
    })
}
