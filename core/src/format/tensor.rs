//! Tensor records of a `.mote` file: element type, shape, where the data lives
//! (a constant in the file or an activation in the arena) and its quantisation.

use super::bytes::{Bytes, malformed};
use crate::dtype::DType;
use crate::error::Result;
use crate::quant::QuantParams;
use crate::shape::{MAX_RANK, Shape};

/// Bytes of one tensor record.
pub const TENSOR_RECORD: usize = 64;

/// Where a tensor's elements live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Storage {
    /// Read-only data in the model file (weights, biases).
    Constant,
    /// A region of the caller's arena (activations, the input and output).
    Arena,
}

impl Storage {
    /// The byte stored in a record.
    pub const fn code(self) -> u8 {
        match self {
            Self::Arena => 0,
            Self::Constant => 1,
        }
    }
}

/// How a tensor's integers map to real numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantization<'a> {
    /// Not quantised (f32 data, or integers used as they are).
    None,
    /// One scale and zero point for the whole tensor.
    PerTensor(QuantParams),
    /// Symmetric, one scale per index of `axis` (zero points are 0): little-endian f32
    /// scales, validated finite and positive.
    PerChannel {
        /// The channel axis.
        axis: usize,
        /// The scales, 4 bytes each.
        scales: &'a [u8],
    },
}

impl Quantization<'_> {
    /// The byte stored in a record.
    pub const fn code(&self) -> u8 {
        match self {
            Self::None => 0,
            Self::PerTensor(_) => 1,
            Self::PerChannel { .. } => 2,
        }
    }

    /// Scale of channel `c` (the per-tensor scale for every `c`; `None` when not
    /// quantised or `c` is out of range).
    pub fn scale(&self, c: usize) -> Option<f32> {
        match self {
            Self::None => None,
            Self::PerTensor(q) => Some(q.scale()),
            Self::PerChannel { scales, .. } => {
                let at = c.checked_mul(4)?;
                let b = scales.get(at..at.checked_add(4)?)?;
                Some(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
        }
    }

    /// Zero point (0 unless per-tensor).
    pub fn zero_point(&self) -> i32 {
        match self {
            Self::PerTensor(q) => q.zero_point(),
            _ => 0,
        }
    }
}

/// One validated tensor record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorInfo<'a> {
    /// Element type.
    pub dtype: DType,
    /// Where the elements live.
    pub storage: Storage,
    /// Shape (every dimension at least 1).
    pub shape: Shape,
    /// Byte offset: into the file for a constant, into the arena for an activation.
    pub offset: usize,
    /// Byte length, `shape.len() · dtype.size()`.
    pub bytes: usize,
    /// Quantisation.
    pub quant: Quantization<'a>,
    /// Name (may be empty).
    pub name: &'a str,
}

impl<'a> TensorInfo<'a> {
    /// Element count.
    pub fn len(&self) -> usize {
        self.shape.len()
    }

    /// Whether the tensor has no elements (never true for a validated tensor).
    pub fn is_empty(&self) -> bool {
        self.shape.is_empty()
    }

    /// The per-tensor quantisation, if that is what the tensor has.
    pub fn per_tensor(&self) -> Option<QuantParams> {
        match self.quant {
            Quantization::PerTensor(q) => Some(q),
            _ => None,
        }
    }
}

/// Reads and validates tensor record `index` at `at` of `file`, whose arena is
/// `arena_bytes` long and whose constant data ends at `data_end`.
pub(crate) fn read<'a>(file: Bytes<'a>, at: usize, arena_bytes: usize) -> Result<TensorInfo<'a>> {
    let dtype =
        DType::from_code(file.u8("tensor: dtype", at)?).ok_or(malformed("tensor: dtype", at))?;
    let storage = match file.u8("tensor: storage", at + 1)? {
        0 => Storage::Arena,
        1 => Storage::Constant,
        _ => return Err(malformed("tensor: storage", at + 1)),
    };
    let rank = file.u8("tensor: rank", at + 2)? as usize;
    if rank == 0 || rank > MAX_RANK {
        return Err(malformed("tensor: rank", at + 2));
    }
    let mut dims = [1usize; MAX_RANK];
    for (i, d) in dims.iter_mut().enumerate() {
        let field = at + 4 + 4 * i;
        let v = file.usize("tensor: dims", field)?;
        if i < rank {
            if v == 0 {
                return Err(malformed("tensor: dims", field));
            }
            *d = v;
        } else if v != 0 {
            return Err(malformed("tensor: dims (unused must be 0)", field));
        }
    }
    let shape = Shape::new(&dims[..rank]).map_err(|_| malformed("tensor: dims", at + 4))?;
    let offset = file.usize("tensor: offset", at + 20)?;
    let bytes = file.usize("tensor: bytes", at + 24)?;
    let expected = shape
        .len()
        .checked_mul(dtype.size())
        .ok_or(malformed("tensor: bytes", at + 24))?;
    if bytes != expected {
        return Err(malformed("tensor: bytes", at + 24));
    }
    match storage {
        Storage::Constant => {
            if offset % 16 != 0 {
                return Err(malformed(
                    "tensor: offset (constant data is 16-byte aligned)",
                    at + 20,
                ));
            }
            file.slice("tensor: offset", offset, bytes)?;
        }
        Storage::Arena => {
            let end = offset.checked_add(bytes);
            if offset % 16 != 0 || end.is_none_or(|e| e > arena_bytes) {
                return Err(malformed("tensor: offset (outside the arena)", at + 20));
            }
        }
    }
    let quant = read_quant(file, at, dtype, &shape)?;
    let name_off = file.usize("tensor: name", at + 44)?;
    let name_len = file.usize("tensor: name", at + 48)?;
    let name = core::str::from_utf8(file.slice("tensor: name", name_off, name_len)?)
        .map_err(|_| malformed("tensor: name (not UTF-8)", name_off))?;
    for r in (52..TENSOR_RECORD).step_by(4) {
        if file.u32("tensor: reserved", at + r)? != 0 {
            return Err(malformed("tensor: reserved (must be 0)", at + r));
        }
    }
    Ok(TensorInfo {
        dtype,
        storage,
        shape,
        offset,
        bytes,
        quant,
        name,
    })
}

/// The quantisation fields of the record at `at`.
fn read_quant<'a>(
    file: Bytes<'a>,
    at: usize,
    dtype: DType,
    shape: &Shape,
) -> Result<Quantization<'a>> {
    let code = file.u8("tensor: quantization", at + 3)?;
    let scale = file.f32("tensor: scale", at + 28)?;
    let zero_point = file.i32("tensor: zero_point", at + 32)?;
    let axis = file.usize("tensor: channel_axis", at + 36)?;
    let scales_off = file.usize("tensor: scales", at + 40)?;
    let unused = |fields_zero: bool, field: usize| {
        if fields_zero {
            Ok(())
        } else {
            Err(malformed(
                "tensor: unused quantization field (must be 0)",
                field,
            ))
        }
    };
    match code {
        0 => {
            unused(scale.to_bits() == 0 && zero_point == 0, at + 28)?;
            unused(axis == 0 && scales_off == 0, at + 36)?;
            Ok(Quantization::None)
        }
        1 => {
            let (lo, hi) = dtype
                .int_range()
                .ok_or(malformed("tensor: quantization of a float tensor", at + 3))?;
            if !(lo..=hi).contains(&(zero_point as i64)) {
                return Err(malformed("tensor: zero_point (outside its type)", at + 32));
            }
            let q = QuantParams::new(scale, zero_point)
                .map_err(|_| malformed("tensor: scale", at + 28))?;
            unused(axis == 0 && scales_off == 0, at + 36)?;
            Ok(Quantization::PerTensor(q))
        }
        2 => {
            unused(scale.to_bits() == 0 && zero_point == 0, at + 28)?;
            if dtype.int_range().is_none() {
                return Err(malformed("tensor: quantization of a float tensor", at + 3));
            }
            let channels = shape
                .dim(axis)
                .ok_or(malformed("tensor: channel_axis", at + 36))?;
            if scales_off % 4 != 0 {
                return Err(malformed("tensor: scales (4-byte aligned)", at + 40));
            }
            // Checked: on a 32-bit target `channels · 4` can overflow `usize`.
            let len = channels
                .checked_mul(4)
                .ok_or(malformed("tensor: channel_axis", at + 36))?;
            let scales = file.slice("tensor: scales", scales_off, len)?;
            for (i, s) in scales.chunks_exact(4).enumerate() {
                let s = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                if !(s.is_finite() && s > 0.0) {
                    return Err(malformed(
                        "tensor: scales (finite, positive)",
                        scales_off + 4 * i,
                    ));
                }
            }
            Ok(Quantization::PerChannel { axis, scales })
        }
        _ => Err(malformed("tensor: quantization", at + 3)),
    }
}
