//! One operator as a block of Rust: the kernel call `mote_kernels::exec`'s `ops::run`
//! makes for it, with the parameters it computes, evaluated here once and written as
//! literals. Keep the two in step: `tests/codegen.rs` checks they agree bit for bit.

use super::emit::Module;
use super::{shape_text, unsupported};
use crate::Result;
use mote_core::dtype::DType;
use mote_core::format::{OpCode, OpInfo, Storage, TensorInfo};
use std::fmt::Write;

/// The largest single-sample int8 dense layer (`inputs·outputs` weights) generated code
/// runs through `int8::dense::forward_compact` instead of `forward`: below it the
/// register tiles gain little, and leaving them out keeps small models' images small.
const COMPACT_DENSE_MAX: usize = 1024;

/// `v.max(0) as usize`, as the executor reads size parameters.
fn u(v: i32) -> usize {
    v.max(0) as usize
}

/// Dimension `i` of `d` (0 when absent, as the executor has it).
fn dim(d: &[usize], i: usize) -> usize {
    d.get(i).copied().unwrap_or(0)
}

/// Appends operator `i`'s block to `body`.
pub(super) fn emit(
    m: &mut Module<'_, '_>,
    body: &mut String,
    i: usize,
    op: &OpInfo<'_>,
) -> Result<()> {
    let view = m.view;
    let out_t = view.tensor(op.output)?;
    let x_i = op
        .input(0)
        .ok_or(unsupported("an operator without inputs"))?;
    let x_t = view.tensor(x_i)?;
    let _ = writeln!(
        body,
        "    // op {i}: {} `{}`: {} → {}",
        op.code.name(),
        out_t.name,
        shape_text(&x_t),
        shape_text(&out_t)
    );
    if op.code == OpCode::Reshape && x_t.storage == Storage::Arena && x_t.offset == out_t.offset {
        body.push_str("    // (in place: the same arena region, nothing to do)\n\n");
        return Ok(());
    }
    let x_q = x_t
        .per_tensor()
        .ok_or(unsupported("an input not quantised per tensor"))?;
    let out_q = out_t
        .per_tensor()
        .ok_or(unsupported("an output not quantised per tensor"))?;
    let p = op.params;
    let int8 = x_t.dtype == DType::I8;
    let act = x_t.dtype; // the activation type the executor picks the kernel by
    let mut lines: Vec<String> = Vec::new();
    let mut scratch = None;
    match op.code {
        OpCode::Lstm => {
            let (l, region) = super::lstm::emit(m, i, op)?;
            lines = l;
            scratch = Some(region);
        }
        OpCode::Conv2d
        | OpCode::DepthwiseConv2d
        | OpCode::TransposeConv2d
        | OpCode::FullyConnected => {
            let w_i = op.input(1).ok_or(unsupported("no weights"))?;
            let w_t = view.tensor(w_i)?;
            let (xd, wd, od) = (x_t.shape.dims(), w_t.shape.dims(), out_t.shape.dims());
            let bias_type = if int8 { DType::I32 } else { DType::I64 };
            let x = m.operand(x_i, act, format!("OP{i}_INPUT"))?;
            let w = m.operand(w_i, DType::I8, format!("OP{i}_WEIGHTS"))?;
            let b = m.bias(op.input(2), bias_type, format!("OP{i}_BIAS"))?;
            let y = m.output(&out_t)?;
            if op.code == OpCode::TransposeConv2d && !int8 {
                return Err(unsupported(
                    "int16 activations (the executor runs int8 only)",
                ));
            }
            let per_channel = matches!(op.code, OpCode::DepthwiseConv2d | OpCode::TransposeConv2d);
            if per_channel && op.multipliers.len() != dim(od, 3) {
                return Err(unsupported(
                    "one multiplier per output channel is needed (as the executor requires)",
                ));
            }
            let ms = m.multiplier_table(
                i,
                format!(
                    "Requantisation multipliers of op {i} ({} `{}`).",
                    op.code.name(),
                    out_t.name
                ),
                op.multipliers,
            );
            let k = if int8 { "int8" } else { "int16" };
            m.uses(if int8 {
                "mote_kernels::int8"
            } else {
                "mote_kernels::int16"
            });
            m.uses("mote_kernels::int8");
            match op.code {
                OpCode::FullyConnected => {
                    let inputs = dim(wd, 1);
                    lines.push(format!(
                        "let params = int8::dense::Params::new({}, {inputs}, {});",
                        x_t.len() / inputs.max(1),
                        dim(wd, 0)
                    ));
                    lines.push(dense_quant(&x_q, &w_t, &out_q, &ms, op));
                    let b = b.map_or("None".into(), |b| format!("Some({b})"));
                    // Small single-sample layers take the compact kernel (same bytes, no
                    // register tiles linked): a model made only of them, like the sine
                    // example, stays within a 16 KB image.
                    let batch = x_t.len() / inputs.max(1);
                    let small = batch == 1 && inputs * dim(wd, 0) <= COMPACT_DENSE_MAX;
                    let f = if int8 && small {
                        "int8::dense::forward_compact"
                    } else if int8 {
                        "int8::dense::forward"
                    } else {
                        "int16::dense::forward"
                    };
                    call(&mut lines, f, &["&params", "&quant", &x, &w, &b, y]);
                }
                OpCode::Conv2d => {
                    m.uses("mote_core::padding::Padding");
                    m.uses("mote_kernels::f32::conv::Params as ConvParams");
                    lines.push(format!(
                        "let params = ConvParams::new({}, {}, {}, {}, {}, {}, {})",
                        dim(xd, 0),
                        dim(xd, 1),
                        dim(xd, 2),
                        dim(xd, 3),
                        dim(od, 3),
                        dim(wd, 1),
                        dim(wd, 2)
                    ));
                    lines.push(format!("    .with_stride({}, {})", u(p[0]), u(p[1])));
                    lines.push(format!("    .with_dilation({}, {})", u(p[2]), u(p[3])));
                    lines.push("    .with_paddings(".into());
                    for (before, after) in [(p[4], p[5]), (p[6], p[7])] {
                        lines.push("        Padding::Explicit {".into());
                        lines.push(format!("            before: {},", u(before)));
                        lines.push(format!("            after: {},", u(after)));
                        lines.push("        },".into());
                    }
                    lines.push("    )".into());
                    lines.push(format!(
                        "    .with_groups({});",
                        dim(xd, 3) / dim(wd, 3).max(1)
                    ));
                    lines.push(dense_quant(&x_q, &w_t, &out_q, &ms, op));
                    let b = match (b, int8) {
                        (None, _) => "None".to_string(),
                        (Some(b), true) => format!("Some({b})"),
                        (Some(b), false) => format!("Some(int16::conv::Bias::I64({b}))"),
                    };
                    call(
                        &mut lines,
                        &format!("{k}::conv::forward"),
                        &["&params", "&quant", &x, &w, &b, y],
                    );
                }
                OpCode::DepthwiseConv2d => {
                    lines.push("let params = int8::depthwise::Params {".into());
                    for (f, v) in [
                        ("batch", dim(xd, 0)),
                        ("in_h", dim(xd, 1)),
                        ("in_w", dim(xd, 2)),
                        ("in_c", dim(xd, 3)),
                        ("multiplier", dim(od, 3) / dim(xd, 3).max(1)),
                        ("out_h", dim(od, 1)),
                        ("out_w", dim(od, 2)),
                        ("kernel_h", dim(wd, 1)),
                        ("kernel_w", dim(wd, 2)),
                        ("stride_h", u(p[0])),
                        ("stride_w", u(p[1])),
                        ("dilation_h", u(p[2])),
                        ("dilation_w", u(p[3])),
                        ("pad_h", u(p[4])),
                        ("pad_w", u(p[6])),
                    ] {
                        lines.push(format!("    {f}: {v},"));
                    }
                    lines.push("};".into());
                    lines.push(format!("let quant = {k}::depthwise::Quant {{"));
                    lines.push(format!("    input_zero_point: {},", x_q.zero_point()));
                    lines.push(format!("    output_zero_point: {},", out_q.zero_point()));
                    lines.push(format!("    act_min: {},", op.act_min));
                    lines.push(format!("    act_max: {},", op.act_max));
                    if int8 {
                        m.uses("mote_core::quant::Rounding");
                        lines.push("    rounding: Rounding::Double,".into());
                    }
                    lines.push("};".into());
                    let b = b.map_or("None".into(), |b| format!("Some({b})"));
                    let ms = format!("&{ms}");
                    call(
                        &mut lines,
                        &format!("{k}::depthwise::forward"),
                        &["&params", "&quant", &ms, &x, &w, &b, y],
                    );
                }
                _ => {
                    m.uses("mote_core::quant::Rounding");
                    lines.push("let params = int8::conv_transpose::Params {".into());
                    for (f, v) in [
                        ("batch", dim(xd, 0)),
                        ("in_h", dim(xd, 1)),
                        ("in_w", dim(xd, 2)),
                        ("in_c", dim(xd, 3)),
                        ("out_h", dim(od, 1)),
                        ("out_w", dim(od, 2)),
                        ("out_c", dim(od, 3)),
                        ("kernel_h", dim(wd, 1)),
                        ("kernel_w", dim(wd, 2)),
                        ("stride_h", u(p[0])),
                        ("stride_w", u(p[1])),
                        ("pad_h", u(p[2])),
                        ("pad_w", u(p[3])),
                    ] {
                        lines.push(format!("    {f}: {v},"));
                    }
                    lines.push("};".into());
                    lines.push("let quant = int8::conv_transpose::Quant {".into());
                    lines.push(format!("    input_zero_point: {},", x_q.zero_point()));
                    lines.push(format!("    output_zero_point: {},", out_q.zero_point()));
                    lines.push(format!("    act_min: {},", op.act_min));
                    lines.push(format!("    act_max: {},", op.act_max));
                    lines.push("    rounding: Rounding::Double,".into());
                    lines.push("};".into());
                    let b = b.map_or("None".into(), |b| format!("Some({b})"));
                    let ms = format!("&{ms}");
                    call(
                        &mut lines,
                        "int8::conv_transpose::forward",
                        &["&params", "&quant", &ms, &x, &w, &b, y],
                    );
                }
            }
        }
        OpCode::MaxPool2d | OpCode::AvgPool2d => {
            let (xd, od) = (x_t.shape.dims(), out_t.shape.dims());
            m.uses("mote_kernels::int8");
            lines.push("let params = int8::pool::Params {".into());
            for (f, v) in [
                ("batch", dim(xd, 0)),
                ("input_h", dim(xd, 1)),
                ("input_w", dim(xd, 2)),
                ("channels", dim(xd, 3)),
                ("output_h", dim(od, 1)),
                ("output_w", dim(od, 2)),
                ("kernel_h", u(p[0])),
                ("kernel_w", u(p[1])),
                ("stride_h", u(p[2])),
                ("stride_w", u(p[3])),
                ("pad_h", u(p[4])),
                ("pad_w", u(p[5])),
            ] {
                lines.push(format!("    {f}: {v},"));
            }
            lines.push(format!("    act_min: {},", op.act_min));
            lines.push(format!("    act_max: {},", op.act_max));
            lines.push("};".into());
            let x = m.operand(x_i, act, format!("OP{i}_INPUT"))?;
            let y = m.output(&out_t)?;
            let max = op.code == OpCode::MaxPool2d;
            let f = match (int8, max) {
                (true, true) => "int8::pool::max_pool_s8",
                (true, false) => "int8::pool::avg_pool_s8",
                (false, true) => "int16::pool::max_pool_s16",
                (false, false) => "int16::pool::avg_pool_s16",
            };
            if !int8 {
                m.uses("mote_kernels::int16");
            }
            call(&mut lines, f, &["&params", &x, y]);
        }
        OpCode::Add | OpCode::Mul => {
            let b_i = op.input(1).ok_or(unsupported("no second input"))?;
            let b_t = view.tensor(b_i)?;
            let b_q = b_t
                .per_tensor()
                .ok_or(unsupported("an input not quantised per tensor"))?;
            let a = m.operand(x_i, act, format!("OP{i}_INPUT1"))?;
            let b = m.operand(b_i, act, format!("OP{i}_INPUT2"))?;
            let y = m.output(&out_t)?;
            let need = if op.code == OpCode::Add { 3 } else { 1 };
            if op.multipliers.len() < need {
                return Err(unsupported("too few multipliers"));
            }
            let ms = |j: usize| {
                let q = op.multipliers[j];
                format!("qm({}, {})", q.multiplier(), q.shift())
            };
            m.uses("mote_kernels::int8");
            m.want_qm();
            let (ty, mut fields) = if op.code == OpCode::Add {
                (
                    "AddParams",
                    vec![
                        format!("input1_zero_point: {}", x_q.zero_point()),
                        format!("input2_zero_point: {}", b_q.zero_point()),
                        format!("output_zero_point: {}", out_q.zero_point()),
                        format!("left_shift: {}", u(p[0]) as u32),
                        format!("input1_multiplier: {}", ms(0)),
                        format!("input2_multiplier: {}", ms(1)),
                        format!("output_multiplier: {}", ms(2)),
                    ],
                )
            } else {
                (
                    "MulParams",
                    vec![
                        format!("input1_zero_point: {}", x_q.zero_point()),
                        format!("input2_zero_point: {}", b_q.zero_point()),
                        format!("output_zero_point: {}", out_q.zero_point()),
                        format!("output_multiplier: {}", ms(0)),
                    ],
                )
            };
            fields.push(format!("act_min: {}", op.act_min));
            fields.push(format!("act_max: {}", op.act_max));
            lines.push(format!(
                "const PARAMS: int8::elementwise::{ty} = int8::elementwise::{ty} {{"
            ));
            lines.extend(fields.into_iter().map(|f| format!("    {f},")));
            lines.push("};".into());
            let f = match (op.code == OpCode::Add, int8) {
                (true, true) => "int8::elementwise::add_s8",
                (true, false) => "int16::elementwise::add_s16",
                (false, true) => "int8::elementwise::mul_s8",
                (false, false) => "int16::elementwise::mul_s16",
            };
            if !int8 {
                m.uses("mote_kernels::int16");
            }
            call(&mut lines, f, &["&PARAMS", &a, &b, y]);
        }
        OpCode::Softmax => {
            let row_size = x_t.shape.dims().last().copied().unwrap_or(1);
            let rows = x_t.len() / row_size.max(1);
            let x = m.operand(x_i, act, format!("OP{i}_INPUT"))?;
            let y = m.output(&out_t)?;
            if x_t.dtype == DType::I16 {
                let table = |j: usize| {
                    op.input(j)
                        .ok_or(unsupported("an int16 softmax without its tables"))
                };
                let exp = m.operand(table(1)?, DType::I16, format!("OP{i}_EXP_LUT"))?;
                let one = m.operand(table(2)?, DType::I16, format!("OP{i}_ONE_BY_ONE_LUT"))?;
                let q = op
                    .multipliers
                    .first()
                    .ok_or(unsupported("an int16 softmax without its multiplier"))?;
                m.uses("mote_kernels::int16");
                m.want_qm();
                lines.push("let params = int16::softmax::Params {".into());
                lines.push(format!("    rows: {rows},"));
                lines.push(format!("    row_size: {row_size},"));
                lines.push(format!(
                    "    input_multiplier: qm({}, {}),",
                    q.multiplier(),
                    q.shift()
                ));
                lines.push("};".into());
                call(
                    &mut lines,
                    "int16::softmax::softmax_s16",
                    &["&params", &exp, &one, &x, y],
                );
            } else {
                let f = match out_t.dtype {
                    DType::I8 => "int8::softmax::softmax_s8",
                    _ => "int8::softmax::softmax_s8_s16",
                };
                m.uses("mote_kernels::int8");
                m.uses("mote_core::quant::SoftmaxScaling");
                lines.push("let params = int8::softmax::Params {".into());
                lines.push(format!("    rows: {rows},"));
                lines.push(format!("    row_size: {row_size},"));
                lines.push("    scaling: SoftmaxScaling {".into());
                lines.push(format!("        multiplier: {},", p[0]));
                lines.push(format!("        left_shift: {},", p[1]));
                lines.push(format!("        diff_min: {},", p[2]));
                lines.push("    },".into());
                lines.push("};".into());
                call(&mut lines, f, &["&params", &x, y]);
            }
        }
        OpCode::Logistic | OpCode::Tanh => {
            let x = m.operand(x_i, act, format!("OP{i}_INPUT"))?;
            let y = m.output(&out_t)?;
            let name = if op.code == OpCode::Logistic {
                "logistic"
            } else {
                "tanh"
            };
            if int8 {
                let q = op
                    .multipliers
                    .first()
                    .ok_or(unsupported("an int8 LOGISTIC/TANH without its multiplier"))?;
                m.uses("mote_kernels::int8");
                m.want_qm();
                lines.push("let params = int8::activation::Params {".into());
                lines.push(format!("    input_zero_point: {},", x_q.zero_point()));
                lines.push(format!(
                    "    input_multiplier: qm({}, {}),",
                    q.multiplier(),
                    q.shift()
                ));
                lines.push(format!("    input_range_radius: {},", p[0]));
                lines.push("};".into());
                call(
                    &mut lines,
                    &format!("int8::activation::{name}_s8"),
                    &["&params", &x, y],
                );
            } else {
                m.uses("mote_kernels::int16");
                lines.push("let params = int16::activation::Params {".into());
                lines.push(format!("    input_multiplier: {},", p[0]));
                lines.push(format!("    input_left_shift: {},", p[1]));
                lines.push("};".into());
                call(
                    &mut lines,
                    &format!("int16::activation::{name}_s16"),
                    &["&params", &x, y],
                );
            }
        }
        OpCode::Relu | OpCode::Requantize => {
            let x = m.operand(x_i, act, format!("OP{i}_INPUT"))?;
            let y = m.output(&out_t)?;
            let q = op
                .multipliers
                .first()
                .ok_or(unsupported("a RELU/QUANTIZE without its multiplier"))?;
            m.uses("mote_kernels::int8");
            m.want_qm();
            let suffix = |d: DType| if d == DType::I8 { "s8" } else { "s16" };
            if op.code == OpCode::Relu {
                lines.push("let params = int8::activation::ReluParams {".into());
                lines.push(format!("    input_zero_point: {},", x_q.zero_point()));
                lines.push(format!("    output_zero_point: {},", out_q.zero_point()));
                lines.push(format!(
                    "    multiplier: qm({}, {}),",
                    q.multiplier(),
                    q.shift()
                ));
                lines.push(format!("    act_min: {},", op.act_min));
                lines.push(format!("    act_max: {},", op.act_max));
                lines.push("};".into());
                let f = if int8 {
                    "int8::activation::relu_s8"
                } else {
                    "int16::activation::relu_s16"
                };
                if !int8 {
                    m.uses("mote_kernels::int16");
                }
                call(&mut lines, f, &["&params", &x, y]);
            } else {
                lines.push("let params = int8::quantize::RequantizeParams {".into());
                lines.push(format!("    input_zero_point: {},", x_q.zero_point()));
                lines.push(format!("    output_zero_point: {},", out_q.zero_point()));
                lines.push(format!(
                    "    multiplier: qm({}, {}),",
                    q.multiplier(),
                    q.shift()
                ));
                lines.push("};".into());
                let f = format!(
                    "int8::quantize::requantize_{}_{}",
                    suffix(x_t.dtype),
                    suffix(out_t.dtype)
                );
                call(&mut lines, &f, &["&params", &x, y]);
            }
        }
        OpCode::Pad => {
            let x = m.operand(x_i, act, format!("OP{i}_INPUT"))?;
            let y = m.output(&out_t)?;
            let dims = x_t.shape.dims();
            let lead = 4usize.saturating_sub(dims.len());
            let (mut shape, mut before, mut after) = ([1usize; 4], [0usize; 4], [0usize; 4]);
            for (a, &d) in dims.iter().enumerate() {
                shape[lead + a] = d;
                before[lead + a] = u(p[2 * a]);
                after[lead + a] = u(p[2 * a + 1]);
            }
            m.uses("mote_kernels::int8");
            lines.push("let params = int8::pad::PadParams {".into());
            lines.push(format!("    shape: {shape:?},"));
            lines.push(format!("    before: {before:?},"));
            lines.push(format!("    after: {after:?},"));
            lines.push(format!("    pad_value: {},", out_q.zero_point()));
            lines.push("};".into());
            let f = if int8 {
                "int8::pad::pad_s8"
            } else {
                "int8::pad::pad_s16"
            };
            call(&mut lines, f, &["&params", &x, y]);
        }
        OpCode::Concat => {
            let four = |t: &TensorInfo<'_>| {
                let mut d = [1usize; 4];
                let lead = 4usize.saturating_sub(t.shape.rank());
                d[lead..].copy_from_slice(t.shape.dims());
                d
            };
            let mut parts = Vec::new();
            let mut shapes = Vec::new();
            let mut quants = Vec::new();
            for j in 0..op.input_count() {
                let t_i = op
                    .input(j)
                    .ok_or(unsupported("a missing CONCATENATION input"))?;
                let t = view.tensor(t_i)?;
                let q = t
                    .per_tensor()
                    .ok_or(unsupported("an input not quantised per tensor"))?;
                parts.push(m.operand(t_i, act, format!("OP{i}_PART{j}"))?);
                shapes.push(format!("{:?}", four(&t)));
                quants.push(format!(
                    "QuantParams::new({}, {})?",
                    super::emit::f32_lit(q.scale()),
                    q.zero_point()
                ));
            }
            let y = m.output(&out_t)?;
            m.uses("mote_kernels::int8");
            m.uses("mote_core::quant::QuantParams");
            let lead = 4usize.saturating_sub(out_t.shape.rank());
            lines.push(format!("let shapes = [{}];", shapes.join(", ")));
            lines.push(format!("let quants = [{}];", quants.join(", ")));
            lines.push("let params = int8::concat::ConcatParams {".into());
            lines.push(format!("    axis: {},", lead + u(p[0])));
            lines.push("    shapes: &shapes,".into());
            lines.push("    input_quant: &quants,".into());
            lines.push(format!("    output_shape: {:?},", four(&out_t)));
            lines.push(format!(
                "    output_quant: QuantParams::new({}, {})?,",
                super::emit::f32_lit(out_q.scale()),
                out_q.zero_point()
            ));
            lines.push("};".into());
            lines.push(format!("let parts = [{}];", parts.join(", ")));
            let f = if int8 {
                "int8::concat::concat_s8"
            } else {
                "int8::concat::concat_s16"
            };
            call(&mut lines, f, &["&params", "&parts", y]);
        }
        OpCode::Reshape => {
            if x_t.storage != Storage::Arena || x_t.bytes != out_t.bytes {
                return Err(unsupported("a reshape of a constant"));
            }
            lines.push(format!(
                "out.copy_from_slice(rest.region({}, {})?);",
                x_t.offset, x_t.bytes
            ));
        }
        code => return Err(unsupported(format!("{} is not supported", code.name()))),
    }
    let rest = if lines.iter().any(|l| l.contains("rest.")) {
        "rest"
    } else {
        "_"
    };
    let _ = match scratch {
        None => writeln!(
            body,
            "    {{\n        let ({rest}, out) = ArenaSplit::at(&mut arena.0, {}, {})?;",
            out_t.offset, out_t.bytes
        ),
        Some((offset, bytes)) => {
            let (lhs, rhs) = (
                format!("let ({rest}, out, scratch) ="),
                format!(
                    "ArenaSplit::with_scratch(&mut arena.0, ({}, {}), ({offset}, {bytes}))?;",
                    out_t.offset, out_t.bytes
                ),
            );
            // rustfmt's layout: one line when it fits in 100 columns.
            let sep = if 8 + lhs.len() + 1 + rhs.len() <= 100 {
                " "
            } else {
                "\n            "
            };
            writeln!(body, "    {{\n        {lhs}{sep}{rhs}")
        }
    };
    for l in lines {
        let _ = writeln!(body, "        {l}");
    }
    body.push_str("    }\n\n");
    Ok(())
}

/// `f(args…)?;` on one line when it fits in 100 columns (in a block at 8 spaces),
/// else one argument a line, as rustfmt has it.
pub(super) fn call(lines: &mut Vec<String>, f: &str, args: &[&str]) {
    let one = format!("{f}({})?;", args.join(", "));
    if 8 + one.len() <= 100 {
        lines.push(one);
    } else {
        lines.push(format!("{f}("));
        lines.extend(args.iter().map(|a| format!("    {a},")));
        lines.push(")?;".into());
    }
}

/// `let quant = int8::dense::Quant::new(…);` for a dense or convolution operator.
fn dense_quant(
    x_q: &mote_core::quant::QuantParams,
    w_t: &TensorInfo<'_>,
    out_q: &mote_core::quant::QuantParams,
    ms: &str,
    op: &OpInfo<'_>,
) -> String {
    format!(
        "let quant = int8::dense::Quant::new({}, {}, {}, &{ms}, {}, {});",
        x_q.zero_point(),
        w_t.quant.zero_point(),
        out_q.zero_point(),
        op.act_min,
        op.act_max
    )
}
