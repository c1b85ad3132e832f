//! Operator semantics: that each operator's tensors have the types, shapes and
//! quantisation its kernel needs, and its parameters are in range. The reader runs
//! these once at load, so the executor can trust a model it accepted.

use super::bytes::malformed;
use super::lstm::LstmShape;
use super::op::{OpCode, OpInfo};
use super::tensor::{Quantization, Storage, TensorInfo};
use crate::dtype::DType;
use crate::error::Result;

/// Checks operator `op` (record at byte `at`) given a lookup of its tensors.
pub(crate) fn op<'a>(
    op: &OpInfo<'a>,
    at: usize,
    tensor: impl Fn(usize) -> Result<TensorInfo<'a>>,
) -> Result<()> {
    let out = tensor(op.output)?;
    let input = |i: usize| op.input(i).map(&tensor).transpose();
    let x = input(0)?.ok_or(malformed("op: input count", at + 1))?;
    let bad = |what: &'static str| malformed(what, at);
    let params = |from: usize, n: usize, min: i32| -> Result<()> {
        match op.params[from..from + n].iter().all(|&p| p >= min) {
            true => Ok(()),
            false => Err(malformed("op: params (out of range)", at + 36 + 4 * from)),
        }
    };
    let unused_params = |from: usize| -> Result<()> {
        match op.params[from..].iter().all(|&p| p == 0) {
            true => Ok(()),
            false => Err(malformed(
                "op: params (unused must be 0)",
                at + 36 + 4 * from,
            )),
        }
    };
    if out.storage != Storage::Arena {
        return Err(bad("op: output is a constant"));
    }
    if x.storage != Storage::Arena {
        return Err(bad("op: first input is a constant"));
    }
    let (lo, hi) = out
        .dtype
        .int_range()
        .ok_or(bad("op: output must be an integer tensor"))?;
    if (op.act_min as i64) < lo || (op.act_max as i64) > hi {
        return Err(malformed(
            "op: act_min/act_max (outside the output type)",
            at + 28,
        ));
    }
    let act_type =
        |t: &TensorInfo<'_>| matches!(t.dtype, DType::I8 | DType::I16) && t.per_tensor().is_some();
    if !act_type(&x) || !act_type(&out) {
        return Err(bad(
            "op: activations must be per-tensor quantised i8 or i16",
        ));
    }
    let same_type = x.dtype == out.dtype;
    match op.code {
        OpCode::Conv2d
        | OpCode::DepthwiseConv2d
        | OpCode::TransposeConv2d
        | OpCode::FullyConnected => {
            let w = input(1)?.ok_or(bad("op: weights missing"))?;
            let bias = input(2)?;
            weighted(op, at, &x, &w, bias.as_ref(), &out)?;
            match op.code {
                OpCode::Conv2d | OpCode::DepthwiseConv2d => {
                    params(0, 4, 1)?;
                    params(4, 4, 0)?;
                    unused_params(8)?;
                    conv_shapes(op, at, &x, &w, &out)
                }
                OpCode::TransposeConv2d => {
                    params(0, 2, 1)?;
                    params(2, 2, 0)?;
                    unused_params(4)?;
                    let (xd, wd, od) = (x.shape.dims(), w.shape.dims(), out.shape.dims());
                    match (xd, wd, od) {
                        ([n, _, _, ic], [oc, _, _, wc], [on, _, _, occ])
                            if n == on && ic == wc && oc == occ =>
                        {
                            Ok(())
                        }
                        _ => Err(bad(
                            "op: TRANSPOSE_CONV shapes (x NHWC, weights [out_c, kh, kw, in_c])",
                        )),
                    }
                }
                _ => {
                    unused_params(0)?;
                    let &[outputs, inputs] = w.shape.dims() else {
                        return Err(bad("op: FULLY_CONNECTED weights must be [outputs, inputs]"));
                    };
                    let rows = x.len() / inputs;
                    let last = out.shape.dims().last().copied().unwrap_or(0);
                    // Checked: on a 32-bit target `rows · outputs` can overflow `usize`.
                    let expected = rows.checked_mul(outputs);
                    if x.len() % inputs != 0 || expected != Some(out.len()) || last != outputs {
                        return Err(bad("op: FULLY_CONNECTED shapes"));
                    }
                    Ok(())
                }
            }
        }
        OpCode::MaxPool2d | OpCode::AvgPool2d => {
            params(0, 4, 1)?;
            params(4, 2, 0)?;
            unused_params(6)?;
            let p = &op.params;
            let (kh, kw, sh, sw, pt, pl) = (
                p[0] as usize,
                p[1] as usize,
                p[2] as usize,
                p[3] as usize,
                p[4] as usize,
                p[5] as usize,
            );
            match (x.shape.dims(), out.shape.dims()) {
                (&[n, ih, iw, c], &[on, oh, ow, oc]) if n == on && c == oc && same_type => {
                    // Every window must overlap the input (an empty window has no max and
                    // no average).
                    let fits = |o: usize, s: usize, pad: usize, k: usize, i: usize| {
                        // `i + pad` compared as u64: it can overflow a 32-bit `usize`.
                        pad < k
                            && (o - 1)
                                .checked_mul(s)
                                .is_some_and(|v| (v as u64) < i as u64 + pad as u64)
                    };
                    if fits(oh, sh, pt, kh, ih)
                        && fits(ow, sw, pl, kw, iw)
                        && x.per_tensor() == out.per_tensor()
                    {
                        Ok(())
                    } else {
                        Err(bad(
                            "op: pooling window outside the input, or input and output quantised differently",
                        ))
                    }
                }
                _ => Err(bad(
                    "op: pooling shapes (NHWC, same batch and channels, same type)",
                )),
            }
        }
        OpCode::Add | OpCode::Mul => {
            let b = input(1)?.ok_or(bad("op: second input missing"))?;
            if !act_type(&b)
                || b.dtype != x.dtype
                || !same_type
                || b.len() != out.len()
                || x.len() != out.len()
            {
                return Err(bad(
                    "op: ADD/MUL inputs must match the output's type and length",
                ));
            }
            if op.code == OpCode::Add {
                if !(0..=31).contains(&op.params[0]) {
                    return Err(malformed("op: params (left_shift)", at + 36));
                }
                unused_params(1)
            } else {
                unused_params(0)
            }
        }
        OpCode::Softmax => {
            let types = matches!(
                (x.dtype, out.dtype),
                (DType::I8, DType::I8) | (DType::I8, DType::I16) | (DType::I16, DType::I16)
            );
            if !types || x.shape != out.shape {
                return Err(bad("op: SOFTMAX types or shapes"));
            }
            if x.dtype == DType::I8 {
                let p = &op.params;
                if op.input_count() != 1
                    || !op.multipliers.is_empty()
                    || p[0] <= 0
                    || !(0..=31).contains(&p[1])
                    || p[2] > 0
                {
                    return Err(bad("op: SOFTMAX int8 scaling"));
                }
                return unused_params(3);
            }
            for i in 1..3 {
                let t = input(i)?.ok_or(bad("op: SOFTMAX int16 needs its two tables"))?;
                if t.dtype != DType::I16 || t.storage != Storage::Constant || t.len() != 513 {
                    return Err(bad(
                        "op: SOFTMAX int16 tables (constant int16, 513 entries)",
                    ));
                }
            }
            if op.multipliers.len() != 1 {
                return Err(bad("op: SOFTMAX int16 needs one multiplier"));
            }
            unused_params(0)
        }
        OpCode::Reshape => {
            if !same_type || x.bytes != out.bytes || x.quant != out.quant {
                return Err(bad("op: RESHAPE must keep type, length and quantisation"));
            }
            unused_params(0)
        }
        OpCode::Logistic | OpCode::Tanh => {
            if !same_type || x.shape != out.shape {
                return Err(bad("op: LOGISTIC/TANH shapes and types"));
            }
            // The kernels' output scale is fixed; the tensor must say so.
            let want = match (op.code, out.dtype) {
                (OpCode::Logistic, DType::I8) => (1.0 / 256.0, -128),
                (OpCode::Tanh, DType::I8) => (1.0 / 128.0, 0),
                _ => (1.0 / 32768.0, 0),
            };
            let q = out.per_tensor().map(|q| (q.scale(), q.zero_point()));
            if q != Some(want) {
                return Err(bad(
                    "op: LOGISTIC/TANH output quantisation (fixed by the operator)",
                ));
            }
            match x.dtype {
                DType::I8 => {
                    if op.multipliers.len() != 1 || op.params[0] < 0 {
                        return Err(bad(
                            "op: LOGISTIC/TANH int8 needs one multiplier and a radius >= 0",
                        ));
                    }
                    unused_params(1)
                }
                _ => {
                    let (m, shift) = (op.params[0], op.params[1]);
                    if !op.multipliers.is_empty() || m < 0 || !(0..=31).contains(&shift) {
                        return Err(bad("op: LOGISTIC/TANH int16 parameters"));
                    }
                    unused_params(2)
                }
            }
        }
        OpCode::Relu | OpCode::Requantize => {
            if x.len() != out.len() || (op.code == OpCode::Relu && !same_type) {
                return Err(bad("op: RELU/QUANTIZE lengths and types"));
            }
            unused_params(0)
        }
        OpCode::Pad => {
            let (xd, od) = (x.shape.dims(), out.shape.dims());
            if !same_type || xd.len() != od.len() || x.per_tensor() != out.per_tensor() {
                return Err(bad("op: PAD shapes and types"));
            }
            params(0, 8, 0)?;
            for (i, (&a, &b)) in xd.iter().zip(od).enumerate() {
                let padded = a as u64 + op.params[2 * i] as u64 + op.params[2 * i + 1] as u64;
                if padded != b as u64 {
                    return Err(bad("op: PAD output shape"));
                }
            }
            unused_params(2 * xd.len())
        }
        OpCode::Lstm => lstm(op, at, &x, &out, &tensor),
        OpCode::Concat => {
            let od = out.shape.dims();
            let axis = op.params[0];
            if axis < 0 || axis as usize >= od.len() {
                return Err(malformed("op: params (axis)", at + 36));
            }
            let axis = axis as usize;
            let mut total = 0usize;
            for t in op.inputs() {
                let t = tensor(t)?;
                let td = t.shape.dims();
                let agree = td.len() == od.len()
                    && td
                        .iter()
                        .zip(od)
                        .enumerate()
                        .all(|(i, (a, b))| i == axis || a == b);
                if !act_type(&t) || t.dtype != out.dtype || t.storage != Storage::Arena || !agree {
                    return Err(bad("op: CONCATENATION input shapes and types"));
                }
                total = total.saturating_add(td[axis]);
            }
            if total != od[axis] {
                return Err(bad("op: CONCATENATION output shape"));
            }
            unused_params(1)
        }
    }
}

/// An LSTM's tensors, shapes, parameters and scratch (see [`OpCode::Lstm`]).
fn lstm<'a>(
    op: &OpInfo<'a>,
    at: usize,
    x: &TensorInfo<'a>,
    out: &TensorInfo<'a>,
    tensor: &impl Fn(usize) -> Result<TensorInfo<'a>>,
) -> Result<()> {
    let bad = |what: &'static str| malformed(what, at);
    let input = |i: usize| op.input(i).map(tensor).transpose();
    let w = input(1)?.ok_or(bad("op: LSTM weights missing"))?;
    let u = input(2)?.ok_or(bad("op: LSTM recurrent weights missing"))?;
    let weights_ok = |t: &TensorInfo<'_>| {
        t.dtype == DType::I8 && t.storage == Storage::Constant && t.quant.zero_point() == 0
    };
    if !weights_ok(&w) || !weights_ok(&u) || out.dtype != x.dtype {
        return Err(bad(
            "op: LSTM weights must be constant symmetric i8 and the output the input's type",
        ));
    }
    let shape =
        LstmShape::of(x, &u, out).ok_or(bad("op: LSTM input must be [..., steps, inputs]"))?;
    let gates = shape.hidden.checked_mul(4);
    if w.shape.dims() != [gates.unwrap_or(0), shape.inputs]
        || u.shape.dims() != [gates.unwrap_or(0), shape.hidden]
        || shape.output_len() != Some(out.len())
        || out.shape.dims().last() != Some(&shape.hidden)
    {
        return Err(bad(
            "op: LSTM shapes (weights [4·hidden, inputs], recurrent [4·hidden, hidden], output every step or the last)",
        ));
    }
    let bias_type = match x.dtype {
        DType::I8 => DType::I32,
        _ => DType::I64,
    };
    if let Some(b) = input(3)?
        && (b.dtype != bias_type || b.storage != Storage::Constant || Some(b.len()) != gates)
    {
        return Err(bad(
            "op: LSTM bias must be constant [4·hidden], i32 (i64 for int16)",
        ));
    }
    let p = op.params;
    let scratch = usize::try_from(p[0])
        .ok()
        .and_then(|t| tensor(t).ok())
        .ok_or(malformed("op: LSTM scratch (no such tensor)", at + 36))?;
    let need = shape.scratch_len();
    let disjoint = |a: &TensorInfo<'_>| {
        a.offset + a.bytes <= scratch.offset || scratch.offset + scratch.bytes <= a.offset
    };
    if scratch.dtype != DType::I16
        || scratch.storage != Storage::Arena
        || need.is_none_or(|n| scratch.len() < n)
        || !disjoint(x)
        || !disjoint(out)
    {
        return Err(malformed(
            "op: LSTM scratch (an i16 arena tensor, long enough, apart from x and the output)",
            at + 36,
        ));
    }
    let (lo, hi) = crate::quant::LSTM_CELL_SCALE_POWER_RANGE;
    if !(lo..=hi).contains(&p[1]) {
        return Err(malformed("op: LSTM cell_scale_power", at + 40));
    }
    if !(-1..=i32::from(i16::MAX)).contains(&p[2]) {
        return Err(malformed("op: LSTM cell_clip (-1 or 0..=32767)", at + 44));
    }
    if p[3..].iter().any(|&v| v != 0) {
        return Err(malformed("op: params (unused must be 0)", at + 48));
    }
    Ok(())
}

/// Types and quantisation of a weighted operator (conv, depthwise, transposed, dense).
fn weighted(
    op: &OpInfo<'_>,
    at: usize,
    x: &TensorInfo<'_>,
    w: &TensorInfo<'_>,
    bias: Option<&TensorInfo<'_>>,
    out: &TensorInfo<'_>,
) -> Result<()> {
    let bad = |what: &'static str| malformed(what, at);
    let bias_type = match x.dtype {
        DType::I8 => DType::I32,
        _ => DType::I64,
    };
    if w.dtype != DType::I8 || w.storage != Storage::Constant || out.dtype != x.dtype {
        return Err(bad(
            "op: weights must be constant i8 and the output the input's type",
        ));
    }
    let channels = match op.code {
        OpCode::DepthwiseConv2d => w.shape.dims().last().copied(),
        _ => w.shape.dim(0),
    }
    .unwrap_or(0);
    let channel_axis = match op.code {
        OpCode::DepthwiseConv2d => w.shape.rank() - 1,
        _ => 0,
    };
    match w.quant {
        Quantization::PerTensor(_) => {}
        Quantization::PerChannel { axis, .. } if axis == channel_axis => {}
        _ => {
            return Err(bad(
                "op: weights quantisation (per tensor, or per output channel)",
            ));
        }
    }
    if let Some(b) = bias
        && (b.dtype != bias_type || b.storage != Storage::Constant || b.len() != channels)
    {
        return Err(bad(
            "op: bias must be constant, one per output channel, i32 (i64 for int16)",
        ));
    }
    let n = op.multipliers.len();
    if n != 1 && n != channels {
        return Err(malformed(
            "op: multiplier count (1 or one per output channel)",
            at + 24,
        ));
    }
    Ok(())
}

/// Shapes of a convolution or depthwise convolution.
fn conv_shapes(
    op: &OpInfo<'_>,
    at: usize,
    x: &TensorInfo<'_>,
    w: &TensorInfo<'_>,
    out: &TensorInfo<'_>,
) -> Result<()> {
    let bad = malformed("op: convolution shapes", at);
    let (&[n, ih, iw, ic], &[wo, kh, kw, wc], &[on, oh, ow, oc]) =
        (x.shape.dims(), w.shape.dims(), out.shape.dims())
    else {
        return Err(bad);
    };
    let ok = match op.code {
        OpCode::Conv2d => wo == oc && ic % wc == 0 && oc % (ic / wc) == 0,
        _ => wo == 1 && wc == oc && oc % ic == 0,
    };
    let p = op.params.map(|v| v as usize);
    let extent =
        |i: usize, k: usize, s: usize, d: usize, before: usize, after: usize| -> Option<usize> {
            let window = (k - 1).checked_mul(d)? + 1;
            let padded = i.checked_add(before)?.checked_add(after)?;
            Some(padded.checked_sub(window)? / s + 1)
        };
    if ok
        && n == on
        && extent(ih, kh, p[0], p[2], p[4], p[5]) == Some(oh)
        && extent(iw, kw, p[1], p[3], p[6], p[7]) == Some(ow)
    {
        Ok(())
    } else {
        Err(bad)
    }
}
