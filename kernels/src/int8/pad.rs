//! PAD of int8 and int16 tensors of rank up to 4, bit-exact with TFLite's reference
//! `PadImpl` (TFLite Micro PAD with a quantised tensor): every axis gets its own number
//! of elements before and after, filled with the output zero point (the real value 0),
//! and the input is copied into the middle. Input and output share the quantisation
//! (TFLite requires it), so no value is changed.
//!
//! Shapes are given as four dimensions; a tensor of lower rank is written with leading
//! 1s and zero paddings on those axes (how TFLite itself extends shapes to 4-D). For
//! NHWC, `shape = [n, h, w, c]`.
//!
//! ```text
//! output_shape[d] = before[d] + shape[d] + after[d]
//! y[o] = x[o − before]   if before[d] ≤ o[d] < before[d] + shape[d] for every d
//!        pad_value       otherwise
//! ```
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | `input` | row-major `shape` | `Π shape[d]` |
//! | `output` | row-major `output_shape` | `Π output_shape[d]` |

use mote_core::{Error, ErrorKind, Result, error::check_len};

/// Geometry and fill value of a PAD (shared by [`pad_s8`] and [`pad_s16`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PadParams {
    /// Input dimensions, outermost first (leading 1s for a rank below 4).
    pub shape: [usize; 4],
    /// Elements added before the input on each axis.
    pub before: [usize; 4],
    /// Elements added after the input on each axis.
    pub after: [usize; 4],
    /// The fill value: the output zero point (within the element type).
    pub pad_value: i32,
}

impl PadParams {
    /// The output dimensions, `before + shape + after` per axis; `None` on overflow.
    pub fn output_shape(&self) -> Option<[usize; 4]> {
        let mut out = [0; 4];
        for (d, o) in out.iter_mut().enumerate() {
            *o = self.before[d]
                .checked_add(self.shape[d])?
                .checked_add(self.after[d])?;
        }
        Some(out)
    }

    /// Number of input elements; `None` on overflow.
    pub fn input_len(&self) -> Option<usize> {
        product(self.shape)
    }

    /// Number of output elements; `None` on overflow.
    pub fn output_len(&self) -> Option<usize> {
        product(self.output_shape()?)
    }
}

fn product(shape: [usize; 4]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// The shared implementation over any `Copy` element; `value` is the fill.
pub(crate) fn pad<T: Copy>(
    name: &'static str,
    p: &PadParams,
    value: T,
    input: &[T],
    output: &mut [T],
) -> Result<()> {
    let overflow = Error::new(ErrorKind::Overflow, name);
    let out_shape = p.output_shape().ok_or(overflow)?;
    check_len(name, p.input_len().ok_or(overflow)?, input.len())?;
    check_len(name, product(out_shape).ok_or(overflow)?, output.len())?;
    let [_, s1, s2, s3] = p.shape;
    let [o0, o1, o2, o3] = out_shape;
    if o3 == 0 {
        return Ok(());
    }
    let inside = |d: usize, o: usize| o >= p.before[d] && o < p.before[d] + p.shape[d];
    let mut rows = output.chunks_exact_mut(o3);
    for i0 in 0..o0 {
        for i1 in 0..o1 {
            for i2 in 0..o2 {
                let Some(row) = rows.next() else {
                    return Ok(());
                };
                if !(inside(0, i0) && inside(1, i1) && inside(2, i2)) || s3 == 0 {
                    row.fill(value);
                    continue;
                }
                let (x0, x1, x2) = (i0 - p.before[0], i1 - p.before[1], i2 - p.before[2]);
                let start = ((x0 * s1 + x1) * s2 + x2) * s3;
                let (head, rest) = row.split_at_mut(p.before[3]);
                let (mid, tail) = rest.split_at_mut(s3);
                head.fill(value);
                mid.copy_from_slice(&input[start..start + s3]);
                tail.fill(value);
            }
        }
    }
    Ok(())
}

fn check_value(name: &'static str, v: i32, lo: i32, hi: i32) -> Result<()> {
    if v < lo || v > hi {
        return Err(Error::out_of_range(name, v.into(), lo.into(), hi.into()));
    }
    Ok(())
}

/// PAD of an int8 tensor (see the module docs).
///
/// Errors: `OutOfRange` for a `pad_value` outside int8; `Overflow` when a size
/// overflows; `LengthMismatch` when `input` or `output` does not match the shapes.
pub fn pad_s8(p: &PadParams, input: &[i8], output: &mut [i8]) -> Result<()> {
    check_value("pad_s8: pad_value", p.pad_value, -128, 127)?;
    pad("pad_s8", p, p.pad_value as i8, input, output)
}

/// PAD of an int16 tensor (see the module docs).
///
/// Errors: as [`pad_s8`], with the int16 range.
pub fn pad_s16(p: &PadParams, input: &[i16], output: &mut [i16]) -> Result<()> {
    check_value("pad_s16: pad_value", p.pad_value, -32768, 32767)?;
    pad("pad_s16", p, p.pad_value as i16, input, output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_hw_of_nhwc() {
        // 1×2×2×1 → 1×3×4×1: one row after, one column before and after.
        let p = PadParams {
            shape: [1, 2, 2, 1],
            before: [0, 0, 1, 0],
            after: [0, 1, 1, 0],
            pad_value: -5,
        };
        assert_eq!(p.output_shape(), Some([1, 3, 4, 1]));
        let mut y = [0i8; 12];
        pad_s8(&p, &[1, 2, 3, 4], &mut y).unwrap();
        assert_eq!(y, [-5, 1, 2, -5, -5, 3, 4, -5, -5, -5, -5, -5]);
    }

    #[test]
    fn pads_channels_and_batch_int16() {
        let p = PadParams {
            shape: [1, 1, 1, 2],
            before: [1, 0, 0, 1],
            after: [0, 0, 0, 2],
            pad_value: 7,
        };
        let mut y = [0i16; 10];
        pad_s16(&p, &[100, -100], &mut y).unwrap();
        assert_eq!(y, [7, 7, 7, 7, 7, 7, 100, -100, 7, 7]);
        // Empty input: all padding.
        let p = PadParams {
            shape: [1, 0, 1, 1],
            before: [0, 1, 0, 0],
            after: [0, 0, 0, 0],
            pad_value: 3,
        };
        let mut y = [0i16; 1];
        pad_s16(&p, &[], &mut y).unwrap();
        assert_eq!(y, [3]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let p = PadParams {
            shape: [1, 2, 2, 1],
            before: [0, 1, 1, 0],
            after: [0, 1, 1, 0],
            pad_value: 0,
        };
        let x = [0i8; 4];
        let mut y = [0i8; 16];
        assert!(pad_s8(&p, &x, &mut y).is_ok());
        assert!(pad_s8(&p, &x[..3], &mut y).is_err());
        assert!(pad_s8(&p, &x, &mut y[..15]).is_err());
        assert!(
            pad_s8(
                &PadParams {
                    pad_value: 128,
                    ..p
                },
                &x,
                &mut y
            )
            .is_err()
        );
        let mut y16 = [0i16; 16];
        let x16 = [0i16; 4];
        assert!(
            pad_s16(
                &PadParams {
                    pad_value: -32769,
                    ..p
                },
                &x16,
                &mut y16
            )
            .is_err()
        );
        let huge = PadParams {
            after: [usize::MAX, 0, 0, 0],
            ..p
        };
        assert!(pad_s8(&huge, &x, &mut y).is_err());
    }
}
