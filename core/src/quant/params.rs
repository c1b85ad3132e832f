//! Quantisation parameters of a tensor: per tensor, or per channel along one axis.

use crate::error::{Error, ErrorKind, Result, check_len};

/// Scale and zero point of a tensor quantised per tensor:
/// `real = scale · (q − zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct QuantParams {
    scale: f32,
    zero_point: i32,
}

impl QuantParams {
    /// Parameters with a finite, positive `scale`. Errors with `InvalidFloat` otherwise.
    pub fn new(scale: f32, zero_point: i32) -> Result<Self> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::new(ErrorKind::InvalidFloat, "quant params: scale"));
        }
        Ok(Self { scale, zero_point })
    }

    /// The scale (a positive finite number).
    pub const fn scale(self) -> f32 {
        self.scale
    }

    /// The zero point.
    pub const fn zero_point(self) -> i32 {
        self.zero_point
    }

    /// Quantises `x` into `[qmin, qmax]` as TFLite's `AffineQuantize` does:
    /// `clamp(round(x / scale) + zero_point)`, f32 division, ties away from zero. NaN
    /// maps to the zero point.
    pub fn quantize(self, x: f32, qmin: i32, qmax: i32) -> i32 {
        let q = libm::roundf(x / self.scale) as i32; // saturating; NaN → 0
        q.saturating_add(self.zero_point)
            .clamp(qmin, qmax.max(qmin))
    }

    /// [`quantize`](Self::quantize) into the int8 range.
    pub fn quantize_i8(self, x: f32) -> i8 {
        self.quantize(x, i8::MIN as i32, i8::MAX as i32) as i8
    }

    /// [`quantize`](Self::quantize) into the int16 range.
    pub fn quantize_i16(self, x: f32) -> i16 {
        self.quantize(x, i16::MIN as i32, i16::MAX as i32) as i16
    }

    /// The real value of `q`: `scale · (q − zero_point)`.
    pub fn dequantize(self, q: i32) -> f32 {
        self.scale * (q as i64 - self.zero_point as i64) as f32
    }
}

/// Per-channel quantisation along `axis`: one scale (and zero point) per channel, the
/// scheme of TFLite's int8 conv and dense weights.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PerChannelQuant<'a> {
    scales: &'a [f32],
    zero_points: &'a [i32],
    axis: usize,
}

impl<'a> PerChannelQuant<'a> {
    /// Per-channel parameters. `zero_points` is as long as `scales`; every scale is
    /// finite and positive; there is at least one channel.
    pub fn new(scales: &'a [f32], zero_points: &'a [i32], axis: usize) -> Result<Self> {
        if scales.is_empty() {
            return Err(Error::zero("per-channel quant: scales"));
        }
        check_len(
            "per-channel quant: zero points",
            scales.len(),
            zero_points.len(),
        )?;
        if scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Error::new(
                ErrorKind::InvalidFloat,
                "per-channel quant: scales",
            ));
        }
        Ok(Self {
            scales,
            zero_points,
            axis,
        })
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.scales.len()
    }

    /// The quantised axis.
    pub fn axis(&self) -> usize {
        self.axis
    }

    /// The scales, one per channel.
    pub fn scales(&self) -> &'a [f32] {
        self.scales
    }

    /// The zero points, one per channel.
    pub fn zero_points(&self) -> &'a [i32] {
        self.zero_points
    }

    /// The parameters of channel `c`, or `None` past the last channel.
    pub fn channel(&self, c: usize) -> Option<QuantParams> {
        Some(QuantParams {
            scale: *self.scales.get(c)?,
            zero_point: *self.zero_points.get(c)?,
        })
    }
}

/// How a tensor is quantised.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Quantization<'a> {
    /// One scale and zero point for the whole tensor.
    PerTensor(QuantParams),
    /// One scale and zero point per channel along an axis.
    PerChannel(PerChannelQuant<'a>),
}

impl Quantization<'_> {
    /// The parameters that apply to channel `c` (every channel, per tensor).
    pub fn channel(&self, c: usize) -> Option<QuantParams> {
        match self {
            Self::PerTensor(p) => Some(*p),
            Self::PerChannel(pc) => pc.channel(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_round_trip() {
        let p = QuantParams::new(0.1, 3).unwrap();
        assert_eq!(p.quantize_i8(0.0), 3);
        assert_eq!(p.quantize_i8(0.25), 6); // 2.5 rounds away from zero
        assert_eq!(p.quantize_i8(-0.25), 0);
        assert_eq!(p.quantize_i8(1000.0), 127);
        assert_eq!(p.quantize_i8(f32::NAN), 3);
        assert!((p.dequantize(13) - 1.0).abs() < 1e-6);
        assert!(QuantParams::new(0.0, 0).is_err());
        assert!(QuantParams::new(f32::NAN, 0).is_err());
    }

    #[test]
    fn per_channel() {
        let scales = [0.1, 0.2];
        let zps = [0, 0];
        let pc = PerChannelQuant::new(&scales, &zps, 0).unwrap();
        assert_eq!(pc.channel(1).unwrap().scale(), 0.2);
        assert!(pc.channel(2).is_none());
        assert!(PerChannelQuant::new(&scales, &zps[..1], 0).is_err());
        assert!(PerChannelQuant::new(&[0.1, -1.0], &zps, 0).is_err());
        let q = Quantization::PerChannel(pc);
        assert_eq!(q.channel(0).unwrap().scale(), 0.1);
    }
}
