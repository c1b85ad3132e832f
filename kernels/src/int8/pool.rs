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
//!
//! The int8 kernels reduce whole windows for every channel at once with
//! [`mote_simd::int8`]'s window micro-kernels (four channels per word on the Arm DSP path:
//! SSUB8 + SEL for the maximum, SXTAB16 lane sums for the average), each output row's
//! interior in one call; the int16 kernels use the direct loop.

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
    windows(p, Reduce::Max, input, output);
    Ok(())
}

/// Channels per call of the window micro-kernels (their results live on the stack).
const BLOCK: usize = 64;

/// The int8 pooling loop over whole windows: for each output pixel the in-bounds taps
/// form a `rows × cols` rectangle, reduced for `BLOCK` channels per call by
/// [`mote_simd::int8::window_max`] or [`mote_simd::int8::window_sum`] (four channels per
/// word on the Arm DSP path), then clamped (max) or divided with [`run`]'s rounding
/// (average). Bit-exact with [`run`] (the sums and their rounding are exact in i32: windows of 2^23 or more
/// taps take [`run`]). `p` must have been validated.
fn windows(p: &Params, reduce: Reduce, input: &[i8], output: &mut [i8]) {
    use mote_simd::int8::{Taps, window_max, window_max_run, window_sum, window_sum_run};
    if p.kernel_h.saturating_mul(p.kernel_w) >= 1 << 23 {
        run(p, reduce, input, output, i32::from, to_i8);
        return;
    }
    let c = p.channels;
    if c == 0 {
        return;
    }
    let (lo, hi) = (p.act_min, p.act_max);
    let full_range = (lo, hi) == (-128, 127);
    let (mut maxes, mut sums) = ([0i8; BLOCK], [0i32; RUN]);
    // The output columns whose windows lie wholly inside the input along x: a range.
    let full =
        |ox: usize| window(ox * p.stride_w, p.pad_w, p.kernel_w, p.input_w).len() == p.kernel_w;
    let ox0 = (0..p.output_w).find(|&ox| full(ox)).unwrap_or(p.output_w);
    let ox1 = (ox0..p.output_w)
        .find(|&ox| !full(ox))
        .unwrap_or(p.output_w);
    let row_len = p.output_w * c;
    for (b, image_out) in output.chunks_exact_mut(p.output_h * row_len).enumerate() {
        let image = b * p.input_h * p.input_w * c;
        for (oy, y_row) in image_out.chunks_exact_mut(row_len).enumerate() {
            let rows = window(oy * p.stride_h, p.pad_h, p.kernel_h, p.input_h);
            // The interior of the row: one call per run of pixels.
            if !rows.is_empty() && ox0 < ox1 {
                let taps = Taps::new(rows.len(), p.kernel_w, p.input_w * c, c);
                let at = image + (rows.start * p.input_w + ox0 * p.stride_w - p.pad_w) * c;
                let xs = input.get(at..).unwrap_or(&[]);
                let ys = y_row.get_mut(ox0 * c..ox1 * c).unwrap_or(&mut []);
                let step = p.stride_w * c;
                match reduce {
                    Reduce::Max => {
                        if window_max_run(ys, c, xs, taps, step).is_err() {
                            ys.fill(0);
                        }
                        if !full_range {
                            for y in ys.iter_mut() {
                                *y = to_i8(i32::from(*y).clamp(lo, hi));
                            }
                        }
                    }
                    Reduce::Average if c <= RUN => {
                        let count = (rows.len() * p.kernel_w) as i32;
                        let per = RUN / c;
                        for (k, yk) in ys.chunks_mut(per * c).enumerate() {
                            let s = &mut sums[..yk.len()];
                            let xk = xs.get(k * per * step..).unwrap_or(&[]);
                            if window_sum_run(s, c, xk, taps, step).is_err() {
                                s.fill(0);
                            }
                            averages(yk, s, count, (lo, hi));
                        }
                    }
                    Reduce::Average => {}
                }
            }
            for (ox, y) in y_row.chunks_exact_mut(c).enumerate() {
                let run_done = !rows.is_empty() && (ox0..ox1).contains(&ox);
                if run_done && (reduce == Reduce::Max || c <= RUN) {
                    continue;
                }
                let cols = window(ox * p.stride_w, p.pad_w, p.kernel_w, p.input_w);
                let taps = Taps::new(rows.len(), cols.len(), p.input_w * c, c);
                let count = (rows.len() * cols.len()) as i32;
                let at = image + (rows.start * p.input_w + cols.start) * c;
                if count == 0 {
                    y.fill(to_i8(0.clamp(lo, hi)));
                    continue;
                }
                let mut c0 = 0;
                for ys in y.chunks_mut(BLOCK) {
                    let xs = input.get(at + c0..).unwrap_or(&[]);
                    c0 += ys.len();
                    match reduce {
                        Reduce::Max => {
                            let m = &mut maxes[..ys.len()];
                            if window_max(m, xs, taps).is_err() {
                                m.fill(0);
                            }
                            for (y, &v) in ys.iter_mut().zip(m.iter()) {
                                *y = to_i8(i32::from(v).clamp(lo, hi));
                            }
                        }
                        Reduce::Average => {
                            let s = &mut sums[..ys.len()];
                            if window_sum(s, xs, taps).is_err() {
                                s.fill(0);
                            }
                            averages(ys, s, count, (lo, hi));
                        }
                    }
                }
            }
        }
    }
}

/// `y = clamp((s ± n/2) / n, act)` for the sums `s` of `n = count > 0` taps (truncating
/// divisions: round to nearest, ties away from zero), as [`run`] computes averages.
#[inline(never)]
fn averages(ys: &mut [i8], sums: &[i32], count: i32, (lo, hi): (i32, i32)) {
    let half = count / 2;
    let avg = |sum: i32| {
        if sum > 0 {
            (sum + half) / count
        } else {
            (sum - half) / count
        }
    };
    if (lo, hi) == (-128, 127) {
        // The mean of int8 values is an int8 value: no clamp needed.
        for (y, &s) in ys.iter_mut().zip(sums) {
            *y = avg(s) as i8;
        }
    } else {
        for (y, &s) in ys.iter_mut().zip(sums) {
            *y = to_i8(avg(s).clamp(lo, hi));
        }
    }
}

/// Sums per call of [`mote_simd::int8::window_sum_run`] (they live on the stack).
const RUN: usize = 256;

/// Average pooling of an int8 NHWC tensor: the sum `s` of the `n` in-bounds taps gives
/// `(s + n/2) / n` for `s > 0`, else `(s − n/2) / n` (truncating divisions: round to
/// nearest, ties away from zero), then clamped to `[act_min, act_max]`.
///
/// Errors: as [`max_pool_s8`].
pub fn avg_pool_s8(p: &Params, input: &[i8], output: &mut [i8]) -> Result<()> {
    validate("avg_pool_s8", p, -128, 127, input.len(), output.len())?;
    windows(p, Reduce::Average, input, output);
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
