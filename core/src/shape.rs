//! Tensor shapes of rank 0 to 4, with NHWC helpers.

use crate::error::{Error, ErrorKind, Result};

/// The largest rank mote supports.
pub const MAX_RANK: usize = 4;

/// The shape of a tensor: up to [`MAX_RANK`] dimensions, outermost first, whose
/// product (and the product of its non-zero dimensions) is known to fit in `usize`
/// (checked at construction).
///
/// Activations are NHWC (`[batch, height, width, channels]`); sequences are
/// `[time, features]` (or `[batch, time, features]`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// The shape of a scalar (rank 0, one element).
    pub const SCALAR: Self = Self {
        dims: [0; MAX_RANK],
        rank: 0,
    };

    /// A shape from its dimensions, outermost first.
    ///
    /// Errors: `RankTooLarge` for more than four dimensions, `Overflow` when the product
    /// of the non-zero dimensions does not fit in `usize`. Zero-sized dimensions are allowed (an empty tensor).
    pub const fn new(dims: &[usize]) -> Result<Self> {
        if dims.len() > MAX_RANK {
            return Err(Error::new(
                ErrorKind::RankTooLarge {
                    rank: dims.len(),
                    max: MAX_RANK,
                },
                "shape",
            ));
        }
        let mut out = [0; MAX_RANK];
        // The product of the non-zero dimensions bounds every stride and offset, so
        // checking it once makes all later index arithmetic overflow-free (a zero
        // dimension alone would hide an overflow in the strides of the others).
        let mut bound: usize = 1;
        let mut i = 0;
        while i < dims.len() {
            out[i] = dims[i];
            let d = if dims[i] == 0 { 1 } else { dims[i] };
            bound = match bound.checked_mul(d) {
                Some(c) => c,
                None => return Err(Error::new(ErrorKind::Overflow, "shape")),
            };
            i += 1;
        }
        Ok(Self {
            dims: out,
            rank: dims.len() as u8,
        })
    }

    /// A rank-1 shape.
    pub const fn vector(len: usize) -> Self {
        Self {
            dims: [len, 0, 0, 0],
            rank: 1,
        }
    }

    /// An NHWC shape `[n, h, w, c]`.
    pub const fn nhwc(n: usize, h: usize, w: usize, c: usize) -> Result<Self> {
        Self::new(&[n, h, w, c])
    }

    /// The number of dimensions.
    pub const fn rank(&self) -> usize {
        self.rank as usize
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank as usize]
    }

    /// Dimension `axis`, or `None` past the rank.
    pub fn dim(&self, axis: usize) -> Option<usize> {
        self.dims().get(axis).copied()
    }

    /// The number of elements (1 for a scalar). Cannot overflow: checked at construction.
    pub fn len(&self) -> usize {
        self.dims().iter().product()
    }

    /// Whether the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row-major strides in elements (the last axis has stride 1).
    pub fn strides(&self) -> [usize; MAX_RANK] {
        let mut strides = [0; MAX_RANK];
        let mut acc = 1;
        for axis in (0..self.rank()).rev() {
            strides[axis] = acc;
            acc *= self.dims[axis];
        }
        strides
    }

    /// The flat row-major offset of `index`, or `None` when the index has the wrong rank
    /// or lies outside the shape.
    pub fn offset(&self, index: &[usize]) -> Option<usize> {
        if index.len() != self.rank() {
            return None;
        }
        let mut offset = 0;
        for (i, d) in index.iter().zip(self.dims()) {
            if i >= d {
                return None;
            }
            offset = offset * d + i;
        }
        Some(offset)
    }

    /// `(n, h, w, c)` of a rank-4 NHWC shape; `ShapeMismatch` for another rank.
    pub fn as_nhwc(&self) -> Result<(usize, usize, usize, usize)> {
        match *self.dims() {
            [n, h, w, c] => Ok((n, h, w, c)),
            _ => Err(Error::new(
                ErrorKind::ShapeMismatch,
                "shape: expected rank 4 (NHWC)",
            )),
        }
    }

    /// The same elements seen with other dimensions (a reshape is only a new view):
    /// `LengthMismatch` when the element counts differ.
    pub fn reshape(&self, dims: &[usize]) -> Result<Self> {
        let new = Self::new(dims)?;
        if new.len() != self.len() {
            return Err(Error::length("shape: reshape", self.len(), new.len()));
        }
        Ok(new)
    }

    /// `[outer, inner]` with `inner` the product of the dimensions from `axis` on (a
    /// flatten for dense layers: `flatten(1)` of NHWC is `[n, h·w·c]`).
    pub fn flatten(&self, axis: usize) -> Result<Self> {
        if axis > self.rank() {
            return Err(Error::out_of_range(
                "shape: flatten axis",
                axis as i64,
                0,
                self.rank() as i64,
            ));
        }
        let outer: usize = self.dims()[..axis].iter().product();
        let inner: usize = self.dims()[axis..].iter().product();
        Self::new(&[outer, inner])
    }
}

impl core::fmt::Debug for Shape {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.dims()).finish()
    }
}

impl core::fmt::Display for Shape {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        let s = Shape::nhwc(2, 3, 4, 5).unwrap();
        assert_eq!(s.len(), 120);
        assert_eq!(s.rank(), 4);
        assert_eq!(s.strides(), [60, 20, 5, 1]);
        assert_eq!(s.offset(&[1, 2, 3, 4]), Some(119));
        assert_eq!(s.offset(&[1, 3, 0, 0]), None);
        assert_eq!(s.offset(&[1, 2]), None);
        assert_eq!(s.as_nhwc().unwrap(), (2, 3, 4, 5));
        assert_eq!(s.flatten(1).unwrap().dims(), &[2, 60]);
        assert_eq!(s.reshape(&[6, 20]).unwrap().dims(), &[6, 20]);
        assert!(s.reshape(&[7, 20]).is_err());
        assert_eq!(Shape::SCALAR.len(), 1);
        assert!(Shape::new(&[1, 2, 3, 4, 5]).is_err());
        assert!(Shape::new(&[usize::MAX, 2]).is_err());
        // A zero dimension does not hide an overflow of the others' strides.
        assert!(Shape::new(&[0, usize::MAX, 2]).is_err());
        assert_eq!(Shape::new(&[0, 3, 2]).unwrap().strides(), [6, 2, 1, 0]);
        assert!(Shape::vector(0).is_empty());
    }
}
