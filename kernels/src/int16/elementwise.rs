//! Element-wise add and multiply of two int16 tensors of the same length (no
//! broadcasting), bit-exact with TFLite's reference integer kernels (CMSIS-NN
//! `arm_elementwise_add_s16` / `arm_elementwise_mul_s16`). The formulas and parameter
//! structs are those of [`crate::int8::elementwise`]; TFLite's int16 add uses
//! `left_shift = 15` and zero points 0.

use crate::int8::elementwise::{add_one, mul_one, validate_add, validate_mul};
use mote_core::Result;

pub use crate::int8::elementwise::{AddParams, MulParams};

const RANGE: (i32, i32) = (i16::MIN as i32, i16::MAX as i32);

/// `output[i] = x1[i] + x2[i]` in the quantised domain (see
/// [`crate::int8::elementwise`]).
///
/// Errors: `LengthMismatch` when `input1`, `input2` and `output` differ in length,
/// `OutOfRange` for a zero point or clamp outside int16, `act_min > act_max`, or
/// `left_shift > 31`.
pub fn add_s16(p: &AddParams, input1: &[i16], input2: &[i16], output: &mut [i16]) -> Result<()> {
    validate_add(
        "add_s16",
        p,
        RANGE,
        input1.len(),
        input2.len(),
        output.len(),
    )?;
    for ((o, &a), &b) in output.iter_mut().zip(input1).zip(input2) {
        // In [act_min, act_max] ⊆ int16 after validation.
        *o = add_one(p, a.into(), b.into()) as i16;
    }
    Ok(())
}

/// `output[i] = x1[i] · x2[i]` in the quantised domain (see
/// [`crate::int8::elementwise`]).
///
/// Errors: `LengthMismatch` when `input1`, `input2` and `output` differ in length,
/// `OutOfRange` for a zero point or clamp outside int16 or `act_min > act_max`.
pub fn mul_s16(p: &MulParams, input1: &[i16], input2: &[i16], output: &mut [i16]) -> Result<()> {
    validate_mul(
        "mul_s16",
        p,
        RANGE,
        input1.len(),
        input2.len(),
        output.len(),
    )?;
    for ((o, &a), &b) in output.iter_mut().zip(input1).zip(input2) {
        // In [act_min, act_max] ⊆ int16 after validation.
        *o = mul_one(p, a.into(), b.into()) as i16;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::quant::QuantizedMultiplier;

    fn add_params() -> AddParams {
        let half = QuantizedMultiplier::new(1 << 30, 0).unwrap();
        AddParams {
            input1_zero_point: 0,
            input2_zero_point: 0,
            output_zero_point: 0,
            left_shift: 15,
            input1_multiplier: half,
            input2_multiplier: half,
            output_multiplier: QuantizedMultiplier::new(1 << 30, -14).unwrap(),
            act_min: -32768,
            act_max: 32767,
        }
    }

    fn mul_params() -> MulParams {
        MulParams {
            input1_zero_point: 0,
            input2_zero_point: 0,
            output_zero_point: 0,
            output_multiplier: QuantizedMultiplier::new(1 << 30, -14).unwrap(),
            act_min: -32768,
            act_max: 32767,
        }
    }

    #[test]
    fn extremes_saturate_without_panicking() {
        let mut y = [0i16; 2];
        add_s16(&add_params(), &[32767, -32768], &[32767, -32768], &mut y).unwrap();
        assert_eq!(y, [32767, -32768]);
        // (−32768)² = 2^30, ·2^−15 = 32768 → clamped to 32767.
        mul_s16(&mul_params(), &[-32768, 2], &[-32768, 3], &mut y).unwrap();
        assert_eq!(y, [32767, 0]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let a = add_params();
        let m = mul_params();
        let x = [0i16; 4];
        let mut y = [0i16; 4];
        assert!(add_s16(&a, &x[..3], &x, &mut y).is_err());
        assert!(add_s16(&a, &x, &x, &mut y[..3]).is_err());
        assert!(mul_s16(&m, &x, &x[..1], &mut y).is_err());
        assert!(mul_s16(&m, &x, &x, &mut y[..2]).is_err());
        assert!(
            add_s16(
                &AddParams {
                    left_shift: 40,
                    ..a
                },
                &x,
                &x,
                &mut y
            )
            .is_err()
        );
        assert!(
            add_s16(
                &AddParams {
                    act_min: -40000,
                    ..a
                },
                &x,
                &x,
                &mut y
            )
            .is_err()
        );
        assert!(
            mul_s16(
                &MulParams {
                    input2_zero_point: 40000,
                    ..m
                },
                &x,
                &x,
                &mut y
            )
            .is_err()
        );
        assert!(
            mul_s16(
                &MulParams {
                    act_min: 5,
                    act_max: 4,
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
