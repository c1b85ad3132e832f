//! Element-wise activations of int8 tensors, bit-exact with TFLite Micro's reference
//! kernels (which CMSIS-NN follows): LOGISTIC, TANH and RELU / RELU6 / RELU_N1_TO_1
//! with requantisation.
//!
//! **Logistic and tanh** (`reference_integer_ops::Logistic` / `Tanh` for int8). At
//! prepare time the input scale is turned into a multiplier that maps `x − zp` to a
//! Q4.27 value (`kInputIntegerBits = 4`), and into a radius beyond which the function is
//! saturated ([`Params::from_scale`], TFLM's `CalculateArithmeticOpData` /
//! `CalculateArithmeticOpDataLogistic`). Per element, with `d = x − input_zero_point`:
//!
//! ```text
//! d ≤ −radius:  logistic → −128, tanh → −128
//! d ≥  radius:  logistic →  127, tanh →  127
//! otherwise:    z = requant(d, input_multiplier)                       (Q4.27)
//!               logistic: y = clamp(rdbpot(gemmlowp::logistic(z), 23) − 128, int8)
//!               tanh:     y = clamp(rdbpot(gemmlowp::tanh(z), 24), int8)
//! ```
//!
//! `requant` is [`QuantizedMultiplier::apply_double`] (TFLite's default double rounding),
//! `gemmlowp::logistic` / `tanh` are [`mote_core::fixed::logistic`] /
//! [`mote_core::fixed::tanh`] (Q0.31 results) and `rdbpot` is
//! [`rounding_divide_by_pot`]. The output quantisation is fixed, as TFLite requires:
//! logistic scale `1/256`, zero point −128; tanh scale `1/128`, zero point 0.
//!
//! **Relu family** (TFLite's `ReluQuantized` / `ReluX`, [`ReluParams`]):
//! `y = clamp(output_zp + requant(x − input_zp, input_scale/output_scale), act_min,
//! act_max)`, where the clamp is the activation's real range quantised with the output
//! parameters. With equal input and output quantisation this is TFLM's `Relu6Quantized`
//! clamp exactly (the multiplier `1.0` is the identity).
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | `input` | any (element-wise) | `n` |
//! | `output` | same as `input` | `n` |

use mote_core::fixed::{logistic, rounding_divide_by_pot, tanh};
use mote_core::quant::{FusedActivation, QuantParams, QuantizedMultiplier, calculate_input_radius};
use mote_core::{Error, ErrorKind, Result, error::check_len};

/// TFLite's `kInputIntegerBits` for int8 logistic and tanh: the input is scaled into Q4.27.
pub const INPUT_INTEGER_BITS: u32 = 4;

/// Prepared parameters of an int8 logistic or tanh (the two share TFLite's preparation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// TFLite zero point of the input, in `[-128, 127]`.
    pub input_zero_point: i32,
    /// Maps `x − input_zero_point` into Q4.27 (shift in TFLite convention, `0..=30`
    /// as prepared).
    pub input_multiplier: QuantizedMultiplier,
    /// Offsets with `|x − zp| ≥ input_range_radius` saturate the output (≥ 0).
    pub input_range_radius: i32,
}

impl Params {
    /// TFLite Micro's preparation for an int8 input of `input_scale` / `input_zero_point`:
    ///
    /// ```text
    /// real = input_scale · 2^(31 − 4)                     (in f64)
    /// (q, input_left_shift) = frexp(real);  input_multiplier = round(q · 2^31)
    /// input_range_radius = CalculateInputRadius(4, input_left_shift, 31)
    ///                    = floor(15 · 2^27 / 2^input_left_shift)
    /// ```
    ///
    /// One deviation: where `round(q · 2^31)` reaches `2^31` (which TFLite's
    /// `static_cast<int32_t>` would wrap to a negative multiplier), the significand is
    /// halved and the shift raised, as in `QuantizeMultiplier`.
    ///
    /// Errors: `InvalidFloat` for a scale that is not finite and positive; `OutOfRange`
    /// for a zero point outside int8, or a scale outside `[2^-28, 8)` (a shift outside
    /// `0..=30`, where TFLite's radius computation is undefined or the multiplier
    /// cannot be applied).
    pub fn from_scale(input_scale: f32, input_zero_point: i32) -> Result<Self> {
        const AT: &str = "logistic/tanh s8 params: input_scale";
        check_zero_point(
            "logistic/tanh s8 params: input_zero_point",
            input_zero_point,
        )?;
        if !(input_scale.is_finite() && input_scale > 0.0) {
            return Err(Error::new(ErrorKind::InvalidFloat, AT));
        }
        let real = f64::from(input_scale) * f64::from(1u32 << (31 - INPUT_INTEGER_BITS));
        let (q, mut shift) = libm::frexp(real);
        let mut m = libm::round(q * f64::from(1u32 << 31)) as i64;
        if m == 1i64 << 31 {
            m /= 2;
            shift += 1;
        }
        if !(0..=30).contains(&shift) {
            return Err(Error::out_of_range(AT, shift.into(), 0, 30));
        }
        Ok(Self {
            input_zero_point,
            // m ∈ [2^30, 2^31) and the shift in range: cannot fail.
            input_multiplier: QuantizedMultiplier::new(m as i32, shift)?,
            input_range_radius: calculate_input_radius(INPUT_INTEGER_BITS, shift as u32, 31),
        })
    }

    fn validate(&self, name: &'static str) -> Result<()> {
        check_zero_point(name, self.input_zero_point)?;
        if self.input_range_radius < 0 {
            return Err(Error::out_of_range(
                name,
                self.input_range_radius.into(),
                0,
                i32::MAX.into(),
            ));
        }
        Ok(())
    }
}

fn check_zero_point(at: &'static str, zp: i32) -> Result<()> {
    if !(-128..=127).contains(&zp) {
        return Err(Error::out_of_range(at, zp.into(), -128, 127));
    }
    Ok(())
}

/// Which of the two gemmlowp functions.
#[derive(Clone, Copy)]
enum Function {
    Logistic,
    Tanh,
}

fn run(name: &'static str, p: &Params, f: Function, input: &[i8], output: &mut [i8]) -> Result<()> {
    p.validate(name)?;
    check_len(name, input.len(), output.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        let d = i32::from(x) - p.input_zero_point;
        *o = if d <= -p.input_range_radius {
            i8::MIN
        } else if d >= p.input_range_radius {
            i8::MAX
        } else {
            let z = p.input_multiplier.apply_double(d);
            let y = match f {
                Function::Logistic => rounding_divide_by_pot(logistic::<4>(z), 23) - 128,
                Function::Tanh => rounding_divide_by_pot(tanh::<4>(z), 24),
            };
            y.clamp(-128, 127) as i8
        };
    }
    Ok(())
}

/// `output[i] = σ(x[i])` with the output at scale `1/256`, zero point −128 (see the
/// module docs; TFLite `reference_integer_ops::Logistic`, CMSIS-NN-compatible).
///
/// Errors: `LengthMismatch` when `output` is not as long as `input`; `OutOfRange` for a
/// zero point outside int8 or a negative radius.
pub fn logistic_s8(p: &Params, input: &[i8], output: &mut [i8]) -> Result<()> {
    run("logistic_s8", p, Function::Logistic, input, output)
}

/// `output[i] = tanh(x[i])` with the output at scale `1/128`, zero point 0 (see the
/// module docs; TFLite `reference_integer_ops::Tanh`).
///
/// Errors: as [`logistic_s8`].
pub fn tanh_s8(p: &Params, input: &[i8], output: &mut [i8]) -> Result<()> {
    run("tanh_s8", p, Function::Tanh, input, output)
}

/// Parameters of a quantised RELU-family activation (TFLite `ReluParams`), shared by the
/// int8 and int16 kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReluParams {
    /// TFLite zero point of the input.
    pub input_zero_point: i32,
    /// TFLite zero point of the output.
    pub output_zero_point: i32,
    /// `input_scale / output_scale` (TFLite `QuantizeMultiplier`).
    pub multiplier: QuantizedMultiplier,
    /// Lower clamp, in output quantised units.
    pub act_min: i32,
    /// Upper clamp, in output quantised units.
    pub act_max: i32,
}

impl ReluParams {
    /// TFLite's `CalculateReluOpData` / `QuantizedReluX`: the multiplier
    /// `input_scale / output_scale` (in f64) and the clamp
    /// `[max(qmin, zp + round(lo / scale)), min(qmax, zp + round(hi / scale))]` of the
    /// activation's real range `[lo, hi]` (unbounded sides give the type's limit), for
    /// an output type spanning `[qmin, qmax]` (`-128, 127` for int8, `-32768, 32767`
    /// for int16). `FusedActivation::None` gives a plain requantisation.
    ///
    /// Errors: `OutOfRange` for a zero point outside `[qmin, qmax]`, `qmin > qmax`, a
    /// scale ratio of `2^30` or more, or an activation range empty after quantisation.
    pub fn new(
        input: QuantParams,
        output: QuantParams,
        activation: FusedActivation,
        (qmin, qmax): (i32, i32),
    ) -> Result<Self> {
        const AT: &str = "relu params";
        let multiplier =
            QuantizedMultiplier::from_real(f64::from(input.scale()) / f64::from(output.scale()))?;
        let (act_min, act_max) = activation.range_quantized(output, qmin, qmax)?;
        let p = Self {
            input_zero_point: input.zero_point(),
            output_zero_point: output.zero_point(),
            multiplier,
            act_min,
            act_max,
        };
        p.validate(AT, (qmin, qmax))?;
        Ok(p)
    }

    /// RELU (`[0, ∞)`) over int8.
    pub fn relu_s8(input: QuantParams, output: QuantParams) -> Result<Self> {
        Self::new(input, output, FusedActivation::Relu, (-128, 127))
    }

    /// RELU6 (`[0, 6]`) over int8.
    pub fn relu6_s8(input: QuantParams, output: QuantParams) -> Result<Self> {
        Self::new(input, output, FusedActivation::Relu6, (-128, 127))
    }

    /// RELU (`[0, ∞)`) over int16.
    pub fn relu_s16(input: QuantParams, output: QuantParams) -> Result<Self> {
        Self::new(input, output, FusedActivation::Relu, (-32768, 32767))
    }

    /// RELU6 (`[0, 6]`) over int16.
    pub fn relu6_s16(input: QuantParams, output: QuantParams) -> Result<Self> {
        Self::new(input, output, FusedActivation::Relu6, (-32768, 32767))
    }

    /// Checks zero points and clamp against the element range `[lo, hi]`.
    pub(crate) fn validate(&self, name: &'static str, (lo, hi): (i32, i32)) -> Result<()> {
        if lo > hi {
            return Err(Error::out_of_range(
                name,
                lo.into(),
                i32::MIN.into(),
                hi.into(),
            ));
        }
        for v in [self.input_zero_point, self.output_zero_point, self.act_min] {
            if v < lo || v > hi {
                return Err(Error::out_of_range(name, v.into(), lo.into(), hi.into()));
            }
        }
        if self.act_max < self.act_min || self.act_max > hi {
            return Err(Error::out_of_range(
                name,
                self.act_max.into(),
                self.act_min.into(),
                hi.into(),
            ));
        }
        Ok(())
    }

    /// One element; the result lies in `[act_min, act_max]`.
    #[inline]
    pub(crate) fn apply(&self, x: i32) -> i32 {
        self.multiplier
            .apply_double(x - self.input_zero_point)
            .saturating_add(self.output_zero_point)
            .clamp(self.act_min, self.act_max)
    }
}

/// `output[i] = clamp(requantised x[i])`: TFLite's quantised RELU / RELU6 /
/// RELU_N1_TO_1, or any clamp-and-requantise given by `p` (see the module docs).
///
/// Errors: `LengthMismatch` when `output` is not as long as `input`; `OutOfRange` for a
/// zero point or clamp outside int8 or `act_min > act_max`.
pub fn relu_s8(p: &ReluParams, input: &[i8], output: &mut [i8]) -> Result<()> {
    p.validate("relu_s8", (-128, 127))?;
    check_len("relu_s8", input.len(), output.len())?;
    for (o, &x) in output.iter_mut().zip(input) {
        // In [act_min, act_max] ⊆ int8 after validation.
        *o = p.apply(x.into()) as i8;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(scale: f32, zp: i32) -> QuantParams {
        QuantParams::new(scale, zp).unwrap()
    }

    #[test]
    fn prepare_matches_tflite() {
        // scale 1/16: real = 2^23 → frexp (0.5, 24) → multiplier 2^30, shift 24;
        // radius = floor(15·2^27 / 2^24) = 120.
        let p = Params::from_scale(1.0 / 16.0, -3).unwrap();
        assert_eq!(p.input_multiplier.multiplier(), 1 << 30);
        assert_eq!(p.input_multiplier.shift(), 24);
        assert_eq!(p.input_range_radius, 120);
        assert_eq!(p.input_zero_point, -3);
        assert!(Params::from_scale(0.0, 0).is_err());
        assert!(Params::from_scale(f32::NAN, 0).is_err());
        assert!(Params::from_scale(0.1, 128).is_err());
        assert!(Params::from_scale(8.0, 0).is_err());
        assert!(Params::from_scale(1e-12, 0).is_err());
    }

    #[test]
    fn logistic_and_tanh_by_hand() {
        let p = Params::from_scale(1.0 / 16.0, 0).unwrap();
        let x = [0i8, 16, -16, 127, -128, 119, -119];
        let mut y = [0i8; 7];
        logistic_s8(&p, &x, &mut y).unwrap();
        // σ(0) = ½ → 128·… − 128 = 0; σ(1) = 0.731 → 187 − 128 = 59; σ(−1) → −59;
        // |d| ≥ 120 saturates; σ(7.4375)·256 = 255.85 → 256 − 128 → clamped 127.
        assert_eq!(y, [0, 59, -59, 127, -128, 127, -128]);
        tanh_s8(&p, &x, &mut y).unwrap();
        // tanh(1)·128 = 97.48 → 97.
        assert_eq!(y, [0, 97, -97, 127, -128, 127, -128]);
    }

    #[test]
    fn relu_family_by_hand() {
        // Same quantisation: RELU6 clamps to [zp, zp + round(6/scale)].
        let p = ReluParams::relu6_s8(q(0.1, -10), q(0.1, -10)).unwrap();
        assert_eq!((p.act_min, p.act_max), (-10, 50));
        let mut y = [0i8; 4];
        relu_s8(&p, &[-128, -10, 20, 127], &mut y).unwrap();
        assert_eq!(y, [-10, -10, 20, 50]);
        // Requantising RELU: input scale twice the output's.
        let p = ReluParams::relu_s8(q(0.2, 0), q(0.1, 5)).unwrap();
        relu_s8(&p, &[-3, 0, 3, 100], &mut y).unwrap();
        assert_eq!(y, [5, 5, 11, 127]);
        // No activation: plain requantisation.
        let p = ReluParams::new(q(0.2, 0), q(0.1, 5), FusedActivation::None, (-128, 127)).unwrap();
        relu_s8(&p, &[-3, 0, 3, -100], &mut y).unwrap();
        assert_eq!(y, [-1, 5, 11, -128]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let p = Params::from_scale(0.05, 0).unwrap();
        let x = [0i8; 4];
        let mut y = [0i8; 4];
        assert!(logistic_s8(&p, &x, &mut y[..3]).is_err());
        assert!(tanh_s8(&p, &x[..2], &mut y).is_err());
        let bad = Params {
            input_zero_point: -129,
            ..p
        };
        assert!(logistic_s8(&bad, &x, &mut y).is_err());
        let bad = Params {
            input_range_radius: -1,
            ..p
        };
        assert!(tanh_s8(&bad, &x, &mut y).is_err());

        let r = ReluParams::relu_s8(q(0.1, 0), q(0.1, 0)).unwrap();
        assert!(relu_s8(&r, &x, &mut y[..1]).is_err());
        assert!(relu_s8(&ReluParams { act_max: 128, ..r }, &x, &mut y).is_err());
        assert!(
            relu_s8(
                &ReluParams {
                    act_min: 3,
                    act_max: 2,
                    ..r
                },
                &x,
                &mut y
            )
            .is_err()
        );
        assert!(
            relu_s8(
                &ReluParams {
                    input_zero_point: 200,
                    ..r
                },
                &x,
                &mut y
            )
            .is_err()
        );
        assert!(ReluParams::relu_s8(q(0.1, 300), q(0.1, 0)).is_err());
        // Output zero point so high that RELU's lower bound exceeds the type.
        assert!(ReluParams::relu_s8(q(0.1, 0), q(0.1, 200)).is_err());
        assert!(ReluParams::relu_s8(q(1e9, 0), q(1e-9, 0)).is_err());
    }
}
