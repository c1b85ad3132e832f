//! Max and average pooling over int16 NHWC tensors, bit-exact with TFLite's reference
//! integer pooling (CMSIS-NN `arm_max_pool_s16` / `arm_avgpool_s16`). The geometry,
//! rounding and clamp are those of [`crate::int8::pool`], whose [`Params`] this module
//! shares; only the element type differs.

use crate::int8::pool::{Reduce, run, validate};
use mote_core::Result;

pub use crate::int8::pool::Params;

/// Narrows a value already clamped to the int16 range.
fn to_i16(v: i32) -> i16 {
    v.clamp(i16::MIN.into(), i16::MAX.into()) as i16
}

/// Max pooling of an int16 NHWC tensor: `y = clamp(max of the in-bounds window,
/// act_min, act_max)`.
///
/// Errors: `Zero` for a zero kernel or stride, `OutOfRange` for an activation range
/// outside int16 or with `act_min > act_max`, `Overflow` for geometry that overflows
/// `usize`, `LengthMismatch` for `input` / `output` of the wrong length.
pub fn max_pool_s16(p: &Params, input: &[i16], output: &mut [i16]) -> Result<()> {
    validate("max_pool_s16", p, -32768, 32767, input.len(), output.len())?;
    run(p, Reduce::Max, input, output, i32::from, to_i16);
    Ok(())
}

/// Average pooling of an int16 NHWC tensor: the in-bounds mean rounded to nearest, ties
/// away from zero (`(s ± n/2) / n`, truncating), clamped to `[act_min, act_max]`.
///
/// Errors: as [`max_pool_s16`].
pub fn avg_pool_s16(p: &Params, input: &[i16], output: &mut [i16]) -> Result<()> {
    validate("avg_pool_s16", p, -32768, 32767, input.len(), output.len())?;
    run(p, Reduce::Average, input, output, i32::from, to_i16);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            batch: 1,
            input_h: 3,
            input_w: 3,
            channels: 1,
            output_h: 2,
            output_w: 2,
            kernel_h: 2,
            kernel_w: 2,
            stride_h: 2,
            stride_w: 2,
            pad_h: 1,
            pad_w: 1,
            act_min: -32768,
            act_max: 32767,
        }
    }

    #[test]
    fn padding_is_not_counted() {
        let p = params();
        let x = [1000, 2, 3, 4, 5, 6, 7, 8, -30000];
        let mut y = [0i16; 4];
        avg_pool_s16(&p, &x, &mut y).unwrap();
        // Windows: {1000}, {2,3}, {4,7}, {5,6,8,-30000}.
        assert_eq!(y, [1000, 3, 6, (5 + 6 + 8 - 30000 - 2) / 4]);
        max_pool_s16(&p, &x, &mut y).unwrap();
        assert_eq!(y, [1000, 3, 7, 8]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let p = params();
        let x = [0i16; 9];
        let mut y = [0i16; 4];
        assert!(max_pool_s16(&p, &x[..8], &mut y).is_err());
        assert!(avg_pool_s16(&p, &x, &mut y[..3]).is_err());
        assert!(avg_pool_s16(&Params { stride_w: 0, ..p }, &x, &mut y).is_err());
        assert!(
            max_pool_s16(
                &Params {
                    act_max: 32768,
                    ..p
                },
                &x,
                &mut y
            )
            .is_err()
        );
        assert!(
            max_pool_s16(
                &Params {
                    act_min: 1,
                    act_max: 0,
                    ..p
                },
                &x,
                &mut y
            )
            .is_err()
        );
    }
}
