//! Element-wise activations of int16 tensors, bit-exact with TFLite Micro's reference
//! kernels (CMSIS-NN `arm_logistic_s16` / `arm_tanh_s16` compute the same): LOGISTIC
//! and TANH through a 256-entry sigmoid table with linear interpolation, and the
//! RELU family with requantisation ([`relu_s16`], formulas in
//! [`crate::int8::activation`]).
//!
//! Input and output are symmetric (zero point 0, which TFLite requires); the output
//! scale is `2^-15` for both functions. The table is [`SIGMOID_TABLE`],
//! `T[i] = round(65536 · σ(i/24))` (last entry 65535), TFLite's
//! `sigmoid_table_uint16`; `tanh(x) = 2σ(2x) − 1` reads the same table at twice the
//! rate.
//!
//! **Input scaling** ([`Params`], TFLM `LogisticPrepare` / `TanhPrepare` with
//! `kInputIntegerBits = 3`): the input is brought to units of `1/(3·4096)`, so that
//! `±2^17` stands for `±10.67`:
//!
//! ```text
//! if input_multiplier == 0 (power-of-two scale):  m = 3 · 2^input_left_shift,  s = 0
//! else:                                           m = input_multiplier,   s = input_left_shift
//! v = (x · m + (s > 0 ? 2^(s−1) : 0)) >> s                 (≈ x · input_scale · 12288)
//! a = |v|
//! ```
//!
//! **Logistic** (`reference_integer_ops::Logistic` for int16), `h = a >> 9`, `f = a & 511`:
//!
//! ```text
//! r = h ≥ 255 ? 0x7FFF · 2^10 : T[h] · 2^9 + f · (T[h+1] − T[h])
//! y = v ≥ 0 ? (r + 2^9) >> 10 : (2^25 − r + 2^9 − 1) >> 10
//! ```
//!
//! **Tanh** (`reference_integer_ops::Tanh` for int16), `h = a >> 8`, `f = a & 255`:
//!
//! ```text
//! r = h ≥ 255 ? 0xFFFF · 2^8 : T[h] · 2^8 + f · (T[h+1] − T[h])
//! y = v ≥ 0 ? (r − 2^23 + 2^7) >> 8 : (−r + 2^23 + 2^7 − 1) >> 8
//! ```
//!
//! (`>>` is an arithmetic shift.) `x · m` is formed in 64 bits: where TFLite's int32
//! product would overflow (input scales above about 5, never produced by its
//! converter) mote keeps the true value, which saturates the function.
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | `input` | any (element-wise) | `n` |
//! | `output` | same as `input` | `n` |

use mote_core::{Error, ErrorKind, Result, error::check_len};

pub use crate::int8::activation::ReluParams;

/// TFLite's `sigmoid_table_uint16`: `round(65536 · σ(i/24))` for `i = 0 … 255`, with
/// the last entry held at 65535.
pub const SIGMOID_TABLE: [u16; 256] = [
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
];

/// Prepared input scaling of an int16 logistic or tanh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Multiplier to units of `1/(3·4096)` (at most `2^31 − 1`), or 0 for a
    /// power-of-two input scale (then `3 · 2^input_left_shift` is used).
    pub input_multiplier: i32,
    /// Right shift applied after the multiplier (`0..=31`); with a zero multiplier, the
    /// exponent of the power of two (`0..=1`).
    pub input_left_shift: i32,
}

/// TFLite's `CheckedLog2` (in f32): the rounded `log2(x)` and whether `x` is within
/// `1e-3` (in the exponent) of that power of two.
fn checked_log2(x: f32) -> (i32, bool) {
    let log2 = libm::logf(x) * (1.0f32 / libm::logf(2.0));
    let rounded = libm::roundf(log2);
    (rounded as i32, libm::fabsf(log2 - rounded) < 1e-3)
}

impl Params {
    /// TFLM `LogisticPrepare` for an int16 input: a power-of-two scale of exactly
    /// `2^-12` gives `(0, 0)`; any other scale `s` gives
    /// `m = s · 12288 · 2^k` (f64, truncated) with `k`, the returned shift, the number
    /// of doublings (at most 31) that takes `m` above `32767/2`.
    ///
    /// Errors: see [`tanh_from_scale`](Self::tanh_from_scale).
    pub fn logistic_from_scale(input_scale: f32, input_zero_point: i32) -> Result<Self> {
        Self::prepare(input_scale, input_zero_point, false)
    }

    /// TFLM `TanhPrepare` for an int16 input: as
    /// [`logistic_from_scale`](Self::logistic_from_scale), except that both `2^-12` and
    /// `2^-11` count as power-of-two scales (giving `(0, 0)` and `(0, 1)`). The two
    /// preparations give identical kernel results for every scale.
    ///
    /// Errors: `InvalidFloat` for a scale that is not finite and positive;
    /// `OutOfRange` for a non-zero zero point, or a scale so small (below about
    /// `2^-44`) that the multiplier truncates to 0, or so large that it exceeds int32.
    pub fn tanh_from_scale(input_scale: f32, input_zero_point: i32) -> Result<Self> {
        Self::prepare(input_scale, input_zero_point, true)
    }

    fn prepare(input_scale: f32, input_zero_point: i32, tanh: bool) -> Result<Self> {
        const AT: &str = "logistic/tanh s16 params: input_scale";
        if input_zero_point != 0 {
            return Err(Error::out_of_range(
                "logistic/tanh s16 params: input_zero_point",
                input_zero_point.into(),
                0,
                0,
            ));
        }
        if !(input_scale.is_finite() && input_scale > 0.0) {
            return Err(Error::new(ErrorKind::InvalidFloat, AT));
        }
        const INPUT_INTEGER_BITS: i32 = 3;
        let (log2, mut pot) = checked_log2(input_scale);
        let shift = (15 - INPUT_INTEGER_BITS) + log2;
        pot &= shift == 0 || (tanh && shift == 1);
        if pot {
            return Ok(Self {
                input_multiplier: 0,
                input_left_shift: shift,
            });
        }
        let mut multiplier = f64::from(input_scale) * 4096.0 * 3.0;
        let mut shift = 0;
        while multiplier <= 32767.0 / 2.0 && shift <= 30 {
            shift += 1;
            multiplier *= 2.0;
        }
        if !(1.0..=i32::MAX as f64).contains(&multiplier) {
            return Err(Error::out_of_range(
                AT,
                multiplier as i64,
                1,
                i32::MAX.into(),
            ));
        }
        Ok(Self {
            input_multiplier: multiplier as i32,
            input_left_shift: shift,
        })
    }

    /// The effective `(multiplier, right shift)` after the power-of-two substitution.
    fn effective(&self, name: &'static str) -> Result<(i64, u32)> {
        if self.input_multiplier < 0 {
            return Err(Error::out_of_range(
                name,
                self.input_multiplier.into(),
                0,
                i32::MAX.into(),
            ));
        }
        if self.input_multiplier == 0 {
            if !(0..=1).contains(&self.input_left_shift) {
                return Err(Error::out_of_range(
                    name,
                    self.input_left_shift.into(),
                    0,
                    1,
                ));
            }
            return Ok((3i64 << self.input_left_shift, 0));
        }
        if !(0..=31).contains(&self.input_left_shift) {
            return Err(Error::out_of_range(
                name,
                self.input_left_shift.into(),
                0,
                31,
            ));
        }
        Ok((self.input_multiplier.into(), self.input_left_shift as u32))
    }
}

/// `v = (x · m + round) >> s`, clamped to ±2^24 (beyond ±2^17 both functions saturate).
#[inline]
pub(crate) fn scaled(x: i16, m: i64, s: u32) -> i32 {
    let round = if s > 0 { 1i64 << (s - 1) } else { 0 };
    ((i64::from(x) * m + round) >> s).clamp(-(1 << 24), 1 << 24) as i32
}

/// Interpolates the table at `a` with `frac_bits` fraction bits; `saturated` when
/// `a >> frac_bits ≥ 255`.
#[inline]
fn interpolate(a: u32, frac_bits: u32, saturated: i64) -> i64 {
    let h = (a >> frac_bits) as usize;
    if h >= 255 {
        return saturated;
    }
    let ua = i64::from(SIGMOID_TABLE[h]);
    let ub = i64::from(SIGMOID_TABLE[h + 1]);
    let f = i64::from(a & ((1 << frac_bits) - 1));
    (ua << frac_bits) + f * (ub - ua)
}

/// `output[i] = σ(x[i])`, output scale `2^-15`, zero point 0 (see the module docs).
///
/// Errors: `LengthMismatch` when `output` is not as long as `input`; `OutOfRange` for a
/// negative multiplier or a shift outside its range.
pub fn logistic_s16(p: &Params, input: &[i16], output: &mut [i16]) -> Result<()> {
    let (m, s) = p.effective("logistic_s16")?;
    check_len("logistic_s16", input.len(), output.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        *o = logistic_scaled(scaled(x, m, s));
    }
    Ok(())
}

/// The logistic of an input already in units of `1/(3·4096)` (`v` of the module docs,
/// `|v| ≤ 2^24`), in Q0.15: the table lookup of [`logistic_s16`], shared with the
/// integer LSTM's gates.
#[inline]
pub(crate) fn logistic_scaled(v: i32) -> i16 {
    let r = interpolate(v.unsigned_abs(), 9, 0x7FFF << 10);
    let y = if v >= 0 {
        (r + (1 << 9)) >> 10
    } else {
        ((1 << 25) - r + (1 << 9) - 1) >> 10
    };
    // r ∈ [2^24, 0x7FFF·2^10]: y ∈ [1, 32767].
    y as i16
}

/// `output[i] = tanh(x[i])`, output scale `2^-15`, zero point 0 (see the module docs).
///
/// Errors: as [`logistic_s16`].
pub fn tanh_s16(p: &Params, input: &[i16], output: &mut [i16]) -> Result<()> {
    let (m, s) = p.effective("tanh_s16")?;
    check_len("tanh_s16", input.len(), output.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        *o = tanh_scaled(scaled(x, m, s));
    }
    Ok(())
}

/// The tanh of an input already in units of `1/(3·4096)` (`v` of the module docs,
/// `|v| ≤ 2^24`), in Q0.15: the table lookup of [`tanh_s16`], shared with the integer
/// LSTM's cell gate and cell-state tanh.
#[inline]
pub(crate) fn tanh_scaled(v: i32) -> i16 {
    let r = interpolate(v.unsigned_abs(), 8, 0xFFFF << 8);
    let y = if v >= 0 {
        (r - (1 << 23) + (1 << 7)) >> 8
    } else {
        (-r + (1 << 23) + (1 << 7) - 1) >> 8
    };
    // r ∈ [2^23, 0xFFFF·2^8]: y ∈ [−32767, 32767].
    y as i16
}

/// `output[i] = clamp(requantised x[i])`: TFLite's quantised RELU / RELU6 /
/// RELU_N1_TO_1 over int16 (see [`crate::int8::activation`]).
///
/// Errors: `LengthMismatch` when `output` is not as long as `input`; `OutOfRange` for a
/// zero point or clamp outside int16 or `act_min > act_max`.
pub fn relu_s16(p: &ReluParams, input: &[i16], output: &mut [i16]) -> Result<()> {
    p.validate("relu_s16", (-32768, 32767))?;
    check_len("relu_s16", input.len(), output.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        // In [act_min, act_max] ⊆ int16 after validation.
        *o = p.apply(x.into()) as i16;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::quant::QuantParams;

    #[test]
    fn table_is_sigmoid() {
        for (i, &t) in SIGMOID_TABLE.iter().enumerate().take(255) {
            let want = libm::round(65536.0 / (1.0 + libm::exp(-(i as f64) / 24.0)));
            assert!((f64::from(t) - want).abs() <= 1.0, "{i}: {t} vs {want}");
        }
    }

    #[test]
    fn prepare_matches_tflm() {
        let l = Params::logistic_from_scale(1.0 / 4096.0, 0).unwrap();
        assert_eq!((l.input_multiplier, l.input_left_shift), (0, 0));
        let t = Params::tanh_from_scale(1.0 / 2048.0, 0).unwrap();
        assert_eq!((t.input_multiplier, t.input_left_shift), (0, 1));
        // Logistic does not take 2^-11 as a power of two: 6 doubled 12 times.
        let l = Params::logistic_from_scale(1.0 / 2048.0, 0).unwrap();
        assert_eq!((l.input_multiplier, l.input_left_shift), (24576, 12));
        // 2^-15: 0.375 doubled 16 times = 24576.
        let l = Params::logistic_from_scale(1.0 / 32768.0, 0).unwrap();
        assert_eq!((l.input_multiplier, l.input_left_shift), (24576, 16));
        assert!(Params::logistic_from_scale(0.001, 1).is_err());
        assert!(Params::tanh_from_scale(-1.0, 0).is_err());
        assert!(Params::tanh_from_scale(1e-30, 0).is_err());
        assert!(Params::tanh_from_scale(1e30, 0).is_err());
    }

    #[test]
    fn by_hand() {
        let p = Params::logistic_from_scale(1.0 / 4096.0, 0).unwrap();
        let mut y = [0i16; 5];
        // x = 0, 1.0, −1.0, 8.0, −8.0 at scale 2^-12.
        let x = [0, 4096, -4096, 32767, -32768];
        logistic_s16(&p, &x, &mut y).unwrap();
        // σ(0)·2^15 = 16384; σ(1)·2^15 = 23955.1; σ(−1) = 1 − σ(1); σ(8) = 0.99966.
        assert_eq!(y[0], 16384);
        assert!((i32::from(y[1]) - 23955).abs() <= 1, "{y:?}");
        assert_eq!(i32::from(y[1]) + i32::from(y[2]), 32768);
        assert!((i32::from(y[3]) - 32757).abs() <= 1, "{y:?}");
        let p = Params::tanh_from_scale(1.0 / 4096.0, 0).unwrap();
        tanh_s16(&p, &x, &mut y).unwrap();
        // tanh(1)·2^15 = 24955.7; tanh(8) ≈ 1 → 32767.
        assert!(y[0].abs() <= 1, "{y:?}");
        assert!((i32::from(y[1]) - 24956).abs() <= 2, "{y:?}");
        assert!((i32::from(y[1]) + i32::from(y[2])).abs() <= 1, "{y:?}");
        assert_eq!((y[3], y[4]), (32767, -32767));
    }

    #[test]
    fn relu_by_hand() {
        let q = QuantParams::new(0.01, 0).unwrap();
        let p = ReluParams::relu6_s16(q, q).unwrap();
        assert_eq!((p.act_min, p.act_max), (0, 600));
        let mut y = [0i16; 3];
        relu_s16(&p, &[-500, 300, 30000], &mut y).unwrap();
        assert_eq!(y, [0, 300, 600]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let p = Params::tanh_from_scale(0.001, 0).unwrap();
        let x = [0i16; 3];
        let mut y = [0i16; 3];
        assert!(logistic_s16(&p, &x, &mut y[..2]).is_err());
        assert!(tanh_s16(&p, &x[..1], &mut y).is_err());
        let bad = Params {
            input_multiplier: -5,
            input_left_shift: 3,
        };
        assert!(logistic_s16(&bad, &x, &mut y).is_err());
        let bad = Params {
            input_multiplier: 0,
            input_left_shift: 2,
        };
        assert!(tanh_s16(&bad, &x, &mut y).is_err());
        let bad = Params {
            input_multiplier: 100,
            input_left_shift: 32,
        };
        assert!(tanh_s16(&bad, &x, &mut y).is_err());
        let q = QuantParams::new(0.01, 0).unwrap();
        let r = ReluParams::relu_s16(q, q).unwrap();
        assert!(relu_s16(&r, &x, &mut y[..1]).is_err());
        assert!(
            relu_s16(
                &ReluParams {
                    act_max: 40000,
                    ..r
                },
                &x,
                &mut y
            )
            .is_err()
        );
    }
}
