//! The zero-copy reader: [`ModelView::from_bytes`] validates a whole `.mote` file once,
//! then hands out tensor and operator records that borrow from it.

use super::bytes::{Bytes, malformed};
use super::header::{self, HEADER, Header};
use super::op::{self, OP_RECORD, OpCode, OpInfo};
use super::tensor::{self, Storage, TENSOR_RECORD, TensorInfo};
use super::validate;
use crate::error::{Error, ErrorKind, Result};

/// A validated `.mote` model, borrowing the file's bytes (which may live in flash).
#[derive(Debug, Clone, Copy)]
pub struct ModelView<'a> {
    bytes: &'a [u8],
    header: Header,
}

impl<'a> ModelView<'a> {
    /// Validates `bytes` as a `.mote` file: header, checksum, every tensor and operator
    /// record, every offset and length, each operator's shapes, types and parameters,
    /// the execution order (every input produced before it is read) and the memory plan
    /// (an operator's output never partly overlaps one of its inputs).
    ///
    /// The bytes must start at a 16-byte-aligned address (as the data of
    /// [`include_model!`](crate::include_model) or a `#[repr(align(16))]` buffer does),
    /// so that constant tensors can be borrowed in place.
    ///
    /// Errors: `Malformed { offset }` naming the field and its byte offset;
    /// `Unsupported` for another format version or a big-endian target.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        if cfg!(target_endian = "big") {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "model: big-endian targets",
            ));
        }
        if !(bytes.as_ptr() as usize).is_multiple_of(16) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "model: bytes must start at a 16-byte-aligned address (use include_model!)",
            ));
        }
        let file = Bytes(bytes);
        let header = header::read(file)?;
        let view = Self { bytes, header };
        view.check_tables()?;
        view.check_graph()?;
        Ok(view)
    }

    /// The header fields.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Bytes of arena the model needs.
    pub fn arena_bytes(&self) -> usize {
        self.header.arena_bytes
    }

    /// Number of tensors.
    pub fn tensor_count(&self) -> usize {
        self.header.tensors
    }

    /// Number of operators.
    pub fn op_count(&self) -> usize {
        self.header.ops
    }

    /// Tensor `i`.
    pub fn tensor(&self, i: usize) -> Result<TensorInfo<'a>> {
        if i >= self.header.tensors {
            return Err(Error::out_of_range(
                "model: tensor index",
                i as i64,
                0,
                self.header.tensors as i64 - 1,
            ));
        }
        tensor::read(
            Bytes(self.bytes),
            self.header.tensors_offset + i * TENSOR_RECORD,
            self.header.arena_bytes,
        )
    }

    /// Operator `i`, in execution order.
    pub fn op(&self, i: usize) -> Result<OpInfo<'a>> {
        if i >= self.header.ops {
            return Err(Error::out_of_range(
                "model: op index",
                i as i64,
                0,
                self.header.ops as i64 - 1,
            ));
        }
        op::read(
            Bytes(self.bytes),
            self.header.ops_offset + i * OP_RECORD,
            self.header.tensors,
        )
    }

    /// The model's input tensor.
    pub fn input(&self) -> Result<TensorInfo<'a>> {
        self.tensor(self.header.input)
    }

    /// The model's output tensor.
    pub fn output(&self) -> Result<TensorInfo<'a>> {
        self.tensor(self.header.output)
    }

    /// The input transform: for each channel (the input's last axis) the `(a, b)` of
    /// `x' = a·x + b`, applied to raw inputs before quantisation (the training data's
    /// normalisation); empty when the model takes its inputs as they are.
    pub fn input_affine(&self) -> &'a [u8] {
        let h = &self.header;
        // Validated by `from_bytes`; checked anyway so the accessor cannot overflow.
        h.input_affine_channels
            .checked_mul(8)
            .and_then(|n| n.checked_add(h.input_affine_offset))
            .and_then(|end| self.bytes.get(h.input_affine_offset..end))
            .unwrap_or(&[])
    }

    /// The `(a, b)` of input channel `c`'s transform (`(1, 0)` when there is none).
    pub fn input_affine_of(&self, c: usize) -> (f32, f32) {
        let f = |b: &[u8]| f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        match self.input_affine().get(8 * c..8 * c + 8) {
            Some(p) => (f(&p[..4]), f(&p[4..])),
            None => (1.0, 0.0),
        }
    }

    /// The bytes of a constant tensor (empty for an arena tensor).
    pub fn data(&self, t: &TensorInfo<'a>) -> &'a [u8] {
        match t.storage {
            Storage::Constant => t
                .offset
                .checked_add(t.bytes)
                .and_then(|end| self.bytes.get(t.offset..end))
                .unwrap_or(&[]),
            Storage::Arena => &[],
        }
    }

    /// Table bounds and every record on its own.
    fn check_tables(&self) -> Result<()> {
        let h = &self.header;
        let file = Bytes(self.bytes);
        let table =
            |at: &'static str, field: usize, offset: usize, n: usize, size: usize| -> Result<()> {
                if !offset.is_multiple_of(16) || offset < HEADER {
                    return Err(malformed(at, field));
                }
                file.slice(at, offset, n.checked_mul(size).ok_or(malformed(at, field))?)?;
                Ok(())
            };
        table(
            "header: tensor table",
            32,
            h.tensors_offset,
            h.tensors,
            TENSOR_RECORD,
        )?;
        table("header: op table", 36, h.ops_offset, h.ops, OP_RECORD)?;
        if h.ops == 0 {
            return Err(malformed(
                "header: op count (a model has at least one operator)",
                30,
            ));
        }
        for i in 0..h.tensors {
            self.tensor(i)?;
        }
        if h.input_affine_channels != 0 || h.input_affine_offset != 0 {
            let input = self
                .tensor(h.input)
                .map_err(|_| malformed("header: input", 40))?;
            let channels = input.shape.dims().last().copied().unwrap_or(0);
            if h.input_affine_channels != channels || !h.input_affine_offset.is_multiple_of(4) {
                return Err(malformed(
                    "header: input transform (one (a, b) per input channel)",
                    48,
                ));
            }
            // Checked: on a 32-bit target `8 · channels` can overflow `usize`.
            let len = channels
                .checked_mul(8)
                .ok_or(malformed("header: input transform channels", 48))?;
            let bytes = file.slice("header: input transform", h.input_affine_offset, len)?;
            for (i, v) in bytes.chunks_exact(4).enumerate() {
                if !f32::from_le_bytes([v[0], v[1], v[2], v[3]]).is_finite() {
                    return Err(malformed(
                        "header: input transform (not finite)",
                        h.input_affine_offset + 4 * i,
                    ));
                }
            }
        }
        for (name, field, t) in [
            ("header: input", 40, h.input),
            ("header: output", 42, h.output),
        ] {
            let t = self.tensor(t).map_err(|_| malformed(name, field))?;
            if t.storage != Storage::Arena {
                return Err(malformed(name, field));
            }
        }
        Ok(())
    }

    /// Each operator's semantics, the execution order and the memory plan.
    fn check_graph(&self) -> Result<()> {
        let h = &self.header;
        // Tensors written so far: bit i of word i / 32. At most 65 535 tensors (u16).
        let mut ready = [0u32; 2048];
        let mark = |ready: &mut [u32; 2048], t: usize| ready[t / 32] |= 1 << (t % 32);
        let is = |ready: &[u32; 2048], t: usize| ready[t / 32] & (1 << (t % 32)) != 0;
        mark(&mut ready, h.input);
        for i in 0..h.ops {
            let at = h.ops_offset + i * OP_RECORD;
            let op = self.op(i)?;
            validate::op(&op, at, |t| self.tensor(t))?;
            let out = self.tensor(op.output)?;
            if is(&ready, op.output) {
                return Err(malformed(
                    "op: output written twice (or over the model input)",
                    at + 2,
                ));
            }
            for t in op.inputs() {
                let x = self.tensor(t)?;
                if x.storage == Storage::Arena && !is(&ready, t) {
                    return Err(malformed("op: input read before it is written", at + 4));
                }
                if x.storage == Storage::Arena && !disjoint_or_in_place(op.code, &x, &out) {
                    return Err(malformed(
                        "op: output overlaps an input (bad memory plan)",
                        at + 2,
                    ));
                }
            }
            mark(&mut ready, op.output);
        }
        if !is(&ready, h.output) {
            return Err(malformed("header: output (never written)", 42));
        }
        Ok(())
    }
}

/// Whether `out` may occupy its place relative to input `x`: disjoint, or exactly the
/// same region for a reshape (which then has nothing to do).
fn disjoint_or_in_place(code: OpCode, x: &TensorInfo<'_>, out: &TensorInfo<'_>) -> bool {
    let disjoint = x.offset + x.bytes <= out.offset || out.offset + out.bytes <= x.offset;
    let same = x.offset == out.offset && x.bytes == out.bytes;
    disjoint || (same && code == OpCode::Reshape)
}
