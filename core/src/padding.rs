//! Output sizes and padding of sliding windows (convolution, pooling, transposed
//! convolution) along one spatial axis, with TFLite/Keras `VALID` and `SAME` and explicit
//! PyTorch-style padding.
//!
//! A window tap `k` of output position `o` reads input position
//! `o·stride − pad_before + k·dilation`; positions outside `[0, input)` are padding.
//!
//! ```
//! use mote_core::padding::{Padding, Window, conv_output};
//!
//! // A 3×3 convolution with stride 2 over 28 rows, TFLite's SAME padding.
//! let rows = conv_output(28, Window::new(3, 2), Padding::Same)?;
//! assert_eq!((rows.len, rows.pad_before, rows.pad_after), (14, 0, 1));
//! # Ok::<(), mote_core::Error>(())
//! ```

use crate::error::{Error, ErrorKind, Result, check_nonzero};

/// How an axis is padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Padding {
    /// No padding: only windows that fit entirely inside the input.
    #[default]
    Valid,
    /// TFLite/Keras `SAME`: `ceil(input / stride)` outputs, the padding split with the
    /// smaller half (`floor(total / 2)`) before.
    Same,
    /// Explicit amounts before and after (PyTorch's `padding`).
    Explicit {
        /// Padding before the first element.
        before: usize,
        /// Padding after the last element.
        after: usize,
    },
}

/// A window along one axis: its size, stride and dilation, all at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Window {
    /// Taps in the window.
    pub size: usize,
    /// Step between consecutive outputs.
    pub stride: usize,
    /// Step between consecutive taps.
    pub dilation: usize,
}

impl Window {
    /// A window of `size` taps, stride `stride`, dilation 1.
    pub const fn new(size: usize, stride: usize) -> Self {
        Self {
            size,
            stride,
            dilation: 1,
        }
    }

    /// The same window with dilation `dilation`.
    pub const fn dilated(self, dilation: usize) -> Self {
        Self { dilation, ..self }
    }

    /// The extent the window covers, `(size − 1)·dilation + 1`, after checking that size,
    /// stride and dilation are non-zero.
    pub fn extent(&self) -> Result<usize> {
        check_nonzero("window: size", self.size)?;
        check_nonzero("window: stride", self.stride)?;
        check_nonzero("window: dilation", self.dilation)?;
        (self.size - 1)
            .checked_mul(self.dilation)
            .and_then(|e| e.checked_add(1))
            .ok_or(Error::new(ErrorKind::Overflow, "window: extent"))
    }
}

/// The output length along an axis and the padding that produces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutputDim {
    /// Number of output positions.
    pub len: usize,
    /// Padding before the first input element.
    pub pad_before: usize,
    /// Padding after the last input element (may exceed what the last window needs).
    pub pad_after: usize,
}

const OVERFLOW: Error = Error::new(ErrorKind::Overflow, "padding: output size");

/// Output length and padding of a convolution or pooling window sliding over `input`
/// positions.
///
/// Errors: `Zero` for an empty input or a zero size/stride/dilation; `WindowTooLarge`
/// when the window does not fit the padded input even once.
pub fn conv_output(input: usize, window: Window, padding: Padding) -> Result<OutputDim> {
    check_nonzero("padding: input", input)?;
    let extent = window.extent()?;
    let stride = window.stride;
    match padding {
        Padding::Same => {
            let len = input.div_ceil(stride);
            let needed = (len - 1)
                .checked_mul(stride)
                .and_then(|v| v.checked_add(extent))
                .ok_or(OVERFLOW)?;
            let total = needed.saturating_sub(input);
            Ok(OutputDim {
                len,
                pad_before: total / 2,
                pad_after: total - total / 2,
            })
        }
        Padding::Valid => explicit(input, extent, stride, 0, 0),
        Padding::Explicit { before, after } => explicit(input, extent, stride, before, after),
    }
}

fn explicit(
    input: usize,
    extent: usize,
    stride: usize,
    before: usize,
    after: usize,
) -> Result<OutputDim> {
    let padded = input
        .checked_add(before)
        .and_then(|v| v.checked_add(after))
        .ok_or(OVERFLOW)?;
    if padded < extent {
        return Err(Error::new(
            ErrorKind::WindowTooLarge {
                window: extent,
                input: padded,
            },
            "padding: window",
        ));
    }
    Ok(OutputDim {
        len: (padded - extent) / stride + 1,
        pad_before: before,
        pad_after: after,
    })
}

/// Output length and padding of a transposed convolution (the gradient of
/// [`conv_output`]'s convolution with respect to its input).
///
/// - `Valid`: `(input − 1)·stride + extent + output_padding`, no cropping;
/// - `Same`: `input · stride` (TFLite/Keras), cropping `floor(total/2)` before, where
///   `total = max((input − 1)·stride + extent − len, 0)`; `output_padding` must be 0;
/// - `Explicit { before, after }`: `(input − 1)·stride + extent − before − after +
///   output_padding` (PyTorch's `ConvTranspose`), cropping `before`.
///
/// `pad_before` of the result is the crop: output `o` receives input `i`'s tap `k` when
/// `o = i·stride − pad_before + k·dilation`. `output_padding` must be smaller than the
/// stride or the dilation, as in PyTorch.
pub fn conv_transpose_output(
    input: usize,
    window: Window,
    padding: Padding,
    output_padding: usize,
) -> Result<OutputDim> {
    check_nonzero("padding: input", input)?;
    let extent = window.extent()?;
    if output_padding >= window.stride.max(window.dilation) {
        return Err(Error::out_of_range(
            "conv_transpose: output padding",
            output_padding as i64,
            0,
            window.stride.max(window.dilation) as i64 - 1,
        ));
    }
    let full = (input - 1)
        .checked_mul(window.stride)
        .and_then(|v| v.checked_add(extent))
        .ok_or(OVERFLOW)?;
    // `full` plus the output padding must fit too; every branch below uses it.
    let padded_full = full.checked_add(output_padding).ok_or(OVERFLOW)?;
    match padding {
        Padding::Valid => Ok(OutputDim {
            len: padded_full,
            pad_before: 0,
            pad_after: 0,
        }),
        Padding::Same => {
            if output_padding != 0 {
                return Err(Error::out_of_range(
                    "conv_transpose: output padding with SAME",
                    output_padding as i64,
                    0,
                    0,
                ));
            }
            let len = input.checked_mul(window.stride).ok_or(OVERFLOW)?;
            let total = full.saturating_sub(len);
            Ok(OutputDim {
                len,
                pad_before: total / 2,
                pad_after: total - total / 2,
            })
        }
        Padding::Explicit { before, after } => {
            let cropped = before.checked_add(after).ok_or(OVERFLOW)?;
            if cropped >= padded_full {
                return Err(Error::new(
                    ErrorKind::WindowTooLarge {
                        window: cropped,
                        input: padded_full,
                    },
                    "conv_transpose: padding",
                ));
            }
            Ok(OutputDim {
                len: padded_full - cropped,
                pad_before: before,
                pad_after: after,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_matches_tflite() {
        // 5 inputs, 3-tap window, stride 2: 3 outputs, total padding 2 → 1 before, 1 after.
        let d = conv_output(5, Window::new(3, 2), Padding::Same).unwrap();
        assert_eq!(
            d,
            OutputDim {
                len: 3,
                pad_before: 1,
                pad_after: 1
            }
        );
        // Even total split with the smaller half before: 4 in, k 2, s 1 → pad 1 = 0 + 1.
        let d = conv_output(4, Window::new(2, 1), Padding::Same).unwrap();
        assert_eq!(
            d,
            OutputDim {
                len: 4,
                pad_before: 0,
                pad_after: 1
            }
        );
        // Dilation widens the window: 3 taps dilation 2 = extent 5.
        let d = conv_output(7, Window::new(3, 1).dilated(2), Padding::Same).unwrap();
        assert_eq!(
            d,
            OutputDim {
                len: 7,
                pad_before: 2,
                pad_after: 2
            }
        );
        // A window larger than the input is fine with SAME.
        let d = conv_output(2, Window::new(5, 1), Padding::Same).unwrap();
        assert_eq!(d.len, 2);
    }

    #[test]
    fn valid_and_explicit() {
        assert_eq!(
            conv_output(28, Window::new(3, 1), Padding::Valid)
                .unwrap()
                .len,
            26
        );
        assert_eq!(
            conv_output(28, Window::new(2, 2), Padding::Valid)
                .unwrap()
                .len,
            14
        );
        assert_eq!(
            conv_output(7, Window::new(3, 2), Padding::Valid)
                .unwrap()
                .len,
            3
        );
        let e = Padding::Explicit {
            before: 1,
            after: 1,
        };
        assert_eq!(conv_output(28, Window::new(3, 1), e).unwrap().len, 28);
        assert!(matches!(
            conv_output(2, Window::new(3, 1), Padding::Valid),
            Err(Error {
                kind: ErrorKind::WindowTooLarge {
                    window: 3,
                    input: 2
                },
                ..
            })
        ));
        assert!(conv_output(5, Window::new(3, 0), Padding::Valid).is_err());
        assert!(conv_output(0, Window::new(3, 1), Padding::Valid).is_err());
        assert!(conv_output(5, Window::new(usize::MAX, 1).dilated(2), Padding::Valid).is_err());
    }

    #[test]
    fn transpose() {
        // Inverse of conv 7 → 3 (k3, s2, valid): transposed 3 → 7.
        assert_eq!(
            conv_transpose_output(3, Window::new(3, 2), Padding::Valid, 0)
                .unwrap()
                .len,
            7
        );
        assert_eq!(
            conv_transpose_output(3, Window::new(3, 2), Padding::Valid, 1)
                .unwrap()
                .len,
            8
        );
        let d = conv_transpose_output(4, Window::new(3, 2), Padding::Same, 0).unwrap();
        assert_eq!(
            d,
            OutputDim {
                len: 8,
                pad_before: 0,
                pad_after: 1
            }
        );
        let e = Padding::Explicit {
            before: 1,
            after: 1,
        };
        assert_eq!(
            conv_transpose_output(4, Window::new(3, 2), e, 1)
                .unwrap()
                .len,
            8
        );
        assert!(conv_transpose_output(4, Window::new(3, 2), Padding::Valid, 2).is_err());
        assert!(conv_transpose_output(4, Window::new(3, 2), Padding::Same, 1).is_err());
        let big = Padding::Explicit {
            before: 5,
            after: 5,
        };
        assert!(conv_transpose_output(2, Window::new(3, 1), big, 0).is_err());
    }
}
