//! The int8 micro-kernels of the int8 layers beyond the plain dot product
//! ([`dot`](crate::dot)): register tiles for fully connected and convolution layers,
//! and per-channel windows for depthwise convolution and pooling over NHWC data.
//!
//! | function | computes | used by |
//! |---|---|---|
//! | [`dot_2x2`] | 2 input rows × 2 weight rows: 4 dot products sharing every load | conv windows too large to prepare on the stack |
//! | [`Rows2`], [`gemm_2xn`] | 2 input rows prepared once × any number of weight rows, 2 × 2 tiles | conv (2 output pixels × every output channel), fully connected with batch ≥ 2 |
//! | [`gemm_2xn_raw`], [`row_sums`] | the same without offset, and the weight rows' sums to fold it into a bias | the same, where [`gemm_folds_offset`] (Helium) |
//! | [`dot_1x4`], [`dot_1x2`] | 1 input row × 4 (2) weight rows | fully connected with batch 1 |
//! | [`Row1`], [`gemv`] | 1 input row prepared once × any number of weight rows, 4 per pass | fully connected with batch 1 on the scalar path of 32-bit targets |
//! | [`depthwise`] | one window, every channel: `Σ_taps (x + x_offset)·w` per channel | depthwise convolution (windows clipped by padding) |
//! | [`depthwise_run`] | the same for a run of output pixels, one call | depthwise convolution (a row's interior) |
//! | [`window_max`], [`window_sum`] | one window, every channel: max / sum of the taps | max / average pooling (windows clipped by padding) |
//! | [`window_max_run`], [`window_sum_run`] | the same for a run of output pixels, one call | max / average pooling (a row's interior) |
//! | [`gather`] | rows of a window packed into one column | convolution windows that are not one run of the image |
//!
//! Input offsets are CMSIS-NN's (`x_offset = −input_zero_point`); weights carry none
//! (TFLite's int8 weights are symmetric). Every sum wraps in `i32`, so each function
//! returns the true sum mod 2^32 and the same bits on every path (scalar, Arm DSP; see
//! `arch::scalar::dot_i8_offset` for why the order and width of the additions do not
//! matter). The Arm DSP path takes offsets in [−32640, 32640] (every int8 zero point),
//! four bytes per step; other offsets, and the last `len mod 4` elements or channels, go
//! through the scalar reference. On 32-bit targets the scalar path itself is written for
//! cores without SIMD (Cortex-M0/M3/M33 without DSP): [`Rows2`] prepares 16-bit lanes
//! there too, [`Row1`] prepares a single row's lanes for [`gemv`] (not on Helium builds),
//! [`dot_1x4`] adds each input's offset once for its four rows (not on
//! Armv8.1-M, where LLVM's low-overhead loops favour the reference),
//! [`depthwise`] and [`depthwise_run`] keep four channels' sums in registers over a
//! table of the window's taps (not on Armv8.1-M either), and [`window_max`] keeps the
//! maxima in registers; 64-bit hosts keep the loops LLVM vectorises.
//! The Helium path (Cortex-M55/M85, `arch::arm_mve`) takes every offset: the GEMV and
//! GEMM tiles read the raw rows (`VMLADAVA.S8`, with `x_offset·Σw` from `VADDVA.S8` of
//! the weights, or folded into the caller's bias with [`row_sums`] and
//! [`gemm_2xn_raw`]; [`Rows2`] prepares nothing there), the depthwise window widens each
//! byte to a 16-bit lane (`VLDRB.S16`, 32-bit for offsets beyond ±32640) and adds the
//! offset there, 16 channels per block.
//!
//! Every function validates its arguments and returns [`mote_core::Error`] on a
//! mismatch; nothing panics on caller input.

use crate::arch;
use core::mem::MaybeUninit;
use mote_core::error::{check_capacity, check_len};
use mote_core::{Error, ErrorKind, Result};

/// `[[x0·w0, x0·w1], [x1·w0, x1·w1]]` where `a·b = Σ_i (a[i] + x_offset)·b[i]`, wrapping
/// in `i32`: the 2 × 2 register tile of an int8 GEMM (two input rows — two output pixels'
/// windows or two batch rows — against two weight rows — two output channels).
///
/// Each four-byte step loads every row once and reuses it twice; on the Arm DSP path
/// that is 4 loads, 4 SXTAB16, 4 SXTB16 and 8 SMLAD for 16 multiply-accumulates.
///
/// ```
/// use mote_simd::int8::dot_2x2;
/// // (1+1)·2 + (2+1)·1 = 7, (1+1)·0 + (2+1)·−1 = −3, …
/// let y = dot_2x2([&[1, 2], &[0, 0]], 1, [&[2, 1], &[0, -1]])?;
/// assert_eq!(y, [[7, -3], [3, -1]]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` unless all four rows have the length of `x[0]`.
#[inline]
pub fn dot_2x2(x: [&[i8]; 2], x_offset: i32, w: [&[i8]; 2]) -> Result<[[i32; 2]; 2]> {
    let n = x[0].len();
    check_len("int8::dot_2x2: x[1]", n, x[1].len())?;
    check_len("int8::dot_2x2: w[0]", n, w[0].len())?;
    check_len("int8::dot_2x2: w[1]", n, w[1].len())?;
    let [a, b, c, d] = arch::dot_2x2(x, x_offset, w);
    Ok([[a, b], [c, d]])
}

/// `[x·w0, x·w1, x·w2, x·w3]` with `·` as in [`dot_2x2`]: one input row against four
/// weight rows (a fully connected layer with batch 1, four outputs per pass).
///
/// Each input word is loaded and offset-extended once per pair of weight rows; on the Arm
/// DSP path a hand-scheduled loop of one input × two rows, 27 instructions for 16
/// multiply-accumulates.
///
/// ```
/// use mote_simd::int8::dot_1x4;
/// let y = dot_1x4(&[1, -1], 0, [&[1, 1], &[1, -1], &[2, 0], &[0, 0]])?;
/// assert_eq!(y, [0, 2, 2, 0]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` unless every weight row has the length of `x`.
#[inline]
pub fn dot_1x4(x: &[i8], x_offset: i32, w: [&[i8]; 4]) -> Result<[i32; 4]> {
    for wr in w {
        check_len("int8::dot_1x4: w", x.len(), wr.len())?;
    }
    Ok(arch::dot_1x4(x, x_offset, w))
}

/// Two input rows of `k` elements (two output pixels' windows, two batch rows) with
/// their offset, prepared once by [`Rows2::new`] for [`gemm_2xn`] against any number of
/// weight rows: on the Arm DSP path their offset-extended 16-bit lanes (SXTAB16) are
/// written once to caller scratch, so the inner loop only loads them; the scalar path of
/// a 32-bit target (Cortex-M0/M3, or any core limited to scalar) writes the same lanes
/// with plain code (offsets in [−32640, 32640]). The path is chosen
/// when the rows are prepared (a later [`isa::set_limit`](crate::isa::set_limit) applies
/// to the next `Rows2`); the results are the same bits either way.
#[derive(Clone, Copy, Debug)]
pub struct Rows2<'a> {
    x: [&'a [i8]; 2],
    x_offset: i32,
    /// The prepared lanes of the Arm DSP path, of the scalar path (empty when the path
    /// reads the rows).
    lanes: (&'a [u32], &'a [u32]),
}

/// Words of scratch [`Rows2::new`] needs for rows of `k` elements: `k` rounded down to
/// a multiple of 4 (two 16-bit lanes per word, two rows).
pub const fn rows2_scratch_len(k: usize) -> usize {
    k & !3
}

impl<'a> Rows2<'a> {
    /// Prepares `x` (two rows of equal length) with offset `x_offset`, using `scratch`
    /// (at least [`rows2_scratch_len`] words; not read).
    ///
    /// Errors: `LengthMismatch` when the rows differ in length; `BufferTooSmall` when
    /// `scratch` is too short.
    #[inline]
    pub fn new(x: [&'a [i8]; 2], x_offset: i32, scratch: &'a mut [u32]) -> Result<Self> {
        check_len("int8::Rows2: x[1]", x[0].len(), x[1].len())?;
        check_capacity(
            "int8::Rows2: scratch",
            rows2_scratch_len(x[0].len()),
            scratch.len(),
        )?;
        let lanes = arch::expand_2(x, x_offset, scratch);
        Ok(Self { x, x_offset, lanes })
    }

    /// The length `k` of each row.
    pub fn len(&self) -> usize {
        self.x[0].len()
    }

    /// Whether the rows are empty.
    pub fn is_empty(&self) -> bool {
        self.x[0].is_empty()
    }
}

/// `out[r][j] = Σ_i (x_r[i] + x_offset)·w[j·k + i]`, wrapping in `i32`: the two prepared
/// input rows against `n = out[0].len()` consecutive weight rows of `k` (an OHWI filter
/// bank or a dense weight matrix), two weight rows per pass — a 2 × 2 register tile in
/// one loop. On the Arm DSP path that loop is hand-scheduled: per four bytes of `k`,
/// 2 weight loads, 4 SXTB16, 8 loads of the prepared lanes and 8 SMLAD for 16 MACs.
///
/// ```
/// use mote_simd::int8::{Rows2, gemm_2xn, rows2_scratch_len};
/// let mut scratch = [0u32; rows2_scratch_len(5)];
/// let rows = Rows2::new([&[1, 2, 3, 4, 5], &[0; 5]], 1, &mut scratch)?;
/// let (mut a, mut b) = ([0; 2], [0; 2]);
/// gemm_2xn(&rows, &[1, 1, 1, 1, 1, 1, 0, 0, 0, -1], [&mut a, &mut b])?;
/// assert_eq!((a, b), ([20, -4], [5, 0]));
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when `out[1]` differs from `out[0]` in length or `w` is not
/// `n·k` long; `Overflow` when `n·k` overflows.
pub fn gemm_2xn(rows: &Rows2<'_>, w: &[i8], out: [&mut [i32]; 2]) -> Result<()> {
    let (n, k) = (out[0].len(), rows.len());
    check_len("int8::gemm_2xn: out[1]", n, out[1].len())?;
    let wn = n
        .checked_mul(k)
        .ok_or(Error::new(ErrorKind::Overflow, "int8::gemm_2xn: w"))?;
    check_len("int8::gemm_2xn: w", wn, w.len())?;
    arch::gemm_2xn(rows.x, rows.x_offset, rows.lanes, k, w, out);
    Ok(())
}

/// `out[r][j] = Σ_i x_r[i]·w[j·k + i]`, wrapping in `i32`: [`gemm_2xn`] without input
/// offset, for callers that fold `x_offset·Σ_i w[j·k + i]` into their bias once
/// ([`row_sums`]) instead of forming it for every pair of input rows — the route
/// [`gemm_folds_offset`] recommends (Helium: 9 instructions per 64 MACs in the loop
/// against 11). `k = x[0].len()`.
///
/// ```
/// use mote_simd::int8::{gemm_2xn_raw, row_sums};
/// let w = [1, 1, 1, 1, 1, 1, 0, 0, 0, -1];
/// let (mut a, mut b) = ([0; 2], [0; 2]);
/// gemm_2xn_raw([&[1, 2, 3, 4, 5], &[0; 5]], &w, [&mut a, &mut b])?;
/// let mut sums = [0; 2];
/// row_sums(&w, 5, &mut sums)?;
/// // With an offset of 1: a + 1·Σw, as gemm_2xn computes it.
/// assert_eq!([a[0] + sums[0], a[1] + sums[1]], [20, -4]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when `x[1]` differs from `x[0]` or `out[1]` from `out[0]`
/// in length, or `w` is not `n·k` long; `Overflow` when `n·k` overflows.
pub fn gemm_2xn_raw(x: [&[i8]; 2], w: &[i8], out: [&mut [i32]; 2]) -> Result<()> {
    let (n, k) = (out[0].len(), x[0].len());
    check_len("int8::gemm_2xn_raw: x[1]", k, x[1].len())?;
    check_len("int8::gemm_2xn_raw: out[1]", n, out[1].len())?;
    let wn = n
        .checked_mul(k)
        .ok_or(Error::new(ErrorKind::Overflow, "int8::gemm_2xn_raw: w"))?;
    check_len("int8::gemm_2xn_raw: w", wn, w.len())?;
    arch::gemm_2xn_raw(x, k, w, out);
    Ok(())
}

/// `out[j] = Σ_i w[j·k + i]` for `j < out.len()`, wrapping in `i32`: the sums of
/// consecutive weight rows of `k`, for the offset term `x_offset·Σw` of
/// [`gemm_2xn_raw`]'s callers.
///
/// Errors: `LengthMismatch` when `w` is not `out.len()·k` long; `Overflow` when that
/// overflows.
pub fn row_sums(w: &[i8], k: usize, out: &mut [i32]) -> Result<()> {
    let wn = out
        .len()
        .checked_mul(k)
        .ok_or(Error::new(ErrorKind::Overflow, "int8::row_sums: w"))?;
    check_len("int8::row_sums: w", wn, w.len())?;
    arch::row_sums(w, k, out);
    Ok(())
}

/// `dst[r·run..][..run] = src[r·stride..][..run]` for `r < rows`: `rows` runs of `run`
/// bytes, `stride` apart in `src`, packed into `dst` — a convolution window's rows
/// gathered into one contiguous column for [`gemm_2xn`]. One call for the window: on
/// Helium one loop of 16-byte `VLDRB.8`/`VSTRB.8` per row, where a `memcpy` per row cost
/// more than the copy.
///
/// ```
/// let mut col = [0i8; 4];
/// mote_simd::int8::gather(&mut col, &[1, 2, 0, 3, 4], 2, 2, 3)?;
/// assert_eq!(col, [1, 2, 3, 4]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `BufferTooSmall` when `dst` is shorter than `rows·run` or `src` than
/// `(rows − 1)·stride + run`; `Overflow` when those overflow.
#[inline]
pub fn gather(dst: &mut [i8], src: &[i8], rows: usize, run: usize, stride: usize) -> Result<()> {
    if rows == 0 || run == 0 {
        return Ok(());
    }
    let overflow = Error::new(ErrorKind::Overflow, "int8::gather");
    let need_dst = rows.checked_mul(run).ok_or(overflow)?;
    let need_src = (rows - 1)
        .checked_mul(stride)
        .and_then(|v| v.checked_add(run))
        .ok_or(overflow)?;
    check_capacity("int8::gather: dst", need_dst, dst.len())?;
    check_capacity("int8::gather: src", need_src, src.len())?;
    // SAFETY: both regions checked above; `dst` is a unique borrow, so they do not
    // overlap.
    unsafe { arch::gather(dst, src, rows, run, stride) };
    Ok(())
}

/// Whether [`gemm_2xn_raw`] with the offset folded into the bias ([`row_sums`]) is
/// faster now than [`gemm_2xn`] on the path in use (Helium); the results are the same
/// bits either way (both are exact mod 2^32).
#[inline(always)]
pub fn gemm_folds_offset() -> bool {
    arch::gemm_folds_offset()
}

/// `[x·w0, x·w1]` with `·` as in [`dot_2x2`]: [`dot_1x4`] for two weight rows (the
/// last rows of a fully connected layer whose output count is not a multiple of 4).
///
/// ```
/// use mote_simd::int8::dot_1x2;
/// assert_eq!(dot_1x2(&[1, -1], 1, [&[1, 1], &[3, 0]])?, [2, 6]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` unless both weight rows have the length of `x`.
#[inline]
pub fn dot_1x2(x: &[i8], x_offset: i32, w: [&[i8]; 2]) -> Result<[i32; 2]> {
    for wr in w {
        check_len("int8::dot_1x2: w", x.len(), wr.len())?;
    }
    Ok(arch::dot_1x2(x, x_offset, w))
}

/// One input row of `k` elements with its offset (a fully connected layer's input with
/// batch 1), prepared once by [`Row1::new`] for [`gemv`] against any number of weight
/// rows: on the scalar path of a 32-bit target without Helium (Cortex-M0/M3, or a
/// Cortex-M4/M7 limited to scalar; offsets in [−32640, 32640], `k ≥ 8`) its offset-added 16-bit lanes are written
/// once to caller scratch, so the inner loop only loads them; elsewhere nothing is
/// prepared and [`gemv`] reads the row (the Arm DSP and Helium tiles of [`dot_1x4`]).
/// The path is chosen when the row is prepared; the results are the same bits either
/// way.
#[derive(Clone, Copy, Debug)]
pub struct Row1<'a> {
    x: &'a [i8],
    x_offset: i32,
    /// The prepared lanes (empty when the path reads the row).
    lanes: &'a [i16],
}

/// 16-bit lanes of scratch [`Row1::new`] needs for a row of `k` elements: `k`.
pub const fn row1_scratch_len(k: usize) -> usize {
    k
}

impl<'a> Row1<'a> {
    /// Whether this build may prepare rows at all (32-bit targets without Helium): where
    /// false, [`Row1::prepares`] is always false and callers can leave their scratch
    /// and the check out at compile time.
    pub const MAY_PREPARE: bool = arch::MAY_PREPARE_1;

    /// Whether [`Row1::new`] would write [`row1_scratch_len`] lanes of scratch now (for callers that only
    /// reserve it then); without scratch it reads the row instead.
    #[inline]
    pub fn prepares(k: usize, x_offset: i32) -> bool {
        arch::prepares_1(k, x_offset)
    }

    /// Prepares `x` with offset `x_offset`, using `scratch` (at least
    /// [`row1_scratch_len`] lanes when [`Row1::prepares`] says so, else none: a shorter
    /// `scratch` is not an error, the row is then read as it is; not read, so it need not
    /// be initialised: a stack array of `MaybeUninit::uninit()` costs no clearing).
    #[inline]
    pub fn new(x: &'a [i8], x_offset: i32, scratch: &'a mut [MaybeUninit<i16>]) -> Self {
        let lanes = arch::expand_1(x, x_offset, scratch);
        Self { x, x_offset, lanes }
    }

    /// The length `k` of the row.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether the row is empty.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// `out[j] = Σ_i (x[i] + x_offset)·w[j·k + i]`, wrapping in `i32`: the prepared input
/// row against `n = out.len()` consecutive weight rows of `k` (a dense weight matrix),
/// four weight rows per pass (each input loaded once for the four), then two, then one.
///
/// ```
/// use core::mem::MaybeUninit;
/// use mote_simd::int8::{Row1, gemv, row1_scratch_len};
/// let mut scratch = [MaybeUninit::uninit(); row1_scratch_len(9)];
/// let x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
/// let row = Row1::new(&x, -1, &mut scratch);
/// let mut y = [0; 2];
/// gemv(&row, &[[1; 9], [0, 0, 0, 0, 0, 0, 0, 0, -1]].concat(), &mut y)?;
/// assert_eq!(y, [36, -8]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `LengthMismatch` when `w` is not `n·k` long; `Overflow` when `n·k`
/// overflows.
pub fn gemv(row: &Row1<'_>, w: &[i8], out: &mut [i32]) -> Result<()> {
    let (n, k) = (out.len(), row.len());
    let wn = n
        .checked_mul(k)
        .ok_or(Error::new(ErrorKind::Overflow, "int8::gemv: w"))?;
    check_len("int8::gemv: w", wn, w.len())?;
    arch::gemv(row.x, row.x_offset, row.lanes, w, out);
    Ok(())
}

/// A rectangle of taps in a slice: `rows × cols` taps, tap `(r, t)` starting at element
/// `r·row_step + t·col_step`. Over an NHWC image of width `w` and `c` channels, a
/// window with dilation `d` has `row_step = d·w·c` and `col_step = d·c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Taps {
    /// Rows of taps.
    pub rows: usize,
    /// Taps per row.
    pub cols: usize,
    /// Elements from one row of taps to the next.
    pub row_step: usize,
    /// Elements from one tap to the next within a row.
    pub col_step: usize,
}

impl Taps {
    /// `rows × cols` taps with the given steps.
    pub const fn new(rows: usize, cols: usize, row_step: usize, col_step: usize) -> Self {
        Self {
            rows,
            cols,
            row_step,
            col_step,
        }
    }

    /// Checks that every tap's run of `run` elements lies in a slice of `len` elements
    /// (trivially true with no tap or an empty run).
    fn check(&self, at: &'static str, run: usize, len: usize) -> Result<()> {
        if self.rows == 0 || self.cols == 0 || run == 0 {
            return Ok(());
        }
        let end = (self.rows - 1)
            .checked_mul(self.row_step)
            .and_then(|v| v.checked_add((self.cols - 1).checked_mul(self.col_step)?))
            .and_then(|v| v.checked_add(run))
            .ok_or(Error::new(ErrorKind::Overflow, at))?;
        if end > len {
            return Err(Error::too_small(at, end, len));
        }
        Ok(())
    }
}

/// The depthwise window: `out[c] = Σ_{r,t} (x[xs(r, t) + c] + x_offset)·w[ws(r, t) + c]`
/// for every channel `c < out.len()`, wrapping in `i32`, where `xs(r, t)` and `ws(r, t)`
/// are the starts of tap `(r, t)` in `x` and `w` ([`Taps`]). `out` is overwritten (all
/// zeros with no tap).
///
/// Channels are innermost (NHWC input, `[kh][kw][c]` weights with channel multiplier 1),
/// so four channels share one word: on the Arm DSP path the four accumulators stay in
/// registers over every tap, 2 loads, 2 SXTAB16, 2 SXTB16, SMLABB/SMLATT ×2 each per
/// tap and four channels.
///
/// ```
/// use mote_simd::int8::{Taps, depthwise};
/// // Two channels, a 1×2 window over pixels of 2 channels.
/// let mut out = [0; 2];
/// depthwise(&mut out, &[1, 2, 3, 4], Taps::new(1, 2, 0, 2), -1, &[1, 1, 1, -1], Taps::new(1, 2, 0, 2))?;
/// assert_eq!(out, [0 + 2, 1 - 3]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `ShapeMismatch` when the two tap sets differ in rows or cols;
/// `BufferTooSmall` when a tap's run of `out.len()` elements overruns `x` or `w`;
/// `Overflow` when a tap position overflows `usize`.
pub fn depthwise(
    out: &mut [i32],
    x: &[i8],
    x_taps: Taps,
    x_offset: i32,
    w: &[i8],
    w_taps: Taps,
) -> Result<()> {
    if (x_taps.rows, x_taps.cols) != (w_taps.rows, w_taps.cols) {
        return Err(Error::new(
            ErrorKind::ShapeMismatch,
            "int8::depthwise: w_taps",
        ));
    }
    x_taps.check("int8::depthwise: x", out.len(), x.len())?;
    w_taps.check("int8::depthwise: w", out.len(), w.len())?;
    // SAFETY: the rows and cols agree and every tap's run lies in bounds (checked above).
    unsafe { arch::depthwise(out, x, x_taps, x_offset, w, w_taps) };
    Ok(())
}

/// [`depthwise`] for a run of output pixels in one call: pixel `p`'s window is `x_taps`
/// starting at `x[p·pixel_step]`, every pixel against the same weights (`w_taps` from
/// `w[0]`), its `channels` sums go to `out[p·channels..][..channels]` (`out.len()` a
/// multiple of `channels`). One validation and one tap table for the run: the interior of
/// a depthwise row, where every window has the same taps, costs one call rather than one
/// per pixel.
///
/// ```
/// use mote_simd::int8::{Taps, depthwise_run};
/// // One channel, 1×2 windows over a row of 3 pixels, two output pixels.
/// let mut out = [0; 2];
/// depthwise_run(&mut out, 1, &[1, 2, 3], Taps::new(1, 2, 0, 1), 0, 1, &[1, -1], Taps::new(1, 2, 0, 1))?;
/// assert_eq!(out, [1 - 2, 2 - 3]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `ShapeMismatch` when the two tap sets differ in rows or cols;
/// `LengthMismatch` when `out.len()` is not a multiple of `channels`; `BufferTooSmall`,
/// `Overflow` as [`depthwise`].
#[allow(clippy::too_many_arguments)]
pub fn depthwise_run(
    out: &mut [i32],
    channels: usize,
    x: &[i8],
    x_taps: Taps,
    x_offset: i32,
    pixel_step: usize,
    w: &[i8],
    w_taps: Taps,
) -> Result<()> {
    if (x_taps.rows, x_taps.cols) != (w_taps.rows, w_taps.cols) {
        return Err(Error::new(
            ErrorKind::ShapeMismatch,
            "int8::depthwise_run: w_taps",
        ));
    }
    let pixels = check_run(
        "int8::depthwise_run: x",
        out.len(),
        channels,
        x.len(),
        x_taps,
        pixel_step,
    )?;
    if pixels == 0 {
        return Ok(());
    }
    w_taps.check("int8::depthwise_run: w", channels, w.len())?;
    // SAFETY: the rows and cols agree, `out` holds `pixels` runs of `channels ≥ 1`, and
    // every pixel's taps (`x_taps` from `x[p·pixel_step]`, `p < pixels`) and the weight
    // taps lie in bounds with `channels` elements after them (checked above).
    unsafe { arch::depthwise_run(out, channels, x, x_taps, x_offset, pixel_step, w, w_taps) };
    Ok(())
}

/// The pooling maximum: `out[c] = max_{r,t} x[start(r, t) + c]` for every channel
/// `c < out.len()` ([`Taps`] give the starts). Four channels per step on the Arm DSP
/// path (SSUB8 sets the per-byte `≥` flags, SEL picks).
///
/// ```
/// use mote_simd::int8::{Taps, window_max};
/// let mut out = [0; 2];
/// window_max(&mut out, &[1, -5, -3, 7, 0, 0], Taps::new(1, 2, 0, 2))?;
/// assert_eq!(out, [1, 7]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `Zero` with no tap; `BufferTooSmall`, `Overflow` as [`depthwise`].
pub fn window_max(out: &mut [i8], x: &[i8], taps: Taps) -> Result<()> {
    if taps.rows == 0 || taps.cols == 0 {
        return Err(Error::zero("int8::window_max: taps"));
    }
    taps.check("int8::window_max: x", out.len(), x.len())?;
    // SAFETY: at least one tap, every tap's run in bounds (checked above).
    unsafe { arch::window_max(out, x, taps) };
    Ok(())
}

/// The pooling sum: `out[c] = Σ_{r,t} x[start(r, t) + c]` for every channel
/// `c < out.len()`, wrapping in `i32` (exact below 2^24 taps); `out` is overwritten (all
/// zeros with no tap). On the Arm DSP path windows of up to 256 taps are summed four
/// channels per step in 16-bit lanes (SXTAB16, exact there), larger ones by the scalar
/// reference.
///
/// ```
/// use mote_simd::int8::{Taps, window_sum};
/// let mut out = [0; 2];
/// window_sum(&mut out, &[1, -5, -3, 7], Taps::new(2, 1, 2, 0))?;
/// assert_eq!(out, [-2, 2]);
/// # Ok::<(), mote_core::Error>(())
/// ```
///
/// Errors: `BufferTooSmall`, `Overflow` as [`depthwise`].
pub fn window_sum(out: &mut [i32], x: &[i8], taps: Taps) -> Result<()> {
    taps.check("int8::window_sum: x", out.len(), x.len())?;
    // SAFETY: every tap's run in bounds (checked above).
    unsafe { arch::window_sum(out, x, taps) };
    Ok(())
}

/// Checks a run of `pixels` windows `pixel_step` apart, each of `taps` over runs of
/// `channels`, against `x.len()`; returns the number of pixels.
fn check_run(
    at: &'static str,
    out_len: usize,
    channels: usize,
    x_len: usize,
    taps: Taps,
    pixel_step: usize,
) -> Result<usize> {
    if channels == 0 {
        check_len(at, 0, out_len)?;
        return Ok(0);
    }
    let pixels = out_len / channels;
    check_len(at, pixels * channels, out_len)?;
    if pixels == 0 {
        return Ok(0);
    }
    let first = (pixels - 1)
        .checked_mul(pixel_step)
        .ok_or(Error::new(ErrorKind::Overflow, at))?;
    taps.check(at, channels, x_len.saturating_sub(first))?;
    if first > x_len {
        return Err(Error::too_small(at, first, x_len));
    }
    Ok(pixels)
}

/// [`window_max`] for a run of output pixels in one call: pixel `p`'s window is
/// `taps` starting at `x[p·pixel_step]`, its `channels` maxima go to
/// `out[p·channels..][..channels]` (`out.len()` a multiple of `channels`). One
/// validation for the run, so a pooling row costs one call rather than one per pixel. On
/// Helium (from 4 channels) the run also shares one tap table: 2×2 windows of 8 channels
/// take about 13 instructions per output, against 29 on the DSP path (QEMU).
///
/// Errors: `Zero` with no tap; `LengthMismatch` when `out.len()` is not a multiple of
/// `channels`; `BufferTooSmall`, `Overflow` as [`depthwise`].
pub fn window_max_run(
    out: &mut [i8],
    channels: usize,
    x: &[i8],
    taps: Taps,
    pixel_step: usize,
) -> Result<()> {
    if taps.rows == 0 || taps.cols == 0 {
        return Err(Error::zero("int8::window_max_run: taps"));
    }
    check_run(
        "int8::window_max_run",
        out.len(),
        channels,
        x.len(),
        taps,
        pixel_step,
    )?;
    if channels == 0 {
        return Ok(());
    }
    // SAFETY: at least one tap, `channels ≥ 1`, `out.len()` a multiple of it; every
    // pixel's taps (from `x[p·pixel_step]`) have their run of `channels` in bounds (the
    // run was checked above).
    unsafe { arch::window_max_run(out, channels, x, taps, pixel_step) };
    Ok(())
}

/// [`window_sum`] for a run of output pixels in one call (the layout of
/// [`window_max_run`]).
///
/// Errors: as [`window_max_run`], but no tap is allowed (all sums 0).
pub fn window_sum_run(
    out: &mut [i32],
    channels: usize,
    x: &[i8],
    taps: Taps,
    pixel_step: usize,
) -> Result<()> {
    check_run(
        "int8::window_sum_run",
        out.len(),
        channels,
        x.len(),
        taps,
        pixel_step,
    )?;
    for (p, o) in out.chunks_exact_mut(channels.max(1)).enumerate() {
        let xs = x.get(p * pixel_step..).unwrap_or(&[]);
        // SAFETY: every tap's run of `channels` lies in `xs` (checked above).
        unsafe { arch::window_sum(o, xs, taps) };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_arguments_are_errors() {
        let a = [0i8; 8];
        assert!(dot_2x2([&a, &a[..7]], 0, [&a, &a]).is_err());
        assert!(dot_1x4(&a, 0, [&a, &a, &a[1..], &a]).is_err());
        let mut o = [0i32; 4];
        let t = Taps::new(2, 2, 4, 2);
        assert!(depthwise(&mut o, &a, t, 0, &a, t).is_err());
        assert!(depthwise(&mut o[..2], &a, t, 0, &a, Taps::new(2, 1, 4, 2)).is_err());
        assert!(depthwise(&mut o[..2], &a, t, 0, &a, t).is_ok());
        let huge = Taps::new(3, 1, usize::MAX, 0);
        assert!(window_sum(&mut o, &a, huge).is_err());
        let mut m = [0i8; 2];
        assert!(window_max(&mut m, &a, Taps::new(0, 1, 0, 0)).is_err());
        assert!(window_max(&mut m, &a, t).is_ok());
    }
}
