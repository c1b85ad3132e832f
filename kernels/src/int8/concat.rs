//! CONCATENATION of int8 or int16 tensors of rank up to 4 along any axis, bit-exact with
//! TFLite's reference kernels: a plain copy (`reference_ops::Concatenation`) for every
//! input quantised like the output, and TFLite's float rescaling
//! (`reference_ops::ConcatenationWithScaling`) for an input that is not:
//!
//! ```text
//! scale = input_scale · (1 / output_scale)          (f32, as TFLite)
//! bias  = −input_zero_point · scale                 (f32)
//! y     = clamp(round(q · scale + bias) + output_zero_point, type range)
//! ```
//!
//! with `round` to nearest, ties away from zero (`TfLiteRound`). An input is copied
//! unchanged when its scale and zero point both equal the output's, exactly TFLite's
//! test. (TFLite's converter gives int8/int16 concatenations one shared quantisation,
//! so the rescaling branch matters only for hand-built models.)
//!
//! Shapes are four dimensions, a lower rank written with leading 1s (`axis` counts in
//! the 4-D shape). Every input agrees with the output on every axis but `axis`, and the
//! output's `axis` extent is the sum of the inputs'. With `outer = Π shape[..axis]` and
//! `inner = Π shape[axis + 1..]`, the output is, for each outer index in turn, input
//! 0's block of `shape_0[axis]·inner` elements, then input 1's, and so on.
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | `inputs[i]` | row-major `shapes[i]` | `Π shapes[i][d]` |
//! | `output` | row-major `output_shape` | `Π output_shape[d]` |

use mote_core::quant::QuantParams;
use mote_core::{Error, ErrorKind, Result, error::check_len};

/// Geometry and quantisation of a concatenation with `N` inputs (shared by
/// [`concat_s8`] and [`concat_s16`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConcatParams<'a> {
    /// The concatenation axis, `0..4` in the 4-D shapes.
    pub axis: usize,
    /// Shape of each input (`N` entries).
    pub shapes: &'a [[usize; 4]],
    /// Quantisation of each input (`N` entries).
    pub input_quant: &'a [QuantParams],
    /// Shape of the output.
    pub output_shape: [usize; 4],
    /// Quantisation of the output.
    pub output_quant: QuantParams,
}

fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// The shared implementation over int8 or int16 (`lo..=hi`), with `to`/`from`
/// converting elements.
pub(crate) fn concat<T: Copy>(
    name: &'static str,
    p: &ConcatParams<'_>,
    (lo, hi): (i32, i32),
    inputs: &[&[T]],
    output: &mut [T],
    to: fn(T) -> i32,
    from: fn(i32) -> T,
) -> Result<()> {
    let overflow = Error::new(ErrorKind::Overflow, name);
    if p.axis >= 4 {
        return Err(Error::out_of_range(name, p.axis as i64, 0, 3));
    }
    check_len(name, inputs.len(), p.shapes.len())?;
    check_len(name, inputs.len(), p.input_quant.len())?;
    for zp in p
        .input_quant
        .iter()
        .chain(core::iter::once(&p.output_quant))
        .map(|q| q.zero_point())
    {
        if zp < lo || zp > hi {
            return Err(Error::out_of_range(name, zp.into(), lo.into(), hi.into()));
        }
    }
    let mut axis_sum = 0usize;
    for (shape, data) in p.shapes.iter().zip(inputs) {
        for d in (0..4).filter(|&d| d != p.axis) {
            if shape[d] != p.output_shape[d] {
                return Err(Error::new(ErrorKind::ShapeMismatch, name));
            }
        }
        axis_sum = axis_sum.checked_add(shape[p.axis]).ok_or(overflow)?;
        check_len(name, product(shape).ok_or(overflow)?, data.len())?;
    }
    check_len(name, p.output_shape[p.axis], axis_sum)?;
    check_len(
        name,
        product(&p.output_shape).ok_or(overflow)?,
        output.len(),
    )?;

    let outer = product(&p.output_shape[..p.axis]).ok_or(overflow)?;
    let inner = product(&p.output_shape[p.axis + 1..]).ok_or(overflow)?;
    let out_q = p.output_quant;
    let mut pos = 0;
    for k in 0..outer {
        for ((shape, data), q) in p.shapes.iter().zip(inputs).zip(p.input_quant) {
            let n = shape[p.axis] * inner; // ≤ the input's length: no overflow.
            let src = &data[k * n..(k + 1) * n];
            let dst = &mut output[pos..pos + n];
            pos += n;
            if q.zero_point() == out_q.zero_point() && q.scale() == out_q.scale() {
                dst.copy_from_slice(src);
                continue;
            }
            let scale = q.scale() * (1.0f32 / out_q.scale());
            let bias = -(q.zero_point() as f32) * scale;
            for (y, &x) in dst.iter_mut().zip(src) {
                let r = libm::roundf(to(x) as f32 * scale + bias) as i32; // saturating
                *y = from(r.saturating_add(out_q.zero_point()).clamp(lo, hi));
            }
        }
    }
    Ok(())
}

/// Concatenation of int8 tensors (see the module docs).
///
/// Errors: `OutOfRange` for an axis above 3 or a zero point outside int8;
/// `LengthMismatch` when `shapes`, `input_quant` and `inputs` differ in count, a buffer
/// does not match its shape, or the output's `axis` extent is not the inputs' sum;
/// `ShapeMismatch` when an input differs from the output on another axis; `Overflow`
/// when a size overflows.
pub fn concat_s8(p: &ConcatParams<'_>, inputs: &[&[i8]], output: &mut [i8]) -> Result<()> {
    concat(
        "concat_s8",
        p,
        (-128, 127),
        inputs,
        output,
        i32::from,
        |v| v as i8,
    )
}

/// Concatenation of int16 tensors (see the module docs).
///
/// Errors: as [`concat_s8`], with the int16 range.
pub fn concat_s16(p: &ConcatParams<'_>, inputs: &[&[i16]], output: &mut [i16]) -> Result<()> {
    concat(
        "concat_s16",
        p,
        (-32768, 32767),
        inputs,
        output,
        i32::from,
        |v| v as i16,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(scale: f32, zp: i32) -> QuantParams {
        QuantParams::new(scale, zp).unwrap()
    }

    #[test]
    fn copies_along_each_axis() {
        let same = [q(0.1, 0), q(0.1, 0)];
        // Two 1×2×1×2 tensors along W (axis 2) → 1×2×2×2.
        let p = ConcatParams {
            axis: 2,
            shapes: &[[1, 2, 1, 2], [1, 2, 1, 2]],
            input_quant: &same,
            output_shape: [1, 2, 2, 2],
            output_quant: q(0.1, 0),
        };
        let mut y = [0i8; 8];
        concat_s8(&p, &[&[1, 2, 3, 4], &[5, 6, 7, 8]], &mut y).unwrap();
        assert_eq!(y, [1, 2, 5, 6, 3, 4, 7, 8]);
        // Along the outermost axis: one after the other.
        let p = ConcatParams {
            axis: 0,
            shapes: &[[1, 1, 1, 2], [2, 1, 1, 2]],
            output_shape: [3, 1, 1, 2],
            ..p
        };
        let mut y = [0i16; 6];
        concat_s16(&p, &[&[1, 2], &[3, 4, 5, 6]], &mut y).unwrap();
        assert_eq!(y, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn rescales_a_differently_quantised_input() {
        // Input 1 at scale 0.2, zp 10, into an output at scale 0.1, zp −5:
        // q = 12 → 0.4 → 4 − 5 = −1; q = 100 → 18 → 180 − 5 = 175 → 127.
        let quants = [q(0.1, -5), q(0.2, 10)];
        let p = ConcatParams {
            axis: 3,
            shapes: &[[1, 1, 1, 1], [1, 1, 1, 2]],
            input_quant: &quants,
            output_shape: [1, 1, 1, 3],
            output_quant: q(0.1, -5),
        };
        let mut y = [0i8; 3];
        concat_s8(&p, &[&[9], &[12, 100]], &mut y).unwrap();
        assert_eq!(y, [9, -1, 127]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let quants = [q(0.1, 0), q(0.1, 0)];
        let p = ConcatParams {
            axis: 3,
            shapes: &[[1, 1, 1, 1], [1, 1, 1, 2]],
            input_quant: &quants,
            output_shape: [1, 1, 1, 3],
            output_quant: q(0.1, 0),
        };
        let mut y = [0i8; 3];
        assert!(concat_s8(&p, &[&[1], &[2, 3]], &mut y).is_ok());
        assert!(concat_s8(&p, &[&[1], &[2]], &mut y).is_err());
        assert!(concat_s8(&p, &[&[1]], &mut y).is_err());
        assert!(concat_s8(&p, &[&[1], &[2, 3]], &mut y[..2]).is_err());
        assert!(concat_s8(&ConcatParams { axis: 4, ..p }, &[&[1], &[2, 3]], &mut y).is_err());
        let wrong_sum = ConcatParams {
            output_shape: [1, 1, 1, 4],
            ..p
        };
        let mut y4 = [0i8; 4];
        assert!(concat_s8(&wrong_sum, &[&[1], &[2, 3]], &mut y4).is_err());
        let mismatch = ConcatParams {
            shapes: &[[1, 1, 1, 1], [1, 2, 1, 2]],
            ..p
        };
        assert!(concat_s8(&mismatch, &[&[1], &[2, 3, 4, 5]], &mut y).is_err());
        let bad_zp = ConcatParams {
            output_quant: q(0.1, 128),
            ..p
        };
        assert!(concat_s8(&bad_zp, &[&[1], &[2, 3]], &mut y).is_err());
        let mut y16 = [0i16; 3];
        assert!(concat_s16(&p, &[&[1], &[2, 3]], &mut y16[..1]).is_err());
    }
}
