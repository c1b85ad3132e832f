//! Fused activations: the clamp a conv/dense/add kernel applies to its output, as TFLite
//! computes it (`CalculateActivationRange` / `CalculateActivationRangeQuantized`).

use super::params::QuantParams;
use crate::error::{Error, Result};

/// An activation fused into the preceding kernel as a clamp of its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FusedActivation {
    /// No clamp beyond the output type's range.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `min(max(x, −1), 1)`.
    ReluN1To1,
}

impl FusedActivation {
    /// The clamp range in real numbers (`±∞` where unbounded).
    pub const fn range_f32(self) -> (f32, f32) {
        match self {
            Self::None => (f32::NEG_INFINITY, f32::INFINITY),
            Self::Relu => (0.0, f32::INFINITY),
            Self::Relu6 => (0.0, 6.0),
            Self::ReluN1To1 => (-1.0, 1.0),
        }
    }

    /// The clamp range in quantised units of an output with `params`, within the output
    /// type's `[qmin, qmax]`: each real bound `f` maps to `zero_point + round(f / scale)`
    /// (f32 division, ties away from zero), as in TFLite.
    ///
    /// Errors when `qmin > qmax`.
    pub fn range_quantized(self, params: QuantParams, qmin: i32, qmax: i32) -> Result<(i32, i32)> {
        if qmin > qmax {
            return Err(Error::out_of_range(
                "fused activation: qmin",
                qmin as i64,
                i32::MIN as i64,
                qmax as i64,
            ));
        }
        let q = |f: f32| {
            params
                .zero_point()
                .saturating_add(libm::roundf(f / params.scale()) as i32)
        };
        Ok(match self {
            Self::None => (qmin, qmax),
            Self::Relu => (qmin.max(q(0.0)), qmax),
            Self::Relu6 => (qmin.max(q(0.0)), qmax.min(q(6.0))),
            Self::ReluN1To1 => (qmin.max(q(-1.0)), qmax.min(q(1.0))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_ranges() {
        let p = QuantParams::new(0.05, -10).unwrap();
        assert_eq!(
            FusedActivation::None.range_quantized(p, -128, 127),
            Ok((-128, 127))
        );
        assert_eq!(
            FusedActivation::Relu.range_quantized(p, -128, 127),
            Ok((-10, 127))
        );
        assert_eq!(
            FusedActivation::Relu6.range_quantized(p, -128, 127),
            Ok((-10, 110))
        );
        assert_eq!(
            FusedActivation::ReluN1To1.range_quantized(p, -128, 127),
            Ok((-30, 10))
        );
        // A scale so small that 6.0 maps beyond the type: clamped to qmax.
        let p = QuantParams::new(0.001, 0).unwrap();
        assert_eq!(
            FusedActivation::Relu6.range_quantized(p, -128, 127),
            Ok((0, 127))
        );
        assert!(FusedActivation::Relu.range_quantized(p, 5, 4).is_err());
    }

    #[test]
    fn float_ranges() {
        assert_eq!(FusedActivation::Relu6.range_f32(), (0.0, 6.0));
        assert_eq!(FusedActivation::ReluN1To1.range_f32(), (-1.0, 1.0));
    }
}
