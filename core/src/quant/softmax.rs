//! Input scaling of TFLite's integer softmax (`PreprocessSoftmaxScaling`,
//! `CalculateInputRadius`).

use super::multiplier::{QuantizedMultiplier, Rounding};
use crate::error::{Error, ErrorKind, Result};

/// How an integer softmax scales input differences `x − max` into `Q(I).(31−I)` before
/// `exp`, and which differences it drops as too negative to matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SoftmaxScaling {
    /// Multiplier applied to `(x − max) · 2^left_shift` with a high multiply.
    pub multiplier: i32,
    /// Left shift applied to the difference first (≥ 0).
    pub left_shift: i32,
    /// Differences below this (negative) bound give an output of the type's minimum.
    pub diff_min: i32,
}

/// The largest input difference whose scaled value still fits `Q(integer_bits)` after
/// `left_shift` (TFLite's `CalculateInputRadius`):
/// `floor((2^I − 1) · 2^(total_signed_bits − I) / 2^left_shift)`, saturated to `i32`.
pub fn calculate_input_radius(integer_bits: u32, left_shift: u32, total_signed_bits: u32) -> i32 {
    let integer_bits = integer_bits.min(total_signed_bits).min(62);
    let max_input_rescaled = ((1u64 << integer_bits) - 1) as f64
        * libm::exp2((total_signed_bits - integer_bits) as f64)
        / libm::exp2(left_shift as f64);
    let r = libm::floor(max_input_rescaled);
    if r >= i32::MAX as f64 {
        i32::MAX
    } else {
        r as i32
    }
}

/// TFLite's softmax preparation for an int8/int16 input of scale `input_scale` with
/// temperature `beta`, scaling differences into `Q(integer_bits)` (5 in TFLite's int8
/// softmax): the real multiplier `beta · input_scale · 2^(31 − I)`, capped at
/// `2^31 − 1` (`2^30 − 1` for single rounding), quantised with a left shift ≥ 0.
///
/// Errors: `InvalidFloat` for a non-positive or non-finite `beta · input_scale`,
/// `OutOfRange` when `integer_bits > 30` or the multiplier is below 1.
pub fn softmax_scaling(
    beta: f64,
    input_scale: f64,
    integer_bits: u32,
    rounding: Rounding,
) -> Result<SoftmaxScaling> {
    const AT: &str = "softmax scaling";
    if integer_bits > 30 {
        return Err(Error::out_of_range(AT, integer_bits as i64, 0, 30));
    }
    let product = beta * input_scale;
    if !(product.is_finite() && product > 0.0) {
        return Err(Error::new(ErrorKind::InvalidFloat, AT));
    }
    let cap = match rounding {
        Rounding::Double => ((1u64 << 31) - 1) as f64,
        Rounding::Single => ((1u64 << 30) - 1) as f64,
    };
    let real = (product * (1u64 << (31 - integer_bits)) as f64).min(cap);
    let m = QuantizedMultiplier::from_real_greater_than_one(real).map_err(|_| {
        Error::new(
            ErrorKind::InvalidFloat,
            "softmax scaling: multiplier must exceed 1",
        )
    })?;
    let left_shift = m.shift();
    let diff_min = -calculate_input_radius(integer_bits, left_shift as u32, 31);
    Ok(SoftmaxScaling {
        multiplier: m.multiplier(),
        left_shift,
        diff_min,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_known_values() {
        // (2^5 − 1)·2^26 / 2^20 = 31·64.
        assert_eq!(calculate_input_radius(5, 20, 31), 31 * 64);
        assert_eq!(calculate_input_radius(5, 0, 31), 31 << 26);
        assert_eq!(calculate_input_radius(40, 0, 62), i32::MAX);
    }

    #[test]
    fn scaling_for_typical_int8_softmax() {
        // Input scale 1/16, beta 1: real = 2^-4 · 2^26 = 2^22 → shift 23.
        let s = softmax_scaling(1.0, 1.0 / 16.0, 5, Rounding::Double).unwrap();
        assert_eq!((s.multiplier, s.left_shift), (1 << 30, 23));
        assert_eq!(s.diff_min, -calculate_input_radius(5, 23, 31));
        assert!(softmax_scaling(0.0, 0.1, 5, Rounding::Double).is_err());
        assert!(softmax_scaling(1.0, 0.1, 31, Rounding::Double).is_err());
    }
}
