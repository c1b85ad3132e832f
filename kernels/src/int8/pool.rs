//! Max and average pooling over int8 NHWC tensors, bit-exact with TFLite's reference
//! integer pooling (and so with CMSIS-NN `arm_max_pool_s8` / `arm_avgpool_s8`).
//!
//! Input and output share scale and zero point, so there is no requantisation: max
//! pooling takes the largest in-bounds tap, average pooling rounds the mean of the
//! in-bounds taps to nearest with ties away from zero (`(s ± n/2) / n`, truncating, as
//! TFLite does), and both clamp to the fused activation range `[act_min, act_max]`.
//!
//! Output `(b, oy, ox, c)` reads the taps `(oy·stride_h − pad_h + ky, ox·stride_w − pad_w
//! + kx)` for `0 ≤ ky < kernel_h`, `0 ≤ kx < kernel_w`; taps outside the input are
//! skipped (never read as zero) and not counted by the average. A window with no
//! in-bounds tap (only possible with padding at least as large as the kernel) outputs
//! `clamp(0, act_min, act_max)`.
//!
//! The geometry is given explicitly (output sizes and the padding before the first
//! row / column), as TFLite stores it after `Prepare`; the kernels check that every
//! window starts inside the padded input range they can index.

use mote_core::{Error, ErrorKind, Result, error::check_len, error::check_nonzero};

/// Geometry and clamp of one integer pooling call (shared by the int8 and int16 kernels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Images in the batch (N).
    pub batch: usize,
    /// Input height.
    pub input_h: usize,
    /// Input width.
    pub input_w: usize,
    /// Channels, pooled independently (the same for input and output).
    pub channels: usize,
    /// Output height.
    pub output_h: usize,
    /// Output width.
    pub output_w: usize,
    /// Window height.
    pub kernel_h: usize,
    /// Window width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Padding before the first row.
    pub pad_h: usize,
    /// Padding before the first column.
    pub pad_w: usize,
    /// Lower bound of the fused activation, in output quantised units.
    pub act_min: i32,
    /// Upper bound of the fused activation, in output quantised units.
    pub act_max: i32,
}

impl Params {
    /// Number of input elements, `batch·input_h·input_w·channels`.
    pub fn input_len(&self) -> Option<usize> {
        self.batch
            .checked_mul(self.input_h)?
            .checked_mul(self.input_w)?
            .checked_mul(self.channels)
    }

    /// Number of output elements, `batch·output_h·output_w·channels`.
    pub fn output_len(&self) -> Option<usize> {
        self.batch
            .checked_mul(self.output_h)?
            .checked_mul(self.output_w)?
            .checked_mul(self.channels)
    }
}

/// Max or average.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reduce {
    Max,
    Average,
}

/// Validates `p` for a kernel named `name` whose element type spans `[lo, hi]`.
pub(crate) fn validate(
    name: &'static str,
    p: &Params,
    lo: i32,
    hi: i32,
    input_len: usize,
    output_len: usize,
) -> Result<()> {
    check_nonzero(name, p.kernel_h)?;
    check_nonzero(name, p.kernel_w)?;
    check_nonzero(name, p.stride_h)?;
    check_nonzero(name, p.stride_w)?;
    if p.act_min < lo || p.act_min > hi {
        return Err(Error::out_of_range(
            name,
            p.act_min.into(),
            lo.into(),
            hi.into(),
        ));
    }
    if p.act_max < p.act_min || p.act_max > hi {
        return Err(Error::out_of_range(
            name,
            p.act_max.into(),
            p.act_min.into(),
            hi.into(),
        ));
    }
    // Every padded window position `o·stride + k` must be representable.
    let overflow = Error::new(ErrorKind::Overflow, name);
    for (out, stride, kernel) in [
        (p.output_h, p.stride_h, p.kernel_h),
        (p.output_w, p.stride_w, p.kernel_w),
    ] {
        out.saturating_sub(1)
            .checked_mul(stride)
            .and_then(|v| v.checked_add(kernel))
            .ok_or(overflow)?;
    }
    check_len(name, p.input_len().ok_or(overflow)?, input_len)?;
    check_len(name, p.output_len().ok_or(overflow)?, output_len)?;
    Ok(())
}

/// The pooling loop over pre-validated slices; `get` widens an element, `put` narrows a
/// clamped value (always within the element type's range after validation).
pub(crate) fn run<T: Copy>(
    p: &Params,
    reduce: Reduce,
    input: &[T],
    output: &mut [T],
    get: impl Fn(T) -> i32,
    put: impl Fn(i32) -> T,
) {
    let c = p.channels;
    let mut out = output.iter_mut();
    for b in 0..p.batch {
        let image = b * p.input_h * p.input_w * c;
        for oy in 0..p.output_h {
            let y0 = oy * p.stride_h;
            for ox in 0..p.output_w {
                let x0 = ox * p.stride_w;
                for ch in 0..c {
                    let mut sum: i64 = 0;
                    let mut max = i32::MIN;
                    let mut count: i64 = 0;
                    // Only the window positions inside the input: `iy = y0 + ky − pad_h`
                    // in `[0, input_h)`. (Stepping over the padded positions one by one
                    // made a valid model with a 2^31-wide, mostly padded window take
                    // minutes per invoke; found by tests/tests/format_reader.rs.)
                    let rows = window(y0, p.pad_h, p.kernel_h, p.input_h);
                    for iy in rows {
                        for ix in window(x0, p.pad_w, p.kernel_w, p.input_w) {
                            let idx = image + (iy * p.input_w + ix) * c + ch;
                            if let Some(&v) = input.get(idx) {
                                let v = get(v);
                                sum += i64::from(v);
                                max = max.max(v);
                                count += 1;
                            }
                        }
                    }
                    let value = if count == 0 {
                        0
                    } else {
                        match reduce {
                            Reduce::Max => max,
                            Reduce::Average => {
                                let half = count / 2;
                                let avg = if sum > 0 {
                                    (sum + half) / count
                                } else {
                                    (sum - half) / count
                                };
                                // The mean of in-range values is in range.
                                avg as i32
                            }
                        }
                    };
                    if let Some(o) = out.next() {
                        *o = put(value.clamp(p.act_min, p.act_max));
                    }
                }
            }
        }
    }
}

/// The input indices `start + k − pad` for `k` in `0..kernel` that lie in `0..input`
/// (the part of a pooling window that is not padding), without visiting the rest.
fn window(start: usize, pad: usize, kernel: usize, input: usize) -> core::ops::Range<usize> {
    let first = start.saturating_sub(pad);
    // One past the last position of the window, in input coordinates.
    let end = start.saturating_add(kernel).saturating_sub(pad);
    first..end.min(input).max(first)
}

/// Narrows a value already clamped to the int8 range.
fn to_i8(v: i32) -> i8 {
    v.clamp(i8::MIN.into(), i8::MAX.into()) as i8
}

/// Max pooling of an int8 NHWC tensor: `y = clamp(max of the in-bounds window, act_min,
/// act_max)`.
///
/// Errors: `Zero` for a zero kernel or stride, `OutOfRange` for an activation range
/// outside int8 or with `act_min > act_max`, `Overflow` for geometry that overflows
/// `usize`, `LengthMismatch` for `input` / `output` of the wrong length.
pub fn max_pool_s8(p: &Params, input: &[i8], output: &mut [i8]) -> Result<()> {
    validate("max_pool_s8", p, -128, 127, input.len(), output.len())?;
    run(p, Reduce::Max, input, output, i32::from, to_i8);
    Ok(())
}

/// Average pooling of an int8 NHWC tensor: the sum `s` of the `n` in-bounds taps gives
/// `(s + n/2) / n` for `s > 0`, else `(s − n/2) / n` (truncating divisions: round to
/// nearest, ties away from zero), then clamped to `[act_min, act_max]`.
///
/// Errors: as [`max_pool_s8`].
pub fn avg_pool_s8(p: &Params, input: &[i8], output: &mut [i8]) -> Result<()> {
    validate("avg_pool_s8", p, -128, 127, input.len(), output.len())?;
    run(p, Reduce::Average, input, output, i32::from, to_i8);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            batch: 1,
            input_h: 2,
            input_w: 4,
            channels: 1,
            output_h: 1,
            output_w: 2,
            kernel_h: 2,
            kernel_w: 2,
            stride_h: 2,
            stride_w: 2,
            pad_h: 0,
            pad_w: 0,
            act_min: -128,
            act_max: 127,
        }
    }

    #[test]
    fn pools_small_image() {
        let p = params();
        let x = [1, 5, 2, 0, 3, 4, 7, 6];
        let mut y = [0i8; 2];
        max_pool_s8(&p, &x, &mut y).unwrap();
        assert_eq!(y, [5, 7]);
        avg_pool_s8(&p, &x, &mut y).unwrap();
        // 13/4 = 3.25 → 3; 15/4 = 3.75 → 4.
        assert_eq!(y, [3, 4]);
        let neg = [-1, -2, 0, 0, -2, -1, 0, -2];
        avg_pool_s8(&p, &neg, &mut y).unwrap();
        // −6/4 = −1.5 → −2 (ties away from zero); −2/4 = −0.5 → −1.
        assert_eq!(y, [-2, -1]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let p = params();
        let x = [0i8; 8];
        let mut y = [0i8; 2];
        assert!(max_pool_s8(&p, &x[..7], &mut y).is_err());
        assert!(avg_pool_s8(&p, &x, &mut y[..1]).is_err());
        assert!(max_pool_s8(&Params { stride_h: 0, ..p }, &x, &mut y).is_err());
        assert!(max_pool_s8(&Params { kernel_w: 0, ..p }, &x, &mut y).is_err());
        assert!(avg_pool_s8(&Params { act_min: -129, ..p }, &x, &mut y).is_err());
        assert!(avg_pool_s8(&Params { act_max: 128, ..p }, &x, &mut y).is_err());
        assert!(
            avg_pool_s8(
                &Params {
                    act_min: 5,
                    act_max: 4,
                    ..p
                },
                &x,
                &mut y
            )
            .is_err()
        );
        let huge = Params {
            output_h: usize::MAX,
            stride_h: usize::MAX,
            ..p
        };
        assert!(max_pool_s8(&huge, &x, &mut y).is_err());
    }
}
