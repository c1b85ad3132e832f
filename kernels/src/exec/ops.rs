//! One operator of a validated model, run by calling its kernel with parameters taken
//! from the record and its tensors' quantisation.

use super::regions::{ArenaSplit, cast, cast_mut, i8s, i8s_mut};
use crate::f32::conv::Params as ConvParams;
use crate::int8::{conv_transpose, dense, depthwise, elementwise, pool, softmax};
use crate::{int8, int16};
use mote_core::dtype::DType;
use mote_core::format::{ModelView, OpCode, OpInfo, TensorInfo};
use mote_core::padding::Padding;
use mote_core::quant::{QuantParams, QuantizedMultiplier, SoftmaxScaling};
use mote_core::{Error, ErrorKind, Result};

/// The per-tensor quantisation of an activation (validated by the reader).
fn quant_of(t: &TensorInfo<'_>) -> Result<QuantParams> {
    t.per_tensor().ok_or(Error::new(
        ErrorKind::Unsupported,
        "executor: activation without per-tensor quantisation",
    ))
}

/// The tensor behind input `i` of `op`.
fn input_tensor<'a>(model: &ModelView<'a>, op: &OpInfo<'a>, i: usize) -> Result<TensorInfo<'a>> {
    let t = op.input(i).ok_or(Error::new(
        ErrorKind::Malformed { offset: 0 },
        "executor: missing input",
    ))?;
    model.tensor(t)
}

/// Runs operator `op` over `arena`.
pub(crate) fn run<'a>(model: &ModelView<'a>, op: &OpInfo<'a>, arena: &mut [u8]) -> Result<()> {
    if op.code == OpCode::Lstm {
        return super::lstm::run(model, op, arena);
    }
    let out_t = model.tensor(op.output)?;
    let x_t = input_tensor(model, op, 0)?;
    let (split, out) = ArenaSplit::split(arena, &out_t)?;
    let out_q = quant_of(&out_t)?;
    let x_q = quant_of(&x_t)?;
    let p = op.params;
    let u = |v: i32| v.max(0) as usize;
    match op.code {
        OpCode::Conv2d
        | OpCode::DepthwiseConv2d
        | OpCode::TransposeConv2d
        | OpCode::FullyConnected => {
            let w_t = input_tensor(model, op, 1)?;
            let bias_t = op.input(2).map(|t| model.tensor(t)).transpose()?;
            let w = i8s(split.input(model, &w_t)?);
            let bias_bytes = bias_t.as_ref().map(|b| split.input(model, b)).transpose()?;
            let x = split.input(model, &x_t)?;
            let wzp = w_t.quant.zero_point();
            let q = dense::Quant::new(
                x_q.zero_point(),
                wzp,
                out_q.zero_point(),
                op.multipliers,
                op.act_min,
                op.act_max,
            );
            let xd = x_t.shape.dims();
            let wd = w_t.shape.dims();
            let od = out_t.shape.dims();
            // Shapes were validated by the reader; a mismatch here is a bad file too.
            let dim = |d: &[usize], i: usize| d.get(i).copied().unwrap_or(0);
            match op.code {
                OpCode::FullyConnected => {
                    let inputs = dim(wd, 1);
                    let params = dense::Params::new(x_t.len() / inputs.max(1), inputs, dim(wd, 0));
                    match x_t.dtype {
                        DType::I8 => {
                            let b = bias_bytes.map(cast::<i32>).transpose()?;
                            dense::forward(&params, &q, i8s(x), w, b, i8s_mut(out))
                        }
                        _ => {
                            let b = bias_bytes.map(cast::<i64>).transpose()?;
                            let y = cast_mut::<i16>(out)?;
                            int16::dense::forward(&params, &q, cast::<i16>(x)?, w, b, y)
                        }
                    }
                }
                OpCode::Conv2d => {
                    let params = ConvParams::new(
                        dim(xd, 0),
                        dim(xd, 1),
                        dim(xd, 2),
                        dim(xd, 3),
                        dim(od, 3),
                        dim(wd, 1),
                        dim(wd, 2),
                    )
                    .with_stride(u(p[0]), u(p[1]))
                    .with_dilation(u(p[2]), u(p[3]))
                    .with_paddings(
                        Padding::Explicit {
                            before: u(p[4]),
                            after: u(p[5]),
                        },
                        Padding::Explicit {
                            before: u(p[6]),
                            after: u(p[7]),
                        },
                    )
                    .with_groups(dim(xd, 3) / dim(wd, 3).max(1));
                    match x_t.dtype {
                        DType::I8 => {
                            let b = bias_bytes.map(cast::<i32>).transpose()?;
                            int8::conv::forward(&params, &q, i8s(x), w, b, i8s_mut(out))
                        }
                        _ => {
                            let b = bias_bytes
                                .map(cast::<i64>)
                                .transpose()?
                                .map(int16::conv::Bias::I64);
                            let y = cast_mut::<i16>(out)?;
                            int16::conv::forward(&params, &q, cast::<i16>(x)?, w, b, y)
                        }
                    }
                }
                OpCode::DepthwiseConv2d => {
                    let params = depthwise::Params {
                        batch: dim(xd, 0),
                        in_h: dim(xd, 1),
                        in_w: dim(xd, 2),
                        in_c: dim(xd, 3),
                        multiplier: dim(od, 3) / dim(xd, 3).max(1),
                        out_h: dim(od, 1),
                        out_w: dim(od, 2),
                        kernel_h: dim(wd, 1),
                        kernel_w: dim(wd, 2),
                        stride_h: u(p[0]),
                        stride_w: u(p[1]),
                        dilation_h: u(p[2]),
                        dilation_w: u(p[3]),
                        pad_h: u(p[4]),
                        pad_w: u(p[6]),
                    };
                    let dq = depthwise::Quant {
                        input_zero_point: x_q.zero_point(),
                        output_zero_point: out_q.zero_point(),
                        act_min: op.act_min,
                        act_max: op.act_max,
                        rounding: Default::default(),
                    };
                    let ms = per_channel(op, dim(od, 3))?;
                    match x_t.dtype {
                        DType::I8 => {
                            let b = bias_bytes.map(cast::<i32>).transpose()?;
                            depthwise::forward(&params, &dq, ms, i8s(x), w, b, i8s_mut(out))
                        }
                        _ => {
                            let b = bias_bytes.map(cast::<i64>).transpose()?;
                            let y = cast_mut::<i16>(out)?;
                            let x = cast::<i16>(x)?;
                            let dq = int16::depthwise::Quant {
                                input_zero_point: dq.input_zero_point,
                                output_zero_point: dq.output_zero_point,
                                act_min: dq.act_min,
                                act_max: dq.act_max,
                            };
                            int16::depthwise::forward(&params, &dq, ms, x, w, b, y)
                        }
                    }
                }
                _ => {
                    let params = conv_transpose::Params {
                        batch: dim(xd, 0),
                        in_h: dim(xd, 1),
                        in_w: dim(xd, 2),
                        in_c: dim(xd, 3),
                        out_h: dim(od, 1),
                        out_w: dim(od, 2),
                        out_c: dim(od, 3),
                        kernel_h: dim(wd, 1),
                        kernel_w: dim(wd, 2),
                        stride_h: u(p[0]),
                        stride_w: u(p[1]),
                        pad_h: u(p[2]),
                        pad_w: u(p[3]),
                    };
                    let tq = conv_transpose::Quant {
                        input_zero_point: x_q.zero_point(),
                        output_zero_point: out_q.zero_point(),
                        act_min: op.act_min,
                        act_max: op.act_max,
                        rounding: Default::default(),
                    };
                    if x_t.dtype != DType::I8 {
                        return Err(Error::new(
                            ErrorKind::Unsupported,
                            "executor: TRANSPOSE_CONV with int16 activations",
                        ));
                    }
                    let b = bias_bytes.map(cast::<i32>).transpose()?;
                    let ms = per_channel(op, dim(od, 3))?;
                    conv_transpose::forward(&params, &tq, ms, i8s(x), w, b, i8s_mut(out))
                }
            }
        }
        OpCode::MaxPool2d | OpCode::AvgPool2d => {
            let (xd, od) = (x_t.shape.dims(), out_t.shape.dims());
            let dim = |d: &[usize], i: usize| d.get(i).copied().unwrap_or(0);
            let params = pool::Params {
                batch: dim(xd, 0),
                input_h: dim(xd, 1),
                input_w: dim(xd, 2),
                channels: dim(xd, 3),
                output_h: dim(od, 1),
                output_w: dim(od, 2),
                kernel_h: u(p[0]),
                kernel_w: u(p[1]),
                stride_h: u(p[2]),
                stride_w: u(p[3]),
                pad_h: u(p[4]),
                pad_w: u(p[5]),
                act_min: op.act_min,
                act_max: op.act_max,
            };
            let x = split.input(model, &x_t)?;
            let max = op.code == OpCode::MaxPool2d;
            match x_t.dtype {
                DType::I8 if max => pool::max_pool_s8(&params, i8s(x), i8s_mut(out)),
                DType::I8 => pool::avg_pool_s8(&params, i8s(x), i8s_mut(out)),
                _ => {
                    let (x, y) = (cast::<i16>(x)?, cast_mut::<i16>(out)?);
                    if max {
                        int16::pool::max_pool_s16(&params, x, y)
                    } else {
                        int16::pool::avg_pool_s16(&params, x, y)
                    }
                }
            }
        }
        OpCode::Add | OpCode::Mul => {
            let b_t = input_tensor(model, op, 1)?;
            let b_q = quant_of(&b_t)?;
            let (a, b) = (split.input(model, &x_t)?, split.input(model, &b_t)?);
            let m = |i: usize| {
                op.multipliers.get(i).copied().ok_or(Error::new(
                    ErrorKind::Malformed { offset: 0 },
                    "executor: multipliers",
                ))
            };
            if op.code == OpCode::Add {
                let params = elementwise::AddParams {
                    input1_zero_point: x_q.zero_point(),
                    input2_zero_point: b_q.zero_point(),
                    output_zero_point: out_q.zero_point(),
                    left_shift: u(p[0]) as u32,
                    input1_multiplier: m(0)?,
                    input2_multiplier: m(1)?,
                    output_multiplier: m(2)?,
                    act_min: op.act_min,
                    act_max: op.act_max,
                };
                match x_t.dtype {
                    DType::I8 => elementwise::add_s8(&params, i8s(a), i8s(b), i8s_mut(out)),
                    _ => int16::elementwise::add_s16(&params, cast(a)?, cast(b)?, cast_mut(out)?),
                }
            } else {
                let params = elementwise::MulParams {
                    input1_zero_point: x_q.zero_point(),
                    input2_zero_point: b_q.zero_point(),
                    output_zero_point: out_q.zero_point(),
                    output_multiplier: m(0)?,
                    act_min: op.act_min,
                    act_max: op.act_max,
                };
                match x_t.dtype {
                    DType::I8 => elementwise::mul_s8(&params, i8s(a), i8s(b), i8s_mut(out)),
                    _ => int16::elementwise::mul_s16(&params, cast(a)?, cast(b)?, cast_mut(out)?),
                }
            }
        }
        OpCode::Softmax => {
            let row_size = x_t.shape.dims().last().copied().unwrap_or(1);
            let params = softmax::Params {
                rows: x_t.len() / row_size.max(1),
                row_size,
                scaling: SoftmaxScaling {
                    multiplier: p[0],
                    left_shift: p[1],
                    diff_min: p[2],
                },
            };
            let x = split.input(model, &x_t)?;
            match (x_t.dtype, out_t.dtype) {
                (DType::I8, DType::I8) => softmax::softmax_s8(&params, i8s(x), i8s_mut(out)),
                (DType::I8, DType::I16) => softmax::softmax_s8_s16(&params, i8s(x), cast_mut(out)?),
                _ => {
                    let table = |i: usize| -> Result<&[i16]> {
                        cast(split.input(model, &input_tensor(model, op, i)?)?)
                    };
                    let p16 = int16::softmax::Params {
                        rows: params.rows,
                        row_size: params.row_size,
                        input_multiplier: op.multipliers.first().copied().ok_or(Error::new(
                            ErrorKind::Malformed { offset: 0 },
                            "executor: multipliers",
                        ))?,
                    };
                    int16::softmax::softmax_s16(
                        &p16,
                        table(1)?,
                        table(2)?,
                        cast(x)?,
                        cast_mut(out)?,
                    )
                }
            }
        }
        OpCode::Reshape => {
            if x_t.offset == out_t.offset {
                return Ok(());
            }
            out.copy_from_slice(split.input(model, &x_t)?);
            Ok(())
        }
        OpCode::Logistic | OpCode::Tanh => {
            let x = split.input(model, &x_t)?;
            let logistic = op.code == OpCode::Logistic;
            match x_t.dtype {
                DType::I8 => {
                    let params = int8::activation::Params {
                        input_zero_point: x_q.zero_point(),
                        input_multiplier: op.multipliers.first().copied().ok_or(Error::new(
                            ErrorKind::Malformed { offset: 0 },
                            "executor: multipliers",
                        ))?,
                        input_range_radius: p[0],
                    };
                    let (x, y) = (i8s(x), i8s_mut(out));
                    if logistic {
                        int8::activation::logistic_s8(&params, x, y)
                    } else {
                        int8::activation::tanh_s8(&params, x, y)
                    }
                }
                _ => {
                    let params = int16::activation::Params {
                        input_multiplier: p[0],
                        input_left_shift: p[1],
                    };
                    let (x, y) = (cast::<i16>(x)?, cast_mut::<i16>(out)?);
                    if logistic {
                        int16::activation::logistic_s16(&params, x, y)
                    } else {
                        int16::activation::tanh_s16(&params, x, y)
                    }
                }
            }
        }
        OpCode::Relu | OpCode::Requantize => {
            let x = split.input(model, &x_t)?;
            let multiplier = op.multipliers.first().copied().ok_or(Error::new(
                ErrorKind::Malformed { offset: 0 },
                "executor: multipliers",
            ))?;
            if op.code == OpCode::Relu {
                let params = int8::activation::ReluParams {
                    input_zero_point: x_q.zero_point(),
                    output_zero_point: out_q.zero_point(),
                    multiplier,
                    act_min: op.act_min,
                    act_max: op.act_max,
                };
                return match x_t.dtype {
                    DType::I8 => int8::activation::relu_s8(&params, i8s(x), i8s_mut(out)),
                    _ => int16::activation::relu_s16(&params, cast(x)?, cast_mut(out)?),
                };
            }
            let params = int8::quantize::RequantizeParams {
                input_zero_point: x_q.zero_point(),
                output_zero_point: out_q.zero_point(),
                multiplier,
            };
            use int8::quantize as rq;
            match (x_t.dtype, out_t.dtype) {
                (DType::I8, DType::I8) => rq::requantize_s8_s8(&params, i8s(x), i8s_mut(out)),
                (DType::I8, _) => rq::requantize_s8_s16(&params, i8s(x), cast_mut(out)?),
                (_, DType::I8) => rq::requantize_s16_s8(&params, cast(x)?, i8s_mut(out)),
                _ => rq::requantize_s16_s16(&params, cast(x)?, cast_mut(out)?),
            }
        }
        OpCode::Pad => {
            let x = split.input(model, &x_t)?;
            let rank = x_t.shape.rank();
            let lead = 4usize.saturating_sub(rank);
            let mut params = int8::pad::PadParams {
                shape: [1; 4],
                before: [0; 4],
                after: [0; 4],
                pad_value: out_q.zero_point(),
            };
            for (a, &d) in x_t.shape.dims().iter().enumerate() {
                params.shape[lead + a] = d;
                params.before[lead + a] = u(p[2 * a]);
                params.after[lead + a] = u(p[2 * a + 1]);
            }
            match x_t.dtype {
                DType::I8 => int8::pad::pad_s8(&params, i8s(x), i8s_mut(out)),
                _ => int8::pad::pad_s16(&params, cast(x)?, cast_mut(out)?),
            }
        }
        OpCode::Concat => {
            const MAX: usize = mote_core::format::MAX_INPUTS;
            let n = op.input_count();
            let four = |t: &TensorInfo<'_>| {
                let mut d = [1usize; 4];
                let lead = 4usize.saturating_sub(t.shape.rank());
                d[lead..].copy_from_slice(t.shape.dims());
                d
            };
            let lead = 4usize.saturating_sub(out_t.shape.rank());
            let mut shapes = [[1usize; 4]; MAX];
            let mut quants = [out_q; MAX];
            let mut parts: [&[u8]; MAX] = [&[]; MAX];
            for i in 0..n {
                let t = input_tensor(model, op, i)?;
                shapes[i] = four(&t);
                quants[i] = quant_of(&t)?;
                parts[i] = split.input(model, &t)?;
            }
            let params = int8::concat::ConcatParams {
                axis: lead + u(p[0]),
                shapes: &shapes[..n],
                input_quant: &quants[..n],
                output_shape: four(&out_t),
                output_quant: out_q,
            };
            match out_t.dtype {
                DType::I8 => {
                    let mut xs: [&[i8]; MAX] = [&[]; MAX];
                    for (x, b) in xs.iter_mut().zip(&parts[..n]) {
                        *x = i8s(b);
                    }
                    int8::concat::concat_s8(&params, &xs[..n], i8s_mut(out))
                }
                _ => {
                    let mut xs: [&[i16]; MAX] = [&[]; MAX];
                    for (x, b) in xs.iter_mut().zip(&parts[..n]) {
                        *x = cast(b)?;
                    }
                    int8::concat::concat_s16(&params, &xs[..n], cast_mut(out)?)
                }
            }
        }
        code => Err(Error::new(ErrorKind::Unsupported, code.name())),
    }
}

/// The multipliers of a depthwise or transposed convolution, one per output channel
/// (those kernels take one per channel; the exporter writes them so, and a lone
/// per-tensor multiplier is refused rather than expanded into an allocation).
fn per_channel<'a>(op: &OpInfo<'a>, channels: usize) -> Result<&'a [QuantizedMultiplier]> {
    if op.multipliers.len() == channels {
        Ok(op.multipliers)
    } else {
        Err(Error::new(
            ErrorKind::Unsupported,
            "executor: depthwise/transposed convolution needs one multiplier per output channel",
        ))
    }
}
