//! From a float graph and activation ranges to a `.mote` model description: symmetric
//! per-channel int8 weights, asymmetric int8 (or symmetric int16) activations, int32
//! (int64) biases, and every requantisation multiplier precomputed — TFLite's
//! full-integer post-training quantisation scheme.

use super::calibrate::LstmRange;
use super::graph::{FGraph, FKind, FOp};
use crate::{Error, Result};
use mote_core::dtype::DType;
use mote_core::format::{ModelDef, OpCode, OpDef, PARAMS, QuantDef, TensorDef};
use mote_core::quant::{QuantParams, QuantizedMultiplier, Rounding, softmax_scaling};

/// Activation precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// int8 activations, int32 biases.
    #[default]
    Int8,
    /// int16 activations (symmetric), int64 biases: the 16x8 scheme.
    Int16,
}

impl Precision {
    fn dtype(self) -> DType {
        match self {
            Self::Int8 => DType::I8,
            Self::Int16 => DType::I16,
        }
    }

    fn range(self) -> (i32, i32) {
        match self {
            Self::Int8 => (-128, 127),
            Self::Int16 => (-32768, 32767),
        }
    }
}

/// Scale and zero point for values in `[lo, hi]` (which contains 0): TFLite's
/// `ChooseQuantizationParams` for int8 (zero point nudged to an integer), symmetric
/// for int16.
pub fn activation_params(lo: f32, hi: f32, precision: Precision) -> Result<QuantParams> {
    let (lo, hi) = (lo.min(0.0) as f64, hi.max(0.0) as f64);
    let (qmin, qmax) = precision.range();
    let q = match precision {
        Precision::Int8 => {
            let scale = if hi > lo {
                (hi - lo) / (qmax - qmin) as f64
            } else {
                1.0 / 255.0
            };
            let zp = (qmin as f64 - lo / scale)
                .round()
                .clamp(qmin as f64, qmax as f64) as i32;
            QuantParams::new(scale as f32, zp)
        }
        Precision::Int16 => {
            let m = lo.abs().max(hi.abs());
            let scale = if m > 0.0 {
                m / qmax as f64
            } else {
                1.0 / 32767.0
            };
            QuantParams::new(scale as f32, 0)
        }
    };
    Ok(q?)
}

/// Symmetric per-channel int8 weights: for `channels` channels where element `i`
/// belongs to channel `channel(i)`, the scales `max|w|/127` and the rounded values.
pub(super) fn quantize_weights(
    w: &[f32],
    channels: usize,
    channel: impl Fn(usize) -> usize,
) -> (Vec<f32>, Vec<u8>) {
    let mut max = vec![0f32; channels];
    for (i, &v) in w.iter().enumerate() {
        let c = channel(i);
        max[c] = max[c].max(v.abs());
    }
    let scales: Vec<f32> = max
        .iter()
        .map(|&m| if m > 0.0 { m / 127.0 } else { 1.0 })
        .collect();
    let q = w
        .iter()
        .enumerate()
        .map(|(i, &v)| (v / scales[channel(i)]).round().clamp(-127.0, 127.0) as i8 as u8)
        .collect();
    (scales, q)
}

/// `.mote` dimensions of a trainer sample shape: images `[1, h, w, c]`, sequences
/// `[1, 1, length, c]`, vectors `[1, n]`.
pub fn dims_of(shape: &[usize]) -> Vec<usize> {
    let mut d = vec![1];
    if shape.len() == 2 {
        d.push(1);
    }
    d.extend_from_slice(shape);
    d
}

/// Builds the model description (arena offsets not yet planned).
/// `lstm` holds, per operator, what [`lstm_ranges`](super::calibrate::lstm_ranges)
/// calibrated for an LSTM.
pub fn quantize(
    graph: &FGraph,
    ranges: &[(f32, f32)],
    lstm: &[Option<LstmRange>],
    precision: Precision,
) -> Result<ModelDef> {
    let dtype = precision.dtype();
    // Activation quantisation, with pools and reshapes keeping their input's (as the
    // integer kernels require) and softmax its fixed output scale.
    let mut quant: Vec<QuantParams> = ranges
        .iter()
        .map(|&(lo, hi)| activation_params(lo, hi, precision))
        .collect::<Result<_>>()?;
    for (o, op) in graph.ops.iter().enumerate() {
        match op.kind {
            FKind::Lstm { .. } => {
                // The hidden state is the recurrent input at every step: its range over
                // all steps, not only those returned.
                let (lo, hi) = ranges[op.output];
                let h = lstm
                    .get(o)
                    .copied()
                    .flatten()
                    .map_or((lo, hi), |r| r.hidden);
                quant[op.output] = activation_params(lo.min(h.0), hi.max(h.1), precision)?;
            }
            FKind::MaxPool(_) | FKind::AvgPool(_) | FKind::Reshape => {
                quant[op.output] = quant[op.input()]
            }
            FKind::Logistic | FKind::Tanh => {
                quant[op.output] = match (precision, &op.kind) {
                    (Precision::Int8, FKind::Logistic) => QuantParams::new(1.0 / 256.0, -128)?,
                    (Precision::Int8, _) => QuantParams::new(1.0 / 128.0, 0)?,
                    _ => QuantParams::new(1.0 / 32768.0, 0)?,
                }
            }
            FKind::Softmax => {
                quant[op.output] = match precision {
                    Precision::Int8 => QuantParams::new(1.0 / 256.0, -128)?,
                    Precision::Int16 => QuantParams::new(1.0 / 32768.0, 0)?,
                }
            }
            _ => {}
        }
    }
    let mut def = ModelDef {
        tensors: graph
            .tensors
            .iter()
            .enumerate()
            .map(|(i, t)| TensorDef {
                name: match i {
                    0 => "input".into(),
                    _ => graph
                        .ops
                        .iter()
                        .find(|op| op.output == i)
                        .map_or_else(String::new, |op| op.name.clone()),
                },
                dtype,
                dims: dims_of(&t.shape),
                data: None,
                arena_offset: 0,
                quant: QuantDef::PerTensor {
                    scale: quant[i].scale(),
                    zero_point: quant[i].zero_point(),
                },
            })
            .collect(),
        ops: Vec::new(),
        input: 0,
        output: graph.output,
        arena_bytes: 0,
        input_affine: Vec::new(),
    };
    for (o, op) in graph.ops.iter().enumerate() {
        let od = match (&op.kind, lstm.get(o).copied().flatten()) {
            (FKind::Lstm { .. }, Some(r)) => {
                super::lstm::lower_lstm(&mut def, op, &quant, r, precision)?
            }
            (FKind::Lstm { .. }, None) => {
                return Err(Error::Mismatch {
                    detail: format!("export: LSTM '{}' was not calibrated", op.name),
                });
            }
            _ => lower_op(&mut def, op, &quant, precision)?,
        };
        def.ops.push(od);
    }
    Ok(def)
}

/// Adds a constant tensor, returning its index.
pub(super) fn constant(
    def: &mut ModelDef,
    name: String,
    dtype: DType,
    dims: Vec<usize>,
    data: Vec<u8>,
    quant: QuantDef,
) -> usize {
    def.tensors.push(TensorDef {
        name,
        dtype,
        dims,
        data: Some(data),
        arena_offset: 0,
        quant,
    });
    def.tensors.len() - 1
}

/// The format's convolution parameters `[stride h, w, dilation h, w, pad top, bottom,
/// left, right]` (shared by CONV_2D and DEPTHWISE_CONV_2D).
fn window_params([h, w]: [mote_core::padding::Window; 2], pads: &[usize; 4]) -> [usize; 8] {
    [
        h.stride, w.stride, h.dilation, w.dilation, pads[0], pads[1], pads[2], pads[3],
    ]
}

/// A weighted operator's float weights, bias, weight dims and channel axis.
type Weighted<'a> = (&'a [f32], &'a [f32], Vec<usize>, usize);

/// The integer operator for float operator `op`.
fn lower_op(
    def: &mut ModelDef,
    op: &FOp,
    quant: &[QuantParams],
    precision: Precision,
) -> Result<OpDef> {
    let (qx, qy) = (quant[op.input()], quant[op.output]);
    let (tmin, tmax) = precision.range();
    let (act_min, act_max) = op.act.range_quantized(qy, tmin, tmax)?;
    let mut params = [0i32; PARAMS];
    let mut od = OpDef {
        code: OpCode::Reshape,
        inputs: op.inputs.clone(),
        output: op.output,
        multipliers: Vec::new(),
        act_min,
        act_max,
        params,
    };
    let i32_of = |v: usize| {
        i32::try_from(v).map_err(|_| {
            Error::spec(
                format!("export: '{}'", op.name),
                "a size does not fit in 32 bits",
            )
        })
    };
    let weighted: Option<Weighted<'_>> = match &op.kind {
        FKind::Conv {
            params: p,
            pads,
            w,
            b,
        } => {
            od.code = OpCode::Conv2d;
            let v = window_params([p.window_h, p.window_w], pads);
            for (slot, x) in params.iter_mut().zip(v) {
                *slot = i32_of(x)?;
            }
            let dims = vec![
                p.out_c,
                p.window_h.size,
                p.window_w.size,
                p.in_c / p.groups.max(1),
            ];
            Some((w, b, dims, 0))
        }
        FKind::Depthwise {
            params: p,
            pads,
            w,
            b,
        } => {
            od.code = OpCode::DepthwiseConv2d;
            let v = window_params([p.window_h, p.window_w], pads);
            for (slot, x) in params.iter_mut().zip(v) {
                *slot = i32_of(x)?;
            }
            let dims = vec![
                1,
                p.window_h.size,
                p.window_w.size,
                p.channels * p.multiplier,
            ];
            Some((w, b, dims, 3))
        }
        FKind::Dense {
            inputs,
            outputs,
            w,
            b,
        } => {
            od.code = OpCode::FullyConnected;
            Some((w, b, vec![*outputs, *inputs], 0))
        }
        FKind::Lstm { .. } => {
            return Err(Error::Mismatch {
                detail: format!("export: LSTM '{}' lowered without its ranges", op.name),
            });
        }
        FKind::Transpose { .. } => {
            return Err(Error::spec(
                format!("export: layer '{}'", op.name),
                "transposed convolutions cannot be exported yet",
            ));
        }
        FKind::MaxPool(g) | FKind::AvgPool(g) => {
            od.code = if matches!(op.kind, FKind::MaxPool(_)) {
                OpCode::MaxPool2d
            } else {
                OpCode::AvgPool2d
            };
            let v = [
                g.kernel[0],
                g.kernel[1],
                g.stride[0],
                g.stride[1],
                g.pad[0],
                g.pad[1],
            ];
            for (slot, x) in params.iter_mut().zip(v) {
                *slot = i32_of(x)?;
            }
            None
        }
        FKind::Softmax => {
            od.code = OpCode::Softmax;
            match precision {
                Precision::Int8 => {
                    let s = softmax_scaling(1.0, qx.scale() as f64, 5, Rounding::Double)?;
                    params[..3].copy_from_slice(&[s.multiplier, s.left_shift, s.diff_min]);
                }
                Precision::Int16 => {
                    // TFLite: input differences scaled so that [−65535, 0] spans the
                    // exp table's [−10, 0].
                    use mote_kernels::int16::softmax::{exp_lut, one_by_one_lut};
                    let real = qx.scale() as f64 / (10.0 / 65535.0);
                    od.multipliers = vec![QuantizedMultiplier::from_real(real)?];
                    let bytes =
                        |t: [i16; 513]| t.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
                    let e = constant(
                        def,
                        format!("{}/exp_lut", op.name),
                        DType::I16,
                        vec![513],
                        bytes(exp_lut()),
                        QuantDef::None,
                    );
                    let o = constant(
                        def,
                        format!("{}/one_by_one_lut", op.name),
                        DType::I16,
                        vec![513],
                        bytes(one_by_one_lut()),
                        QuantDef::None,
                    );
                    od.inputs.extend([e, o]);
                }
            }
            None
        }
        FKind::Reshape => None,
        FKind::Concat => {
            od.code = OpCode::Concat;
            // The last axis of the output's `.mote` dims (channels).
            params[0] = i32_of(def.tensors[op.output].dims.len() - 1)?;
            None
        }
        FKind::Relu => {
            od.code = OpCode::Relu;
            od.multipliers = vec![QuantizedMultiplier::from_real(
                qx.scale() as f64 / qy.scale() as f64,
            )?];
            None
        }
        FKind::Add => {
            od.code = OpCode::Add;
            let qb = quant[op.inputs[1]];
            // TFLite's ADD preparation: both inputs onto twice the larger input scale,
            // shifted left by 20 (int8) or 15 (int16) bits for precision.
            let left_shift = if precision == Precision::Int8 { 20 } else { 15 };
            let twice_max = 2.0 * (qx.scale() as f64).max(qb.scale() as f64);
            let real_out = twice_max / ((1u64 << left_shift) as f64 * qy.scale() as f64);
            od.multipliers = vec![
                QuantizedMultiplier::from_real_smaller_than_one(qx.scale() as f64 / twice_max)?,
                QuantizedMultiplier::from_real_smaller_than_one(qb.scale() as f64 / twice_max)?,
                QuantizedMultiplier::from_real_smaller_than_one(real_out)?,
            ];
            params[0] = left_shift;
            None
        }
        FKind::Logistic | FKind::Tanh => {
            let logistic = matches!(op.kind, FKind::Logistic);
            od.code = if logistic {
                OpCode::Logistic
            } else {
                OpCode::Tanh
            };
            match precision {
                Precision::Int8 => {
                    let p = mote_kernels::int8::activation::Params::from_scale(
                        qx.scale(),
                        qx.zero_point(),
                    )?;
                    od.multipliers = vec![p.input_multiplier];
                    params[0] = p.input_range_radius;
                }
                Precision::Int16 => {
                    use mote_kernels::int16::activation::Params as P16;
                    let p = if logistic {
                        P16::logistic_from_scale(qx.scale(), qx.zero_point())?
                    } else {
                        P16::tanh_from_scale(qx.scale(), qx.zero_point())?
                    };
                    params[..2].copy_from_slice(&[p.input_multiplier, p.input_left_shift]);
                }
            }
            None
        }
    };
    if let Some((w, b, dims, axis)) = weighted {
        let channels = dims[axis];
        let per_row = w.len() / channels.max(1);
        let (scales, qw) = if axis == 0 {
            quantize_weights(w, channels, |i| i / per_row)
        } else {
            quantize_weights(w, channels, |i| i % channels)
        };
        let bias_scale = |c: usize| qx.scale() as f64 * scales[c] as f64;
        let bias: Vec<u8> = match precision {
            Precision::Int8 => (0..channels)
                .flat_map(|c| {
                    ((b[c] as f64 / bias_scale(c))
                        .round()
                        .clamp(i32::MIN as f64, i32::MAX as f64) as i32)
                        .to_le_bytes()
                })
                .collect(),
            Precision::Int16 => (0..channels)
                .flat_map(|c| ((b[c] as f64 / bias_scale(c)).round() as i64).to_le_bytes())
                .collect(),
        };
        od.multipliers = scales
            .iter()
            .map(|&s| QuantizedMultiplier::for_conv(qx.scale(), s, qy.scale()))
            .collect::<mote_core::Result<_>>()?;
        let w_t = constant(
            def,
            format!("{}/weights", op.name),
            DType::I8,
            dims,
            qw,
            QuantDef::PerChannel { axis, scales },
        );
        let bias_dtype = if precision == Precision::Int8 {
            DType::I32
        } else {
            DType::I64
        };
        let b_t = constant(
            def,
            format!("{}/bias", op.name),
            bias_dtype,
            vec![channels],
            bias,
            QuantDef::None,
        );
        od.inputs.extend([w_t, b_t]);
    }
    od.params = params;
    Ok(od)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_params_nudge_zero_to_an_integer() {
        let q = activation_params(-1.0, 3.0, Precision::Int8).unwrap();
        assert!((q.scale() - 4.0 / 255.0).abs() < 1e-7);
        assert_eq!(q.zero_point(), -64);
        let q = activation_params(0.0, 6.0, Precision::Int8).unwrap();
        assert_eq!(q.zero_point(), -128);
        let q = activation_params(-2.0, 1.0, Precision::Int16).unwrap();
        assert_eq!(q.zero_point(), 0);
        assert!((q.scale() - 2.0 / 32767.0).abs() < 1e-9);
    }

    #[test]
    fn weights_are_symmetric_per_channel() {
        let (s, q) = quantize_weights(&[0.5, -1.0, 2.0, 0.0], 2, |i| i / 2);
        assert_eq!(s, [1.0 / 127.0, 2.0 / 127.0]);
        assert_eq!(
            q.iter().map(|&b| b as i8).collect::<Vec<_>>(),
            [64, -127, 127, 0]
        );
        let (s, _) = quantize_weights(&[0.0, 0.0], 1, |_| 0);
        assert_eq!(s, [1.0]);
    }
}
