//! The geometry of a 2-D convolution, shared by `conv`, `conv_transpose` and
//! `depthwise`: per-axis index arithmetic and the weight layout seen as a matrix.

use mote_core::padding::{Padding, Window, conv_output, conv_transpose_output};
use mote_core::{Error, ErrorKind, Result};

/// Returned if a view computed from validated geometry falls outside its buffer: a bug
/// in this module, reported instead of panicking.
pub(crate) const INTERNAL: Error = Error::new(ErrorKind::ShapeMismatch, "conv: internal geometry");

/// `Π dims`, or `Overflow` at `at`.
pub(crate) fn product(at: &'static str, dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(Error::new(ErrorKind::Overflow, at))
}

/// `s[at..]`, or [`INTERNAL`].
pub(crate) fn tail(s: &[f32], at: usize) -> Result<&[f32]> {
    s.get(at..).ok_or(INTERNAL)
}

/// `s[at..]`, or [`INTERNAL`].
pub(crate) fn tail_mut(s: &mut [f32], at: usize) -> Result<&mut [f32]> {
    s.get_mut(at..).ok_or(INTERNAL)
}

/// One spatial axis of a convolution: output `o`'s tap `k` reads input
/// `o·stride − pad + k·dilation` when that lies in `[0, input)`, else padding (zero).
///
/// Built only by [`Axis::conv`] and [`Axis::transposed`], whose checks guarantee that
/// `o·stride + k·dilation` and `input + pad` fit `usize` for every `o < output`,
/// `k < kernel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Axis {
    pub input: usize,
    pub output: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub pad: usize,
}

impl Axis {
    /// A convolution over `input` positions.
    pub(crate) fn conv(input: usize, window: Window, padding: Padding) -> Result<Self> {
        let d = conv_output(input, window, padding)?;
        Ok(Self {
            input,
            output: d.len,
            kernel: window.size,
            stride: window.stride,
            dilation: window.dilation,
            pad: d.pad_before,
        })
    }

    /// The convolution whose input gradient is the transposed convolution of `input`
    /// positions: it maps the transposed convolution's output (its `input` here) back
    /// to `input` positions, with the transposed convolution's crop as padding.
    pub(crate) fn transposed(
        input: usize,
        window: Window,
        padding: Padding,
        output_padding: usize,
    ) -> Result<Self> {
        let d = conv_transpose_output(input, window, padding, output_padding)?;
        Ok(Self {
            input: d.len,
            output: input,
            kernel: window.size,
            stride: window.stride,
            dilation: window.dilation,
            pad: d.pad_before,
        })
    }

    /// The input position tap `k` of output `o` reads, or `None` in the padding.
    #[inline]
    pub(crate) fn source(&self, o: usize, k: usize) -> Option<usize> {
        (o * self.stride + k * self.dilation)
            .checked_sub(self.pad)
            .filter(|&i| i < self.input)
    }

    /// The outputs `lo..hi` whose tap `k` reads inside the input (`lo == hi` if none);
    /// output `lo + t` reads input `source(lo, k) + t·stride`.
    #[inline]
    pub(crate) fn range(&self, k: usize) -> (usize, usize) {
        let off = k * self.dilation;
        let lo = self.pad.saturating_sub(off).div_ceil(self.stride);
        // o·stride + off − pad < input  ⇔  o·stride < input + pad − off.
        let end = self.input.saturating_add(self.pad).saturating_sub(off);
        let hi = end.div_ceil(self.stride).min(self.output);
        (lo.min(hi), hi)
    }

    /// True when every output reads exactly the input at its own position.
    fn is_identity(&self) -> bool {
        self.kernel == 1 && self.stride == 1 && self.pad == 0 && self.input == self.output
    }
}

/// How a weight tensor is laid out, seen from the convolution that uses it: weight
/// `(o, tap, c)` (output channel, tap `kh·kernel_w + kw`, input channel within the group)
/// is at `o·o_stride + k·k_stride`, where `k = tap·(in_c/groups) + c` (tap-major) or
/// `k = c·taps + tap` (channel-major).
///
/// OHWI `[out_c][kh][kw][in_c/groups]` is tap-major with `o_stride = taps·in_c/groups`,
/// `k_stride = 1`. A transposed convolution's OHWI weights `[t_out][kh][kw][t_in]`, used
/// by the convolution that maps `t_out` channels to `t_in` channels, are channel-major
/// with `o_stride = 1`, `k_stride = t_in`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WeightLayout {
    pub o_stride: usize,
    pub k_stride: usize,
    pub channel_major: bool,
}

/// A validated 2-D convolution (NHWC activations): axes, channels, groups, weight
/// layout. All buffer lengths it implies fit `usize` (checked by [`Geometry::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub batch: usize,
    pub h: Axis,
    pub w: Axis,
    pub in_c: usize,
    pub out_c: usize,
    pub groups: usize,
    pub layout: WeightLayout,
    /// `batch·h.input·w.input·in_c`.
    pub input_len: usize,
    /// `batch·h.output·w.output·out_c`.
    pub output_len: usize,
    /// `out_c·taps·in_c/groups`.
    pub weights_len: usize,
}

impl Geometry {
    /// Checks channels and groups (`at_*` name the error places) and the lengths.
    /// `layout` is `None` for OHWI.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        batch: usize,
        h: Axis,
        w: Axis,
        in_c: usize,
        out_c: usize,
        groups: usize,
        layout: Option<WeightLayout>,
        at: [&'static str; 5],
    ) -> Result<Self> {
        let [at_batch, at_in_c, at_out_c, at_groups, at_size] = at;
        mote_core::error::check_nonzero(at_batch, batch)?;
        mote_core::error::check_nonzero(at_in_c, in_c)?;
        mote_core::error::check_nonzero(at_out_c, out_c)?;
        mote_core::error::check_nonzero(at_groups, groups)?;
        if !in_c.is_multiple_of(groups) || !out_c.is_multiple_of(groups) {
            return Err(Error::new(ErrorKind::ShapeMismatch, at_groups));
        }
        let cg = in_c / groups;
        let taps = product(at_size, &[h.kernel, w.kernel])?;
        let layout = layout.unwrap_or(WeightLayout {
            o_stride: product(at_size, &[taps, cg])?,
            k_stride: 1,
            channel_major: false,
        });
        Ok(Self {
            batch,
            h,
            w,
            in_c,
            out_c,
            groups,
            layout,
            input_len: product(at_size, &[batch, h.input, w.input, in_c])?,
            output_len: product(at_size, &[batch, h.output, w.output, out_c])?,
            weights_len: product(at_size, &[out_c, taps, cg])?,
        })
    }

    /// Input channels per group.
    pub(crate) fn cg(&self) -> usize {
        self.in_c / self.groups
    }

    /// Output channels per group.
    pub(crate) fn og(&self) -> usize {
        self.out_c / self.groups
    }

    /// Taps per channel, `kernel_h·kernel_w`.
    pub(crate) fn taps(&self) -> usize {
        self.h.kernel * self.w.kernel
    }

    /// Columns of the im2col matrix, `taps·in_c/groups`.
    pub(crate) fn k_len(&self) -> usize {
        self.taps() * self.cg()
    }

    /// Output pixels per image.
    pub(crate) fn out_px(&self) -> usize {
        self.h.output * self.w.output
    }

    /// True when the im2col matrix of a group is the input itself (1×1 window, stride 1,
    /// no padding), so no scratch is needed.
    pub(crate) fn im2col_is_identity(&self) -> bool {
        self.h.is_identity() && self.w.is_identity()
    }

    /// Floats of scratch the im2col paths need: one group's `out_px × k_len` column
    /// matrix (0 when it is the input itself); `usize::MAX` if that overflows.
    pub(crate) fn scratch_len(&self) -> usize {
        if self.im2col_is_identity() {
            0
        } else {
            self.out_px().saturating_mul(self.k_len())
        }
    }

    /// Column `k` of the im2col matrix holding tap `tap`, channel 0.
    pub(crate) fn k_of_tap(&self, tap: usize) -> usize {
        if self.layout.channel_major {
            tap
        } else {
            tap * self.cg()
        }
    }

    /// Step in `k` between consecutive channels of one tap.
    pub(crate) fn k_channel_step(&self) -> usize {
        if self.layout.channel_major {
            self.taps()
        } else {
            1
        }
    }

    /// Offset of group `grp`'s first weight.
    pub(crate) fn group_offset(&self, grp: usize) -> usize {
        grp * self.og() * self.layout.o_stride
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_where_source_is_inside() {
        for input in 1..7 {
            for (size, stride, dilation) in [(1, 1, 1), (3, 1, 1), (3, 2, 1), (2, 3, 2), (5, 1, 2)]
            {
                let window = Window::new(size, stride).dilated(dilation);
                for padding in [
                    Padding::Valid,
                    Padding::Same,
                    Padding::Explicit {
                        before: 2,
                        after: 1,
                    },
                ] {
                    let Ok(axis) = Axis::conv(input, window, padding) else {
                        continue;
                    };
                    for k in 0..size {
                        let (lo, hi) = axis.range(k);
                        for o in 0..axis.output {
                            assert_eq!(axis.source(o, k).is_some(), (lo..hi).contains(&o));
                            if let Some(i) = axis.source(o, k) {
                                assert_eq!(i, axis.source(lo, k).unwrap() + (o - lo) * stride);
                            }
                        }
                    }
                }
            }
        }
    }
}
