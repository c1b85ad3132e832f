//! Softmax over the rows of an int16 tensor, bit-exact with TFLite's reference int16
//! softmax (CMSIS-NN `arm_softmax_s16`), which works through two Q0.15 look-up tables
//! the caller supplies: `exp_lut`, `exp(x)` sampled on `[−10, 0]`, and
//! `one_by_one_lut`, `1/(1 + x)` sampled on `[0, 1]`, each [`LUT_LEN`] entries (TFLite
//! builds them in `Prepare`; CMSIS-NN ships them as constant tables).
//!
//! The input is `[rows][row_size]`, the output has scale `1/32768` and zero point 0.
//! Per row, with `max` the row maximum and `lut(v, T)` the linear interpolation
//! `T[i] + ((T[i+1] − T[i])·f + 64) >> 7` at `i = 256 + (v >> 7)`, `f = v & 127`:
//!
//! ```text
//! e_j = lut(clamp(requant(x_j − max, input_multiplier) + 32767, int16), exp_lut)
//! sum = Σ e_j;  h = clz32(sum);  s = ((sum << (h − 1)) + 2^13) >> 14
//! r   = lut(clamp(s − 3·2^15, int16), one_by_one_lut)
//! y_j = clamp((e_j · r + 2^(30 − h)) >> (31 − h), 0, 32767)
//! ```
//!
//! `requant` is [`QuantizedMultiplier::apply_double`]. A row whose exponentials sum to 0
//! (possible only with a degenerate table) outputs zeros.

use mote_core::quant::QuantizedMultiplier;
use mote_core::{Error, Result, error::check_len};

/// The number of entries of each look-up table: 512 intervals plus the end point.
pub const LUT_LEN: usize = 513;

/// Parameters of an int16 softmax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Number of rows (every axis but the last, flattened).
    pub rows: usize,
    /// Length of a row (the softmax axis).
    pub row_size: usize,
    /// Scales `x − max` onto the `exp_lut` input range (TFLite shift convention:
    /// negative = right shift).
    pub input_multiplier: QuantizedMultiplier,
}

/// TFLite's `gen_lut` for an int16 table of `f` on `[lo, hi]` with outputs in
/// `[-1, 1]`: 512 samples plus the end point, each nudged by half the error the linear
/// interpolation makes at the interval's midpoint (f32 arithmetic, as TFLite's).
fn gen_lut(f: impl Fn(f32) -> f32, lo: f32, hi: f32) -> [i16; LUT_LEN] {
    let steps = (LUT_LEN - 1) as f32;
    let step = (hi - lo) / steps;
    let half = step / 2.0;
    let inv = 65536.0f32 / 2.0;
    let round = libm::roundf;
    let clamp = |v: f32| v.clamp(i16::MIN as f32, i16::MAX as f32) as i16;
    let mut t = [0i16; LUT_LEN];
    for (i, e) in t.iter_mut().enumerate().take(LUT_LEN - 1) {
        let x = lo + i as f32 * step;
        let (v, mid, next) = (f(x), f(x + half), f(lo + (i + 1) as f32 * step));
        let sample = round(v * inv);
        let interp = round((next * inv + round(v * inv)) / 2.0);
        let bias = round((interp - round(mid * inv)) / 2.0);
        *e = clamp(sample - bias);
    }
    t[LUT_LEN - 1] = clamp(round(f(hi) * inv));
    t
}

/// The `exp_lut` table TFLite builds: `exp(x)` on `[−10, 0]` in Q0.15.
pub fn exp_lut() -> [i16; LUT_LEN] {
    gen_lut(libm::expf, -10.0, 0.0)
}

/// The `one_by_one_lut` table TFLite builds: `1/(1 + x)` on `[0, 1]` in Q0.15.
pub fn one_by_one_lut() -> [i16; LUT_LEN] {
    gen_lut(|x| 1.0 / (1.0 + x), 0.0, 1.0)
}

/// Interpolates table `t` (of [`LUT_LEN`] entries) at `v`.
#[inline]
fn lut(v: i16, t: &[i16]) -> i32 {
    let v = i32::from(v);
    let i = (256 + (v >> 7)) as usize; // 0..=511
    let f = v & 127;
    let (Some(&a), Some(&b)) = (t.get(i), t.get(i + 1)) else {
        return 0;
    };
    let (a, b) = (i32::from(a), i32::from(b));
    a + (((b - a) * f + 64) >> 7)
}

/// Clamps to the int16 range.
#[inline]
fn sat16(v: i32) -> i16 {
    v.clamp(i16::MIN.into(), i16::MAX.into()) as i16
}

/// Softmax of int16 rows into int16 (scale 1/32768, zero point 0), with the caller's
/// `exp_lut` and `one_by_one_lut` tables (see the module docs).
///
/// Errors: `LengthMismatch` when a table is not [`LUT_LEN`] long or `input` / `output`
/// is not `rows · row_size` long; `Overflow` when `rows · row_size` overflows;
/// `ElementOutOfRange` for a negative `exp_lut` entry (exponentials are positive).
pub fn softmax_s16(
    p: &Params,
    exp_lut: &[i16],
    one_by_one_lut: &[i16],
    input: &[i16],
    output: &mut [i16],
) -> Result<()> {
    const AT: &str = "softmax_s16";
    check_len("softmax_s16: exp_lut", LUT_LEN, exp_lut.len())?;
    check_len("softmax_s16: one_by_one_lut", LUT_LEN, one_by_one_lut.len())?;
    if let Some(i) = exp_lut.iter().position(|&v| v < 0) {
        return Err(Error::element_out_of_range(
            "softmax_s16: exp_lut",
            i,
            exp_lut[i].into(),
            0,
            i16::MAX.into(),
        ));
    }
    let len = p
        .rows
        .checked_mul(p.row_size)
        .ok_or(Error::new(mote_core::ErrorKind::Overflow, AT))?;
    check_len("softmax_s16: input", len, input.len())?;
    check_len("softmax_s16: output", len, output.len())?;
    if p.row_size == 0 {
        return Ok(());
    }
    let m = p.input_multiplier;
    for (x, y) in input
        .chunks_exact(p.row_size)
        .zip(output.chunks_exact_mut(p.row_size))
    {
        let max = x.iter().copied().max().map_or(0, i32::from);
        let exp = |v: i16| {
            lut(
                sat16(m.apply_double(i32::from(v) - max).saturating_add(32767)),
                exp_lut,
            )
        };
        // Entries are ≥ 0, so the saturating sum is ≥ 0.
        let sum = x.iter().fold(0i32, |acc, &v| acc.saturating_add(exp(v)));
        let h = (sum as u32).leading_zeros();
        if h >= 32 {
            y.fill(0);
            continue;
        }
        // 1 ≤ h ≤ 31: sum << (h − 1) < 2^30.
        let s = ((sum << (h - 1)) + (1 << 13)) >> 14;
        let r = i64::from(lut(sat16(s - ((1 << 15) + (1 << 16))), one_by_one_lut));
        let shift = 31 - h; // 0..=30
        let round = if shift > 0 { 1i64 << (shift - 1) } else { 0 };
        for (o, &v) in y.iter_mut().zip(x) {
            let e = i64::from(exp(v));
            *o = ((e * r + round) >> shift).clamp(0, i16::MAX.into()) as i16;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            rows: 2,
            row_size: 3,
            input_multiplier: QuantizedMultiplier::new(1 << 30, -2).unwrap(),
        }
    }

    #[test]
    fn degenerate_tables_do_not_panic() {
        let zeros = [0i16; LUT_LEN];
        let ones = [i16::MAX; LUT_LEN];
        let x = [i16::MIN, 0, i16::MAX, 5, 5, 5];
        let mut y = [1i16; 6];
        softmax_s16(&params(), &zeros, &ones, &x, &mut y).unwrap();
        assert_eq!(y, [0; 6]);
        softmax_s16(&params(), &ones, &ones, &x, &mut y).unwrap();
        softmax_s16(&params(), &ones, &zeros, &x, &mut y).unwrap();
    }

    #[test]
    fn bad_arguments_are_errors() {
        let t = [1i16; LUT_LEN];
        let x = [0i16; 6];
        let mut y = [0i16; 6];
        let p = params();
        assert!(softmax_s16(&p, &t[..512], &t, &x, &mut y).is_err());
        assert!(softmax_s16(&p, &t, &t[..1], &x, &mut y).is_err());
        assert!(softmax_s16(&p, &t, &t, &x[..5], &mut y).is_err());
        assert!(softmax_s16(&p, &t, &t, &x, &mut y[..5]).is_err());
        let mut neg = t;
        neg[7] = -1;
        assert!(softmax_s16(&p, &neg, &t, &x, &mut y).is_err());
        let huge = Params {
            rows: usize::MAX,
            row_size: 3,
            ..p
        };
        assert!(softmax_s16(&huge, &t, &t, &x, &mut y).is_err());
    }
}
