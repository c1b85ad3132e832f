//! The one error type of mote's `no_std` crates.
//!
//! An [`Error`] says *what* was wrong ([`ErrorKind`], with the numbers involved) and
//! *where* (`at`: a static string naming the function and argument, e.g.
//! `"conv2d: filter"`). It is `Copy`, needs no allocator, and formats to one line with
//! [`core::fmt::Display`]; with the `defmt` feature it also derives `defmt::Format`.

use core::fmt;

/// Shorthand for results whose error is [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

/// What went wrong, with the values that show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// A slice's length does not match the length its shape or parameters imply.
    LengthMismatch {
        /// The length implied by the shape or parameters.
        expected: usize,
        /// The length actually passed.
        actual: usize,
    },
    /// An output or scratch buffer is shorter than needed.
    BufferTooSmall {
        /// The number of elements needed.
        needed: usize,
        /// The number of elements passed.
        actual: usize,
    },
    /// Two shapes that must agree do not.
    ShapeMismatch,
    /// A tensor has more dimensions than mote supports.
    RankTooLarge {
        /// The rank asked for.
        rank: usize,
        /// The largest rank supported.
        max: usize,
    },
    /// A size, stride, dilation or count that must be positive is zero.
    Zero,
    /// A value lies outside the range its role allows.
    OutOfRange {
        /// The offending value.
        value: i64,
        /// The smallest value allowed.
        min: i64,
        /// The largest value allowed.
        max: i64,
    },
    /// One element of caller data (a class label, an index) lies outside its range.
    ElementOutOfRange {
        /// Position of the element in its slice.
        index: usize,
        /// The offending value.
        value: i64,
        /// The smallest value allowed.
        min: i64,
        /// The largest value allowed.
        max: i64,
    },
    /// A floating-point parameter is NaN, infinite, or of a sign its role forbids.
    InvalidFloat,
    /// A size computation overflowed `usize`.
    Overflow,
    /// The window (kernel with dilation) is larger than the padded input.
    WindowTooLarge {
        /// The effective window extent, `(kernel − 1)·dilation + 1`.
        window: usize,
        /// The padded input extent.
        input: usize,
    },
    /// Model bytes are malformed at the given byte offset.
    Malformed {
        /// Byte offset of the problem in the model data.
        offset: usize,
    },
    /// The request is valid but not supported by this build or kernel.
    Unsupported,
}

/// An error: what was wrong ([`kind`](Error::kind)) and where ([`at`](Error::at)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Error {
    /// What was wrong.
    pub kind: ErrorKind,
    /// Where: the function and argument or field, e.g. `"conv2d: filter"`.
    pub at: &'static str,
}

impl Error {
    /// An error of `kind` found at `at`.
    pub const fn new(kind: ErrorKind, at: &'static str) -> Self {
        Self { kind, at }
    }

    /// `LengthMismatch` at `at`.
    pub const fn length(at: &'static str, expected: usize, actual: usize) -> Self {
        Self::new(ErrorKind::LengthMismatch { expected, actual }, at)
    }

    /// `BufferTooSmall` at `at`.
    pub const fn too_small(at: &'static str, needed: usize, actual: usize) -> Self {
        Self::new(ErrorKind::BufferTooSmall { needed, actual }, at)
    }

    /// `OutOfRange` at `at`.
    pub const fn out_of_range(at: &'static str, value: i64, min: i64, max: i64) -> Self {
        Self::new(ErrorKind::OutOfRange { value, min, max }, at)
    }

    /// `ElementOutOfRange` at `at`: element `index` of the slice holds `value`.
    pub const fn element_out_of_range(
        at: &'static str,
        index: usize,
        value: i64,
        min: i64,
        max: i64,
    ) -> Self {
        Self::new(
            ErrorKind::ElementOutOfRange {
                index,
                value,
                min,
                max,
            },
            at,
        )
    }

    /// `Zero` at `at`.
    pub const fn zero(at: &'static str) -> Self {
        Self::new(ErrorKind::Zero, at)
    }
}

/// Returns `Ok(())` when `actual == expected`, else a `LengthMismatch` at `at`.
pub fn check_len(at: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::length(at, expected, actual))
    }
}

/// Returns `Ok(())` when `actual >= needed`, else a `BufferTooSmall` at `at`.
pub fn check_capacity(at: &'static str, needed: usize, actual: usize) -> Result<()> {
    if actual >= needed {
        Ok(())
    } else {
        Err(Error::too_small(at, needed, actual))
    }
}

/// Returns `Ok(value)` when `value` is non-zero, else a `Zero` error at `at`.
pub fn check_nonzero(at: &'static str, value: usize) -> Result<usize> {
    if value == 0 {
        Err(Error::zero(at))
    } else {
        Ok(value)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::LengthMismatch { expected, actual } => {
                write!(f, "length is {actual}, expected {expected}")
            }
            Self::BufferTooSmall { needed, actual } => {
                write!(f, "buffer holds {actual} elements, {needed} needed")
            }
            Self::ShapeMismatch => f.write_str("shapes do not agree"),
            Self::RankTooLarge { rank, max } => {
                write!(f, "rank {rank} is larger than the supported {max}")
            }
            Self::Zero => f.write_str("must be non-zero"),
            Self::OutOfRange { value, min, max } => {
                write!(f, "value {value} is outside [{min}, {max}]")
            }
            Self::ElementOutOfRange {
                index,
                value,
                min,
                max,
            } => {
                write!(f, "element {index} is {value}, outside [{min}, {max}]")
            }
            Self::InvalidFloat => f.write_str("not a finite number of the required sign"),
            Self::Overflow => f.write_str("size overflows"),
            Self::WindowTooLarge { window, input } => {
                write!(
                    f,
                    "window of {window} is larger than the padded input of {input}"
                )
            }
            Self::Malformed { offset } => write!(f, "malformed data at byte {offset}"),
            Self::Unsupported => f.write_str("not supported"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.kind)
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_place_and_values() {
        extern crate std;
        use std::string::ToString;
        let e = Error::length("dense: weights", 12, 10);
        assert_eq!(e.to_string(), "dense: weights: length is 10, expected 12");
        let e = Error::out_of_range("quant: shift", 40, -31, 30);
        assert_eq!(e.to_string(), "quant: shift: value 40 is outside [-31, 30]");
        let e = Error::element_out_of_range("loss: labels", 7, 12, 0, 9);
        assert_eq!(
            e.to_string(),
            "loss: labels: element 7 is 12, outside [0, 9]"
        );
    }

    #[test]
    fn checks() {
        assert!(check_len("x", 3, 3).is_ok());
        assert_eq!(check_len("x", 3, 4), Err(Error::length("x", 3, 4)));
        assert!(check_capacity("x", 3, 4).is_ok());
        assert_eq!(check_capacity("x", 5, 4), Err(Error::too_small("x", 5, 4)));
        assert_eq!(check_nonzero("s", 0), Err(Error::zero("s")));
        assert_eq!(check_nonzero("s", 2), Ok(2));
    }
}
