//! Running a [`Model`] inside a caller's arena: no allocation, no globals.

use super::model::Model;
use super::ops;
use super::regions::{cast, cast_mut};
use mote_core::dtype::DType;
use mote_core::format::TensorInfo;
use mote_core::{Error, ErrorKind, Result};

/// Runs a model's operators in a caller-provided arena.
///
/// ```ignore
/// let model = Model::from_bytes(MODEL)?;
/// let mut arena = [0u8; 8 * 1024];
/// let mut it = Interpreter::new(&model, &mut arena)?;
/// it.set_input_f32(&image)?;
/// it.invoke()?;
/// let class = it.output_i8()?.iter().enumerate().max_by_key(|(_, v)| **v);
/// ```
#[derive(Debug)]
pub struct Interpreter<'m, 'a, 'r> {
    model: &'m Model<'a>,
    arena: &'r mut [u8],
}

impl<'m, 'a, 'r> Interpreter<'m, 'a, 'r> {
    /// An interpreter for `model` over `arena`. The arena's first 16-byte boundary is
    /// where the plan starts.
    ///
    /// Errors: `BufferTooSmall { needed, actual }` (in bytes, at `"interpreter: arena"`)
    /// when the arena is shorter than the model's arena size plus the bytes skipped to
    /// reach a 16-byte boundary.
    pub fn new(model: &'m Model<'a>, arena: &'r mut [u8]) -> Result<Self> {
        let skip = (16 - (arena.as_ptr() as usize) % 16) % 16;
        let needed = skip + model.arena_bytes();
        if arena.len() < needed {
            return Err(Error::too_small(
                "interpreter: arena (bytes)",
                needed,
                arena.len(),
            ));
        }
        let arena = &mut arena[skip..needed];
        Ok(Self { model, arena })
    }

    /// The model.
    pub fn model(&self) -> &'m Model<'a> {
        self.model
    }

    /// Runs every operator in order, reading the input tensor and leaving the result in
    /// the output tensor.
    pub fn invoke(&mut self) -> Result<()> {
        let view = self.model.view();
        for i in 0..view.op_count() {
            let op = view.op(i)?;
            ops::run(view, &op, self.arena)?;
        }
        Ok(())
    }

    /// As [`invoke`](Self::invoke), calling `after(i, bytes)` with each operator's
    /// index and output bytes as soon as it has run (before the plan may reuse them),
    /// for per-layer comparisons with a float model.
    pub fn invoke_each(&mut self, mut after: impl FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        let view = self.model.view();
        for i in 0..view.op_count() {
            let op = view.op(i)?;
            ops::run(view, &op, self.arena)?;
            let out = view.tensor(op.output)?;
            after(i, self.region(&out)?)?;
        }
        Ok(())
    }

    fn region(&self, t: &TensorInfo<'_>) -> Result<&[u8]> {
        let end = t.offset.saturating_add(t.bytes);
        self.arena.get(t.offset..end).ok_or(Error::new(
            ErrorKind::Malformed { offset: 0 },
            "interpreter: tensor outside the arena",
        ))
    }

    fn region_mut(&mut self, t: &TensorInfo<'_>) -> Result<&mut [u8]> {
        let end = t.offset.saturating_add(t.bytes);
        self.arena.get_mut(t.offset..end).ok_or(Error::new(
            ErrorKind::Malformed { offset: 0 },
            "interpreter: tensor outside the arena",
        ))
    }

    fn typed<T: bytemuck::AnyBitPattern>(
        &self,
        t: &TensorInfo<'_>,
        dtype: DType,
        at: &'static str,
    ) -> Result<&[T]> {
        if t.dtype != dtype {
            return Err(Error::new(ErrorKind::Unsupported, at));
        }
        cast(self.region(t)?)
    }

    fn typed_mut<T: bytemuck::Pod>(
        &mut self,
        t: &TensorInfo<'_>,
        dtype: DType,
        at: &'static str,
    ) -> Result<&mut [T]> {
        if t.dtype != dtype {
            return Err(Error::new(ErrorKind::Unsupported, at));
        }
        cast_mut(self.region_mut(t)?)
    }

    /// The int8 input tensor, to fill before [`invoke`](Self::invoke).
    pub fn input_i8(&mut self) -> Result<&mut [i8]> {
        let t = self.model.input()?;
        self.typed_mut(&t, DType::I8, "interpreter: the input is not int8")
    }

    /// The int16 input tensor.
    pub fn input_i16(&mut self) -> Result<&mut [i16]> {
        let t = self.model.input()?;
        self.typed_mut(&t, DType::I16, "interpreter: the input is not int16")
    }

    /// The int8 output tensor.
    pub fn output_i8(&self) -> Result<&[i8]> {
        let t = self.model.output()?;
        self.typed(&t, DType::I8, "interpreter: the output is not int8")
    }

    /// The int16 output tensor.
    pub fn output_i16(&self) -> Result<&[i16]> {
        let t = self.model.output()?;
        self.typed(&t, DType::I16, "interpreter: the output is not int16")
    }

    /// The raw bytes of tensor `i` (an arena tensor's current contents, a constant's
    /// data).
    pub fn tensor_bytes(&self, i: usize) -> Result<&[u8]> {
        let t = self.model.view().tensor(i)?;
        match t.storage {
            mote_core::format::Storage::Arena => self.region(&t),
            mote_core::format::Storage::Constant => Ok(self.model.view().data(&t)),
        }
    }

    /// Quantises raw inputs `x` into the input tensor: the model's input transform
    /// (the training normalisation, per channel), then its scale and zero point (TFLite's
    /// `QUANTIZE`: round half away from zero, saturate).
    ///
    /// Errors: `LengthMismatch` when `x` is not the input's length.
    pub fn set_input_f32(&mut self, x: &[f32]) -> Result<()> {
        let t = self.model.input()?;
        let q = t.per_tensor().ok_or(Error::new(
            ErrorKind::Unsupported,
            "interpreter: input not quantised per tensor",
        ))?;
        mote_core::error::check_len("interpreter: input", t.len(), x.len())?;
        let view = *self.model.view();
        let channels = t.shape.dims().last().copied().unwrap_or(1).max(1);
        let norm = |i: usize, v: f32| {
            let (a, b) = view.input_affine_of(i % channels);
            a * v + b
        };
        match t.dtype {
            DType::I8 => (self.input_i8()?.iter_mut().zip(x).enumerate())
                .for_each(|(i, (q8, &v))| *q8 = q.quantize_i8(norm(i, v))),
            _ => (self.input_i16()?.iter_mut().zip(x).enumerate())
                .for_each(|(i, (q16, &v))| *q16 = q.quantize_i16(norm(i, v))),
        }
        Ok(())
    }

    /// Dequantises the output tensor into `y` (`scale · (q − zero_point)`).
    ///
    /// Errors: `LengthMismatch` when `y` is not the output's length.
    pub fn output_f32(&self, y: &mut [f32]) -> Result<()> {
        let t = self.model.output()?;
        let q = t.per_tensor().ok_or(Error::new(
            ErrorKind::Unsupported,
            "interpreter: output not quantised per tensor",
        ))?;
        mote_core::error::check_len("interpreter: output", t.len(), y.len())?;
        match t.dtype {
            DType::I8 => y
                .iter_mut()
                .zip(self.output_i8()?)
                .for_each(|(v, &o)| *v = q.dequantize(o as i32)),
            _ => y
                .iter_mut()
                .zip(self.output_i16()?)
                .for_each(|(v, &o)| *v = q.dequantize(o as i32)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    extern crate std;
    use super::*;
    use alloc::vec;
    use mote_core::format::{AlignedBytes, ModelDef, OpCode, OpDef, PARAMS, QuantDef, TensorDef};
    use mote_core::quant::QuantizedMultiplier;

    /// `y = W·x + b` with W = [[1, 2], [3, 4]], b = [0, 1], unit scales, zero points 0.
    fn dense_model() -> AlignedBytes {
        let q = QuantDef::PerTensor {
            scale: 1.0,
            zero_point: 0,
        };
        let t = |name: &str, dtype, dims, data: Option<vec::Vec<u8>>, offset, quant| TensorDef {
            name: name.into(),
            dtype,
            dims,
            data,
            arena_offset: offset,
            quant,
        };
        let bias: vec::Vec<u8> = [0i32, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let def = ModelDef {
            tensors: vec![
                t("x", DType::I8, vec![1, 2], None, 0, q.clone()),
                t("y", DType::I8, vec![1, 2], None, 16, q.clone()),
                t("w", DType::I8, vec![2, 2], Some(vec![1, 2, 3, 4]), 0, q),
                t("b", DType::I32, vec![2], Some(bias), 0, QuantDef::None),
            ],
            ops: vec![OpDef {
                code: OpCode::FullyConnected,
                inputs: vec![0, 2, 3],
                output: 1,
                multipliers: vec![QuantizedMultiplier::from_real(1.0).unwrap()],
                act_min: -128,
                act_max: 127,
                params: [0; PARAMS],
            }],
            input: 0,
            output: 1,
            arena_bytes: 32,
            input_affine: vec![],
        };
        AlignedBytes::new(&def.to_bytes().unwrap())
    }

    #[test]
    fn runs_a_dense_model_in_the_callers_arena() {
        let bytes = dense_model();
        let model = Model::from_bytes(bytes.as_bytes()).unwrap();
        let mut arena = [0u8; 48];
        let mut it = Interpreter::new(&model, &mut arena).unwrap();
        it.input_i8().unwrap().copy_from_slice(&[5, -2]);
        it.invoke().unwrap();
        assert_eq!(it.output_i8().unwrap(), &[1, 8]);
        let mut y = [0f32; 2];
        it.set_input_f32(&[1.0, 1.0]).unwrap();
        let mut seen = vec::Vec::new();
        it.invoke_each(|i, b| {
            seen.push((i, b.len()));
            Ok(())
        })
        .unwrap();
        it.output_f32(&mut y).unwrap();
        assert_eq!((y, seen), ([3.0, 8.0], vec![(0, 2)]));
        assert!(it.input_i16().is_err());
        assert!(it.set_input_f32(&[1.0]).is_err());
    }

    #[test]
    fn a_short_arena_names_the_size_needed() {
        let bytes = dense_model();
        let model = Model::from_bytes(bytes.as_bytes()).unwrap();
        let mut arena = [0u8; 64];
        let start = arena.as_ptr() as usize % 16;
        let skip = (16 - start) % 16;
        let e = Interpreter::new(&model, &mut arena[..skip + 31]).unwrap_err();
        assert_eq!(
            e,
            Error::too_small("interpreter: arena (bytes)", skip + 32, skip + 31)
        );
    }
}
