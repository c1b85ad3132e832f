//! Quantised multipliers (`real ≈ multiplier · 2^(shift − 31)`) and their application
//! to integer accumulators, bit-exact with TFLite's `QuantizeMultiplier` and
//! `MultiplyByQuantizedMultiplier`.

use crate::error::{Error, ErrorKind, Result};
use crate::fixed::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul};

/// How [`QuantizedMultiplier::apply`] rounds.
///
/// TFLite's default build rounds twice (`Double`); built with `TFLITE_SINGLE_ROUNDING`
/// (as some CMSIS-NN configurations are) it rounds once (`Single`). The two differ only
/// on rare ties, but a model must be run the way it was validated, so mote lets each call
/// choose rather than fixing it for a whole build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rounding {
    /// `rounding_divide_by_pot(srdhm(x · 2^left, m), right)`: TFLite's default.
    #[default]
    Double,
    /// `round(x · m / 2^(31 − shift))` with one rounding, ties toward +∞.
    Single,
}

/// A real multiplier as a Q0.31 significand and a power-of-two exponent:
/// `real ≈ multiplier · 2^(shift − 31)`.
///
/// `shift` follows TFLite: positive is a left shift, negative a right shift. It is kept
/// in `[-31, 30]`, the range both rounding forms support, so [`apply`](Self::apply) is
/// total. A multiplier produced by [`from_real`](Self::from_real) for a non-zero real
/// has `|multiplier|` in `[2^30, 2^31)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct QuantizedMultiplier {
    multiplier: i32,
    shift: i32,
}

// SAFETY: `QuantizedMultiplier` is `repr(C)` with two `i32` fields and no padding, so
// it has the size, alignment and layout of `[i32; 2]` (multiplier, shift); such a bit
// pattern is a valid value exactly when the shift lies in [MIN_SHIFT, MAX_SHIFT], which
// `is_valid_bit_pattern` checks. This lets a model file's multiplier tables be borrowed
// in place (zero-copy) after validation.
#[allow(unsafe_code)]
unsafe impl bytemuck::CheckedBitPattern for QuantizedMultiplier {
    type Bits = [i32; 2];

    fn is_valid_bit_pattern(bits: &[i32; 2]) -> bool {
        (Self::MIN_SHIFT..=Self::MAX_SHIFT).contains(&bits[1])
    }
}

impl QuantizedMultiplier {
    /// The smallest shift (a right shift by 31).
    pub const MIN_SHIFT: i32 = -31;
    /// The largest shift (a left shift by 30).
    pub const MAX_SHIFT: i32 = 30;
    /// The multiplier that maps every accumulator to 0.
    pub const ZERO: Self = Self {
        multiplier: 0,
        shift: 0,
    };

    /// A multiplier from its raw parts, e.g. as stored in a model file.
    ///
    /// Errors with `OutOfRange` (at `"quantized multiplier: shift"`) when `shift` is
    /// outside `[-31, 30]`.
    pub const fn new(multiplier: i32, shift: i32) -> Result<Self> {
        if shift < Self::MIN_SHIFT || shift > Self::MAX_SHIFT {
            return Err(Error::out_of_range(
                "quantized multiplier: shift",
                shift as i64,
                Self::MIN_SHIFT as i64,
                Self::MAX_SHIFT as i64,
            ));
        }
        Ok(Self { multiplier, shift })
    }

    /// The Q0.31 significand.
    pub const fn multiplier(self) -> i32 {
        self.multiplier
    }

    /// The power-of-two exponent (positive = left shift).
    pub const fn shift(self) -> i32 {
        self.shift
    }

    /// TFLite's `QuantizeMultiplier`: the significand is `round(q · 2^31)` for
    /// `real = q · 2^shift`, `q` in `[0.5, 1)` (ties away from zero); a significand that
    /// rounds up to `2^31` is halved with the shift raised by one; a real so small that
    /// the shift would fall below −31 flushes to [`ZERO`](Self::ZERO).
    ///
    /// Errors: `InvalidFloat` for NaN or ±∞, `OutOfRange` when `|real| ≥ 2^30` (a shift
    /// above 30, which neither rounding form supports).
    pub fn from_real(real: f64) -> Result<Self> {
        const AT: &str = "quantize_multiplier: real";
        if !real.is_finite() {
            return Err(Error::new(ErrorKind::InvalidFloat, AT));
        }
        if real == 0.0 {
            return Ok(Self::ZERO);
        }
        let (q, mut shift) = libm::frexp(real);
        let mut q_fixed = libm::round(q * (1u64 << 31) as f64) as i64;
        if q_fixed == 1i64 << 31 {
            q_fixed /= 2;
            shift += 1;
        }
        if shift < Self::MIN_SHIFT {
            return Ok(Self::ZERO);
        }
        if shift > Self::MAX_SHIFT {
            return Err(Error::out_of_range(
                AT,
                shift as i64,
                Self::MIN_SHIFT as i64,
                Self::MAX_SHIFT as i64,
            ));
        }
        // |q_fixed| ≤ 2^31 − 1 here, or exactly −2^31 for q = −1·…, which fits.
        Ok(Self {
            multiplier: q_fixed as i32,
            shift,
        })
    }

    /// TFLite's `QuantizeMultiplierSmallerThanOneExp`: [`from_real`](Self::from_real) for
    /// `0 < real < 1`, which gives `shift ≤ 0`. Errors with `OutOfRange` otherwise.
    pub fn from_real_smaller_than_one(real: f64) -> Result<Self> {
        if !(real > 0.0 && real < 1.0) {
            return Err(Error::new(
                ErrorKind::InvalidFloat,
                "quantize_multiplier_smaller_than_one: real",
            ));
        }
        Self::from_real(real)
    }

    /// TFLite's `QuantizeMultiplierGreaterThanOne`: [`from_real`](Self::from_real) for
    /// `real > 1`, which gives `shift ≥ 1`. Errors otherwise.
    pub fn from_real_greater_than_one(real: f64) -> Result<Self> {
        if real.is_nan() || real <= 1.0 {
            return Err(Error::new(
                ErrorKind::InvalidFloat,
                "quantize_multiplier_greater_than_one: real",
            ));
        }
        Self::from_real(real)
    }

    /// The multiplier of a convolution or dense output channel:
    /// `input_scale · weight_scale / output_scale`, computed in f64 as TFLite does.
    pub fn for_conv(input_scale: f32, weight_scale: f32, output_scale: f32) -> Result<Self> {
        for (s, at) in [
            (input_scale, "conv multiplier: input scale"),
            (weight_scale, "conv multiplier: weight scale"),
            (output_scale, "conv multiplier: output scale"),
        ] {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::new(ErrorKind::InvalidFloat, at));
            }
        }
        Self::from_real(input_scale as f64 * weight_scale as f64 / output_scale as f64)
    }

    /// The real value this multiplier stands for, `multiplier · 2^(shift − 31)`.
    pub fn to_real(self) -> f64 {
        self.multiplier as f64 * libm::exp2((self.shift - 31) as f64)
    }

    /// Multiplies an int32 accumulator by this multiplier (TFLite's
    /// `MultiplyByQuantizedMultiplier` on `int32`), rounding as asked.
    ///
    /// Where TFLite's C++ would overflow int32 (undefined behaviour there), mote
    /// saturates: the left-shifted accumulator in the double form, the result in the
    /// single form.
    #[inline]
    pub const fn apply(self, x: i32, rounding: Rounding) -> i32 {
        match rounding {
            Rounding::Double => self.apply_double(x),
            Rounding::Single => self.apply_single(x),
        }
    }

    /// [`apply`](Self::apply) with [`Rounding::Double`]: `rounding_divide_by_pot(
    /// srdhm(sat(x · 2^max(shift, 0)), multiplier), max(−shift, 0))`.
    #[inline]
    pub const fn apply_double(self, x: i32) -> i32 {
        let (left, right) = if self.shift > 0 {
            (self.shift as u32, 0)
        } else {
            (0, self.shift.unsigned_abs())
        };
        let shifted = crate::fixed::saturating_shift_left(x, left);
        rounding_divide_by_pot(
            saturating_rounding_doubling_high_mul(shifted, self.multiplier),
            right,
        )
    }

    /// [`apply`](Self::apply) with [`Rounding::Single`]:
    /// `sat((x · multiplier + 2^(30 − shift)) >> (31 − shift))`.
    #[inline]
    pub const fn apply_single(self, x: i32) -> i32 {
        let total_shift = (31 - self.shift) as u32; // 1..=62
        let round = 1i64 << (total_shift - 1);
        // |x·m| ≤ 2^62 and round ≤ 2^61: the sum fits in i64.
        let wide = (x as i64 * self.multiplier as i64 + round) >> total_shift;
        saturate_i32(wide)
    }

    /// Multiplies an int64 accumulator by this multiplier the way TFLite's 16×8 kernels
    /// do (`MultiplyByQuantizedMultiplier` on `int64`): the significand is first reduced
    /// to 16 bits, `Mr = (multiplier + 2^15) >> 16` (or `0x7FFF` when `multiplier ≥
    /// 0x7FFF0000`), then `(x · Mr + 2^(t − 1)) >> t` with `t = 15 − shift`.
    ///
    /// Exact for every `x` (an `i128` path handles `|x| ≥ 2^47`, outside TFLite's
    /// assumed range); the result saturates to int32.
    #[inline]
    pub const fn apply_i64(self, x: i64) -> i32 {
        let reduced: i64 = if self.multiplier < 0x7FFF_0000 {
            ((self.multiplier as i64) + (1 << 15)) >> 16
        } else {
            0x7FFF
        };
        let total_shift = 15 - self.shift; // -15..=46
        const LIMIT: i64 = 1 << 47;
        if total_shift >= 1 && x >= -LIMIT && x < LIMIT {
            // |x·Mr| < 2^62, round ≤ 2^45: fits in i64.
            let wide = (x * reduced + (1i64 << (total_shift - 1))) >> total_shift;
            return saturate_i32(wide);
        }
        let product = x as i128 * reduced as i128;
        let wide = if total_shift >= 1 {
            (product + (1i128 << (total_shift - 1))) >> total_shift
        } else {
            // |product| < 2^79 and the shift is ≤ 15: fits in i128.
            product << (-total_shift) as u32
        };
        if wide > i32::MAX as i128 {
            i32::MAX
        } else if wide < i32::MIN as i128 {
            i32::MIN
        } else {
            wide as i32
        }
    }
}

/// TFLite's name for [`QuantizedMultiplier::from_real`].
pub fn quantize_multiplier(real: f64) -> Result<QuantizedMultiplier> {
    QuantizedMultiplier::from_real(real)
}

/// TFLite's name for [`QuantizedMultiplier::apply`].
#[inline]
pub const fn multiply_by_quantized_multiplier(
    x: i32,
    multiplier: QuantizedMultiplier,
    rounding: Rounding,
) -> i32 {
    multiplier.apply(x, rounding)
}

#[inline]
const fn saturate_i32(x: i64) -> i32 {
    if x > i32::MAX as i64 {
        i32::MAX
    } else if x < i32::MIN as i64 {
        i32::MIN
    } else {
        x as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_known_values() {
        let m = QuantizedMultiplier::from_real(0.5).unwrap();
        assert_eq!((m.multiplier(), m.shift()), (1 << 30, 0));
        let m = QuantizedMultiplier::from_real(1.0).unwrap();
        assert_eq!((m.multiplier(), m.shift()), (1 << 30, 1));
        let m = QuantizedMultiplier::from_real(0.25).unwrap();
        assert_eq!((m.multiplier(), m.shift()), (1 << 30, -1));
        let m = QuantizedMultiplier::from_real(-0.75).unwrap();
        assert_eq!((m.multiplier(), m.shift()), (-(3 << 29), 0));
        // Rounds up to 2^31: halved, shift + 1.
        let m = QuantizedMultiplier::from_real(1.0 - 1e-12).unwrap();
        assert_eq!((m.multiplier(), m.shift()), (1 << 30, 1));
        // Flush to zero below 2^-32.
        assert_eq!(
            QuantizedMultiplier::from_real(1e-10).unwrap(),
            QuantizedMultiplier::ZERO
        );
        assert!(QuantizedMultiplier::from_real(f64::NAN).is_err());
        assert!(QuantizedMultiplier::from_real(2f64.powi(31)).is_err());
        assert!(QuantizedMultiplier::from_real(2f64.powi(29)).is_ok());
    }

    #[test]
    fn smaller_and_greater_than_one() {
        assert!(QuantizedMultiplier::from_real_smaller_than_one(1.0).is_err());
        assert!(QuantizedMultiplier::from_real_smaller_than_one(0.0).is_err());
        assert!(
            QuantizedMultiplier::from_real_smaller_than_one(0.3)
                .unwrap()
                .shift()
                <= 0
        );
        assert!(QuantizedMultiplier::from_real_greater_than_one(1.0).is_err());
        assert!(
            QuantizedMultiplier::from_real_greater_than_one(3.0)
                .unwrap()
                .shift()
                >= 1
        );
    }

    #[test]
    fn new_validates_shift() {
        assert!(QuantizedMultiplier::new(1 << 30, 31).is_err());
        assert!(QuantizedMultiplier::new(1 << 30, -32).is_err());
        assert!(QuantizedMultiplier::new(1 << 30, -31).is_ok());
    }

    #[test]
    fn apply_halves() {
        let half = QuantizedMultiplier::from_real(0.5).unwrap();
        assert_eq!(half.apply(10, Rounding::Double), 5);
        assert_eq!(half.apply(11, Rounding::Double), 6);
        assert_eq!(half.apply(-11, Rounding::Double), -5);
        assert_eq!(half.apply(11, Rounding::Single), 6);
        assert_eq!(half.apply(-11, Rounding::Single), -5);
        assert_eq!(half.apply_i64(11), 6);
        assert_eq!(half.apply_i64(1 << 50), i32::MAX);
    }

    #[test]
    fn for_conv_checks_scales() {
        assert!(QuantizedMultiplier::for_conv(0.5, 0.01, 0.0).is_err());
        let m = QuantizedMultiplier::for_conv(0.5, 0.02, 0.25).unwrap();
        assert!((m.to_real() - 0.04).abs() < 1e-9);
    }
}
