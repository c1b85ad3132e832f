//! Bounds-checked little-endian field reads from model bytes.
//!
//! Every read names the field (`at`) and reports the byte offset of a field that lies
//! outside the data as [`ErrorKind::Malformed`], so malformed files give an `Err`, never
//! a panic or an out-of-bounds read.

use crate::error::{Error, ErrorKind, Result};

/// Model bytes with checked reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

/// `Malformed { offset }` at `at`.
pub(crate) const fn malformed(at: &'static str, offset: usize) -> Error {
    Error::new(ErrorKind::Malformed { offset }, at)
}

impl<'a> Bytes<'a> {
    /// `len` bytes at `offset`.
    pub(crate) fn slice(self, at: &'static str, offset: usize, len: usize) -> Result<&'a [u8]> {
        offset
            .checked_add(len)
            .and_then(|end| self.0.get(offset..end))
            .ok_or(malformed(at, offset))
    }

    /// `N` bytes at `offset`.
    fn array<const N: usize>(self, at: &'static str, offset: usize) -> Result<[u8; N]> {
        let s = self.slice(at, offset, N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(self, at: &'static str, offset: usize) -> Result<u8> {
        Ok(self.array::<1>(at, offset)?[0])
    }

    pub(crate) fn u16(self, at: &'static str, offset: usize) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(at, offset)?))
    }

    pub(crate) fn u32(self, at: &'static str, offset: usize) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(at, offset)?))
    }

    pub(crate) fn i32(self, at: &'static str, offset: usize) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array(at, offset)?))
    }

    pub(crate) fn f32(self, at: &'static str, offset: usize) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array(at, offset)?))
    }

    /// A `u32` field used as an offset or size.
    pub(crate) fn usize(self, at: &'static str, offset: usize) -> Result<usize> {
        Ok(self.u32(at, offset)? as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_little_endian_and_checked() {
        let b = Bytes(&[1, 2, 3, 4, 5]);
        assert_eq!(b.u16("x", 0), Ok(0x0201));
        assert_eq!(b.u32("x", 1), Ok(0x0504_0302));
        assert_eq!(b.u32("x", 2), Err(malformed("x", 2)));
        assert_eq!(b.slice("x", usize::MAX, 2), Err(malformed("x", usize::MAX)));
        assert_eq!(b.u8("x", 5), Err(malformed("x", 5)));
    }
}
