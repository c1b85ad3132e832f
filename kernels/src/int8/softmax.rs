//! Softmax over the rows of an int8 tensor, with an int8 or int16 output, bit-exact
//! with TFLite's reference int8 softmax (gemmlowp fixed point; CMSIS-NN
//! `arm_softmax_s8` / `arm_softmax_s8_s16`).
//!
//! The input is `[rows][row_size]`; each row is normalised on its own. The output has
//! scale `1/256` and zero point −128 (int8) or scale `1/65536` and zero point −32768
//! (int16), TFLite's fixed output quantisation for softmax. Per row, with `max` the row
//! maximum:
//!
//! 1. each difference `d = x − max` at or above `diff_min` is scaled into Q5.26 by
//!    `srdhm(d · 2^left_shift, multiplier)` and exponentiated with
//!    [`exp_on_negative_values`] (Q0.31); differences below `diff_min` contribute
//!    nothing and output the type's minimum;
//! 2. the exponentials are summed in Q12.19;
//! 3. the reciprocal of the sum comes from [`one_over_one_plus_x_for_x_in_0_1`] after
//!    normalising the sum by its leading zeros;
//! 4. each output is `exp · reciprocal`, rounded down to the output's bits, offset by
//!    the type's minimum and clamped.
//!
//! The scaling parameters are [`SoftmaxScaling`], as computed by
//! [`mote_core::quant::softmax_scaling`] (with `integer_bits = 5`) from the input scale
//! and `beta`. No scratch memory is needed.

use mote_core::fixed::{
    exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1, rounding_divide_by_pot,
    rounding_divide_by_pot_i64, saturating_rounding_doubling_high_mul as srdhm,
    saturating_shift_left,
};
use mote_core::quant::SoftmaxScaling;
use mote_core::{Error, Result, error::check_len};

/// Parameters of an int8-input softmax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Number of rows (every axis but the last, flattened).
    pub rows: usize,
    /// Length of a row (the softmax axis).
    pub row_size: usize,
    /// Input scaling into Q5.26: multiplier (> 0), left shift (0..=31) and the most
    /// negative difference kept (≤ 0).
    pub scaling: SoftmaxScaling,
}

/// Validates `p` and the lengths for kernel `name`.
fn validate(name: &'static str, p: &Params, input_len: usize, output_len: usize) -> Result<()> {
    let s = p.scaling;
    if s.multiplier <= 0 {
        return Err(Error::out_of_range(
            name,
            s.multiplier.into(),
            1,
            i32::MAX.into(),
        ));
    }
    if !(0..=31).contains(&s.left_shift) {
        return Err(Error::out_of_range(name, s.left_shift.into(), 0, 31));
    }
    if s.diff_min > 0 {
        return Err(Error::out_of_range(
            name,
            s.diff_min.into(),
            i32::MIN.into(),
            0,
        ));
    }
    let len = p
        .rows
        .checked_mul(p.row_size)
        .ok_or(Error::new(mote_core::ErrorKind::Overflow, name))?;
    check_len(name, len, input_len)?;
    check_len(name, len, output_len)?;
    Ok(())
}

/// `exp(x − max)` in Q0.31, or `None` when the difference is below `diff_min`.
#[inline]
fn exp_of(s: &SoftmaxScaling, x: i32, max: i32) -> Option<i32> {
    let d = x - max;
    if d < s.diff_min {
        return None;
    }
    // left_shift ∈ 0..=31 after validation.
    let z = srdhm(saturating_shift_left(d, s.left_shift as u32), s.multiplier);
    Some(exp_on_negative_values::<5>(z))
}

/// The softmax of one row into `out`, with `out_bits` (8 or 16) output bits; `put`
/// narrows a value already clamped to the output type.
fn row<T>(s: &SoftmaxScaling, input: &[i8], out: &mut [T], out_bits: u32, put: fn(i32) -> T) {
    let Some(max) = input.iter().copied().max() else {
        return;
    };
    let max = i32::from(max);
    // `exp_of` depends on the input value only (the row's max is fixed), and each is
    // needed twice (the sum, then the output): short rows keep them per element, long
    // ones in a table by input value, filled on first use. The same values either way.
    if input.len() <= SHORT {
        let mut exps = [NONE; SHORT];
        for (e, &x) in exps.iter_mut().zip(input) {
            *e = exp_of(s, x.into(), max).unwrap_or(NONE);
        }
        let exps = &exps[..input.len()];
        finish_row(
            exps.iter().copied(),
            exps.iter().copied(),
            out,
            out_bits,
            put,
        );
    } else {
        let mut table = [UNSET; 256];
        let mut exp = |x: i8| {
            let e = &mut table[usize::from(x as u8)];
            if *e == UNSET {
                *e = exp_of(s, x.into(), max).unwrap_or(NONE);
            }
            *e
        };
        for &x in input {
            exp(x);
        }
        let at = |x: &i8| table[usize::from(*x as u8)];
        finish_row(
            input.iter().map(at),
            input.iter().map(at),
            out,
            out_bits,
            put,
        );
    }
}

/// Rows up to this long keep their exponentials per element.
const SHORT: usize = 32;
/// "Below `diff_min`": no exponential (the output is the type's minimum).
const NONE: i32 = -1;
/// A table entry not computed yet (exponentials are ≥ 0, `NONE` is −1).
const UNSET: i32 = -2;

/// The rest of [`row`] from the row's exponentials (`NONE` where below `diff_min`),
/// given twice: once for the sum, once for the outputs.
fn finish_row<T>(
    sum_of: impl Iterator<Item = i32>,
    each: impl Iterator<Item = i32>,
    out: &mut [T],
    out_bits: u32,
    put: fn(i32) -> T,
) {
    let sum = sum_of.filter(|&e| e != NONE).fold(0i32, |acc, e| {
        acc.saturating_add(rounding_divide_by_pot(e, 12))
    });
    // The maximum itself is always kept (diff_min ≤ 0), so sum ≥ 2^19 > 0 and
    // 1 ≤ headroom ≤ 12.
    let headroom = (sum as u32).leading_zeros();
    let reciprocal =
        one_over_one_plus_x_for_x_in_0_1(((sum as u32) << headroom).wrapping_sub(1 << 31) as i32);
    let bits = (12 - headroom as i32 + 31 - out_bits as i32).max(0) as u32;
    let omin = -(1i32 << (out_bits - 1));
    let omax = (1i32 << (out_bits - 1)) - 1;
    for (o, e) in out.iter_mut().zip(each) {
        let y = if e == NONE {
            omin
        } else {
            let scaled = rounding_divide_by_pot_i64(srdhm(reciprocal, e).into(), bits);
            (scaled + i64::from(omin)).clamp(omin.into(), omax.into()) as i32
        };
        *o = put(y);
    }
}

/// Runs `row` over every row of pre-validated slices.
fn rows<T>(p: &Params, input: &[i8], output: &mut [T], out_bits: u32, put: fn(i32) -> T) {
    if p.row_size == 0 {
        return;
    }
    for (x, y) in input
        .chunks_exact(p.row_size)
        .zip(output.chunks_exact_mut(p.row_size))
    {
        row(&p.scaling, x, y, out_bits, put);
    }
}

/// Softmax of int8 rows into int8 (scale 1/256, zero point −128).
///
/// Errors: `OutOfRange` for a non-positive multiplier, a left shift outside `0..=31`
/// or a positive `diff_min`; `Overflow` when `rows · row_size` overflows;
/// `LengthMismatch` when `input` or `output` is not `rows · row_size` long.
pub fn softmax_s8(p: &Params, input: &[i8], output: &mut [i8]) -> Result<()> {
    validate("softmax_s8", p, input.len(), output.len())?;
    rows(p, input, output, 8, |v| v as i8);
    Ok(())
}

/// Softmax of int8 rows into int16 (scale 1/65536, zero point −32768).
///
/// Errors: as [`softmax_s8`].
pub fn softmax_s8_s16(p: &Params, input: &[i8], output: &mut [i16]) -> Result<()> {
    validate("softmax_s8_s16", p, input.len(), output.len())?;
    rows(p, input, output, 16, |v| v as i16);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::quant::{Rounding, softmax_scaling};

    fn params(rows: usize, row_size: usize) -> Params {
        Params {
            rows,
            row_size,
            scaling: softmax_scaling(1.0, 0.1, 5, Rounding::Double).unwrap(),
        }
    }

    #[test]
    fn uniform_row_splits_evenly() {
        let p = params(1, 4);
        let mut y = [0i8; 4];
        softmax_s8(&p, &[7; 4], &mut y).unwrap();
        // 1/4 at scale 1/256 is 64, minus 128.
        assert_eq!(y, [-64; 4]);
        let mut y16 = [0i16; 4];
        softmax_s8_s16(&p, &[-3; 4], &mut y16).unwrap();
        assert_eq!(y16, [-16384; 4]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let p = params(2, 3);
        let x = [0i8; 6];
        let mut y = [0i8; 6];
        let mut y16 = [0i16; 6];
        assert!(softmax_s8(&p, &x[..5], &mut y).is_err());
        assert!(softmax_s8(&p, &x, &mut y[..5]).is_err());
        assert!(softmax_s8_s16(&p, &x, &mut y16[..1]).is_err());
        let bad = |f: fn(&mut SoftmaxScaling)| {
            let mut q = p;
            f(&mut q.scaling);
            q
        };
        assert!(softmax_s8(&bad(|s| s.multiplier = 0), &x, &mut y).is_err());
        assert!(softmax_s8(&bad(|s| s.left_shift = -1), &x, &mut y).is_err());
        assert!(softmax_s8(&bad(|s| s.left_shift = 32), &x, &mut y).is_err());
        assert!(softmax_s8_s16(&bad(|s| s.diff_min = 1), &x, &mut y16).is_err());
        let huge = Params {
            rows: usize::MAX,
            row_size: 2,
            ..p
        };
        assert!(softmax_s8(&huge, &x, &mut y).is_err());
    }
}
