//! QUANTIZE and DEQUANTIZE between f32 and int8/int16, and integer requantisation
//! (QUANTIZE with an integer input), bit-exact with TFLite's reference kernels.
//!
//! - **Quantize** (`reference_ops::AffineQuantize`):
//!   `q = clamp(round(x / scale) + zero_point, type range)`, the division in f32 and
//!   `round` to nearest with ties away from zero (`TfLiteRound`); NaN maps to the zero
//!   point ([`QuantParams::quantize`]).
//! - **Dequantize** (`reference_ops::Dequantize`): `x = (f32)(scale · (q − zero_point))`
//!   with the product in f64, as TFLite (whose `DequantizationParams::scale` is a
//!   double).
//! - **Requantize** (`reference_ops::Requantize`, TFLM `QUANTIZE` with an int8/int16
//!   input): `y = clamp(requant(q − input_zp, input_scale / output_scale) + output_zp,
//!   output type range)`, `requant` being [`QuantizedMultiplier::apply_double`] and the
//!   multiplier TFLite's `QuantizeMultiplier` of the f64 scale ratio
//!   ([`RequantizeParams::new`]).
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | `input` | any (element-wise) | `n` |
//! | `output` | same as `input` | `n` |

use mote_core::quant::{QuantParams, QuantizedMultiplier};
use mote_core::{Error, Result, error::check_len};

/// `output[i] = quantize(input[i])` into int8 (see the module docs).
///
/// Errors: `LengthMismatch` when `output` is not as long as `input`; `OutOfRange` for a
/// zero point outside int8.
pub fn quantize_s8(p: QuantParams, input: &[f32], output: &mut [i8]) -> Result<()> {
    check_zp("quantize_s8", p.zero_point(), I8)?;
    check_len("quantize_s8", input.len(), output.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        *o = p.quantize_i8(x);
    }
    Ok(())
}

/// `output[i] = quantize(input[i])` into int16 (see the module docs).
///
/// Errors: as [`quantize_s8`], with the int16 range.
pub fn quantize_s16(p: QuantParams, input: &[f32], output: &mut [i16]) -> Result<()> {
    check_zp("quantize_s16", p.zero_point(), I16)?;
    check_len("quantize_s16", input.len(), output.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        *o = p.quantize_i16(x);
    }
    Ok(())
}

/// `output[i] = scale · (input[i] − zero_point)` (see the module docs).
///
/// Errors: `LengthMismatch` when `output` is not as long as `input`; `OutOfRange` for a
/// zero point outside int8.
pub fn dequantize_s8(p: QuantParams, input: &[i8], output: &mut [f32]) -> Result<()> {
    check_zp("dequantize_s8", p.zero_point(), I8)?;
    check_len("dequantize_s8", input.len(), output.len())?;
    for (o, &q) in output.iter_mut().zip(input) {
        *o = dequantize_one(p, q.into());
    }
    Ok(())
}

/// `output[i] = scale · (input[i] − zero_point)` (see the module docs).
///
/// Errors: as [`dequantize_s8`], with the int16 range.
pub fn dequantize_s16(p: QuantParams, input: &[i16], output: &mut [f32]) -> Result<()> {
    check_zp("dequantize_s16", p.zero_point(), I16)?;
    check_len("dequantize_s16", input.len(), output.len())?;
    for (o, &q) in output.iter_mut().zip(input) {
        *o = dequantize_one(p, q.into());
    }
    Ok(())
}

#[inline]
fn dequantize_one(p: QuantParams, q: i32) -> f32 {
    (f64::from(p.scale()) * f64::from(q - p.zero_point())) as f32
}

const I8: (i32, i32) = (-128, 127);
const I16: (i32, i32) = (-32768, 32767);

fn check_zp(at: &'static str, zp: i32, (lo, hi): (i32, i32)) -> Result<()> {
    if zp < lo || zp > hi {
        return Err(Error::out_of_range(at, zp.into(), lo.into(), hi.into()));
    }
    Ok(())
}

/// Parameters of an integer-to-integer requantisation (TFLM `QUANTIZE` with an integer
/// input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RequantizeParams {
    /// TFLite zero point of the input.
    pub input_zero_point: i32,
    /// TFLite zero point of the output.
    pub output_zero_point: i32,
    /// `input_scale / output_scale`.
    pub multiplier: QuantizedMultiplier,
}

impl RequantizeParams {
    /// TFLM's preparation: `QuantizeMultiplier(input_scale / output_scale)` (f64) and
    /// the two zero points.
    ///
    /// Errors: `OutOfRange` when the scale ratio is `2^30` or more.
    pub fn new(input: QuantParams, output: QuantParams) -> Result<Self> {
        Ok(Self {
            input_zero_point: input.zero_point(),
            output_zero_point: output.zero_point(),
            multiplier: QuantizedMultiplier::from_real(
                f64::from(input.scale()) / f64::from(output.scale()),
            )?,
        })
    }
}

/// The shared loop: validates both zero points and the lengths, then requantises.
fn requantize<I: Copy + Into<i32>, O>(
    name: &'static str,
    p: &RequantizeParams,
    (in_range, out_range): ((i32, i32), (i32, i32)),
    input: &[I],
    output: &mut [O],
    from: fn(i32) -> O,
) -> Result<()> {
    check_zp(name, p.input_zero_point, in_range)?;
    check_zp(name, p.output_zero_point, out_range)?;
    check_len(name, input.len(), output.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        let y = p
            .multiplier
            .apply_double(x.into() - p.input_zero_point)
            .saturating_add(p.output_zero_point)
            .clamp(out_range.0, out_range.1);
        *o = from(y);
    }
    Ok(())
}

/// Requantises int8 to int8 (see the module docs).
///
/// Errors: `LengthMismatch` when `output` is not as long as `input`; `OutOfRange` for a
/// zero point outside its type.
pub fn requantize_s8_s8(p: &RequantizeParams, input: &[i8], output: &mut [i8]) -> Result<()> {
    requantize("requantize_s8_s8", p, (I8, I8), input, output, |v| v as i8)
}

/// Requantises int16 to int8 (see the module docs).
///
/// Errors: as [`requantize_s8_s8`].
pub fn requantize_s16_s8(p: &RequantizeParams, input: &[i16], output: &mut [i8]) -> Result<()> {
    requantize("requantize_s16_s8", p, (I16, I8), input, output, |v| {
        v as i8
    })
}

/// Requantises int8 to int16 (see the module docs).
///
/// Errors: as [`requantize_s8_s8`].
pub fn requantize_s8_s16(p: &RequantizeParams, input: &[i8], output: &mut [i16]) -> Result<()> {
    requantize("requantize_s8_s16", p, (I8, I16), input, output, |v| {
        v as i16
    })
}

/// Requantises int16 to int16 (see the module docs).
///
/// Errors: as [`requantize_s8_s8`].
pub fn requantize_s16_s16(p: &RequantizeParams, input: &[i16], output: &mut [i16]) -> Result<()> {
    requantize("requantize_s16_s16", p, (I16, I16), input, output, |v| {
        v as i16
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(scale: f32, zp: i32) -> QuantParams {
        QuantParams::new(scale, zp).unwrap()
    }

    #[test]
    fn quantize_and_dequantize_by_hand() {
        let p = q(0.5, -3);
        let mut y = [0i8; 6];
        quantize_s8(p, &[0.0, 0.25, -0.25, 1.0, 1000.0, f32::NAN], &mut y).unwrap();
        // 0.25/0.5 = 0.5 → 1 (ties away from zero); −0.5 → −1.
        assert_eq!(y, [-3, -2, -4, -1, 127, -3]);
        let mut y16 = [0i16; 2];
        quantize_s16(q(0.001, 0), &[1.0, -100.0], &mut y16).unwrap();
        assert_eq!(y16, [1000, -32768]);
        let mut f = [0f32; 3];
        dequantize_s8(p, &[-3, -1, 127], &mut f).unwrap();
        assert_eq!(f, [0.0, 1.0, 65.0]);
        dequantize_s16(q(0.25, 2), &[2, 6, -32768], &mut f).unwrap();
        assert_eq!(f, [0.0, 1.0, -8192.5]);
    }

    #[test]
    fn requantize_by_hand() {
        // int8 at scale 0.1, zp 4 → int8 at scale 0.2, zp −2: (q − 4)/2 − 2.
        let p = RequantizeParams::new(q(0.1, 4), q(0.2, -2)).unwrap();
        let mut y = [0i8; 4];
        requantize_s8_s8(&p, &[4, 7, 1, 127], &mut y).unwrap();
        // 1.5 → 2 (srdhm ties up), −1.5 → −1 (srdhm), 61.5 → 62.
        assert_eq!(y, [-2, 0, -3, 60]);
        // int16 → int8: scale 2^-12 → 1/16 (÷256), zp 0 → 0.
        let p = RequantizeParams::new(q(1.0 / 4096.0, 0), q(1.0 / 16.0, 0)).unwrap();
        requantize_s16_s8(&p, &[256, -512, 32767, -32768], &mut y).unwrap();
        assert_eq!(y, [1, -2, 127, -128]);
        // int8 → int16: ×256.
        let p = RequantizeParams::new(q(1.0 / 16.0, 0), q(1.0 / 4096.0, 0)).unwrap();
        let mut y16 = [0i16; 2];
        requantize_s8_s16(&p, &[1, -128], &mut y16).unwrap();
        assert_eq!(y16, [256, -32768]);
        requantize_s16_s16(&p, &[100, 200], &mut y16).unwrap();
        assert_eq!(y16, [25600, 32767]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let mut y = [0i8; 2];
        let mut f = [0f32; 2];
        assert!(quantize_s8(q(0.1, 0), &[0.0], &mut y).is_err());
        assert!(quantize_s8(q(0.1, 128), &[0.0; 2], &mut y).is_err());
        let mut y16 = [0i16; 2];
        assert!(quantize_s16(q(0.1, 40000), &[0.0; 2], &mut y16).is_err());
        assert!(quantize_s16(q(0.1, 0), &[0.0; 3], &mut y16).is_err());
        assert!(dequantize_s8(q(0.1, 0), &[0; 3], &mut f).is_err());
        assert!(dequantize_s8(q(0.1, -129), &[0; 2], &mut f).is_err());
        assert!(dequantize_s16(q(0.1, 0), &[0; 1], &mut f).is_err());
        let p = RequantizeParams::new(q(0.1, 0), q(0.1, 0)).unwrap();
        assert!(requantize_s8_s8(&p, &[0; 3], &mut y).is_err());
        let bad = RequantizeParams {
            output_zero_point: 1000,
            ..p
        };
        assert!(requantize_s16_s8(&bad, &[0; 2], &mut y).is_err());
        assert!(requantize_s8_s16(&bad, &[0; 2], &mut y16).is_ok());
        let bad = RequantizeParams {
            input_zero_point: 1000,
            ..p
        };
        assert!(requantize_s8_s16(&bad, &[0; 2], &mut y16).is_err());
        assert!(RequantizeParams::new(q(1e9, 0), q(1e-9, 0)).is_err());
    }
}
