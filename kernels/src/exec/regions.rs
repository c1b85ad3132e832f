//! Borrowing an operator's tensors out of the arena and the model bytes: the output
//! mutably, the inputs shared, with typed views — all checked, so a bad plan is an
//! `Err`, never a panic. Public for the Rust modules `mote export --rust` generates,
//! which run the same plan without a `.mote` file.

use mote_core::format::{ModelView, Storage, TensorInfo};
use mote_core::{Error, ErrorKind, Result};

/// The arena around one operator's output region: where its inputs may be read while
/// the output is written.
///
/// ```
/// use mote_kernels::exec::{ArenaSplit, i8s, i8s_mut};
/// let mut arena = [0u8; 64];
/// let (rest, out) = ArenaSplit::at(&mut arena, 32, 16)?; // output: bytes 32..48
/// let x = i8s(rest.region(0, 32)?); // an input before it
/// i8s_mut(out).copy_from_slice(&x[..16]);
/// assert!(rest.region(16, 32).is_err()); // overlaps the output
/// # Ok::<(), mote_core::Error>(())
/// ```
#[derive(Debug)]
pub struct ArenaSplit<'r> {
    before: &'r [u8],
    after: &'r [u8],
    out_start: usize,
    out_end: usize,
}

const BAD_PLAN: Error = Error::new(ErrorKind::Malformed { offset: 0 }, "executor: arena plan");

impl<'r> ArenaSplit<'r> {
    /// Splits `arena` around the output region `offset..offset + bytes`: the readable
    /// rest, and the output's bytes.
    ///
    /// Errors: `Malformed` (at `"executor: arena plan"`) when the region does not lie
    /// inside `arena`.
    pub fn at(arena: &'r mut [u8], offset: usize, bytes: usize) -> Result<(Self, &'r mut [u8])> {
        let end = offset.checked_add(bytes).ok_or(BAD_PLAN)?;
        if end > arena.len() {
            return Err(BAD_PLAN);
        }
        let (before, rest) = arena.split_at_mut(offset);
        let (out_bytes, after) = rest.split_at_mut(bytes);
        let inputs = Self {
            before,
            after,
            out_start: offset,
            out_end: end,
        };
        Ok((inputs, out_bytes))
    }

    /// Splits `arena` around `out`'s region.
    pub(crate) fn split(arena: &'r mut [u8], out: &TensorInfo<'_>) -> Result<(Self, &'r mut [u8])> {
        Self::at(arena, out.offset, out.bytes)
    }

    /// The arena bytes `offset..offset + bytes`, which must lie wholly before or after
    /// the output region.
    ///
    /// Errors: `Malformed` (at `"executor: arena plan"`) when they overlap the output
    /// or run past the arena.
    pub fn region(&self, offset: usize, bytes: usize) -> Result<&'r [u8]> {
        let end = offset.checked_add(bytes).ok_or(BAD_PLAN)?;
        if end <= self.out_start {
            self.before.get(offset..end).ok_or(BAD_PLAN)
        } else if offset >= self.out_end {
            self.after
                .get(offset - self.out_end..end - self.out_end)
                .ok_or(BAD_PLAN)
        } else {
            Err(BAD_PLAN)
        }
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
            Storage::Arena => self.region(t.offset, t.bytes),
        }
    }
}

/// `bytes` as `i8`s.
pub fn i8s(bytes: &[u8]) -> &[i8] {
    bytemuck::cast_slice(bytes)
}

/// `bytes` as `i8`s, mutably.
pub fn i8s_mut(bytes: &mut [u8]) -> &mut [i8] {
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

/// `bytes` as `i16`s (arena regions start at 16-byte boundaries of a 16-byte-aligned
/// arena, so this holds for every planned tensor).
///
/// Errors: `Malformed` (at `"executor: misaligned tensor"`) when `bytes` is not
/// 2-byte aligned or has an odd length.
pub fn i16s(bytes: &[u8]) -> Result<&[i16]> {
    cast(bytes)
}

/// `bytes` as `i16`s, mutably (errors as [`i16s`]).
pub fn i16s_mut(bytes: &mut [u8]) -> Result<&mut [i16]> {
    cast_mut(bytes)
}
