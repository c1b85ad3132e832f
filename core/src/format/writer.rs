//! The `.mote` writer (feature `alloc`): an owned description of a quantised model,
//! serialised to bytes that [`ModelView::from_bytes`](super::ModelView::from_bytes)
//! accepts.

use alloc::string::String;
use alloc::vec::Vec;

use super::crc32::crc32;
use super::header::{CRC_FIELD, HEADER, MAGIC, VERSION};
use super::op::{MAX_INPUTS, OP_RECORD, OpCode, PARAMS};
use super::tensor::TENSOR_RECORD;
use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::quant::QuantizedMultiplier;

/// Quantisation of a tensor to write.
#[derive(Debug, Clone, PartialEq)]
pub enum QuantDef {
    /// None.
    None,
    /// One scale and zero point.
    PerTensor {
        /// Scale.
        scale: f32,
        /// Zero point.
        zero_point: i32,
    },
    /// Symmetric, one scale per index of `axis`.
    PerChannel {
        /// Channel axis.
        axis: usize,
        /// Scales, one per channel.
        scales: Vec<f32>,
    },
}

/// A tensor to write.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorDef {
    /// Name (for reports and `mote inspect`).
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Shape, 1 to 4 dimensions.
    pub dims: Vec<usize>,
    /// `Some(bytes)` for a constant (little-endian elements); `None` for an arena tensor.
    pub data: Option<Vec<u8>>,
    /// Arena offset of an arena tensor (set by the planner).
    pub arena_offset: usize,
    /// Quantisation.
    pub quant: QuantDef,
}

impl TensorDef {
    /// Byte length, `Π dims · dtype.size()`.
    pub fn bytes(&self) -> usize {
        self.dims.iter().product::<usize>() * self.dtype.size()
    }
}

/// An operator to write.
#[derive(Debug, Clone, PartialEq)]
pub struct OpDef {
    /// What it computes.
    pub code: OpCode,
    /// Input tensor indices.
    pub inputs: Vec<usize>,
    /// Output tensor index.
    pub output: usize,
    /// Precomputed multipliers.
    pub multipliers: Vec<QuantizedMultiplier>,
    /// Output clamp.
    pub act_min: i32,
    /// Output clamp.
    pub act_max: i32,
    /// Parameters (see [`OpCode`]).
    pub params: [i32; PARAMS],
}

/// A whole model to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelDef {
    /// Tensors.
    pub tensors: Vec<TensorDef>,
    /// Operators in execution order.
    pub ops: Vec<OpDef>,
    /// Input tensor index.
    pub input: usize,
    /// Output tensor index.
    pub output: usize,
    /// Arena bytes (set by the planner).
    pub arena_bytes: usize,
    /// Per input channel `(a, b)`: raw inputs are mapped to `a·x + b` before
    /// quantisation (the training normalisation). Empty: none.
    pub input_affine: Vec<(f32, f32)>,
}

/// Rounds `n` up to a multiple of 16.
fn align16(n: usize) -> usize {
    n.div_ceil(16) * 16
}

fn u32_of(at: &'static str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::new(ErrorKind::Overflow, at))
}

fn u16_of(at: &'static str, v: usize) -> Result<u16> {
    u16::try_from(v).map_err(|_| Error::new(ErrorKind::Overflow, at))
}

impl ModelDef {
    /// Serialises the model. Errors with `Overflow` when a count or size does not fit
    /// its field and `OutOfRange` for more than 8 inputs or more than 4 dimensions; the
    /// result is validated by reading it back only by the caller (see
    /// [`ModelView::from_bytes`](super::ModelView::from_bytes)).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let nt = self.tensors.len();
        let no = self.ops.len();
        let tensors_offset = HEADER;
        let ops_offset = align16(tensors_offset + nt * TENSOR_RECORD);
        let mut out = alloc::vec![0u8; align16(ops_offset + no * OP_RECORD)];
        // Appends `bytes` at a 16-byte boundary, returning its offset.
        let append = |out: &mut Vec<u8>, bytes: &[u8]| -> usize {
            let at = align16(out.len());
            out.resize(at, 0);
            out.extend_from_slice(bytes);
            at
        };
        let put = |out: &mut Vec<u8>, at: usize, bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes)
        };

        for (i, t) in self.tensors.iter().enumerate() {
            let at = tensors_offset + i * TENSOR_RECORD;
            if t.dims.is_empty() || t.dims.len() > 4 {
                return Err(Error::out_of_range(
                    "writer: tensor rank",
                    t.dims.len() as i64,
                    1,
                    4,
                ));
            }
            let (offset, quant) = (
                match &t.data {
                    Some(d) => append(&mut out, d),
                    None => t.arena_offset,
                },
                &t.quant,
            );
            let name_at = if t.name.is_empty() {
                0
            } else {
                append(&mut out, t.name.as_bytes())
            };
            let mut rec = [0u8; TENSOR_RECORD];
            rec[0] = t.dtype.code();
            rec[1] = if t.data.is_some() { 1 } else { 0 };
            rec[2] = t.dims.len() as u8;
            for (k, &d) in t.dims.iter().enumerate() {
                rec[4 + 4 * k..8 + 4 * k]
                    .copy_from_slice(&u32_of("writer: tensor dims", d)?.to_le_bytes());
            }
            rec[20..24].copy_from_slice(&u32_of("writer: tensor offset", offset)?.to_le_bytes());
            rec[24..28].copy_from_slice(&u32_of("writer: tensor bytes", t.bytes())?.to_le_bytes());
            match quant {
                QuantDef::None => {}
                QuantDef::PerTensor { scale, zero_point } => {
                    rec[3] = 1;
                    rec[28..32].copy_from_slice(&scale.to_le_bytes());
                    rec[32..36].copy_from_slice(&zero_point.to_le_bytes());
                }
                QuantDef::PerChannel { axis, scales } => {
                    rec[3] = 2;
                    let bytes: Vec<u8> = scales.iter().flat_map(|s| s.to_le_bytes()).collect();
                    let s_at = append(&mut out, &bytes);
                    rec[36..40]
                        .copy_from_slice(&u32_of("writer: channel axis", *axis)?.to_le_bytes());
                    rec[40..44].copy_from_slice(&u32_of("writer: scales", s_at)?.to_le_bytes());
                }
            }
            rec[44..48].copy_from_slice(&u32_of("writer: name", name_at)?.to_le_bytes());
            rec[48..52].copy_from_slice(&u32_of("writer: name", t.name.len())?.to_le_bytes());
            put(&mut out, at, &rec);
        }
        for (i, op) in self.ops.iter().enumerate() {
            let at = ops_offset + i * OP_RECORD;
            if op.inputs.len() > MAX_INPUTS {
                return Err(Error::out_of_range(
                    "writer: op inputs",
                    op.inputs.len() as i64,
                    1,
                    MAX_INPUTS as i64,
                ));
            }
            let mut rec = [0u8; OP_RECORD];
            rec[0] = op.code.code();
            rec[1] = op.inputs.len() as u8;
            rec[2..4].copy_from_slice(&u16_of("writer: op output", op.output)?.to_le_bytes());
            for k in 0..MAX_INPUTS {
                let t = match op.inputs.get(k) {
                    Some(&t) => u16_of("writer: op input", t)?,
                    None => u16::MAX,
                };
                rec[4 + 2 * k..6 + 2 * k].copy_from_slice(&t.to_le_bytes());
            }
            if !op.multipliers.is_empty() {
                let bytes: Vec<u8> = op
                    .multipliers
                    .iter()
                    .flat_map(|m| {
                        m.multiplier()
                            .to_le_bytes()
                            .into_iter()
                            .chain(m.shift().to_le_bytes())
                    })
                    .collect();
                let m_at = append(&mut out, &bytes);
                rec[20..24].copy_from_slice(&u32_of("writer: multipliers", m_at)?.to_le_bytes());
                rec[24..28].copy_from_slice(
                    &u32_of("writer: multipliers", op.multipliers.len())?.to_le_bytes(),
                );
            }
            rec[28..32].copy_from_slice(&op.act_min.to_le_bytes());
            rec[32..36].copy_from_slice(&op.act_max.to_le_bytes());
            for (k, p) in op.params.iter().enumerate() {
                rec[36 + 4 * k..40 + 4 * k].copy_from_slice(&p.to_le_bytes());
            }
            put(&mut out, at, &rec);
        }
        let affine_at = if self.input_affine.is_empty() {
            0
        } else {
            let bytes: Vec<u8> = self
                .input_affine
                .iter()
                .flat_map(|(a, b)| a.to_le_bytes().into_iter().chain(b.to_le_bytes()))
                .collect();
            append(&mut out, &bytes)
        };
        let len = align16(out.len());
        out.resize(len, 0);
        let mut h = [0u8; HEADER];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..10].copy_from_slice(&VERSION.to_le_bytes());
        h[10..12].copy_from_slice(&(HEADER as u16).to_le_bytes());
        h[16..20].copy_from_slice(&u32_of("writer: file size", len)?.to_le_bytes());
        h[24..28].copy_from_slice(&u32_of("writer: arena size", self.arena_bytes)?.to_le_bytes());
        h[28..30].copy_from_slice(&u16_of("writer: tensor count", nt)?.to_le_bytes());
        h[30..32].copy_from_slice(&u16_of("writer: op count", no)?.to_le_bytes());
        h[32..36].copy_from_slice(&u32_of("writer: tensor table", tensors_offset)?.to_le_bytes());
        h[36..40].copy_from_slice(&u32_of("writer: op table", ops_offset)?.to_le_bytes());
        h[40..42].copy_from_slice(&u16_of("writer: input", self.input)?.to_le_bytes());
        h[42..44].copy_from_slice(&u16_of("writer: output", self.output)?.to_le_bytes());
        h[44..48].copy_from_slice(&u32_of("writer: input transform", affine_at)?.to_le_bytes());
        h[48..52].copy_from_slice(
            &u32_of("writer: input transform", self.input_affine.len())?.to_le_bytes(),
        );
        out[..HEADER].copy_from_slice(&h);
        let crc = crc32(&out[CRC_FIELD + 4..]);
        out[CRC_FIELD..CRC_FIELD + 4].copy_from_slice(&crc.to_le_bytes());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{AlignedBytes, ModelView, Storage};

    /// A one-operator model: an int8 `[1, 4]` input reshaped to `[2, 2]`.
    fn reshape_model() -> ModelDef {
        let t = |name: &str, dims: Vec<usize>, offset: usize| TensorDef {
            name: name.into(),
            dtype: DType::I8,
            dims,
            data: None,
            arena_offset: offset,
            quant: QuantDef::PerTensor {
                scale: 0.5,
                zero_point: -3,
            },
        };
        ModelDef {
            tensors: alloc::vec![
                t("in", alloc::vec![1, 4], 0),
                t("out", alloc::vec![2, 2], 16)
            ],
            ops: alloc::vec![OpDef {
                code: OpCode::Reshape,
                inputs: alloc::vec![0],
                output: 1,
                multipliers: Vec::new(),
                act_min: -128,
                act_max: 127,
                params: [0; PARAMS],
            }],
            input: 0,
            output: 1,
            arena_bytes: 32,
            input_affine: alloc::vec![(1.0 / 255.0, 0.0); 4],
        }
    }

    #[test]
    fn written_models_read_back() {
        let bytes = AlignedBytes::new(&reshape_model().to_bytes().unwrap());
        let view = ModelView::from_bytes(bytes.as_bytes()).unwrap();
        assert_eq!(
            (view.tensor_count(), view.op_count(), view.arena_bytes()),
            (2, 1, 32)
        );
        let out = view.output().unwrap();
        assert_eq!(
            (out.name, out.storage, out.shape.dims()),
            ("out", Storage::Arena, &[2, 2][..])
        );
        assert_eq!(view.input_affine_of(3), (1.0 / 255.0, 0.0));
        assert_eq!(view.op(0).unwrap().code, OpCode::Reshape);
    }

    #[test]
    fn truncation_corruption_and_misalignment_are_errors() {
        let raw = reshape_model().to_bytes().unwrap();
        for len in [0, 10, 63, 64, raw.len() - 1] {
            assert!(ModelView::from_bytes(AlignedBytes::new(&raw[..len]).as_bytes()).is_err());
        }
        let mut bad = AlignedBytes::new(&raw);
        bad.as_bytes_mut()[70] ^= 1;
        let e = ModelView::from_bytes(bad.as_bytes()).unwrap_err();
        assert_eq!(e.at, "header: crc32 (corrupted file)");
        // One byte off a 16-byte boundary.
        let shifted = AlignedBytes::new(&[&[0u8][..], &raw].concat());
        assert!(ModelView::from_bytes(&shifted.as_bytes()[1..]).is_err());
        // An output overlapping its input (with a valid checksum) is a bad plan.
        let mut m = reshape_model();
        m.tensors[1].arena_offset = 0;
        m.tensors[1].dims = alloc::vec![1, 2];
        let e = ModelView::from_bytes(AlignedBytes::new(&m.to_bytes().unwrap()).as_bytes())
            .unwrap_err();
        assert!(
            e.at.starts_with("op: RESHAPE") || e.at.starts_with("op: output overlaps"),
            "{e}"
        );
    }
}
