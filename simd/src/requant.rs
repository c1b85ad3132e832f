//! Requantisation of int32 accumulators to int8 over a slice: the last step of the int8
//! dense and convolution kernels, `y = clamp(M(acc) + output_zero_point, min, max)`.

use crate::arch;
use mote_core::Result;
use mote_core::error::{Error, check_len};
use mote_core::quant::{QuantizedMultiplier, Rounding};

/// `out[i] = clamp(sat(multiplier.apply(acc[i], rounding) + zero_point), min, max)`.
///
/// Exactly TFLite's `MultiplyByQuantizedMultiplier` followed by the output zero point
/// and the fused-activation clamp, as mote's int8 kernels compute each output
/// ([`QuantizedMultiplier::apply`], then a saturating addition): bit-identical on every
/// path, for every multiplier, shift and zero point. The Helium path (Cortex-M55,
/// [`Rounding::Double`]) runs four lanes per step with `VQSHL`, `VQRDMULH` and a
/// rounding shift `VRSHL` corrected to round ties away from zero (gemmlowp's NEON form),
/// 3.1 instructions per element against 26 on the scalar path (QEMU, 784 elements); the
/// other rounding and paths use the scalar reference.
///
/// ```
/// use mote_core::quant::{QuantizedMultiplier, Rounding};
/// // M = 0.5: 2^30 · 2^(0 − 31).
/// let m = QuantizedMultiplier::new(1 << 30, 0)?;
/// let mut out = [0i8; 4];
/// mote_simd::requant::requantize_i8(&[10, -3, 1000, -5], m, Rounding::Double, 1, -128, 127, &mut out)?;
/// assert_eq!(out, [6, 0, 127, -1]); // srdhm rounds −1.5 and −2.5 up, to −1 and −2
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when `out` and `acc` differ in length, `OutOfRange` when
/// `min > max`.
pub fn requantize_i8(
    acc: &[i32],
    multiplier: QuantizedMultiplier,
    rounding: Rounding,
    zero_point: i32,
    min: i8,
    max: i8,
    out: &mut [i8],
) -> Result<()> {
    check_len("requantize_i8: out", acc.len(), out.len())?;
    if min > max {
        return Err(Error::out_of_range(
            "requantize_i8: min",
            i64::from(min),
            i64::from(i8::MIN),
            i64::from(max),
        ));
    }
    arch::requantize_i8(acc, multiplier, rounding, zero_point, min, max, out);
    Ok(())
}

/// Per-channel requantisation with TFLite's double rounding:
/// `out[i] = clamp(sat(M_i(acc[i] + bias[i]) + zero_point), min, max)` where `M_i` is
/// `QuantizedMultiplier::new(multipliers[i], shifts[i])` applied with
/// [`Rounding::Double`] and `acc[i] + bias[i]` wraps in `i32` — the output stage of an
/// int8 convolution with per-channel quantisation, channels in structure-of-arrays form.
///
/// Bit-identical on every path. The Helium path runs four channels per step (the
/// [`requantize_i8`] sequence with per-lane shifts and multipliers: `VQSHL`, `VQRDMULH`,
/// `VRSHL` by vectors); the other paths use the scalar reference.
///
/// ```
/// let mut out = [0i8; 2];
/// // M = 0.5 and M = 0.25 (2^30 · 2^(−1 − 31)), bias 1 and 0.
/// mote_simd::requant::requantize_i8_channels(&[9, 8], &[1, 0], &[1 << 30, 1 << 30], &[0, -1], 0, -128, 127, &mut out)?;
/// assert_eq!(out, [5, 2]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when `out`, `bias`, `multipliers` or `shifts` differ from
/// `acc` in length; `OutOfRange` when `min > max` or a shift is outside `[−31, 30]`.
#[allow(clippy::too_many_arguments)]
pub fn requantize_i8_channels(
    acc: &[i32],
    bias: &[i32],
    multipliers: &[i32],
    shifts: &[i32],
    zero_point: i32,
    min: i8,
    max: i8,
    out: &mut [i8],
) -> Result<()> {
    check_len("requantize_i8_channels: out", acc.len(), out.len())?;
    check_len("requantize_i8_channels: bias", acc.len(), bias.len())?;
    check_len(
        "requantize_i8_channels: multipliers",
        acc.len(),
        multipliers.len(),
    )?;
    check_len("requantize_i8_channels: shifts", acc.len(), shifts.len())?;
    if min > max {
        return Err(Error::out_of_range(
            "requantize_i8_channels: min",
            i64::from(min),
            i64::from(i8::MIN),
            i64::from(max),
        ));
    }
    let (lo, hi) = (
        QuantizedMultiplier::MIN_SHIFT,
        QuantizedMultiplier::MAX_SHIFT,
    );
    if let Some(&s) = shifts.iter().find(|&&s| s < lo || s > hi) {
        return Err(Error::out_of_range(
            "requantize_i8_channels: shifts",
            i64::from(s),
            i64::from(lo),
            i64::from(hi),
        ));
    }
    arch::requantize_i8_channels(acc, bias, multipliers, shifts, zero_point, min, max, out);
    Ok(())
}

/// Up to `N` channels' multipliers in structure-of-arrays form — the multipliers and the
/// shifts of [`QuantizedMultiplier`]s as two `i32` arrays — for
/// [`requantize_i8_prepared`].
///
/// Built from `QuantizedMultiplier`s only, so every shift is in range by construction:
/// an output stage that requantises the same channels many times (once per output pixel)
/// checks nothing per call but the lengths, where [`requantize_i8_channels`] scans its
/// shifts every time (on the Helium path that scan cost more than the requantisation
/// itself: 0.12 instructions per MAC of a 1×1 convolution of 64 channels, 0.8 of a 3×3
/// depthwise one, QEMU `mps3-an547`).
#[derive(Clone, Copy, Debug)]
pub struct ChannelMultipliers<const N: usize> {
    mult: [i32; N],
    /// The shifts split: `max(shift, 0)` and `min(shift, 0)` (the Helium stage takes
    /// them apart; their sum is the shift).
    left: [i32; N],
    neg_right: [i32; N],
}

impl<const N: usize> ChannelMultipliers<N> {
    /// `N` channels of [`QuantizedMultiplier::ZERO`].
    pub const fn new() -> Self {
        Self {
            mult: [QuantizedMultiplier::ZERO.multiplier(); N],
            left: [0; N],
            neg_right: [0; N],
        }
    }

    /// Sets channel `j` to `m` (nothing happens for `j ≥ N`).
    #[inline]
    pub fn set(&mut self, j: usize, m: QuantizedMultiplier) {
        let slots = (
            self.mult.get_mut(j),
            self.left.get_mut(j),
            self.neg_right.get_mut(j),
        );
        if let (Some(a), Some(l), Some(r)) = slots {
            let s = m.shift();
            (*a, *l, *r) = (m.multiplier(), s.max(0), s.min(0));
        }
    }
}

impl<const N: usize> Default for ChannelMultipliers<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// [`requantize_i8_channels`] for the first `acc.len()` channels of `multipliers`:
/// `out[i] = clamp(sat(M_i(acc[i] + bias[i]) + zero_point), min, max)` with
/// [`Rounding::Double`], the same bits, without the scan of the shifts (valid by
/// construction of [`ChannelMultipliers`]).
///
/// ```
/// use mote_core::quant::QuantizedMultiplier;
/// use mote_simd::requant::{ChannelMultipliers, requantize_i8_prepared};
/// let mut ms = ChannelMultipliers::<4>::new();
/// ms.set(0, QuantizedMultiplier::new(1 << 30, 0)?);
/// ms.set(1, QuantizedMultiplier::new(1 << 30, -1)?);
/// let mut out = [0i8; 2];
/// requantize_i8_prepared(&[9, 8], &[1, 0], &ms, 0, -128, 127, &mut out)?;
/// assert_eq!(out, [5, 2]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when `out` or `bias` differs from `acc` in length;
/// `BufferTooSmall` when `acc` is longer than `N`; `OutOfRange` when `min > max`.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn requantize_i8_prepared<const N: usize>(
    acc: &[i32],
    bias: &[i32],
    multipliers: &ChannelMultipliers<N>,
    zero_point: i32,
    min: i8,
    max: i8,
    out: &mut [i8],
) -> Result<()> {
    let n = acc.len();
    check_len("requantize_i8_prepared: out", n, out.len())?;
    check_len("requantize_i8_prepared: bias", n, bias.len())?;
    mote_core::error::check_capacity("requantize_i8_prepared: multipliers", n, N)?;
    if min > max {
        return Err(Error::out_of_range(
            "requantize_i8_prepared: min",
            i64::from(min),
            i64::from(i8::MIN),
            i64::from(max),
        ));
    }
    let ms = multipliers;
    let arrays = (ms.mult.get(..n), ms.left.get(..n), ms.neg_right.get(..n));
    let (Some(m), Some(l), Some(r)) = arrays else {
        return Ok(());
    };
    arch::requantize_i8_channels_split(acc, bias, m, l, r, zero_point, min, max, out);
    Ok(())
}

/// [`requantize_i8_prepared`] for two rows of accumulators over the same channels (two
/// output pixels or batch rows): `out[r]` from `acc[r]` for `r < 2`. The same bits as
/// two calls; on Helium one loop loads each channel's bias, multiplier and shifts once
/// for both rows (3.5 instructions per output against 4.75).
///
/// Errors: `LengthMismatch` when `acc[1]`, `out[0]`, `out[1]` or `bias` differs from
/// `acc[0]` in length; `BufferTooSmall` when `acc[0]` is longer than `N`; `OutOfRange`
/// when `min > max`.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn requantize_i8_prepared2<const N: usize>(
    acc: [&[i32]; 2],
    bias: &[i32],
    multipliers: &ChannelMultipliers<N>,
    zero_point: i32,
    min: i8,
    max: i8,
    out: [&mut [i8]; 2],
) -> Result<()> {
    let n = acc[0].len();
    check_len("requantize_i8_prepared2: acc[1]", n, acc[1].len())?;
    check_len("requantize_i8_prepared2: out[0]", n, out[0].len())?;
    check_len("requantize_i8_prepared2: out[1]", n, out[1].len())?;
    check_len("requantize_i8_prepared2: bias", n, bias.len())?;
    mote_core::error::check_capacity("requantize_i8_prepared2: multipliers", n, N)?;
    if min > max {
        return Err(Error::out_of_range(
            "requantize_i8_prepared2: min",
            i64::from(min),
            i64::from(i8::MIN),
            i64::from(max),
        ));
    }
    let ms = multipliers;
    let arrays = (ms.mult.get(..n), ms.left.get(..n), ms.neg_right.get(..n));
    let (Some(m), Some(l), Some(r)) = arrays else {
        return Ok(());
    };
    arch::requantize_i8_channels2(acc, bias, m, l, r, zero_point, min, max, out);
    Ok(())
}

/// Whether [`requantize_i8_channels`] runs a vector path now (Helium): callers that
/// keep their own scalar output stage (with per-channel constants prepared once) use it
/// only then.
#[inline(always)]
pub fn channels_vectorised() -> bool {
    arch::requantize_i8_channels_vectorised()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_match_apply_then_clamp() {
        let acc: [i32; 23] =
            core::array::from_fn(|i| (i as i32 - 11).wrapping_mul(0x0765_4321) ^ (i as i32 * 977));
        let bias: [i32; 23] = core::array::from_fn(|i| match i % 5 {
            0 => i32::MAX,
            1 => i32::MIN,
            _ => (i as i32) * -12345,
        });
        let ms: [i32; 23] = core::array::from_fn(|i| match i % 4 {
            0 => i32::MIN,
            1 => i32::MAX,
            2 => 1 << 30,
            _ => (i as i32).wrapping_mul(0x1234_5677),
        });
        let shifts: [i32; 23] = core::array::from_fn(|i| (i as i32 * 7) % 62 - 31);
        for (zp, min, max) in [
            (0, -128, 127),
            (i32::MAX, -5, 100),
            (-300, 0, 0),
            (3, -128, 127),
        ] {
            let mut out = [0i8; 23];
            requantize_i8_channels(&acc, &bias, &ms, &shifts, zp, min, max, &mut out).unwrap();
            for i in 0..23 {
                let q = QuantizedMultiplier::new(ms[i], shifts[i]).unwrap();
                let want = q
                    .apply(acc[i].wrapping_add(bias[i]), Rounding::Double)
                    .saturating_add(zp)
                    .clamp(min.into(), max.into());
                assert_eq!(i32::from(out[i]), want, "channel {i}");
            }
        }
        let mut out = [0i8; 1];
        assert!(requantize_i8_channels(&[1], &[0], &[1], &[31], 0, -128, 127, &mut out).is_err());
        assert!(requantize_i8_channels(&[1], &[0], &[1], &[0], 0, 1, 0, &mut out).is_err());
        assert!(requantize_i8_channels(&[1], &[], &[1], &[0], 0, 0, 1, &mut out).is_err());
    }

    #[test]
    fn matches_apply_then_clamp() {
        let acc: [i32; 21] =
            core::array::from_fn(|i| (i as i32 - 10).wrapping_mul(0x0765_4321) ^ (i as i32 * 977));
        for (m, shift) in [
            (1 << 30, 0),
            (i32::MAX, -31),
            (i32::MIN, 30),
            (-(1 << 30) - 7, -5),
        ] {
            let q = QuantizedMultiplier::new(m, shift).unwrap();
            for rounding in [Rounding::Double, Rounding::Single] {
                for (zp, min, max) in [(0, -128, 127), (i32::MAX, -5, 100), (-300, 0, 0)] {
                    let mut out = [0i8; 21];
                    requantize_i8(&acc, q, rounding, zp, min, max, &mut out).unwrap();
                    for (&a, &y) in acc.iter().zip(&out) {
                        let want = q
                            .apply(a, rounding)
                            .saturating_add(zp)
                            .clamp(min.into(), max.into());
                        assert_eq!(i32::from(y), want);
                    }
                }
            }
        }
        let mut out = [0i8; 2];
        let q = QuantizedMultiplier::ZERO;
        assert!(requantize_i8(&[1, 2], q, Rounding::Double, 0, 1, 0, &mut out).is_err());
        assert!(requantize_i8(&[1], q, Rounding::Double, 0, 0, 1, &mut out).is_err());
    }
}
