//! Borrowing an operator's tensors out of the arena and the model bytes: the output
//! mutably, the inputs shared, with typed views — all checked, so a bad plan is an
//! `Err`, never a panic.

use mote_core::format::{ModelView, Storage, TensorInfo};
use mote_core::{Error, ErrorKind, Result};

/// The arena around one operator's output: where its inputs may be read.
pub(crate) struct Inputs<'r> {
    before: &'r [u8],
    after: &'r [u8],
    out_start: usize,
    out_end: usize,
}

const BAD_PLAN: Error = Error::new(ErrorKind::Malformed { offset: 0 }, "executor: arena plan");

impl<'r> Inputs<'r> {
    /// Splits `arena` around `out`'s region: the readable rest, and the output's bytes.
    pub(crate) fn split(arena: &'r mut [u8], out: &TensorInfo<'_>) -> Result<(Self, &'r mut [u8])> {
        let end = out.offset.checked_add(out.bytes).ok_or(BAD_PLAN)?;
        if end > arena.len() {
            return Err(BAD_PLAN);
        }
        let (before, rest) = arena.split_at_mut(out.offset);
        let (out_bytes, after) = rest.split_at_mut(out.bytes);
        let inputs = Self {
            before,
            after,
            out_start: out.offset,
            out_end: end,
        };
        Ok((inputs, out_bytes))
    }

    /// The bytes of an input tensor: constant data from `model`, or its arena region,
    /// which must not overlap the output's.
    pub(crate) fn input<'s, 'm: 's>(
        &'s self,
        model: &ModelView<'m>,
        t: &TensorInfo<'m>,
    ) -> Result<&'s [u8]> {
        match t.storage {
            Storage::Constant => Ok(model.data(t)),
            Storage::Arena => {
                let end = t.offset.checked_add(t.bytes).ok_or(BAD_PLAN)?;
                if end <= self.out_start {
                    self.before.get(t.offset..end).ok_or(BAD_PLAN)
                } else if t.offset >= self.out_end {
                    self.after
                        .get(t.offset - self.out_end..end - self.out_end)
                        .ok_or(BAD_PLAN)
                } else {
                    Err(BAD_PLAN)
                }
            }
        }
    }
}

/// `bytes` as `i8`s.
pub(crate) fn i8s(bytes: &[u8]) -> &[i8] {
    bytemuck::cast_slice(bytes)
}

/// `bytes` as `i8`s, mutably.
pub(crate) fn i8s_mut(bytes: &mut [u8]) -> &mut [i8] {
    bytemuck::cast_slice_mut(bytes)
}

/// `bytes` as little-endian elements of `T` (aligned: model data and arena regions
/// start at 16-byte boundaries).
pub(crate) fn cast<T: bytemuck::AnyBitPattern>(bytes: &[u8]) -> Result<&[T]> {
    bytemuck::try_cast_slice(bytes).map_err(|_| {
        Error::new(
            ErrorKind::Malformed { offset: 0 },
            "executor: misaligned tensor",
        )
    })
}

/// `bytes` as elements of `T`, mutably.
pub(crate) fn cast_mut<T: bytemuck::Pod>(bytes: &mut [u8]) -> Result<&mut [T]> {
    bytemuck::try_cast_slice_mut(bytes).map_err(|_| {
        Error::new(
            ErrorKind::Malformed { offset: 0 },
            "executor: misaligned tensor",
        )
    })
}
