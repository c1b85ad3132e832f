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
    /// The readable pieces of the arena in address order, each with its start offset:
    /// before and after the output (and, with a scratch region, the piece between).
    parts: [(usize, &'r [u8]); 3],
}

const BAD_PLAN: Error = Error::new(ErrorKind::Malformed { offset: 0 }, "executor: arena plan");

/// The end of region `offset..offset + bytes` when it lies inside `len` bytes.
fn end_within(offset: usize, bytes: usize, len: usize) -> Result<usize> {
    offset
        .checked_add(bytes)
        .filter(|&end| end <= len)
        .ok_or(BAD_PLAN)
}

impl<'r> ArenaSplit<'r> {
    /// Splits `arena` around the output region `offset..offset + bytes`: the readable
    /// rest, and the output's bytes.
    ///
    /// Errors: `Malformed` (at `"executor: arena plan"`) when the region does not lie
    /// inside `arena`.
    pub fn at(arena: &'r mut [u8], offset: usize, bytes: usize) -> Result<(Self, &'r mut [u8])> {
        let end = end_within(offset, bytes, arena.len())?;
        let (before, rest) = arena.split_at_mut(offset);
        let (out_bytes, after) = rest.split_at_mut(bytes);
        let parts = [(0, &*before), (end, &*after), (end, &[][..])];
        Ok((Self { parts }, out_bytes))
    }

    /// Splits `arena` around the output region `out = (offset, bytes)` and a scratch
    /// region the operator may also write (an LSTM's state): the readable rest, the
    /// output's bytes and the scratch bytes.
    ///
    /// ```
    /// use mote_kernels::exec::ArenaSplit;
    /// let mut arena = [0u8; 64];
    /// let (rest, out, scratch) = ArenaSplit::with_scratch(&mut arena, (48, 16), (0, 16))?;
    /// assert_eq!((out.len(), scratch.len()), (16, 16));
    /// assert!(rest.region(16, 32).is_ok() && rest.region(8, 16).is_err());
    /// # Ok::<(), mote_core::Error>(())
    /// ```
    ///
    /// Errors: `Malformed` (at `"executor: arena plan"`) when a region does not lie
    /// inside `arena` or the two overlap.
    pub fn with_scratch(
        arena: &'r mut [u8],
        out: (usize, usize),
        scratch: (usize, usize),
    ) -> Result<(Self, &'r mut [u8], &'r mut [u8])> {
        let len = arena.len();
        let (out_end, scratch_end) = (
            end_within(out.0, out.1, len)?,
            end_within(scratch.0, scratch.1, len)?,
        );
        // The lower region first; they may not overlap.
        let swap = scratch.0 < out.0;
        let ((lo, lo_end), (hi, hi_end)) = if swap {
            ((scratch.0, scratch_end), (out.0, out_end))
        } else {
            ((out.0, out_end), (scratch.0, scratch_end))
        };
        if lo_end > hi {
            return Err(BAD_PLAN);
        }
        let (before, rest) = arena.split_at_mut(lo);
        let (lo_bytes, rest) = rest.split_at_mut(lo_end - lo);
        let (between, rest) = rest.split_at_mut(hi - lo_end);
        let (hi_bytes, after) = rest.split_at_mut(hi_end - hi);
        let parts = [(0, &*before), (lo_end, &*between), (hi_end, &*after)];
        let (out_bytes, scratch_bytes) = if swap {
            (hi_bytes, lo_bytes)
        } else {
            (lo_bytes, hi_bytes)
        };
        Ok((Self { parts }, out_bytes, scratch_bytes))
    }

    /// Splits `arena` around `out`'s region.
    pub(crate) fn split(arena: &'r mut [u8], out: &TensorInfo<'_>) -> Result<(Self, &'r mut [u8])> {
        Self::at(arena, out.offset, out.bytes)
    }

    /// The arena bytes `offset..offset + bytes`, which must lie wholly in one readable
    /// piece (not overlap the output or the scratch region).
    ///
    /// Errors: `Malformed` (at `"executor: arena plan"`) when they overlap the output
    /// or the scratch region, or run past the arena.
    pub fn region(&self, offset: usize, bytes: usize) -> Result<&'r [u8]> {
        let end = offset.checked_add(bytes).ok_or(BAD_PLAN)?;
        self.parts
            .iter()
            .find_map(|&(start, part)| {
                let from = offset.checked_sub(start)?;
                part.get(from..end - start)
            })
            .ok_or(BAD_PLAN)
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
