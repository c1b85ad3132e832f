//! Element-wise add and multiply of two int8 tensors of the same length (no
//! broadcasting), bit-exact with TFLite's reference integer kernels (CMSIS-NN
//! `arm_elementwise_add_s8` / `arm_elementwise_mul_s8`).
//!
//! **Add** brings both inputs onto a common scale before summing, as TFLite does:
//!
//! ```text
//! a = requant((x1 − zp1) · 2^left_shift, input1_multiplier)
//! b = requant((x2 − zp2) · 2^left_shift, input2_multiplier)
//! y = clamp(requant(a + b, output_multiplier) + output_zero_point, act_min, act_max)
//! ```
//!
//! **Mul** multiplies the offset inputs and requantises once:
//! `y = clamp(requant((x1 − zp1)·(x2 − zp2), output_multiplier) + output_zero_point, …)`.
//!
//! `requant` is [`QuantizedMultiplier::apply_double`] (TFLite's default double rounding).
//! Zero points are TFLite zero points (CMSIS-NN's offsets are their negations). Where
//! TFLite's int32 arithmetic would overflow (outside the ranges its converter produces),
//! mote saturates instead, so no caller input can panic.

use mote_core::fixed::saturating_shift_left;
use mote_core::quant::QuantizedMultiplier;
use mote_core::{Error, Result, error::check_len};

/// Parameters of an integer element-wise add (shared by the int8 and int16 kernels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AddParams {
    /// TFLite zero point of input 1.
    pub input1_zero_point: i32,
    /// TFLite zero point of input 2.
    pub input2_zero_point: i32,
    /// TFLite zero point of the output.
    pub output_zero_point: i32,
    /// Left shift applied to both offset inputs before rescaling (TFLite uses 20 for
    /// int8, 15 for int16); at most 31.
    pub left_shift: u32,
    /// Rescales input 1 onto the common scale.
    pub input1_multiplier: QuantizedMultiplier,
    /// Rescales input 2 onto the common scale.
    pub input2_multiplier: QuantizedMultiplier,
    /// Rescales the sum onto the output scale.
    pub output_multiplier: QuantizedMultiplier,
    /// Lower bound of the fused activation, in output quantised units.
    pub act_min: i32,
    /// Upper bound of the fused activation, in output quantised units.
    pub act_max: i32,
}

/// Parameters of an integer element-wise multiply (shared by the int8 and int16
/// kernels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MulParams {
    /// TFLite zero point of input 1.
    pub input1_zero_point: i32,
    /// TFLite zero point of input 2.
    pub input2_zero_point: i32,
    /// TFLite zero point of the output.
    pub output_zero_point: i32,
    /// Rescales the product onto the output scale.
    pub output_multiplier: QuantizedMultiplier,
    /// Lower bound of the fused activation, in output quantised units.
    pub act_min: i32,
    /// Upper bound of the fused activation, in output quantised units.
    pub act_max: i32,
}

/// Checks that `v` lies in `[lo, hi]`.
fn check_range(at: &'static str, v: i64, lo: i64, hi: i64) -> Result<()> {
    if v < lo || v > hi {
        return Err(Error::out_of_range(at, v, lo, hi));
    }
    Ok(())
}

/// Checks the zero points (within the element type `[lo, hi]`), the clamp and the three
/// lengths shared by add and mul.
#[allow(clippy::too_many_arguments)]
fn validate_common(
    name: &'static str,
    zero_points: [i32; 3],
    act: (i32, i32),
    (lo, hi): (i32, i32),
    len1: usize,
    len2: usize,
    out_len: usize,
) -> Result<()> {
    for zp in zero_points {
        check_range(name, zp.into(), lo.into(), hi.into())?;
    }
    check_range(name, act.0.into(), lo.into(), hi.into())?;
    check_range(name, act.1.into(), act.0.into(), hi.into())?;
    check_len(name, len1, len2)?;
    check_len(name, len1, out_len)?;
    Ok(())
}

/// Validates an add for a kernel `name` over an element type spanning `range`.
pub(crate) fn validate_add(
    name: &'static str,
    p: &AddParams,
    range: (i32, i32),
    len1: usize,
    len2: usize,
    out_len: usize,
) -> Result<()> {
    check_range(name, p.left_shift.into(), 0, 31)?;
    validate_common(
        name,
        [
            p.input1_zero_point,
            p.input2_zero_point,
            p.output_zero_point,
        ],
        (p.act_min, p.act_max),
        range,
        len1,
        len2,
        out_len,
    )
}

/// Validates a mul for a kernel `name` over an element type spanning `range`.
pub(crate) fn validate_mul(
    name: &'static str,
    p: &MulParams,
    range: (i32, i32),
    len1: usize,
    len2: usize,
    out_len: usize,
) -> Result<()> {
    validate_common(
        name,
        [
            p.input1_zero_point,
            p.input2_zero_point,
            p.output_zero_point,
        ],
        (p.act_min, p.act_max),
        range,
        len1,
        len2,
        out_len,
    )
}

/// One added element (inputs widened to i32); the result lies in `[act_min, act_max]`.
#[inline]
pub(crate) fn add_one(p: &AddParams, x1: i32, x2: i32) -> i32 {
    let a = p.input1_multiplier.apply_double(saturating_shift_left(
        x1 - p.input1_zero_point,
        p.left_shift,
    ));
    let b = p.input2_multiplier.apply_double(saturating_shift_left(
        x2 - p.input2_zero_point,
        p.left_shift,
    ));
    p.output_multiplier
        .apply_double(a.saturating_add(b))
        .saturating_add(p.output_zero_point)
        .clamp(p.act_min, p.act_max)
}

/// One multiplied element (inputs widened to i32); the result lies in `[act_min,
/// act_max]`.
#[inline]
pub(crate) fn mul_one(p: &MulParams, x1: i32, x2: i32) -> i32 {
    let product = i64::from(x1 - p.input1_zero_point) * i64::from(x2 - p.input2_zero_point);
    let product = product.clamp(i32::MIN.into(), i32::MAX.into()) as i32;
    p.output_multiplier
        .apply_double(product)
        .saturating_add(p.output_zero_point)
        .clamp(p.act_min, p.act_max)
}

const RANGE: (i32, i32) = (i8::MIN as i32, i8::MAX as i32);

/// `output[i] = x1[i] + x2[i]` in the quantised domain (see the module docs).
///
/// Errors: `LengthMismatch` when `input1`, `input2` and `output` differ in length,
/// `OutOfRange` for a zero point or clamp outside int8, `act_min > act_max`, or
/// `left_shift > 31`.
pub fn add_s8(p: &AddParams, input1: &[i8], input2: &[i8], output: &mut [i8]) -> Result<()> {
    validate_add("add_s8", p, RANGE, input1.len(), input2.len(), output.len())?;
    for ((o, &a), &b) in output.iter_mut().zip(input1).zip(input2) {
        // In [act_min, act_max] ⊆ int8 after validation.
        *o = add_one(p, a.into(), b.into()) as i8;
    }
    Ok(())
}

/// `output[i] = x1[i] · x2[i]` in the quantised domain (see the module docs).
///
/// Errors: `LengthMismatch` when `input1`, `input2` and `output` differ in length,
/// `OutOfRange` for a zero point or clamp outside int8 or `act_min > act_max`.
pub fn mul_s8(p: &MulParams, input1: &[i8], input2: &[i8], output: &mut [i8]) -> Result<()> {
    validate_mul("mul_s8", p, RANGE, input1.len(), input2.len(), output.len())?;
    for ((o, &a), &b) in output.iter_mut().zip(input1).zip(input2) {
        // In [act_min, act_max] ⊆ int8 after validation.
        *o = mul_one(p, a.into(), b.into()) as i8;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn half() -> QuantizedMultiplier {
        QuantizedMultiplier::new(1 << 30, 0).unwrap()
    }

    fn add_params() -> AddParams {
        AddParams {
            input1_zero_point: -128,
            input2_zero_point: -128,
            output_zero_point: -128,
            left_shift: 20,
            input1_multiplier: half(),
            input2_multiplier: half(),
            output_multiplier: QuantizedMultiplier::new(1 << 30, -19).unwrap(),
            act_min: -128,
            act_max: 127,
        }
    }

    fn mul_params() -> MulParams {
        MulParams {
            input1_zero_point: 0,
            input2_zero_point: 0,
            output_zero_point: 0,
            output_multiplier: QuantizedMultiplier::new(1 << 30, 0).unwrap(),
            act_min: -128,
            act_max: 127,
        }
    }

    #[test]
    fn adds_and_multiplies() {
        let mut y = [0i8; 3];
        // Real values (x + 128)/2 per input at equal scales: the sum requantised.
        add_s8(&add_params(), &[-128, 0, 127], &[-128, 0, 127], &mut y).unwrap();
        assert_eq!(y, [-128, 0, 127]);
        mul_s8(&mul_params(), &[2, -3, 100], &[4, 5, 100], &mut y).unwrap();
        // ×½ with rounding: 4, −7.5 → −7 (SRDHM rounds ties up), 5000 → clamp 127.
        assert_eq!(y, [4, -7, 127]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let a = add_params();
        let m = mul_params();
        let x = [0i8; 4];
        let mut y = [0i8; 4];
        assert!(add_s8(&a, &x[..3], &x, &mut y).is_err());
        assert!(add_s8(&a, &x, &x, &mut y[..3]).is_err());
        assert!(mul_s8(&m, &x, &x[..2], &mut y).is_err());
        assert!(mul_s8(&m, &x, &x, &mut y[..0]).is_err());
        assert!(
            add_s8(
                &AddParams {
                    left_shift: 32,
                    ..a
                },
                &x,
                &x,
                &mut y
            )
            .is_err()
        );
        assert!(
            add_s8(
                &AddParams {
                    input1_zero_point: 200,
                    ..a
                },
                &x,
                &x,
                &mut y
            )
            .is_err()
        );
        assert!(mul_s8(&MulParams { act_max: 128, ..m }, &x, &x, &mut y).is_err());
        assert!(
            mul_s8(
                &MulParams {
                    act_min: 1,
                    act_max: 0,
                    ..m
                },
                &x,
                &x,
                &mut y
            )
            .is_err()
        );
        assert!(
            mul_s8(
                &MulParams {
                    output_zero_point: -129,
                    ..m
                },
                &x,
                &x,
                &mut y
            )
            .is_err()
        );
    }
}
