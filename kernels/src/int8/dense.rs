//! Fully connected (dense) layer, int8 activations and weights, int32 bias: TFLite's
//! `FULLY_CONNECTED` int8 kernel (and CMSIS-NN's `arm_fully_connected_s8` /
//! `_per_channel_s8`), bit-exact.
//!
//! ```text
//! acc    = bias[o] + Σ_k (x[b][k] − input_zero_point) · (w[o][k] − weights_zero_point)
//! y[b][o] = clamp(requant32(acc, M_o) + output_zero_point, act_min, act_max)
//! ```
//!
//! `M_o` is the one multiplier of a per-tensor layer or output channel `o`'s multiplier
//! of a per-channel one (see [`Quant`]); `requant32` is
//! [`QuantizedMultiplier::apply`] with the rounding [`Quant::rounding`] asks for
//! (TFLite's default is [`Rounding::Double`]). The accumulator is int32 as in TFLite (it
//! wraps where TFLite's would overflow, which valid models never do).
//!
//! | buffer | layout | length |
//! |---|---|---|
//! | input | `[batch][inputs]` | `batch·inputs` |
//! | weights | `[outputs][inputs]` | `outputs·inputs` |
//! | bias | `[outputs]` | `outputs` |
//! | output | `[batch][outputs]` | `batch·outputs` |
//!
//! With symmetric weights (zero point 0) the outputs are computed in register tiles:
//! two batch rows × two output rows per [`mote_simd::int8::dot_2x2`], a single batch row
//! four outputs per [`mote_simd::int8::dot_1x4`] (each input word loaded once for four
//! weight rows); otherwise each output is one [`mote_simd::dot::dot_i8_offset`] over its
//! input and weight rows (offsets `−input_zero_point`, `−weights_zero_point`). The Arm
//! DSP path runs on Cortex-M4/M7/M33/M55; every path gives the same bits. On the scalar
//! path of a 32-bit target without Helium (Cortex-M0/M3, or a core limited to scalar), a
//! batch-1 layer of at most 1024 inputs prepares its input row once
//! ([`mote_simd::int8::Row1`], 2 KiB on the stack) for [`mote_simd::int8::gemv`].
//!
//! No caller scratch. [`Params`] and [`Quant`] are shared with [`crate::int16::dense`].

use mote_core::error::{check_len, check_nonzero};
use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_core::{Error, ErrorKind, Result};

/// Parameters of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Rows of the input and output.
    pub batch: usize,
    /// Features per input row (TFLite's `accum_depth`).
    pub inputs: usize,
    /// Features per output row.
    pub outputs: usize,
}

impl Params {
    /// A dense layer mapping `batch` rows of `inputs` features to `outputs` features.
    pub const fn new(batch: usize, inputs: usize, outputs: usize) -> Self {
        Self {
            batch,
            inputs,
            outputs,
        }
    }

    /// `(batch·inputs, outputs·inputs, batch·outputs)` after checking that no size is
    /// zero and no product overflows; `at` names the kernel's batch, inputs, outputs
    /// and size arguments.
    pub(crate) fn lens(&self, at: [&'static str; 4]) -> Result<(usize, usize, usize)> {
        check_nonzero(at[0], self.batch)?;
        check_nonzero(at[1], self.inputs)?;
        check_nonzero(at[2], self.outputs)?;
        let overflow = Error::new(ErrorKind::Overflow, at[3]);
        let x = self.batch.checked_mul(self.inputs).ok_or(overflow)?;
        let w = self.outputs.checked_mul(self.inputs).ok_or(overflow)?;
        let y = self.batch.checked_mul(self.outputs).ok_or(overflow)?;
        Ok((x, w, y))
    }
}

/// Quantisation of an integer dense or convolution layer: zero points, the
/// requantisation multipliers and the fused-activation clamp.
///
/// Zero points are TFLite's (`real = scale · (q − zero_point)`), not CMSIS-NN's offsets
/// (`input_offset = −input_zero_point`). Shared by the int8 and int16 dense and conv
/// kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Quant<'a> {
    /// Zero point of the input, within the input type's range.
    pub input_zero_point: i32,
    /// Zero point of the weights, within `i8` (0 for TFLite's symmetric weights).
    pub weights_zero_point: i32,
    /// Zero point of the output, within the output type's range.
    pub output_zero_point: i32,
    /// One multiplier (per tensor) or one per output channel (per channel):
    /// `input_scale · weight_scale[o] / output_scale`.
    pub multipliers: &'a [QuantizedMultiplier],
    /// Lower clamp of the output, in output units.
    pub act_min: i32,
    /// Upper clamp of the output, in output units.
    pub act_max: i32,
    /// How int32 accumulators are requantised ([`Rounding::Double`] is TFLite's
    /// default). The int64 accumulators of the 16×8 kernels always use TFLite's
    /// reduced-multiplier form ([`QuantizedMultiplier::apply_i64`]).
    pub rounding: Rounding,
}

impl<'a> Quant<'a> {
    /// Per-tensor or per-channel quantisation with TFLite's double rounding.
    pub const fn new(
        input_zero_point: i32,
        weights_zero_point: i32,
        output_zero_point: i32,
        multipliers: &'a [QuantizedMultiplier],
        act_min: i32,
        act_max: i32,
    ) -> Self {
        Self {
            input_zero_point,
            weights_zero_point,
            output_zero_point,
            multipliers,
            act_min,
            act_max,
            rounding: Rounding::Double,
        }
    }

    /// Checks the fields against `outputs` channels, the input range `x` and the output
    /// range `y`. `at` names the multipliers, input zero point, weights zero point,
    /// output zero point, act_min and act_max of the calling kernel.
    pub(crate) fn check(
        &self,
        outputs: usize,
        x: (i32, i32),
        y: (i32, i32),
        at: [&'static str; 6],
    ) -> Result<()> {
        let n = self.multipliers.len();
        if n != 1 {
            check_len(at[0], outputs, n)?;
        }
        let range = |at, v: i32, (lo, hi): (i32, i32)| {
            if v < lo || v > hi {
                Err(Error::out_of_range(at, v as i64, lo as i64, hi as i64))
            } else {
                Ok(())
            }
        };
        range(at[1], self.input_zero_point, x)?;
        range(at[2], self.weights_zero_point, (-128, 127))?;
        range(at[3], self.output_zero_point, y)?;
        range(at[4], self.act_min, y)?;
        range(at[5], self.act_max, (self.act_min.max(y.0), y.1))
    }

    /// The multiplier of output channel `o` (valid after [`check`](Self::check)).
    #[inline]
    pub(crate) fn multiplier(&self, o: usize) -> QuantizedMultiplier {
        match self.multipliers {
            [m] => *m,
            ms => ms.get(o).copied().unwrap_or(QuantizedMultiplier::ZERO),
        }
    }

    /// `clamp(r + output_zero_point, act_min, act_max)` for a requantised `r`.
    #[inline]
    pub(crate) fn finish(&self, r: i32) -> i32 {
        r.saturating_add(self.output_zero_point)
            .clamp(self.act_min, self.act_max)
    }
}

/// `m.apply(x, rounding)` ([`QuantizedMultiplier::apply`]) bit for bit, with the
/// double rounding written for 32-bit cores: one 32×32→64 multiply (SMULL) and 32-bit
/// masks, where the generic form's 64-bit variable shifts cost about 60 instructions
/// per output on a Cortex-M4. The single rounding is the generic one.
#[inline(always)]
pub(crate) fn requant(m: QuantizedMultiplier, x: i32, rounding: Rounding) -> i32 {
    match rounding {
        Rounding::Double => requant_double(m, x),
        Rounding::Single => m.apply_single(x),
    }
}

/// [`QuantizedMultiplier::apply_double`]: `rounding_divide_by_pot(srdhm(sat(x ·
/// 2^left), multiplier), right)`, the same steps with 32-bit masks.
#[inline(always)]
pub(crate) fn requant_double(m: QuantizedMultiplier, x: i32) -> i32 {
    let shift = m.shift();
    let x = if shift > 0 {
        mote_core::fixed::saturating_shift_left(x, shift as u32)
    } else {
        x
    };
    // The shift lies in [−31, 30], so the right shift in [0, 31].
    let right = if shift < 0 {
        shift.unsigned_abs().min(31)
    } else {
        0
    };
    let mult = m.multiplier();
    // Saturating rounding doubling high multiply (gemmlowp's SRDHM). Its nudge
    // (2^30, or 1 − 2^30 for a negative product) and truncating division by 2^31 equal
    // `⌊(ab + 2^30) / 2^31⌋` for every product (for ab < 0, with t = ab + 2^30:
    // trunc((t + 1 − 2^31) / 2^31) = ⌈(t + 1) / 2^31⌉ − 1 = ⌊t / 2^31⌋), so one
    // multiply-accumulate (SMLAL) and an arithmetic shift; only x = m = i32::MIN
    // saturates.
    let high = if x == i32::MIN && mult == i32::MIN {
        i32::MAX
    } else {
        ((i64::from(x) * i64::from(mult) + (1i64 << 30)) >> 31) as i32
    };
    // Rounding divide by 2^right, ties away from zero.
    let mask = ((1u32 << right) - 1) as i32;
    let remainder = high & mask;
    let threshold = (mask >> 1) + i32::from(high < 0);
    (high >> right) + i32::from(remainder > threshold)
}

/// Channels per block of int8 accumulators kept on the stack by the tiled kernels.
pub(crate) const BLOCK: usize = 64;

/// The output stage of the int8 kernels over a block of channels:
/// `y[j] = clamp(requant(acc[j] + bias[o0 + j], M_{o0 + j}) + output_zero_point,
/// act_min, act_max)` for `j < ys.len() ≤ BLOCK` — the same values as requantising each
/// output on its own, with the rounding mode, the bias and the per-tensor / per-channel
/// choice resolved once per block instead of per output.
pub(crate) struct Stage<'a> {
    /// One multiplier (per tensor) or one per channel.
    pub multipliers: &'a [QuantizedMultiplier],
    /// The bias, if any.
    pub bias: Option<&'a [i32]>,
    /// Output zero point.
    pub zero_point: i32,
    /// Clamp.
    pub act: (i32, i32),
    /// Requantisation rounding.
    pub rounding: Rounding,
}

/// One channel's output stage with everything that does not depend on the
/// accumulator worked out ([`Stage::prepare`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prep {
    m: QuantizedMultiplier,
    bias: i32,
    /// The left shift (the multiplier's shift when positive).
    left: u32,
    /// The right shift, `max(−shift, 0)` (at most 31).
    right: u32,
    /// `2^right − 1`.
    mask: i32,
}

impl Prep {
    const ZERO: Prep = Prep {
        m: QuantizedMultiplier::ZERO,
        bias: 0,
        left: 0,
        right: 0,
        mask: 0,
    };

    /// [`requant_double`] of `acc + bias` with the shifts and mask precomputed: the same
    /// steps, the same bits.
    #[inline(always)]
    fn double<const NO_MIN: bool>(&self, acc: i32) -> i32 {
        let x = acc.wrapping_add(self.bias);
        let x = if self.left > 0 {
            mote_core::fixed::saturating_shift_left(x, self.left)
        } else {
            x
        };
        let mult = self.m.multiplier();
        // As in `requant_double`: SRDHM = ⌊(x·m + 2^30) / 2^31⌋ but for MIN·MIN (which
        // only a multiplier of i32::MIN can meet; `NO_MIN` says there is none).
        let high = if !NO_MIN && x == i32::MIN && mult == i32::MIN {
            i32::MAX
        } else {
            ((i64::from(x) * i64::from(mult) + (1i64 << 30)) >> 31) as i32
        };
        let remainder = high & self.mask;
        let threshold = (self.mask >> 1) + i32::from(high < 0);
        (high >> self.right) + i32::from(remainder > threshold)
    }

    /// [`Prep::double`] for a channel without left shift and a multiplier other than
    /// `i32::MIN` (callers check both, see [`Block`]): the same bits, with `remainder >
    /// threshold` taken as the sign of `threshold − remainder` (both lie in
    /// `[0, 2^31)`, so the difference does not overflow), which needs no conditional
    /// instruction.
    #[inline(always)]
    fn double_right(&self, acc: i32) -> i32 {
        let x = acc.wrapping_add(self.bias);
        let high = ((i64::from(x) * i64::from(self.m.multiplier()) + (1i64 << 30)) >> 31) as i32;
        let remainder = high & self.mask;
        let threshold = (self.mask >> 1) + i32::from(high < 0);
        (high >> self.right) + ((threshold.wrapping_sub(remainder) as u32) >> 31) as i32
    }
}

/// The prepared output stage of up to `N` consecutive channels.
pub(crate) struct Block<const N: usize = BLOCK> {
    preps: [Prep; N],
    /// The biases and multipliers of the channels as arrays, for
    /// [`mote_simd::requant::requantize_i8_prepared`] (the Helium output stage; the
    /// shifts checked once, when the block is prepared, not on every store).
    bias: [i32; N],
    ms: mote_simd::requant::ChannelMultipliers<N>,
    /// The first channel, or `usize::MAX` before the first [`Stage::prepare`].
    o0: usize,
    n: usize,
    /// No multiplier of the block is `i32::MIN` (so SRDHM cannot saturate).
    no_min: bool,
    /// No channel of the block shifts left (see [`Prep::double_right`]).
    no_left: bool,
}

impl<const N: usize> Block<N> {
    /// A block prepared for no channel yet.
    pub(crate) const fn new() -> Self {
        Self {
            preps: [Prep::ZERO; N],
            bias: [0; N],
            ms: mote_simd::requant::ChannelMultipliers::new(),
            o0: usize::MAX,
            n: 0,
            no_min: true,
            no_left: true,
        }
    }
}

impl Stage<'_> {
    /// Prepares `block` for channels `o0..o0 + n` (`n ≤ N`), unless it already
    /// holds them.
    #[inline]
    pub(crate) fn prepare<const N: usize>(&self, block: &mut Block<N>, o0: usize, n: usize) {
        let n = n.min(N);
        if block.o0 == o0 && block.n == n {
            return;
        }
        for (j, p) in block.preps.iter_mut().take(n).enumerate() {
            *p = self.prep(o0 + j);
        }
        // Filled whichever path is on, so a block stays valid for either.
        for (j, (b, p)) in block.bias.iter_mut().zip(&block.preps).take(n).enumerate() {
            *b = p.bias;
            block.ms.set(j, p.m);
        }
        block.o0 = o0;
        block.n = n;
        // Both flags in one pass (a second one cost the Cortex-M55's Helium path about
        // 800 instructions per depthwise layer).
        let (mut no_min, mut no_left) = (true, true);
        for p in block.preps.iter().take(n) {
            no_min &= p.m.multiplier() != i32::MIN;
            no_left &= p.left == 0;
        }
        (block.no_min, block.no_left) = (no_min, no_left);
    }

    /// Channel `o`'s output stage.
    #[inline(always)]
    fn prep(&self, o: usize) -> Prep {
        let m = match self.multipliers {
            [m] => *m,
            ms => ms.get(o).copied().unwrap_or(QuantizedMultiplier::ZERO),
        };
        let shift = m.shift();
        let right = if shift < 0 {
            shift.unsigned_abs().min(31)
        } else {
            0
        };
        Prep {
            m,
            bias: self.bias.and_then(|b| b.get(o)).copied().unwrap_or(0),
            left: if shift > 0 { shift as u32 } else { 0 },
            right,
            mask: ((1u32 << right) - 1) as i32,
        }
    }

    /// Writes `ys` from `acc` for channels `o0..`, each channel's stage worked out as it
    /// goes: for outputs whose stage is used once (a fully connected layer with batch 1),
    /// where preparing a [`Block`] would only add its initialisation.
    /// `C` only tells callers' copies apart (one per call site, so that each is inlined
    /// where it is used: called from two places, LLVM outlined it and its closure).
    #[inline]
    pub(crate) fn store_direct<const C: u8>(&self, ys: &mut [i8], acc: &[i32], o0: usize) {
        let (zp, (lo, hi)) = (self.zero_point, self.act);
        let requant = |j: usize, a: i32| {
            let p = self.prep(o0 + j);
            match self.rounding {
                Rounding::Double if p.m.multiplier() != i32::MIN => p.double::<true>(a),
                Rounding::Double => p.double::<false>(a),
                Rounding::Single => p.m.apply_single(a.wrapping_add(p.bias)),
            }
        };
        let all = ys.iter_mut().zip(acc).enumerate();
        if (lo, hi) == (-128, 127) {
            // The full int8 range: a clamp LLVM turns into SSAT.
            for (j, (y, &a)) in all {
                *y = requant(j, a).saturating_add(zp).clamp(-128, 127) as i8;
            }
        } else {
            for (j, (y, &a)) in all {
                *y = requant(j, a).saturating_add(zp).clamp(lo, hi) as i8;
            }
        }
    }

    /// Writes `ys` from `acc` for the channels `block` was prepared for (the first
    /// `min(ys.len(), acc.len(), n)`).
    #[inline]
    pub(crate) fn store_block<const N: usize>(&self, ys: &mut [i8], acc: &[i32], block: &Block<N>) {
        let (zp, (lo, hi)) = (self.zero_point, self.act);
        if self.rounding == Rounding::Double && mote_simd::requant::channels_vectorised() {
            // Helium: four channels per step, the same bits (the clamp is within i8,
            // validated by the callers).
            let n = ys.len().min(acc.len()).min(block.n);
            let arrays = (block.bias.get(..n), acc.get(..n), ys.get_mut(..n));
            if let (Some(b), Some(a), Some(y)) = arrays
                && let (Ok(lo8), Ok(hi8)) = (i8::try_from(lo), i8::try_from(hi))
                && mote_simd::requant::requantize_i8_prepared(a, b, &block.ms, zp, lo8, hi8, y)
                    .is_ok()
            {
                return;
            }
        }
        let out = |y: i32| y.saturating_add(zp).clamp(lo, hi) as i8;
        let preps = block.preps.get(..block.n).unwrap_or(&[]);
        let all = ys.iter_mut().zip(acc).zip(preps);
        match (self.rounding, block.no_min, (lo, hi)) {
            // The common case: no left shift, the full int8 range (a clamp LLVM turns
            // into SSAT).
            (Rounding::Double, true, (-128, 127)) if block.no_left => {
                for ((y, &a), p) in all {
                    *y = p.double_right(a).saturating_add(zp).clamp(-128, 127) as i8;
                }
            }
            (Rounding::Double, true, _) if block.no_left => {
                for ((y, &a), p) in all {
                    *y = out(p.double_right(a));
                }
            }
            (Rounding::Double, true, (-128, 127)) => {
                for ((y, &a), p) in all {
                    *y = p.double::<true>(a).saturating_add(zp).clamp(-128, 127) as i8;
                }
            }
            (Rounding::Double, true, _) => {
                for ((y, &a), p) in all {
                    *y = out(p.double::<true>(a));
                }
            }
            (Rounding::Double, false, _) => {
                for ((y, &a), p) in all {
                    *y = out(p.double::<false>(a));
                }
            }
            (Rounding::Single, ..) => {
                for ((y, &a), p) in all {
                    *y = out(p.m.apply_single(a.wrapping_add(p.bias)));
                }
            }
        }
    }

    /// [`Stage::store`] for two rows over the same channels (two output pixels or batch
    /// rows; `ys[r]` from `acc[r]`, all four of one length): on Helium one call of the
    /// two-row output stage ([`mote_simd::requant::requantize_i8_prepared2`], each
    /// channel's constants loaded once for both rows), elsewhere for blocks without left
    /// shift or `i32::MIN` multiplier [`Stage::store2_right`] (the same for the scalar
    /// stage; about 21 instructions per output on the Cortex-M4 against 30), else two
    /// [`Stage::store`]s.
    #[inline]
    pub(crate) fn store2<const N: usize>(
        &self,
        ys: [&mut [i8]; 2],
        acc: [&[i32]; 2],
        o0: usize,
        block: &mut Block<N>,
    ) {
        let [y0, y1] = ys;
        self.prepare(block, o0, y0.len());
        let (zp, (lo, hi)) = (self.zero_point, self.act);
        let n = y0.len();
        if self.rounding == Rounding::Double
            && mote_simd::requant::channels_vectorised()
            && n <= block.n
            && let (Some(b), Some(a0), Some(a1)) =
                (block.bias.get(..n), acc[0].get(..n), acc[1].get(..n))
            && let (Ok(lo8), Ok(hi8)) = (i8::try_from(lo), i8::try_from(hi))
            && mote_simd::requant::requantize_i8_prepared2(
                [a0, a1],
                b,
                &block.ms,
                zp,
                lo8,
                hi8,
                [&mut *y0, &mut *y1],
            )
            .is_ok()
        {
            return;
        }
        // The common case on the other paths: each channel's constants loaded once for
        // both rows.
        if self.rounding == Rounding::Double
            && block.no_min
            && block.no_left
            && let (Some(p), Some(a0), Some(a1)) =
                (block.preps.get(..n), acc[0].get(..n), acc[1].get(..n))
        {
            self.store2_right([y0, y1], [a0, a1], p);
            return;
        }
        self.store_block(y0, acc[0], block);
        self.store_block(y1, acc[1], block);
    }

    /// The scalar two-row output stage of [`Stage::store2`] for channels without left
    /// shift or `i32::MIN` multiplier, [`Rounding::Double`]: `ys[r][j]` from `acc[r][j]`
    /// with `preps[j]` (over the common length), each channel's constants loaded once
    /// for both rows. Not inlined: inlined into [`Stage::store2`], the depthwise bench
    /// took more instructions on both boards (the Cortex-M55's scalar path 613906
    /// against 607187).
    #[inline(never)]
    fn store2_right(&self, ys: [&mut [i8]; 2], acc: [&[i32]; 2], preps: &[Prep]) {
        let (zp, (lo, hi)) = (self.zero_point, self.act);
        let [y0, y1] = ys;
        let rows = y0
            .iter_mut()
            .zip(y1)
            .zip(acc[0].iter().zip(acc[1]))
            .zip(preps);
        if (lo, hi) == (-128, 127) {
            // The full int8 range: a clamp LLVM turns into SSAT.
            for (((u, v), (&a, &b)), p) in rows {
                *u = p.double_right(a).saturating_add(zp).clamp(-128, 127) as i8;
                *v = p.double_right(b).saturating_add(zp).clamp(-128, 127) as i8;
            }
        } else {
            for (((u, v), (&a, &b)), p) in rows {
                *u = p.double_right(a).saturating_add(zp).clamp(lo, hi) as i8;
                *v = p.double_right(b).saturating_add(zp).clamp(lo, hi) as i8;
            }
        }
    }

    /// Writes `ys` from `acc` (equal lengths, at most `N`) for channels `o0..`,
    /// preparing them first.
    #[inline]
    pub(crate) fn store<const N: usize>(
        &self,
        ys: &mut [i8],
        acc: &[i32],
        o0: usize,
        block: &mut Block<N>,
    ) {
        self.prepare(block, o0, ys.len());
        self.store_block(ys, acc, block);
    }
}

/// An activation type of the integer dense and conv kernels, with the inner loop over
/// one run of channels.
pub(crate) trait Activation: Copy {
    /// `Σ (x[i] − izp)·(w[i] − wzp)` over the common length.
    ///
    /// For `i16` the exact sum in 64 bits (wrapping), as the 16×8 kernels' int64
    /// accumulators need. For `i8` the sum mod 2^32, sign-extended: the int8 kernels
    /// truncate their sums to the int32 accumulator of TFLite, and a sum of such runs
    /// truncated to 32 bits equals the exact sum truncated (both are the true sum mod
    /// 2^32). The `i8` run is [`mote_simd::dot::dot_i8_offset`] with CMSIS-NN's offsets
    /// `−izp`, `−wzp` (the Arm DSP path on Cortex-M4/M7); the `i16` run is
    /// [`mote_simd::dot::dot_i16_i8`] (SMLALD on the DSP path, VMLALDAVA on Helium).
    fn run(xs: &[Self], ws: &[i8], izp: i64, wzp: i64) -> i64;
}

impl Activation for i8 {
    #[inline]
    fn run(xs: &[i8], ws: &[i8], izp: i64, wzp: i64) -> i64 {
        // The zero points are validated (within i8), so the offsets fit i32; the lengths
        // are equal by construction, so the error branch is never taken.
        mote_simd::dot::dot_i8_offset(xs, -izp as i32, ws, -wzp as i32).unwrap_or(0) as i64
    }
}

impl Activation for i16 {
    #[inline]
    fn run(xs: &[i16], ws: &[i8], izp: i64, wzp: i64) -> i64 {
        // The zero points are validated (within i16 and i8), so the offsets fit i32; the
        // lengths are equal by construction, so the error branch is never taken.
        mote_simd::dot::dot_i16_i8(xs, -izp as i32, ws, -wzp as i32).unwrap_or(0)
    }
}

/// The shared loop of the integer dense kernels: for each `(b, o)`,
/// `sum = Σ_k (x − input_zero_point)·(w − weights_zero_point)` ([`Activation::run`]: in
/// 64 bits for int16, mod 2^32 for int8), then `output[b][o] = f(o, sum)`. Lengths must
/// have been checked.
pub(crate) fn dense_core<X: Activation, Y>(
    inputs: usize,
    outputs: usize,
    input: &[X],
    weights: &[i8],
    quant: &Quant<'_>,
    output: &mut [Y],
    mut f: impl FnMut(usize, i64) -> Y,
) {
    let izp = quant.input_zero_point as i64;
    let wzp = quant.weights_zero_point as i64;
    for (x_row, y_row) in input
        .chunks_exact(inputs)
        .zip(output.chunks_exact_mut(outputs))
    {
        for ((o, w_row), y) in weights.chunks_exact(inputs).enumerate().zip(y_row) {
            *y = f(o, X::run(x_row, w_row, izp, wzp));
        }
    }
}

/// Forward pass: `output ← clamp(requant32(input·(weights − wzp)ᵀ + bias) + ozp)` with
/// the input shifted by its zero point; `output` is overwritten.
///
/// Errors: `Zero` for a zero size; `LengthMismatch` for a buffer of the wrong length or
/// a multiplier slice that is neither 1 nor `outputs` long; `OutOfRange` for a zero
/// point outside its type or an empty/out-of-type clamp; `Overflow` when a length
/// overflows.
///
/// ```
/// use mote_core::quant::QuantizedMultiplier;
/// use mote_kernels::int8::dense::{Params, Quant, forward};
///
/// let half = [QuantizedMultiplier::from_real(0.5)?];
/// let q = Quant::new(-1, 0, 3, &half, -128, 127);
/// let mut y = [0i8; 2];
/// // (1+1)·2 + (3+1)·1 = 8 → 4 + 3; (1+1)·(−1) + 10 = 8 → 4 + 3.
/// forward(&Params::new(1, 2, 2), &q, &[1, 3], &[2, 1, -1, 0], Some(&[0, 10]), &mut y)?;
/// assert_eq!(y, [7, 7]);
/// # Ok::<(), mote_core::Error>(())
/// ```
pub fn forward(
    params: &Params,
    quant: &Quant<'_>,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    // Batch 1 on the scalar path of a 32-bit target without Helium: the row's
    // offset-added lanes prepared once for every weight row (`Row1`, stack scratch of
    // `ROW1_MAX` lanes; compiled out elsewhere). The input zero point is validated
    // within i8 (below), so the offset fits i32 once checked.
    if mote_simd::int8::Row1::MAY_PREPARE
        && mote_simd::int8::Row1::prepares(params.inputs, quant.input_zero_point.wrapping_neg())
        && params.batch == 1
        && params.inputs <= ROW1_MAX
        && quant.weights_zero_point == 0
    {
        check_forward(params, quant, input, weights, bias, output)?;
        let stage = Stage {
            multipliers: quant.multipliers,
            bias,
            zero_point: quant.output_zero_point,
            act: (quant.act_min, quant.act_max),
            rounding: quant.rounding,
        };
        let xo = -quant.input_zero_point;
        prepared_rows::<16>(
            params.inputs,
            params.outputs,
            input,
            weights,
            xo,
            &stage,
            output,
        );
        return Ok(());
    }
    forward_checked(params, quant, input, weights, bias, output)
}

/// [`forward`] on every other path: checks, then the register tiles or one dot product
/// per output. Never inlined, so that it compiles as it did before the batch-1 path
/// above was added (inlined, LLVM allocated its registers differently: 200 more
/// instructions for a 784 → 128 layer on the Arm DSP path). 64-bit hosts, where the
/// path above is compiled out, keep it inlined as before.
#[cfg_attr(target_pointer_width = "32", inline(never))]
fn forward_checked(
    params: &Params,
    quant: &Quant<'_>,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    check_forward(params, quant, input, weights, bias, output)?;
    if quant.weights_zero_point == 0 {
        tiles(
            params.inputs,
            params.outputs,
            input,
            weights,
            quant,
            bias,
            output,
        );
    } else {
        forward_per_output(params, quant, input, weights, bias, output);
    }
    Ok(())
}

/// [`forward`] without the register tiles: one dot product per output
/// ([`mote_simd::dot::dot_i8_offset`]) and the per-output requantisation — the same
/// bytes (both sum exactly mod 2^32), slower on large layers, and about 13 KB less
/// code, since the tiles and the blocked output stage are not linked. For generated
/// modules of small models (a single-sample layer with few inputs gains little from
/// the tiles), where flash is the constraint; same arguments and errors as
/// [`forward`].
pub fn forward_compact(
    params: &Params,
    quant: &Quant<'_>,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) -> Result<()> {
    check_forward(params, quant, input, weights, bias, output)?;
    forward_per_output(params, quant, input, weights, bias, output);
    Ok(())
}

/// One dot product per output, then bias and requantisation (arguments checked).
fn forward_per_output(
    params: &Params,
    quant: &Quant<'_>,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &mut [i8],
) {
    dense_core(
        params.inputs,
        params.outputs,
        input,
        weights,
        quant,
        output,
        |o, sum| {
            let b = bias.and_then(|b| b.get(o)).copied().unwrap_or(0);
            // int32 accumulator: wrapping, as TFLite's would on overflow.
            let acc = (sum as i32).wrapping_add(b);
            quant.finish(requant(quant.multiplier(o), acc, quant.rounding)) as i8
        },
    );
}

fn check_forward(
    params: &Params,
    quant: &Quant<'_>,
    input: &[i8],
    weights: &[i8],
    bias: Option<&[i32]>,
    output: &[i8],
) -> Result<()> {
    let (x_len, w_len, y_len) = params.lens([
        "fully_connected_s8: batch",
        "fully_connected_s8: inputs",
        "fully_connected_s8: outputs",
        "fully_connected_s8: size",
    ])?;
    check_len("fully_connected_s8: input", x_len, input.len())?;
    check_len("fully_connected_s8: weights", w_len, weights.len())?;
    if let Some(b) = bias {
        check_len("fully_connected_s8: bias", params.outputs, b.len())?;
    }
    check_len("fully_connected_s8: output", y_len, output.len())?;
    quant.check(
        params.outputs,
        (-128, 127),
        (-128, 127),
        [
            "fully_connected_s8: multipliers",
            "fully_connected_s8: input_zero_point",
            "fully_connected_s8: weights_zero_point",
            "fully_connected_s8: output_zero_point",
            "fully_connected_s8: act_min",
            "fully_connected_s8: act_max",
        ],
    )?;
    Ok(())
}

/// The int8 loop for symmetric weights (zero point 0, TFLite's int8 scheme): pairs of
/// batch rows against every weight row with [`mote_simd::int8::gemm_2xn`] (both input
/// rows prepared once), a last odd batch row against four weight rows at a time with
/// [`mote_simd::int8::dot_1x4`] (each input word loaded once for four rows); sums are
/// requantised a block of [`BLOCK`] outputs at a time ([`Stage`]). Every sum is the same
/// int32 (mod 2^32) as [`dense_core`]'s, so the results are bit-exact with it. Lengths
/// must have been checked.
fn tiles(
    inputs: usize,
    outputs: usize,
    input: &[i8],
    weights: &[i8],
    quant: &Quant<'_>,
    bias: Option<&[i32]>,
    output: &mut [i8],
) {
    use mote_simd::int8::{dot_1x2, dot_1x4};
    let stage = Stage {
        multipliers: quant.multipliers,
        bias,
        zero_point: quant.output_zero_point,
        act: (quant.act_min, quant.act_max),
        rounding: quant.rounding,
    };
    // The input zero point is validated within i8, so the offset fits i32.
    let xo = -quant.input_zero_point;
    let rows = input.len() / inputs;
    let paired = if inputs <= PAIR_MAX { rows & !1 } else { 0 };
    if paired > 0
        && let (Some(x), Some(y)) = (
            input.get(..paired * inputs),
            output.get_mut(..paired * outputs),
        )
    {
        pairs(inputs, outputs, x, weights, xo, &stage, y);
    }
    // The rows left (batch 1, or the last of an odd batch): four outputs per pass, in
    // blocks of ONE outputs (each output's stage is used once: no prepared block).
    const ONE: usize = 16;
    let mut sums = [0i32; ONE];
    let rest = input
        .chunks_exact(inputs)
        .zip(output.chunks_exact_mut(outputs));
    for (x0, y0) in rest.skip(paired) {
        let mut o = 0;
        for (w, u) in weights.chunks(ONE * inputs).zip(y0.chunks_mut(ONE)) {
            let a = &mut sums[..u.len()];
            let mut rows = w.chunks_exact(4 * inputs);
            let mut quads = a.chunks_exact_mut(4);
            for (w4, s) in rows.by_ref().zip(quads.by_ref()) {
                let (w01, w23) = w4.split_at(2 * inputs);
                let (w0, w1) = w01.split_at(inputs);
                let (w2, w3) = w23.split_at(inputs);
                let Ok(t) = dot_1x4(x0, xo, [w0, w1, w2, w3]) else {
                    return;
                };
                s.copy_from_slice(&t);
            }
            // The last one to three rows: two at a time, then one.
            let mut rest = rows.remainder().chunks_exact(inputs);
            let mut sums = quads.into_remainder().iter_mut();
            while let (Some(w0), Some(s0)) = (rest.next(), sums.next()) {
                match (rest.next(), sums.next()) {
                    (Some(w1), Some(s1)) => {
                        let Ok([a, b]) = dot_1x2(x0, xo, [w0, w1]) else {
                            return;
                        };
                        (*s0, *s1) = (a, b);
                    }
                    _ => *s0 = mote_simd::dot::dot_i8_offset(x0, xo, w0, 0).unwrap_or(0),
                }
            }
            stage.store_direct::<0>(u, a, o);
            o += u.len();
        }
    }
}

/// Input rows one at a time, each prepared once ([`mote_simd::int8::Row1`], the lanes in
/// a stack buffer of [`ROW1_MAX`]) against every weight row with
/// [`mote_simd::int8::gemv`], `N` outputs per call, requantised per output
/// ([`Stage::store_direct`]). Never inlined: its buffer (2 KiB) is then only reserved
/// when the path prepares rows.
#[inline(never)]
fn prepared_rows<const N: usize>(
    inputs: usize,
    outputs: usize,
    input: &[i8],
    weights: &[i8],
    xo: i32,
    stage: &Stage<'_>,
    output: &mut [i8],
) {
    use mote_simd::int8::{Row1, gemv, row1_scratch_len};
    // Not cleared: `Row1::new` writes the lanes it returns.
    let mut lanes = [core::mem::MaybeUninit::<i16>::uninit(); row1_scratch_len(ROW1_MAX)];
    let mut sums = [0i32; N];
    for (x0, y0) in input
        .chunks_exact(inputs)
        .zip(output.chunks_exact_mut(outputs))
    {
        let row = Row1::new(x0, xo, &mut lanes);
        let mut o = 0;
        for (w, u) in weights.chunks(N * inputs).zip(y0.chunks_mut(N)) {
            let a = &mut sums[..u.len()];
            if gemv(&row, w, a).is_err() {
                return;
            }
            stage.store_direct::<1>(u, a, o);
            o += u.len();
        }
    }
}

/// Pairs of batch rows (`input` holds an even number, each at most [`PAIR_MAX`] long)
/// against every weight row with [`mote_simd::int8::gemm_2xn`], both input rows
/// prepared once. Never inlined: its stack buffers (about 3.5 KiB) are then only
/// reserved when there is a pair of rows, not by every batch-1 call.
#[inline(never)]
fn pairs(
    inputs: usize,
    outputs: usize,
    input: &[i8],
    weights: &[i8],
    xo: i32,
    stage: &Stage<'_>,
    output: &mut [i8],
) {
    // Helium: the input offset folded into the bias once (`fold_offset`, 1 KiB on the
    // stack only here), the pairs against the raw rows.
    if mote_simd::int8::gemm_folds_offset() && outputs <= FOLD_MAX {
        let mut folded = [0i32; FOLD_MAX];
        if let Some(f) = folded.get_mut(..outputs)
            && fold_offset(stage.bias, weights, inputs, xo, f)
        {
            let folded_stage = Stage {
                multipliers: stage.multipliers,
                bias: Some(f),
                zero_point: stage.zero_point,
                act: stage.act,
                rounding: stage.rounding,
            };
            pairs_with(
                inputs,
                outputs,
                input,
                weights,
                xo,
                &folded_stage,
                true,
                output,
            );
            return;
        }
    }
    pairs_with(inputs, outputs, input, weights, xo, stage, false, output);
}

/// [`pairs`] with `stage` holding the input offset's term in its bias (`fold`: the
/// pairs run [`mote_simd::int8::gemm_2xn_raw`]) or not.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn pairs_with(
    inputs: usize,
    outputs: usize,
    input: &[i8],
    weights: &[i8],
    xo: i32,
    stage: &Stage<'_>,
    fold: bool,
    output: &mut [i8],
) {
    use mote_simd::int8::{Rows2, rows2_scratch_len};
    let mut lanes = [0u32; rows2_scratch_len(PAIR_MAX)];
    let mut sums = [[0i32; BLOCK]; 2];
    let mut block = Block::<BLOCK>::new();
    for (x, y) in input
        .chunks_exact(2 * inputs)
        .zip(output.chunks_exact_mut(2 * outputs))
    {
        let (x0, x1) = x.split_at(inputs);
        let (y0, y1) = y.split_at_mut(outputs);
        let Ok(rows) = Rows2::new([x0, x1], xo, &mut lanes) else {
            return;
        };
        if !rows_against_weights(
            &rows,
            fold.then_some([x0, x1]),
            weights,
            inputs,
            [y0, y1],
            stage,
            &mut block,
            &mut sums,
        ) {
            return;
        }
    }
}

/// Two prepared input rows against every weight row (`k` weights each), [`BLOCK`]
/// output channels per [`mote_simd::int8::gemm_2xn`] call, each block's sums
/// requantised into `ys[0]` and `ys[1]` — the inner loop shared by the dense kernel's
/// row pairs and the convolution's pixel pairs (`sums`: the caller's buffers, kept across
/// calls). With `raw` (the two rows again) the sums come from
/// [`mote_simd::int8::gemm_2xn_raw`] instead, without the input offset: `stage`'s bias
/// must then hold it ([`fold_offset`]). False when a length was inconsistent
/// (callers checked them, so never in practice).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn rows_against_weights(
    rows: &mote_simd::int8::Rows2<'_>,
    raw: Option<[&[i8]; 2]>,
    weights: &[i8],
    k: usize,
    ys: [&mut [i8]; 2],
    stage: &Stage<'_>,
    block: &mut Block<BLOCK>,
    sums: &mut [[i32; BLOCK]; 2],
) -> bool {
    let [s0, s1] = sums;
    let [y0, y1] = ys;
    let mut o = 0;
    for (w, (u, v)) in weights
        .chunks(BLOCK * k)
        .zip(y0.chunks_mut(BLOCK).zip(y1.chunks_mut(BLOCK)))
    {
        let n = u.len();
        let (a, b) = (&mut s0[..n], &mut s1[..n]);
        let done = match raw {
            Some(x) => mote_simd::int8::gemm_2xn_raw(x, w, [&mut *a, &mut *b]),
            None => mote_simd::int8::gemm_2xn(rows, w, [&mut *a, &mut *b]),
        };
        if done.is_err() {
            return false;
        }
        stage.store2([u, v], [a, b], o, block);
        o += n;
    }
    true
}

/// Most output channels whose biases [`fold_offset`] folds (the pair loops keep them on
/// the stack, 1 KiB); layers with more keep the offset in the GEMM tile.
pub(crate) const FOLD_MAX: usize = 256;

/// `out[o] = bias[o] + x_offset·Σ_i w[o·k + i]` (wrapping; bias 0 without one) for
/// `o < out.len()`: the bias with the input offset's term of every sum folded in, once
/// per layer, so that the pair loops can take [`mote_simd::int8::gemm_2xn_raw`] (exact:
/// `Σ(x + x_offset)·w = Σx·w + x_offset·Σw` in ℤ/2^32). False when `weights` holds
/// fewer than `out.len()` rows.
pub(crate) fn fold_offset(
    bias: Option<&[i32]>,
    weights: &[i8],
    k: usize,
    x_offset: i32,
    out: &mut [i32],
) -> bool {
    let Some(w) = out.len().checked_mul(k).and_then(|n| weights.get(..n)) else {
        return false;
    };
    if mote_simd::int8::row_sums(w, k, out).is_err() {
        return false;
    }
    for (o, s) in out.iter_mut().enumerate() {
        let b = bias.and_then(|b| b.get(o)).copied().unwrap_or(0);
        *s = b.wrapping_add(x_offset.wrapping_mul(*s));
    }
    true
}

/// The longest input rows [`tiles`] prepares one at a time on the scalar path of a
/// 32-bit target ([`prepared_rows`], stack scratch of as many 16-bit lanes); longer rows
/// are read as they are.
const ROW1_MAX: usize = 1024;

/// The longest input rows [`tiles`] prepares in pairs (stack scratch of
/// `rows2_scratch_len(PAIR_MAX)` words); longer rows go one at a time.
const PAIR_MAX: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_arguments_are_errors() {
        let m = [QuantizedMultiplier::from_real(0.5).unwrap()];
        let q = Quant::new(0, 0, 0, &m, -128, 127);
        let p = Params::new(1, 2, 2);
        let w = [0i8; 4];
        let mut y = [0i8; 2];
        assert!(forward(&p, &q, &[0; 2], &w, None, &mut y).is_ok());
        assert!(forward(&p, &q, &[0; 3], &w, None, &mut y).is_err());
        assert!(forward(&p, &q, &[0; 2], &w[..3], None, &mut y).is_err());
        assert!(forward(&p, &q, &[0; 2], &w, Some(&[0]), &mut y).is_err());
        assert!(forward(&p, &q, &[0; 2], &w, None, &mut y[..1]).is_err());
        assert!(forward(&Params::new(0, 2, 2), &q, &[], &w, None, &mut y).is_err());
        let m3 = [m[0]; 3];
        let bad = Quant::new(0, 0, 0, &m3, -128, 127);
        assert!(forward(&p, &bad, &[0; 2], &w, None, &mut y).is_err());
        let bad = Quant::new(300, 0, 0, &m, -128, 127);
        assert!(forward(&p, &bad, &[0; 2], &w, None, &mut y).is_err());
        let bad = Quant::new(0, 0, 0, &m, 10, 5);
        assert!(forward(&p, &bad, &[0; 2], &w, None, &mut y).is_err());
    }

    #[test]
    fn requant_is_apply_bit_for_bit() {
        let mut rng = mote_core::rng::Rng::new(7);
        let xs = [
            0,
            1,
            -1,
            i32::MIN,
            i32::MAX,
            i32::MIN + 1,
            1 << 30,
            -(1 << 30),
        ];
        for shift in QuantizedMultiplier::MIN_SHIFT..=QuantizedMultiplier::MAX_SHIFT {
            for mult in [
                i32::MIN,
                i32::MAX,
                1 << 30,
                -(1 << 30),
                0,
                1,
                -1,
                1_518_500_250,
            ] {
                let m = QuantizedMultiplier::new(mult, shift).unwrap();
                for i in 0..200 {
                    let x = xs
                        .get(i)
                        .copied()
                        .unwrap_or(rng.next_u32() as i32 >> (i % 32));
                    for r in [Rounding::Double, Rounding::Single] {
                        assert_eq!(requant(m, x, r), m.apply(x, r), "{mult} {shift} {x}");
                    }
                    // The prepared form (bias 0), with and without the MIN·MIN check.
                    let ms = [m];
                    let stage = Stage {
                        multipliers: &ms,
                        bias: None,
                        zero_point: 0,
                        act: (-128, 127),
                        rounding: Rounding::Double,
                    };
                    let p = stage.prep(0);
                    assert_eq!(p.double::<false>(x), m.apply_double(x));
                    if mult != i32::MIN {
                        assert_eq!(p.double::<true>(x), m.apply_double(x));
                        if shift <= 0 {
                            assert_eq!(p.double_right(x), m.apply_double(x));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let m = [QuantizedMultiplier::new(i32::MAX, 30).unwrap()];
        let q = Quant::new(127, -128, 127, &m, -128, 127);
        let p = Params::new(1, 3, 1);
        let mut y = [0i8; 1];
        forward(&p, &q, &[-128; 3], &[127; 3], Some(&[i32::MAX]), &mut y).unwrap();
        assert_eq!(y, [127]);
    }
}
