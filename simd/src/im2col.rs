//! im2col: the receptive field of an output pixel of a 2-D convolution over an NHWC
//! image, written as one contiguous row (`kernel_h·kernel_w·channels` elements), for
//! any element type (f32 for the float convolution's GEMM, int8 for the int8 tiles).
//!
//! Tap `(ky, kx)` of output pixel `(oy, ox)` reads input pixel
//! `(oy·stride_h − pad_top + ky·dilation_h, ox·stride_w − pad_left + kx·dilation_w)`,
//! channels `c0..c0 + channels` (one group's); a tap outside the input is filled with
//! the caller's pad value (f32: `0.0`; int8: the input zero point, so that
//! `x + x_offset = 0` and the tap adds nothing). The row is tap-major
//! (`[ky][kx][c]`, OHWI weights) or, for [`Layout::ChannelMajor`], `[c][ky][kx]`.
//!
//! No SIMD path: the work is copying runs of channels (`copy_from_slice`, or fixed
//! four-element moves for the short runs of small channel counts, where a `memcpy` call
//! per run costs more than the run) and filling the padding; with dilation 1 along the
//! width and every channel of the image, a kernel row inside the input is one run of
//! `kernel_w·in_c` elements. Exact (a copy).

use mote_core::{Error, ErrorKind, Result};

/// The order of a row's elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[ky][kx][c]`: element `(ky·kernel_w + kx)·channels + c` (OHWI weights).
    TapMajor,
    /// `[c][ky][kx]`: element `c·kernel_h·kernel_w + ky·kernel_w + kx`.
    ChannelMajor,
}

/// The geometry of an im2col over one NHWC image `[in_h][in_w][in_c]`, for output
/// pixels `0..out[0]·out[1]` in row-major order. Build with [`Im2col::new`] and the
/// `with_*` methods, or fill the fields; [`im2col`] checks them on every call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Im2col {
    /// Input height, width and channels.
    pub input: [usize; 3],
    /// Output height and width.
    pub out: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along the height and the width.
    pub stride: [usize; 2],
    /// Dilation along the height and the width.
    pub dilation: [usize; 2],
    /// Padding before: top and left rows and columns of pad values.
    pub pad: [usize; 2],
    /// The first channel gathered (a group's first channel).
    pub c0: usize,
    /// Channels gathered per tap (a group's channels).
    pub channels: usize,
    /// The order of a row's elements.
    pub layout: Layout,
}

impl Im2col {
    /// `input = [h, w, c]`, output `[out_h, out_w]`, a `kernel = [kh, kw]` window with
    /// stride 1, dilation 1, no padding, every channel, tap-major.
    pub const fn new(input: [usize; 3], out: [usize; 2], kernel: [usize; 2]) -> Self {
        Self {
            input,
            out,
            kernel,
            stride: [1, 1],
            dilation: [1, 1],
            pad: [0, 0],
            c0: 0,
            channels: input[2],
            layout: Layout::TapMajor,
        }
    }

    /// With strides `[h, w]`.
    pub const fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// With dilations `[h, w]`.
    pub const fn with_dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// With `[top, left]` padding.
    pub const fn with_pad(mut self, pad: [usize; 2]) -> Self {
        self.pad = pad;
        self
    }

    /// Gathering channels `c0..c0 + channels` only (one group of a grouped convolution).
    pub const fn with_channels(mut self, c0: usize, channels: usize) -> Self {
        self.c0 = c0;
        self.channels = channels;
        self
    }

    /// With the given row layout.
    pub const fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Elements per row: `kernel_h·kernel_w·channels`.
    ///
    /// Errors: `Overflow`.
    pub fn row_len(&self) -> Result<usize> {
        let [kh, kw] = self.kernel;
        kh.checked_mul(kw)
            .and_then(|t| t.checked_mul(self.channels))
            .ok_or(Error::new(ErrorKind::Overflow, "im2col: row length"))
    }

    /// Output pixels: `out_h·out_w`.
    ///
    /// Errors: `Overflow`.
    pub fn pixels(&self) -> Result<usize> {
        self.out[0]
            .checked_mul(self.out[1])
            .ok_or(Error::new(ErrorKind::Overflow, "im2col: pixels"))
    }

    /// Checks the geometry: no zero size (the output may be empty), the channels within
    /// the input's, every tap position `o·stride + k·dilation` representable, and the
    /// image and row lengths. Returns `(image length, row length)`.
    ///
    /// Errors: `Zero`, `ShapeMismatch`, `Overflow`.
    pub fn validate(&self) -> Result<(usize, usize)> {
        use mote_core::error::check_nonzero;
        let [h, w, c] = self.input;
        check_nonzero("im2col: input height", h)?;
        check_nonzero("im2col: input width", w)?;
        check_nonzero("im2col: input channels", c)?;
        check_nonzero("im2col: channels", self.channels)?;
        for axis in 0..2 {
            check_nonzero("im2col: kernel", self.kernel[axis])?;
            check_nonzero("im2col: stride", self.stride[axis])?;
            check_nonzero("im2col: dilation", self.dilation[axis])?;
            // The last output's last tap, o·stride + k·dilation, must fit usize.
            let o = self.out[axis].saturating_sub(1);
            let k = self.kernel[axis] - 1;
            o.checked_mul(self.stride[axis])
                .zip(k.checked_mul(self.dilation[axis]))
                .and_then(|(a, b)| a.checked_add(b))
                .ok_or(Error::new(ErrorKind::Overflow, "im2col: tap position"))?;
        }
        match self.c0.checked_add(self.channels) {
            Some(end) if end <= c => {}
            _ => return Err(Error::new(ErrorKind::ShapeMismatch, "im2col: channels")),
        }
        let image = h
            .checked_mul(w)
            .and_then(|p| p.checked_mul(c))
            .ok_or(Error::new(ErrorKind::Overflow, "im2col: input size"))?;
        self.pixels()?;
        Ok((image, self.row_len()?))
    }
}

/// Writes the rows of output pixels `first, first + 1, …` (row-major over
/// `[out_h][out_w]`, as many as `rows` holds whole rows of [`Im2col::row_len`]) of the
/// image `x` (`[in_h][in_w][in_c]`), taps outside the image set to `pad`.
///
/// Validates the geometry on every call; a caller writing many small runs of one
/// geometry checks it once with [`Im2col::plan`] and calls [`Plan::write`].
///
/// ```
/// use mote_simd::im2col::{Im2col, im2col};
///
/// // A 2×2 window with one column of padding on the left, over a 2×3 one-channel image.
/// let g = Im2col::new([2, 3, 1], [1, 3], [2, 2]).with_pad([0, 1]);
/// let x = [1, 2, 3, 4, 5, 6];
/// let mut rows = [0i8; 3 * 4];
/// im2col(&g, &x, -1, 0, &mut rows)?;
/// assert_eq!(rows, [-1, 1, -1, 4, 1, 2, 4, 5, 2, 3, 5, 6]);
/// assert!(im2col(&g, &x, -1, 1, &mut rows).is_err()); // pixels 1..4 of 3
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: those of [`Im2col::validate`] and [`Plan::write`].
pub fn im2col<T: Copy>(g: &Im2col, x: &[T], pad: T, first: usize, rows: &mut [T]) -> Result<()> {
    g.plan()?.write(x, pad, first, rows)
}

/// A validated [`Im2col`] geometry ([`Im2col::plan`]): [`write`](Plan::write) checks only
/// its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    g: Im2col,
    image: usize,
    row: usize,
    pixels: usize,
}

impl Im2col {
    /// Validates the geometry once (see [`Im2col::validate`]) for repeated
    /// [`Plan::write`]s.
    ///
    /// Errors: those of [`Im2col::validate`].
    pub fn plan(&self) -> Result<Plan> {
        let (image, row) = self.validate()?;
        Ok(Plan {
            g: *self,
            image,
            row,
            pixels: self.pixels()?,
        })
    }
}

impl Plan {
    /// The geometry.
    pub fn geometry(&self) -> &Im2col {
        &self.g
    }

    /// Elements per row (`kernel_h·kernel_w·channels`).
    pub fn row_len(&self) -> usize {
        self.row
    }

    /// [`im2col`] on the validated geometry: the rows of output pixels `first, …` of
    /// `x`, padding as `pad`.
    ///
    /// Errors: `LengthMismatch` when `x` is not the image's length; `ShapeMismatch` when
    /// `rows.len()` is not a multiple of the row length or the pixels run past the last
    /// one.
    pub fn write<T: Copy>(&self, x: &[T], pad: T, first: usize, rows: &mut [T]) -> Result<()> {
        let (g, k) = (&self.g, self.row);
        mote_core::error::check_len("im2col: input", self.image, x.len())?;
        let count = rows.len() / k;
        let fits = first
            .checked_add(count)
            .is_some_and(|end| end <= self.pixels);
        if count * k != rows.len() || !fits {
            return Err(Error::new(ErrorKind::ShapeMismatch, "im2col: rows"));
        }
        if count == 0 {
            return Ok(());
        }
        let out_w = g.out[1];
        let (mut oy, mut ox) = (first / out_w, first % out_w);
        for row in rows.chunks_exact_mut(k) {
            match g.layout {
                Layout::TapMajor => tap_major(g, x, pad, (oy, ox), row),
                Layout::ChannelMajor => channel_major(g, x, pad, (oy, ox), row),
            }
            .ok_or(Error::new(ErrorKind::ShapeMismatch, "im2col: internal"))?;
            ox += 1;
            if ox == out_w {
                (oy, ox) = (oy + 1, 0);
            }
        }
        Ok(())
    }
}

/// The input position tap `k` of output `o` reads along `axis`, or `None` in the
/// padding (validated geometry: no overflow).
#[inline(always)]
fn source(g: &Im2col, axis: usize, o: usize, k: usize) -> Option<usize> {
    (o * g.stride[axis] + k * g.dilation[axis])
        .checked_sub(g.pad[axis])
        .filter(|&i| i < g.input[axis])
}

/// One tap-major row; `None` only on a bug (a view outside its buffer).
#[inline]
fn tap_major<T: Copy>(
    g: &Im2col,
    x: &[T],
    pad: T,
    (oy, ox): (usize, usize),
    row: &mut [T],
) -> Option<()> {
    let [_, in_w, in_c] = g.input;
    let [kh, kw] = g.kernel;
    let c = g.channels;
    let run = kw * c;
    // A kernel row inside the image is one run when its taps are adjacent pixels and
    // each takes every channel.
    let adjacent = g.dilation[1] == 1 && c == in_c;
    let x0 = ox * g.stride[1];
    if adjacent && x0 >= g.pad[1] && x0 - g.pad[1] + kw <= in_w {
        // Every column of the window is inside: one copy per kernel row.
        let col = x0 - g.pad[1];
        for (ky, dst) in row.chunks_exact_mut(run).enumerate().take(kh) {
            match source(g, 0, oy, ky) {
                Some(iy) => {
                    let at = (iy * in_w + col) * in_c;
                    copy_run(dst, x.get(at..at + run)?);
                }
                None => dst.fill(pad),
            }
        }
        return Some(());
    }
    for (ky, dst) in row.chunks_exact_mut(run).enumerate().take(kh) {
        let Some(iy) = source(g, 0, oy, ky) else {
            dst.fill(pad);
            continue;
        };
        let line = iy * in_w;
        if adjacent {
            // Taps kx0..kx1 are inside: x0 + kx − pad_left ∈ [0, in_w).
            let kx0 = g.pad[1].saturating_sub(x0).min(kw);
            let kx1 = (in_w + g.pad[1]).saturating_sub(x0).clamp(kx0, kw);
            // (Empty fills skipped: on Cortex-M each is a `memset` call.)
            if kx0 > 0 {
                dst.get_mut(..kx0 * c)?.fill(pad);
            }
            if kx1 < kw {
                dst.get_mut(kx1 * c..)?.fill(pad);
            }
            if kx1 > kx0 {
                let inside = dst.get_mut(kx0 * c..kx1 * c)?;
                let at = (line + x0 + kx0 - g.pad[1]) * in_c;
                copy_run(inside, x.get(at..at + inside.len())?);
            }
            continue;
        }
        for (kx, d) in dst.chunks_exact_mut(c).enumerate() {
            match source(g, 1, ox, kx) {
                Some(ix) => {
                    let at = (line + ix) * in_c + g.c0;
                    copy_run(d, x.get(at..at + c)?);
                }
                None => d.fill(pad),
            }
        }
    }
    Some(())
}

/// One channel-major row; `None` only on a bug.
#[inline]
fn channel_major<T: Copy>(
    g: &Im2col,
    x: &[T],
    pad: T,
    (oy, ox): (usize, usize),
    row: &mut [T],
) -> Option<()> {
    let [_, in_w, in_c] = g.input;
    let [kh, kw] = g.kernel;
    let taps = kh * kw;
    for ky in 0..kh {
        let iy = source(g, 0, oy, ky);
        for kx in 0..kw {
            let dst = row.get_mut(ky * kw + kx..)?.iter_mut().step_by(taps);
            match (iy, source(g, 1, ox, kx)) {
                (Some(iy), Some(ix)) => {
                    let at = (iy * in_w + ix) * in_c + g.c0;
                    let src = x.get(at..at + g.channels)?;
                    dst.zip(src).for_each(|(d, &s)| *d = s);
                }
                _ => dst.take(g.channels).for_each(|d| *d = pad),
            }
        }
    }
    Some(())
}

/// `dst ← src` (equal lengths): for word-sized elements (f32) below 64 of them, fixed
/// four-element moves inline, which beat a `memcpy` call per short run; otherwise
/// (bytes: a four-byte chunk is a single word move, slower than `memcpy`'s loop) and
/// for long runs, `copy_from_slice`.
#[inline(always)]
fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    if dst.len() >= 64 || core::mem::size_of::<T>() < 4 {
        dst.copy_from_slice(src);
        return;
    }
    let mut d = dst.chunks_exact_mut(4);
    let mut s = src.chunks_exact(4);
    for (a, b) in (&mut d).zip(&mut s) {
        a.copy_from_slice(b);
    }
    for (a, &b) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *a = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, tap by tap.
    fn naive(g: &Im2col, x: &[i32], pad: i32, p: usize, row: &mut [i32]) {
        let [kh, kw] = g.kernel;
        let (oy, ox) = (p / g.out[1], p % g.out[1]);
        for ky in 0..kh {
            for kx in 0..kw {
                for c in 0..g.channels {
                    let at = match g.layout {
                        Layout::TapMajor => (ky * kw + kx) * g.channels + c,
                        Layout::ChannelMajor => c * kh * kw + ky * kw + kx,
                    };
                    row[at] = match (source(g, 0, oy, ky), source(g, 1, ox, kx)) {
                        (Some(iy), Some(ix)) => x[(iy * g.input[1] + ix) * g.input[2] + g.c0 + c],
                        _ => pad,
                    };
                }
            }
        }
    }

    #[test]
    fn matches_the_definition() {
        let x: [i32; 5 * 6 * 4] = core::array::from_fn(|i| i as i32 + 1);
        let mut got = [0i32; 4 * 4 * 9 * 4];
        let mut want = got;
        for (stride, dilation, pad, c0, channels, layout) in [
            ([1, 1], [1, 1], [0, 0], 0, 4, Layout::TapMajor),
            ([2, 1], [1, 2], [1, 2], 0, 4, Layout::TapMajor),
            ([1, 2], [2, 1], [2, 1], 1, 2, Layout::TapMajor),
            ([1, 1], [1, 1], [1, 1], 2, 2, Layout::ChannelMajor),
            ([3, 3], [1, 1], [2, 2], 0, 4, Layout::ChannelMajor),
        ] {
            let g = Im2col::new([5, 6, 4], [4, 4], [3, 3])
                .with_stride(stride)
                .with_dilation(dilation)
                .with_pad(pad)
                .with_channels(c0, channels)
                .with_layout(layout);
            let k = g.row_len().unwrap();
            for first in [0, 3, 15] {
                let n = (16 - first).min(2);
                im2col(&g, &x, -7, first, &mut got[..n * k]).unwrap();
                for i in 0..n {
                    naive(&g, &x, -7, first + i, &mut want[i * k..(i + 1) * k]);
                }
                assert_eq!(got[..n * k], want[..n * k], "{g:?} from {first}");
            }
        }
    }

    #[test]
    fn rejects_bad_geometry() {
        let g = Im2col::new([3, 3, 2], [2, 2], [2, 2]);
        let x = [0i8; 18];
        let mut rows = [0i8; 16];
        assert!(im2col(&g, &x, 0, 0, &mut rows[..8]).is_ok());
        assert!(im2col(&g, &x[..17], 0, 0, &mut rows[..8]).is_err());
        assert!(im2col(&g, &x, 0, 0, &mut rows[..7]).is_err());
        assert!(im2col(&g, &x, 0, 3, &mut rows[..16]).is_err());
        assert!(im2col(&g, &x, 0, usize::MAX, &mut rows[..8]).is_err());
        assert!(im2col(&g.with_channels(1, 2), &x, 0, 0, &mut rows[..8]).is_err());
        assert!(im2col(&g.with_stride([0, 1]), &x, 0, 0, &mut rows[..8]).is_err());
        let huge = g.with_stride([usize::MAX, 1]).with_pad([0, 0]);
        assert!(im2col(&huge, &x, 0, 0, &mut rows[..8]).is_err());
        assert!(im2col(&Im2col::new([3, 3, 0], [2, 2], [2, 2]), &[], 0, 0, &mut []).is_err());
    }
}
