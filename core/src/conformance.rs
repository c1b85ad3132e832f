//! A digest of mote-core's arithmetic, to prove that a target computes exactly what the
//! host computes.
//!
//! [`digest`] drives every integer primitive, the quantised-multiplier maths (f64
//! through libm), the gemmlowp transcendental functions and the PRNG's float outputs
//! over a seeded stream, and folds each result into a 32-bit FNV-1a hash. A firmware
//! build compares its on-device digest with the one its build script computed on the
//! host; any difference in any result changes the digest.

use crate::fixed::{
    exp_on_negative_values, logistic, one_minus_x_over_one_plus_x_for_x_in_0_1,
    one_over_one_plus_x_for_x_in_0_1, rounding_divide_by_pot, rounding_divide_by_pot_i64,
    rounding_half_sum, saturating_rounding_doubling_high_mul, tanh,
};
use crate::quant::{FusedActivation, QuantParams, QuantizedMultiplier};
use crate::rng::Rng;

/// Rounds used by the firmware self-check and `mote conformance`.
pub const DEFAULT_ROUNDS: u32 = 2000;

/// The seed of the digest's input stream.
const SEED: u64 = 0x6D6F_7465; // "mote"

struct Fnv1a(u32);

impl Fnv1a {
    fn add(&mut self, word: u32) {
        for byte in word.to_le_bytes() {
            self.0 = (self.0 ^ byte as u32).wrapping_mul(0x0100_0193);
        }
    }
    fn add_i32(&mut self, x: i32) {
        self.add(x as u32);
    }
}

/// Runs `rounds` rounds of the arithmetic over a seeded stream and folds every result
/// into one `u32`. Deterministic: the same `rounds` gives the same digest on every
/// target whose arithmetic is correct.
pub fn digest(rounds: u32) -> u32 {
    let mut rng = Rng::new(SEED);
    let mut h = Fnv1a(0x811C_9DC5);
    for _ in 0..rounds {
        let a = rng.next_u32() as i32;
        let b = rng.next_u32() as i32;
        h.add_i32(saturating_rounding_doubling_high_mul(a, b));
        h.add_i32(rounding_divide_by_pot(a, rng.below(32)));
        h.add(
            rounding_divide_by_pot_i64(((a as i64) << 32) | b as u32 as i64, rng.below(64)) as u32,
        );
        h.add_i32(rounding_half_sum(a, b));

        let shift = rng.below(62) as i32 - 31;
        let significand = (rng.next_u32() >> 1) as i32 | (1 << 30);
        if let Ok(m) = QuantizedMultiplier::new(significand, shift) {
            // Smaller accumulators make the non-saturating cases common.
            let acc = a >> rng.below(24);
            h.add_i32(m.apply_double(acc));
            h.add_i32(m.apply_single(acc));
            h.add_i32(m.apply_i64(((acc as i64) << 12) + b as i64));
        }

        let real = rng.next_f64() * libm::exp2(rng.below(48) as f64 - 40.0);
        match QuantizedMultiplier::from_real(real) {
            Ok(m) => {
                h.add_i32(m.multiplier());
                h.add_i32(m.shift());
            }
            Err(_) => h.add(0xFFFF_FFFF),
        }

        let non_positive = if a > 0 { a.wrapping_neg() } else { a };
        h.add_i32(exp_on_negative_values::<5>(non_positive));
        h.add_i32(exp_on_negative_values::<0>(non_positive));
        h.add_i32(exp_on_negative_values::<12>(non_positive));
        h.add_i32(logistic::<4>(a));
        h.add_i32(tanh::<4>(b));
        h.add_i32(one_over_one_plus_x_for_x_in_0_1(a & i32::MAX));
        h.add_i32(one_minus_x_over_one_plus_x_for_x_in_0_1(b & i32::MAX));

        let scale = rng.uniform(1e-4, 0.5);
        let zero_point = rng.below(256) as i32 - 128;
        if let Ok(p) = QuantParams::new(scale, zero_point) {
            let x = rng.normal() * 4.0;
            h.add(p.quantize_i8(x) as u32);
            h.add(p.dequantize(a >> 24).to_bits());
            if let Ok((lo, hi)) = FusedActivation::Relu6.range_quantized(p, -128, 127) {
                h.add_i32(lo);
                h.add_i32(hi);
            }
        }
        h.add(rng.next_f32().to_bits());
    }
    h.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sensitive() {
        assert_eq!(digest(50), digest(50));
        assert_ne!(digest(50), digest(51));
    }
}
