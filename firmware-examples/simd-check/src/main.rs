//! `simd-check`: every mote-simd micro-kernel on every instruction-set path compiled into
//! this firmware, against the scalar path, on the device.
//!
//! For each path of [`isa::compiled`] above the scalar one (Cortex-M4F: FPU and DSP;
//! Cortex-M55: FPU, DSP and Helium), each kernel of [`KERNELS`] runs [`CASES`] generated
//! cases twice — with the paths capped at [`Isa::Scalar`] and at the path under test
//! ([`isa::set_limit`]) — and the two answers must agree: bit for bit for the integer
//! kernels, the square root and the f32 bias + activation maps (NaN for NaN), within the
//! documented tolerance for the f32 dot product, GEMM and `axpy` (fused multiply-adds;
//! see `simd/src/arch/arm_fpu.rs`, `arm_mve.rs` and `mote_simd::map`). The
//! cases come from a seeded xorshift generator: the lengths 0, 1, 3, 15, 16, 17 and 255
//! first, then random ones; slices starting 0 to 3 elements into their buffers
//! (unaligned for the vector loads); uniform, extreme (−128/127) and constant bytes;
//! offsets at and beyond the edges of every path's fast range; GEMM shapes with tiles of
//! every height and panels of every width, odd and even `k`. Each failure is logged with
//! kernel, path and case (the first [`LOGGED`] per kernel and path; the rest are
//! counted).
//!
//! Then it counts instructions (SysTick under QEMU's `-icount`, see
//! [`mote_board::Stopwatch`]) for the int8 dot product with offsets over 784 and 400
//! elements, the f32 GEMM 32×32×32 (and once as a naive triple loop, the baseline) and
//! the f32 maps (`axpy` over 784 floats, `bias_act` with ReLU6 over 8 rows of 98) on
//! every path, and logs them per MAC or element.
//!
//! Ends with `simd-check: PASS` (exit 0) or `simd-check: FAIL` with the counts (exit 1).
//! Adding a kernel to the check is one function and one line of [`KERNELS`].
//!
//! ```text
//! cargo run --release --bin simd-check                                   # Cortex-M4F: scalar vs FPU vs DSP
//! cargo run --release --bin simd-check --target thumbv8m.main-none-eabihf # Cortex-M55: scalar vs FPU vs DSP vs Helium
//! ```

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use mote_board::{Stopwatch, exit};
use mote_core::quant::{QuantizedMultiplier, Rounding};
use mote_simd::dot::{dot_i8, dot_i8_offset, dot_i16_i8, sdot};
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use mote_simd::int8::{
    Rows2, Taps, depthwise, depthwise_run, dot_1x2, dot_1x4, gemm_2xn, gemm_2xn_raw, row_sums,
    rows2_scratch_len, window_max, window_max_run, window_sum,
};
use mote_simd::isa::{self, Isa};
use mote_simd::map::{Act, act_in_place, axpy, bias_act};
use mote_simd::math::sqrt_in_place;
use mote_simd::requant::{
    ChannelMultipliers, requantize_i8, requantize_i8_channels, requantize_i8_prepared2,
};

/// Generated cases per kernel and path.
const CASES: u32 = 300;
/// Failures logged per kernel and path; the rest are only counted.
const LOGGED: u32 = 4;
/// The lengths of the first cases of every vector kernel: empty, shorter than every
/// vector, one vector (16 bytes) and either side of it, a long odd one.
const LENGTHS: [usize; 7] = [0, 1, 3, 15, 16, 17, 255];
/// The longest random length.
const MAX_LEN: usize = 300;
/// Slices start 0..=PAD elements into their buffers.
const PAD: usize = 3;
/// Seed of the case generator (every path sees the same cases).
const SEED: u32 = 0x6d6f_7465;

/// One kernel's check: runs one case on `case.path` and on the scalar path, returns
/// whether they agree (logging the case when they do not and `case.log` is set).
struct Kernel {
    name: &'static str,
    check: fn(&mut Case<'_>) -> bool,
}

/// Every micro-kernel checked, one line each.
const KERNELS: &[Kernel] = &[
    Kernel {
        name: "dot_i8",
        check: check_dot_i8,
    },
    Kernel {
        name: "dot_i8_offset",
        check: check_dot_i8_offset,
    },
    Kernel {
        name: "dot_i16_i8",
        check: check_dot_i16_i8,
    },
    Kernel {
        name: "sdot",
        check: check_sdot,
    },
    Kernel {
        name: "sgemm",
        check: check_sgemm,
    },
    Kernel {
        name: "sqrt_in_place",
        check: check_sqrt,
    },
    Kernel {
        name: "requantize_i8",
        check: check_requant,
    },
    Kernel {
        name: "int8::dot_1x4",
        check: check_dot_1x4,
    },
    Kernel {
        name: "int8::dot_1x2",
        check: check_dot_1x2,
    },
    Kernel {
        name: "int8::gemm_2xn",
        check: check_gemm_2xn,
    },
    Kernel {
        name: "int8::gemm_2xn_raw",
        check: check_gemm_2xn_raw,
    },
    Kernel {
        name: "requantize_i8_channels",
        check: check_requant_channels,
    },
    Kernel {
        name: "int8::depthwise",
        check: check_depthwise,
    },
    Kernel {
        name: "int8::depthwise_run",
        check: check_depthwise_run,
    },
    Kernel {
        name: "int8::window_max",
        check: check_window_max,
    },
    Kernel {
        name: "int8::window_max_run",
        check: check_window_max_run,
    },
    Kernel {
        name: "int8::window_sum",
        check: check_window_sum,
    },
    Kernel {
        name: "map::axpy",
        check: check_axpy,
    },
    Kernel {
        name: "map::bias_act",
        check: check_bias_act,
    },
];

/// xorshift32 (Marsaglia): deterministic, tiny, good enough to spread cases.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (`n ≥ 1`).
    fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next()) * u64::from(n)) >> 32) as u32
    }

    /// One of `items` (`items` not empty).
    fn pick<T: Copy>(&mut self, items: &[T], fallback: T) -> T {
        let at = self.below(items.len() as u32) as usize;
        items.get(at).copied().unwrap_or(fallback)
    }

    /// Uniform in [−1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
}

/// One case of one kernel on one path.
struct Case<'a> {
    rng: &'a mut Rng,
    index: u32,
    path: Isa,
    kernel: &'static str,
    log: bool,
}

impl Case<'_> {
    /// This case's length: the fixed [`LENGTHS`] first, then random in `0..=MAX_LEN`.
    fn len(&mut self) -> usize {
        match LENGTHS.get(self.index as usize) {
            Some(&n) => n,
            None => self.rng.below(MAX_LEN as u32 + 1) as usize,
        }
    }

    /// Where a slice starts in its buffer: `0..=PAD`.
    fn start(&mut self) -> usize {
        self.rng.below(PAD as u32 + 1) as usize
    }

    /// Fills `buf` with bytes of a random kind: uniform, extremes (−128/127), all
    /// −128, or small.
    fn bytes(&mut self, buf: &mut [i8]) {
        let kind = self.rng.below(4);
        for b in buf.iter_mut() {
            let r = self.rng.next();
            *b = match kind {
                0 => r as i8,
                1 => {
                    if r & 1 == 0 {
                        -128
                    } else {
                        127
                    }
                }
                2 => -128,
                _ => (r % 7) as i8 - 3,
            };
        }
    }

    /// An offset: zero points at and beyond the edges of every path's fast range, or
    /// random (small or any `i32`).
    fn offset(&mut self) -> i32 {
        const SPECIAL: [i32; 14] = [
            0,
            128,
            -128,
            127,
            -127,
            255,
            -255,
            32640,
            -32640,
            32641,
            -32641,
            1 << 20,
            i32::MIN,
            i32::MAX,
        ];
        match self.rng.below(4) {
            0 | 1 => self.rng.pick(&SPECIAL, 0),
            2 => self.rng.below(511) as i32 - 255,
            _ => self.rng.next() as i32,
        }
    }

    /// Fills `buf` with floats in [−s, s), `s` a random power of two in 2^−8..2^8.
    fn floats(&mut self, buf: &mut [f32]) {
        let scale = f32::from_bits((127 - 8 + self.rng.below(17)) << 23);
        for v in buf.iter_mut() {
            *v = self.rng.unit() * scale;
        }
    }
}

/// Runs `f` with the paths capped at `isa`.
fn on<T>(isa: Isa, f: impl FnOnce() -> T) -> T {
    isa::set_limit(isa);
    let r = f();
    isa::clear_limit();
    r
}

/// `γ_n = n·u / (1 − n·u)`, `u = 2^−24`: the relative error bound of a sum of `n`
/// rounded products (Higham).
fn gamma(n: usize) -> f32 {
    let nu = n as f32 * f32::EPSILON / 2.0;
    nu / (1.0 - nu)
}

/// Whether two f32 results agree within `2·γ_n·magnitude` (each path is within
/// `γ_n·magnitude` of the exact value) plus 1e-30 (a flushed subnormal).
fn close(got: f32, want: f32, n: usize, magnitude: f32) -> bool {
    (got - want).abs() <= 2.0 * gamma(n) * magnitude + 1e-30
}

fn check_dot_i8(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let (mut xb, mut wb) = ([0i8; MAX_LEN + PAD], [0i8; MAX_LEN + PAD]);
    c.bytes(&mut xb);
    c.bytes(&mut wb);
    let (xs, ws) = (c.start(), c.start());
    let (x, w) = (&xb[xs..xs + n], &wb[ws..ws + n]);
    let want = on(Isa::Scalar, || dot_i8(x, w)).ok();
    let got = on(c.path, || dot_i8(x, w)).ok();
    let ok = want.is_some() && got == want;
    if !ok && c.log {
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize} (starts {=usize}, {=usize}): got {} want {}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            xs,
            ws,
            got,
            want
        );
    }
    ok
}

fn check_dot_i8_offset(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let (mut xb, mut wb) = ([0i8; MAX_LEN + PAD], [0i8; MAX_LEN + PAD]);
    c.bytes(&mut xb);
    c.bytes(&mut wb);
    let (xs, ws) = (c.start(), c.start());
    let (xo, wo) = (c.offset(), c.offset());
    let (x, w) = (&xb[xs..xs + n], &wb[ws..ws + n]);
    let want = on(Isa::Scalar, || dot_i8_offset(x, xo, w, wo)).ok();
    let got = on(c.path, || dot_i8_offset(x, xo, w, wo)).ok();
    let ok = want.is_some() && got == want;
    if !ok && c.log {
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize}, offsets {=i32} {=i32}: got {} want {}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            xo,
            wo,
            got,
            want
        );
    }
    ok
}

fn check_dot_i16_i8(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let (mut lo, mut hi, mut wb) = (
        [0i8; MAX_LEN + PAD],
        [0i8; MAX_LEN + PAD],
        [0i8; MAX_LEN + PAD],
    );
    c.bytes(&mut lo);
    c.bytes(&mut hi);
    c.bytes(&mut wb);
    // int16 inputs from two byte streams: extremes, −32768 runs and small values too.
    let mut xb = [0i16; MAX_LEN + PAD];
    for ((x, &l), &h) in xb.iter_mut().zip(&lo).zip(&hi) {
        *x = i16::from_le_bytes([l as u8, h as u8]);
    }
    let (xs, ws) = (c.start(), c.start());
    // Mostly a zero input offset (the vector paths' case), sometimes any.
    let xo = if c.rng.below(4) == 0 { c.offset() } else { 0 };
    let wo = c.offset();
    let (x, w) = (&xb[xs..xs + n], &wb[ws..ws + n]);
    let want = on(Isa::Scalar, || dot_i16_i8(x, xo, w, wo)).ok();
    let got = on(c.path, || dot_i16_i8(x, xo, w, wo)).ok();
    let ok = want.is_some() && got == want;
    if !ok && c.log {
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize}, offsets {=i32} {=i32}: got {} want {}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            xo,
            wo,
            got,
            want
        );
    }
    ok
}

fn check_sdot(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let (mut ab, mut bb) = ([0f32; MAX_LEN + PAD], [0f32; MAX_LEN + PAD]);
    c.floats(&mut ab);
    c.floats(&mut bb);
    let (s, t) = (c.start(), c.start());
    let (a, b) = (&ab[s..s + n], &bb[t..t + n]);
    let magnitude: f32 = a.iter().zip(b).map(|(x, y)| (x * y).abs()).sum();
    let want = on(Isa::Scalar, || sdot(a, b)).ok();
    let got = on(c.path, || sdot(a, b)).ok();
    let ok = match (got, want) {
        (Some(g), Some(w)) => close(g, w, n, magnitude),
        _ => false,
    };
    if !ok && c.log {
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize}: got {} want {} (Σ|ab| {=f32})",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            got,
            want,
            magnitude
        );
    }
    ok
}

/// The largest GEMM dimensions checked (`k` crosses the bare-metal `KC = 128` block).
const GM: usize = 12;
const GN: usize = 12;
const GK: usize = 140;

fn check_sgemm(c: &mut Case<'_>) -> bool {
    // The first shapes, then random ones up to GM × GN × GK. The last three: tiles of 1–3
    // rows beside full ones (m = 6, 7, 3 → 2, 3, 3 rows left), panels 1–3 columns wide
    // (n mod 4), odd k (the FPU tile's single last step), a second k block of one.
    const SHAPES: [(usize, usize, usize); 10] = [
        (1, 1, 1),
        (4, 4, 4),
        (5, 3, 7),
        (2, 9, 130),
        (1, 8, 16),
        (8, 1, 16),
        (12, 12, 140),
        (6, 7, 33),
        (7, 5, 2),
        (3, 6, 129),
    ];
    let (m, n, k) = match SHAPES.get(c.index as usize) {
        Some(&s) => s,
        None => (
            1 + c.rng.below(GM as u32) as usize,
            1 + c.rng.below(GN as u32) as usize,
            1 + c.rng.below(GK as u32) as usize,
        ),
    };
    let alpha = c.rng.pick(&[1.0f32, 0.5, -2.0, 0.0], 1.0);
    let beta = c.rng.pick(&[0.0f32, 1.0, 0.25], 0.0);
    // Layouts: B row-major k × n, or a dense layer's weights n × k used transposed; A
    // row-major m × k, or stored k × m and used transposed (strided rows in the tile);
    // C row-major, or column-major (strided columns).
    let layout = c.rng.below(8);
    let (bt, at, ct) = (layout & 1 != 0, layout & 2 != 0, layout & 4 != 0);
    let mut a = [0f32; GM * GK];
    let mut b = [0f32; GK * GN];
    let mut c0 = [0f32; GM * GN];
    c.floats(&mut a);
    c.floats(&mut b);
    c.floats(&mut c0);
    if beta == 0.0 {
        // β = 0: C must not be read, so NaN there must not reach the result.
        c0.fill(f32::NAN);
    }
    let (a, b) = (&a[..m * k], &b[..k * n]);
    let a_at = |i: usize, p: usize| if at { a[p * m + i] } else { a[i * k + p] };
    let b_at = |p: usize, j: usize| if bt { b[j * k + p] } else { b[p * n + j] };
    let c_at = |i: usize, j: usize| if ct { j * m + i } else { i * n + j };
    let run = |path: Isa, out: &mut [f32]| -> bool {
        out[..m * n].copy_from_slice(&c0[..m * n]);
        let av = if at {
            MatRef::row_major(a, k, m).map(MatRef::t)
        } else {
            MatRef::row_major(a, m, k)
        };
        let bv = if bt {
            MatRef::row_major(b, n, k).map(MatRef::t)
        } else {
            MatRef::row_major(b, k, n)
        };
        let cv = if ct {
            MatMut::row_major(&mut out[..m * n], n, m).map(MatMut::t)
        } else {
            MatMut::row_major(&mut out[..m * n], m, n)
        };
        let (Ok(av), Ok(bv), Ok(cv)) = (av, bv, cv) else {
            return false;
        };
        on(path, || sgemm(alpha, av, bv, beta, cv)).is_ok()
    };
    let (mut want, mut got) = ([0f32; GM * GN], [0f32; GM * GN]);
    let mut ok = run(Isa::Scalar, &mut want) && run(c.path, &mut got);
    let mut worst = (0usize, 0usize);
    for i in 0..m {
        for j in 0..n {
            let s: f32 = (0..k).map(|p| (a_at(i, p) * b_at(p, j)).abs()).sum();
            let at = c_at(i, j);
            let prior = if beta == 0.0 {
                0.0
            } else {
                (beta * c0[at]).abs()
            };
            let magnitude = alpha.abs() * s + prior;
            if !close(got[at], want[at], k + 4, magnitude) {
                ok = false;
                worst = (i, j);
            }
        }
    }
    if !ok && c.log {
        let (i, j) = worst;
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: {=usize}x{=usize}x{=usize}, layout {=u32} (1: B transposed, 2: A, 4: C), alpha {=f32} beta {=f32}: C[{=usize}][{=usize}] got {=f32} want {=f32}",
            c.kernel,
            c.path.name(),
            c.index,
            m,
            n,
            k,
            layout,
            alpha,
            beta,
            i,
            j,
            got[c_at(i, j)],
            want[c_at(i, j)]
        );
    }
    ok
}

fn check_sqrt(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let mut buf = [0f32; MAX_LEN + PAD];
    for v in buf.iter_mut() {
        let r = c.rng.next();
        *v = match r % 8 {
            0 => f32::from_bits(r >> 9),  // subnormal or zero
            1 => -f32::from_bits(r >> 1), // negative: NaN
            2 => f32::INFINITY,
            _ => f32::from_bits(r >> 1), // any non-negative float, NaN included
        };
    }
    let s = c.start();
    let x = &buf[s..s + n];
    let (mut want, mut got) = ([0f32; MAX_LEN], [0f32; MAX_LEN]);
    want[..n].copy_from_slice(x);
    got[..n].copy_from_slice(x);
    on(Isa::Scalar, || sqrt_in_place(&mut want[..n]));
    on(c.path, || sqrt_in_place(&mut got[..n]));
    let same = |g: f32, w: f32| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
    let bad = got[..n]
        .iter()
        .zip(&want[..n])
        .position(|(&g, &w)| !same(g, w));
    if let (Some(at), true) = (bad, c.log) {
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize}: element {=usize} of {=f32}: got {=f32} want {=f32}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            at,
            x[at],
            got[at],
            want[at]
        );
    }
    bad.is_none()
}

fn check_requant(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let mut buf = [0i32; MAX_LEN + PAD];
    let kind = c.rng.below(3);
    for v in buf.iter_mut() {
        let r = c.rng.next();
        *v = match kind {
            0 => r as i32,
            1 => (r as i32) >> (r % 31),
            _ => c.rng.pick(&[i32::MIN, i32::MAX, 0, -1, 1, -(1 << 16)], 0),
        };
    }
    let m = match c.rng.below(4) {
        0 => c
            .rng
            .pick(&[i32::MIN, i32::MAX, 1 << 30, -(1 << 30), 0, 1, -1], 0),
        1 | 2 => (1 << 30) | (c.rng.next() >> 2) as i32,
        _ => c.rng.next() as i32,
    };
    let shift = match c.rng.below(3) {
        0 => c.rng.pick(&[-31, 30, 0, -1, 1, -8], 0),
        _ => c.rng.below(62) as i32 - 31,
    };
    let Ok(q) = QuantizedMultiplier::new(m, shift) else {
        return false;
    };
    let rounding = if c.rng.below(4) == 0 {
        Rounding::Single
    } else {
        Rounding::Double
    };
    let zp = match c.rng.below(3) {
        0 => c.rng.pick(&[0, -128, 127, i32::MIN, i32::MAX], 0),
        _ => c.rng.below(256) as i32 - 128,
    };
    let (mut lo, mut hi) = (c.rng.next() as i8, c.rng.next() as i8);
    if lo > hi {
        core::mem::swap(&mut lo, &mut hi);
    }
    if c.rng.below(2) == 0 {
        (lo, hi) = (i8::MIN, i8::MAX);
    }
    let s = c.start();
    let acc = &buf[s..s + n];
    let (mut want, mut got) = ([0i8; MAX_LEN], [0i8; MAX_LEN]);
    let w = on(Isa::Scalar, || {
        requantize_i8(acc, q, rounding, zp, lo, hi, &mut want[..n])
    });
    let g = on(c.path, || {
        requantize_i8(acc, q, rounding, zp, lo, hi, &mut got[..n])
    });
    let bad = got[..n].iter().zip(&want[..n]).position(|(g, w)| g != w);
    let ok = w.is_ok() && g.is_ok() && bad.is_none();
    if !ok && c.log {
        let at = bad.unwrap_or(0);
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize}, multiplier {=i32} shift {=i32}, double rounding {=bool}, zp {=i32}, clamp {=i8}..={=i8}: element {=usize} of {=i32}: got {=i8} want {=i8}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            m,
            shift,
            rounding == Rounding::Double,
            zp,
            lo,
            hi,
            at,
            acc.get(at).copied().unwrap_or(0),
            got[at],
            want[at]
        );
    }
    ok
}

fn check_requant_channels(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let (mut acc, mut bias, mut ms, mut shifts) = (
        [0i32; MAX_LEN + PAD],
        [0i32; MAX_LEN + PAD],
        [0i32; MAX_LEN + PAD],
        [0i32; MAX_LEN + PAD],
    );
    let kind = c.rng.below(3);
    for (((a, b), m), s) in acc.iter_mut().zip(&mut bias).zip(&mut ms).zip(&mut shifts) {
        let r = c.rng.next();
        *a = match kind {
            0 => r as i32,
            1 => (r as i32) >> (r % 31),
            _ => c.rng.pick(&[i32::MIN, i32::MAX, 0, -1, 1, -(1 << 16)], 0),
        };
        *b = match c.rng.below(3) {
            0 => c.rng.pick(&[i32::MIN, i32::MAX, 0, -1], 0),
            _ => (c.rng.next() as i32) >> 12,
        };
        *m = match c.rng.below(4) {
            0 => c
                .rng
                .pick(&[i32::MIN, i32::MAX, 1 << 30, -(1 << 30), 0, 1, -1], 0),
            1 | 2 => (1 << 30) | (c.rng.next() >> 2) as i32,
            _ => c.rng.next() as i32,
        };
        *s = match c.rng.below(3) {
            0 => c.rng.pick(&[-31, 30, 0, -1, 1, -8], 0),
            _ => c.rng.below(62) as i32 - 31,
        };
    }
    let zp = match c.rng.below(3) {
        0 => c.rng.pick(&[0, -128, 127, i32::MIN, i32::MAX], 0),
        _ => c.rng.below(256) as i32 - 128,
    };
    let (mut lo, mut hi) = (c.rng.next() as i8, c.rng.next() as i8);
    if lo > hi {
        core::mem::swap(&mut lo, &mut hi);
    }
    if c.rng.below(2) == 0 {
        (lo, hi) = (i8::MIN, i8::MAX);
    }
    let st = [c.start(), c.start(), c.start(), c.start()];
    let (a, b) = (&acc[st[0]..st[0] + n], &bias[st[1]..st[1] + n]);
    let (m, s) = (&ms[st[2]..st[2] + n], &shifts[st[3]..st[3] + n]);
    let (mut want, mut got) = ([0i8; MAX_LEN], [0i8; MAX_LEN]);
    let w = on(Isa::Scalar, || {
        requantize_i8_channels(a, b, m, s, zp, lo, hi, &mut want[..n])
    });
    let g = on(c.path, || {
        requantize_i8_channels(a, b, m, s, zp, lo, hi, &mut got[..n])
    });
    let mut bad = got[..n].iter().zip(&want[..n]).position(|(g, w)| g != w);
    let mut ok = w.is_ok() && g.is_ok() && bad.is_none();
    // The two-row stage over the same channels (the second row: the biases as
    // accumulators), against the scalar single-row reference.
    let mut prepared = ChannelMultipliers::<MAX_LEN>::new();
    for (j, (&mj, &sj)) in m.iter().zip(s).enumerate() {
        if let Ok(q) = QuantizedMultiplier::new(mj, sj) {
            prepared.set(j, q);
        }
    }
    let a1 = &bias[st[0]..st[0] + n];
    let mut want1 = [0i8; MAX_LEN];
    let w1 = on(Isa::Scalar, || {
        requantize_i8_channels(a1, b, m, s, zp, lo, hi, &mut want1[..n])
    });
    let (mut got0, mut got1) = ([0i8; MAX_LEN], [0i8; MAX_LEN]);
    let g2 = on(c.path, || {
        requantize_i8_prepared2(
            [a, a1],
            b,
            &prepared,
            zp,
            lo,
            hi,
            [&mut got0[..n], &mut got1[..n]],
        )
    });
    if ok {
        bad = got0[..n]
            .iter()
            .zip(&want[..n])
            .chain(got1[..n].iter().zip(&want1[..n]))
            .position(|(g, w)| g != w);
        ok = w1.is_ok() && g2.is_ok() && bad.is_none();
        if !ok && let Some(at) = bad {
            got[at % n] = if at < n { got0[at] } else { got1[at - n] };
            want[at % n] = if at < n { want[at] } else { want1[at - n] };
            bad = Some(at % n);
        }
    }
    if !ok && c.log {
        let at = bad.unwrap_or(0);
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize}, zp {=i32}, clamp {=i8}..={=i8}: element {=usize}: got {=i8} want {=i8}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            zp,
            lo,
            hi,
            at,
            got[at],
            want[at]
        );
    }
    ok
}

/// Bytes of the image buffer of the window checks ([`check_depthwise`], …).
const IMAGE: usize = 4096;

/// A window case: `(channels, taps)` over an image of `channels`-wide runs, tap steps at
/// least a run apart (sometimes more), usually up to 3 × 3 taps (`min_taps` 0 or 1
/// rows and cols), sometimes 9 × 9 (more than the Helium table) with at most 20
/// channels; always within [`IMAGE`] bytes.
fn window_case(c: &mut Case<'_>, min_taps: u32) -> (usize, Taps) {
    let mut n = c.len();
    let (rows, cols) = if c.rng.below(8) == 0 {
        n = n.min(20);
        (9, 9)
    } else {
        (
            (min_taps + c.rng.below(4 - min_taps)) as usize,
            (min_taps + c.rng.below(4 - min_taps)) as usize,
        )
    };
    let col_step = n + c.rng.below(4) as usize;
    let row_step = cols * col_step + c.rng.below(4) as usize;
    (n, Taps::new(rows, cols, row_step, col_step))
}

fn check_depthwise(c: &mut Case<'_>) -> bool {
    let (n, xt) = window_case(c, 0);
    let wt = Taps::new(xt.rows, xt.cols, xt.cols * n, n);
    let (mut xb, mut wb) = ([0i8; IMAGE + PAD], [0i8; IMAGE + PAD]);
    c.bytes(&mut xb);
    c.bytes(&mut wb);
    let (xs, ws) = (c.start(), c.start());
    let xo = c.offset();
    let (x, w) = (&xb[xs..], &wb[ws..]);
    let (mut want, mut got) = ([0x5555i32; MAX_LEN], [-7i32; MAX_LEN]);
    let a = on(Isa::Scalar, || depthwise(&mut want[..n], x, xt, xo, w, wt));
    let b = on(c.path, || depthwise(&mut got[..n], x, xt, xo, w, wt));
    let ok = a.is_ok() && b.is_ok() && got[..n] == want[..n];
    if !ok && c.log {
        let at = got[..n]
            .iter()
            .zip(&want[..n])
            .position(|(g, w)| g != w)
            .unwrap_or(0);
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: {=usize} channels, {=usize}x{=usize} taps, offset {=i32}: channel {=usize}: got {=i32} want {=i32}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            xt.rows,
            xt.cols,
            xo,
            at,
            got[at],
            want[at]
        );
    }
    ok
}

/// Most pixels of a [`check_depthwise_run`] case.
const RUN_PIXELS: usize = 3;

fn check_depthwise_run(c: &mut Case<'_>) -> bool {
    let (n, xt) = window_case(c, 0);
    let wt = Taps::new(xt.rows, xt.cols, xt.cols * n, n);
    let (mut xb, mut wb) = ([0i8; IMAGE + PAD], [0i8; IMAGE + PAD]);
    c.bytes(&mut xb);
    c.bytes(&mut wb);
    let (xs, ws) = (c.start(), c.start());
    let xo = c.offset();
    let (x, w) = (&xb[xs..], &wb[ws..]);
    // Neighbouring windows (one column step apart) or a few bytes further.
    let step = xt.col_step + c.rng.below(3) as usize;
    let window = (xt.rows.max(1) - 1) * xt.row_step + (xt.cols.max(1) - 1) * xt.col_step + n;
    let mut pixels = 1 + c.rng.below(RUN_PIXELS as u32) as usize;
    while pixels > 1 && (pixels - 1) * step + window > x.len() {
        pixels -= 1;
    }
    let len = pixels * n;
    let (mut want, mut got) = (
        [0x5555i32; RUN_PIXELS * MAX_LEN],
        [-7i32; RUN_PIXELS * MAX_LEN],
    );
    let a = on(Isa::Scalar, || {
        depthwise_run(&mut want[..len], n, x, xt, xo, step, w, wt)
    });
    let b = on(c.path, || {
        depthwise_run(&mut got[..len], n, x, xt, xo, step, w, wt)
    });
    let ok = a.is_ok() && b.is_ok() && got[..len] == want[..len];
    if !ok && c.log {
        let at = got[..len]
            .iter()
            .zip(&want[..len])
            .position(|(g, w)| g != w)
            .unwrap_or(0);
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: {=usize} pixels of {=usize} channels, step {=usize}, {=usize}x{=usize} taps, offset {=i32}: element {=usize}: got {=i32} want {=i32}",
            c.kernel,
            c.path.name(),
            c.index,
            pixels,
            n,
            step,
            xt.rows,
            xt.cols,
            xo,
            at,
            got[at],
            want[at]
        );
    }
    ok
}

fn check_window_max_run(c: &mut Case<'_>) -> bool {
    let (n, t) = window_case(c, 1);
    let mut xb = [0i8; IMAGE + PAD];
    c.bytes(&mut xb);
    let x = &xb[c.start()..];
    let step = t.col_step + c.rng.below(3) as usize;
    let window = (t.rows - 1) * t.row_step + (t.cols - 1) * t.col_step + n;
    let mut pixels = 1 + c.rng.below(RUN_PIXELS as u32) as usize;
    while pixels > 1 && (pixels - 1) * step + window > x.len() {
        pixels -= 1;
    }
    let len = pixels * n;
    let (mut want, mut got) = ([0x55i8; RUN_PIXELS * MAX_LEN], [-7i8; RUN_PIXELS * MAX_LEN]);
    let a = on(Isa::Scalar, || {
        window_max_run(&mut want[..len], n, x, t, step)
    });
    let b = on(c.path, || window_max_run(&mut got[..len], n, x, t, step));
    let ok = a.is_ok() && b.is_ok() && got[..len] == want[..len];
    if !ok && c.log {
        let at = got[..len]
            .iter()
            .zip(&want[..len])
            .position(|(g, w)| g != w)
            .unwrap_or(0);
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: {=usize} pixels of {=usize} channels, step {=usize}, {=usize}x{=usize} taps: element {=usize}: got {=i8} want {=i8}",
            c.kernel,
            c.path.name(),
            c.index,
            pixels,
            n,
            step,
            t.rows,
            t.cols,
            at,
            got[at],
            want[at]
        );
    }
    ok
}

fn check_window_max(c: &mut Case<'_>) -> bool {
    let (n, t) = window_case(c, 1);
    let mut xb = [0i8; IMAGE + PAD];
    c.bytes(&mut xb);
    let x = &xb[c.start()..];
    let (mut want, mut got) = ([0x55i8; MAX_LEN], [-7i8; MAX_LEN]);
    let a = on(Isa::Scalar, || window_max(&mut want[..n], x, t));
    let b = on(c.path, || window_max(&mut got[..n], x, t));
    let ok = a.is_ok() && b.is_ok() && got[..n] == want[..n];
    if !ok && c.log {
        let at = got[..n]
            .iter()
            .zip(&want[..n])
            .position(|(g, w)| g != w)
            .unwrap_or(0);
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: {=usize} channels, {=usize}x{=usize} taps: channel {=usize}: got {=i8} want {=i8}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            t.rows,
            t.cols,
            at,
            got[at],
            want[at]
        );
    }
    ok
}

fn check_window_sum(c: &mut Case<'_>) -> bool {
    let (n, t) = window_case(c, 0);
    let mut xb = [0i8; IMAGE + PAD];
    c.bytes(&mut xb);
    let x = &xb[c.start()..];
    let (mut want, mut got) = ([0x5555i32; MAX_LEN], [-7i32; MAX_LEN]);
    let a = on(Isa::Scalar, || window_sum(&mut want[..n], x, t));
    let b = on(c.path, || window_sum(&mut got[..n], x, t));
    let ok = a.is_ok() && b.is_ok() && got[..n] == want[..n];
    if !ok && c.log {
        let at = got[..n]
            .iter()
            .zip(&want[..n])
            .position(|(g, w)| g != w)
            .unwrap_or(0);
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: {=usize} channels, {=usize}x{=usize} taps: channel {=usize}: got {=i32} want {=i32}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            t.rows,
            t.cols,
            at,
            got[at],
            want[at]
        );
    }
    ok
}

/// Weight rows of the int8 tile checks ([`check_dot_1x4`], [`check_gemm_2xn`]: up to
/// 5, so an odd last row too).
const ROWS: usize = 5;

fn check_dot_1x4(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let mut xb = [0i8; MAX_LEN + PAD];
    let mut wb = [[0i8; MAX_LEN + PAD]; 4];
    c.bytes(&mut xb);
    for r in wb.iter_mut() {
        c.bytes(r);
    }
    let xs = c.start();
    let ws = [c.start(), c.start(), c.start(), c.start()];
    let xo = c.offset();
    let x = &xb[xs..xs + n];
    let w = [
        &wb[0][ws[0]..ws[0] + n],
        &wb[1][ws[1]..ws[1] + n],
        &wb[2][ws[2]..ws[2] + n],
        &wb[3][ws[3]..ws[3] + n],
    ];
    let want = on(Isa::Scalar, || dot_1x4(x, xo, w)).ok();
    let got = on(c.path, || dot_1x4(x, xo, w)).ok();
    let ok = want.is_some() && got == want;
    if !ok && c.log {
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize}, offset {=i32}: got {} want {}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            xo,
            got,
            want
        );
    }
    ok
}

fn check_dot_1x2(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let mut xb = [0i8; MAX_LEN + PAD];
    let mut wb = [[0i8; MAX_LEN + PAD]; 2];
    c.bytes(&mut xb);
    for r in wb.iter_mut() {
        c.bytes(r);
    }
    let xs = c.start();
    let ws = [c.start(), c.start()];
    let xo = c.offset();
    let x = &xb[xs..xs + n];
    let w = [&wb[0][ws[0]..ws[0] + n], &wb[1][ws[1]..ws[1] + n]];
    let want = on(Isa::Scalar, || dot_1x2(x, xo, w)).ok();
    let got = on(c.path, || dot_1x2(x, xo, w)).ok();
    let ok = want.is_some() && got == want;
    if !ok && c.log {
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize}, offset {=i32}: got {} want {}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            xo,
            got,
            want
        );
    }
    ok
}

fn check_gemm_2xn(c: &mut Case<'_>) -> bool {
    let k = c.len();
    let rows = c.rng.below(ROWS as u32 + 1) as usize;
    let mut xb = [[0i8; MAX_LEN + PAD]; 2];
    let mut wb = [0i8; ROWS * MAX_LEN + PAD];
    for r in xb.iter_mut() {
        c.bytes(r);
    }
    c.bytes(&mut wb);
    let (s0, s1, sw) = (c.start(), c.start(), c.start());
    let xo = c.offset();
    let x = [&xb[0][s0..s0 + k], &xb[1][s1..s1 + k]];
    let w = &wb[sw..sw + rows * k];
    let run = |path: Isa, out: &mut [[i32; ROWS]; 2]| {
        on(path, || {
            let mut scratch = [0u32; rows2_scratch_len(MAX_LEN)];
            let prepared = Rows2::new(x, xo, &mut scratch)?;
            let [a, b] = out;
            gemm_2xn(&prepared, w, [&mut a[..rows], &mut b[..rows]])
        })
        .is_ok()
    };
    let (mut want, mut got) = ([[i32::MIN; ROWS]; 2], [[i32::MIN; ROWS]; 2]);
    let ok = run(Isa::Scalar, &mut want) && run(c.path, &mut got) && got == want;
    if !ok && c.log {
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: k {=usize}, rows {=usize}, offset {=i32}: got {} want {}",
            c.kernel,
            c.path.name(),
            c.index,
            k,
            rows,
            xo,
            got,
            want
        );
    }
    ok
}

/// [`gemm_2xn_raw`] and [`row_sums`] (the folded-offset route of the pair loops).
fn check_gemm_2xn_raw(c: &mut Case<'_>) -> bool {
    let k = c.len();
    let rows = c.rng.below(ROWS as u32 + 1) as usize;
    let mut xb = [[0i8; MAX_LEN + PAD]; 2];
    let mut wb = [0i8; ROWS * MAX_LEN + PAD];
    for r in xb.iter_mut() {
        c.bytes(r);
    }
    c.bytes(&mut wb);
    let (s0, s1, sw) = (c.start(), c.start(), c.start());
    let x = [&xb[0][s0..s0 + k], &xb[1][s1..s1 + k]];
    let w = &wb[sw..sw + rows * k];
    let run = |path: Isa, out: &mut [[i32; ROWS]; 3]| {
        on(path, || {
            let [a, b, s] = out;
            gemm_2xn_raw(x, w, [&mut a[..rows], &mut b[..rows]])?;
            row_sums(w, k, &mut s[..rows])
        })
        .is_ok()
    };
    let (mut want, mut got) = ([[i32::MIN; ROWS]; 3], [[i32::MIN; ROWS]; 3]);
    let ok = run(Isa::Scalar, &mut want) && run(c.path, &mut got) && got == want;
    if !ok && c.log {
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: k {=usize}, rows {=usize}: got {} want {}",
            c.kernel,
            c.path.name(),
            c.index,
            k,
            rows,
            got,
            want
        );
    }
    ok
}

/// The f32 GEMM baseline of the bench: `C = A·B` for row-major 32 × 32 matrices, the
/// textbook triple loop (one dot product per element of `C`, `k` innermost), as LLVM
/// compiles it for the target (no tiling, no packing, no dispatch).
#[inline(never)]
fn check_axpy(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let (mut xb, mut yb) = ([0f32; MAX_LEN + PAD], [0f32; MAX_LEN + PAD]);
    c.floats(&mut xb);
    c.floats(&mut yb);
    let alpha = c.rng.unit() * 4.0;
    let (s, t) = (c.start(), c.start());
    let x = &xb[s..s + n];
    let (mut want, mut got) = ([0f32; MAX_LEN], [0f32; MAX_LEN]);
    want[..n].copy_from_slice(&yb[t..t + n]);
    got[..n].copy_from_slice(&yb[t..t + n]);
    let ok_w = on(Isa::Scalar, || axpy(alpha, x, &mut want[..n])).is_ok();
    let ok_g = on(c.path, || axpy(alpha, x, &mut got[..n])).is_ok();
    // Fused against rounded product: within u·(2·|y + αx| + (1 + u)·|αx|), u = 2^−24
    // (see `map::axpy`), bounded here through the scalar result.
    let u = f32::EPSILON / 2.0;
    let bad = got[..n]
        .iter()
        .zip(&want[..n])
        .zip(x)
        .position(|((&g, &w), &xi)| {
            let p = (alpha * xi).abs();
            (g - w).abs() > u * (2.0 * w.abs() + 3.0 * p) + 1e-30
        });
    let ok = ok_w && ok_g && bad.is_none();
    if !ok && c.log {
        let at = bad.unwrap_or(0);
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: len {=usize}, alpha {=f32}: element {=usize}: got {=f32} want {=f32}",
            c.kernel,
            c.path.name(),
            c.index,
            n,
            alpha,
            at,
            got.get(at).copied().unwrap_or(0.0),
            want.get(at).copied().unwrap_or(0.0)
        );
    }
    ok
}

/// Rows of the bias + activation cases (each of the case's length, up to 900 floats).
const MAP_ROWS: usize = 3;

fn check_bias_act(c: &mut Case<'_>) -> bool {
    let n = c.len();
    let rows = if n > 0 {
        1 + c.rng.below(MAP_ROWS as u32) as usize
    } else {
        1
    };
    let (mut yb, mut bb) = ([0f32; MAP_ROWS * MAX_LEN + PAD], [0f32; MAX_LEN + PAD]);
    c.floats(&mut yb);
    c.floats(&mut bb);
    // Some edge values: ±0, ±∞, NaN, and the bounds of the clamps below.
    const EDGES: [f32; 7] = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        6.0,
        -0.5,
    ];
    for _ in 0..c.rng.below(8) {
        let at = c.rng.below(yb.len() as u32) as usize;
        if let Some(v) = yb.get_mut(at) {
            *v = c.rng.pick(&EDGES, 0.0);
        }
    }
    let act = match c.rng.below(5) {
        0 => Act::Identity,
        1 => Act::Relu,
        2 => Act::RELU6,
        3 => Act::Clamp {
            lo: -0.5,
            hi: c.rng.unit().abs(),
        },
        _ => Act::LeakyRelu {
            slope: c.rng.unit(),
        },
    };
    let with_bias = c.rng.below(4) != 0;
    let (s, t) = (c.start(), c.start());
    let len = rows * n;
    let bias = &bb[t..t + n];
    let (mut want, mut got) = ([0f32; MAP_ROWS * MAX_LEN], [0f32; MAP_ROWS * MAX_LEN]);
    want[..len].copy_from_slice(&yb[s..s + len]);
    got[..len].copy_from_slice(&yb[s..s + len]);
    let run = |y: &mut [f32]| {
        if with_bias && n > 0 {
            bias_act(y, bias, act)
        } else {
            act_in_place(y, act)
        }
    };
    let ok_w = on(Isa::Scalar, || run(&mut want[..len])).is_ok();
    let ok_g = on(c.path, || run(&mut got[..len])).is_ok();
    // Exact; NaN for NaN (payloads may differ); 1e-30 for a flushed subnormal.
    let same = |g: f32, w: f32| {
        g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-30
    };
    let bad = got[..len]
        .iter()
        .zip(&want[..len])
        .position(|(&g, &w)| !same(g, w));
    let ok = ok_w && ok_g && bad.is_none();
    if !ok && c.log {
        let at = bad.unwrap_or(0);
        defmt::error!(
            "simd-check: {=str} on {=str}, case {=u32}: {=usize} × {=usize}, bias {=bool}, {=str}: element {=usize} of {=f32}: got {=f32} want {=f32}",
            c.kernel,
            c.path.name(),
            c.index,
            rows,
            n,
            with_bias,
            match act {
                Act::Identity => "identity",
                Act::Relu => "relu",
                Act::Clamp { .. } => "clamp",
                Act::LeakyRelu { .. } => "leaky relu",
            },
            at,
            yb.get(s + at).copied().unwrap_or(0.0),
            got.get(at).copied().unwrap_or(0.0),
            want.get(at).copied().unwrap_or(0.0)
        );
    }
    ok
}

fn naive_sgemm(a: &[f32; 32 * 32], b: &[f32; 32 * 32], c: &mut [f32; 32 * 32]) {
    for i in 0..32 {
        for j in 0..32 {
            let mut s = 0.0f32;
            for p in 0..32 {
                s += a[i * 32 + p] * b[p * 32 + j];
            }
            c[i * 32 + j] = s;
        }
    }
}

/// Instruction counts per path (per call, averaged over repeated calls, dispatch
/// included): the int8 dot product with offsets over 784, 400 and 48 elements (dense
/// rows, and a row of 3 taps × 16 channels of the MNIST CNN's second convolution; offsets
/// as for an input zero point of −128), the int8 one without offsets, the f32 dot
/// product (784, 64, 16), the requantisation of 784 accumulators and the f32 GEMM
/// 32×32×32 — that one also as [`naive_sgemm`], once, the baseline of every path.
fn bench(watch: &Stopwatch) {
    let mut rng = Rng(SEED);
    let (mut x, mut w) = ([0i8; 784], [0i8; 784]);
    for v in x.iter_mut().chain(w.iter_mut()) {
        *v = rng.next() as i8;
    }
    let mut a = [0f32; 32 * 32];
    let mut b = [0f32; 32 * 32];
    for v in a.iter_mut().chain(b.iter_mut()) {
        *v = rng.unit();
    }
    let mut c = [0f32; 32 * 32];
    // SysTick advances once per several instructions: average over repeated calls.
    let count = |reps: u32, f: &mut dyn FnMut()| {
        let t = watch.now();
        for _ in 0..reps {
            f();
        }
        watch.instructions_since(t) / reps
    };
    let i = count(8, &mut || {
        naive_sgemm(black_box(&a), black_box(&b), black_box(&mut c));
        black_box(&c);
    });
    defmt::info!(
        "bench naive: sgemm 32x32x32: {=u32} instructions ({=f32} per MAC)",
        i,
        i as f32 / 32768.0
    );
    for &path in isa::compiled() {
        isa::set_limit(path);
        for n in [784usize, 400, 48] {
            let i = count(64, &mut || {
                black_box(dot_i8_offset(black_box(&x[..n]), 128, black_box(&w[..n]), 0).ok());
            });
            defmt::info!(
                "bench {=str}: dot_i8_offset {=usize}: {=u32} instructions ({=f32} per MAC)",
                path.name(),
                n,
                i,
                i as f32 / n as f32
            );
        }
        let x16: [i16; 784] = core::array::from_fn(|k| (x[k] as i16) * 181);
        let i = count(64, &mut || {
            black_box(dot_i16_i8(black_box(&x16), 0, black_box(&w), 0).ok());
        });
        defmt::info!(
            "bench {=str}: dot_i16_i8 784: {=u32} instructions ({=f32} per MAC)",
            path.name(),
            i,
            i as f32 / 784.0
        );
        let i = count(64, &mut || {
            black_box(dot_i8(black_box(&x), black_box(&w)).ok());
        });
        defmt::info!(
            "bench {=str}: dot_i8 784: {=u32} instructions ({=f32} per MAC)",
            path.name(),
            i,
            i as f32 / 784.0
        );
        for n in [784usize, 64, 16] {
            let i = count(64, &mut || {
                black_box(sdot(black_box(&a[..n]), black_box(&b[..n])).ok());
            });
            defmt::info!(
                "bench {=str}: sdot {=usize}: {=u32} instructions ({=f32} per MAC)",
                path.name(),
                n,
                i,
                i as f32 / n as f32
            );
        }
        let mut acc = [0i32; 784];
        for (v, &xi) in acc.iter_mut().zip(&x) {
            *v = i32::from(xi) * 997;
        }
        let mut y = [0i8; 784];
        let q = QuantizedMultiplier::new(0x5000_0000, -8).unwrap_or(QuantizedMultiplier::ZERO);
        let i = count(64, &mut || {
            // `y` through black_box: its stores must not be dropped as dead.
            let out = black_box(&mut y[..]);
            black_box(requantize_i8(black_box(&acc), q, Rounding::Double, -3, -128, 127, out).ok());
            black_box(&y);
        });
        defmt::info!(
            "bench {=str}: requantize_i8 784: {=u32} instructions ({=f32} per element)",
            path.name(),
            i,
            i as f32 / 784.0
        );
        let i = count(8, &mut || {
            if let (Ok(av), Ok(bv), Ok(cv)) = (
                MatRef::row_major(black_box(&a), 32, 32),
                MatRef::row_major(black_box(&b), 32, 32),
                MatMut::row_major(&mut c, 32, 32),
            ) {
                black_box(sgemm(1.0, av, bv, 0.0, cv).ok());
            }
        });
        defmt::info!(
            "bench {=str}: sgemm 32x32x32: {=u32} instructions ({=f32} per MAC)",
            path.name(),
            i,
            i as f32 / 32768.0
        );
        // The f32 maps over 784 floats (`a`, then `b` as 8 rows of a 98-float bias).
        let i = count(16, &mut || {
            black_box(axpy(0.5, black_box(&b[..784]), black_box(&mut a[..784])).ok());
        });
        defmt::info!(
            "bench {=str}: axpy 784: {=u32} instructions ({=f32} per element)",
            path.name(),
            i,
            i as f32 / 784.0
        );
        let i = count(16, &mut || {
            let act = Act::RELU6;
            black_box(bias_act(black_box(&mut a[..784]), black_box(&b[..98]), act).ok());
        });
        defmt::info!(
            "bench {=str}: bias_act relu6 8 x 98: {=u32} instructions ({=f32} per element)",
            path.name(),
            i,
            i as f32 / 784.0
        );
    }
    isa::clear_limit();
}

#[entry]
fn main() -> ! {
    defmt::info!(
        "simd-check on {=str} ({=str}): paths {}, best {=str}",
        mote_board::MACHINE,
        mote_board::TARGET,
        PathNames(isa::compiled()),
        isa::best().name()
    );
    let (mut failed, mut run) = (0u32, 0u32);
    for &path in isa::compiled() {
        if path == Isa::Scalar {
            continue;
        }
        // The cap must select exactly this path, or the comparison proves nothing.
        if on(path, isa::active) != path {
            defmt::error!(
                "simd-check: capping at {=str} runs {=str}",
                path.name(),
                on(path, isa::active).name()
            );
            failed += 1;
            continue;
        }
        for kernel in KERNELS {
            let mut rng = Rng(SEED);
            let mut kernel_failed = 0u32;
            for index in 0..CASES {
                let mut case = Case {
                    rng: &mut rng,
                    index,
                    path,
                    kernel: kernel.name,
                    log: kernel_failed < LOGGED,
                };
                if !(kernel.check)(&mut case) {
                    kernel_failed += 1;
                }
            }
            run += CASES;
            failed += kernel_failed;
            defmt::info!(
                "{=str} on {=str}: {=u32}/{=u32} cases agree with scalar",
                kernel.name,
                path.name(),
                CASES - kernel_failed,
                CASES
            );
        }
    }
    match cortex_m::Peripherals::take() {
        Some(p) => bench(&Stopwatch::new(p.SYST)),
        None => defmt::warn!("simd-check: core peripherals taken, no instruction counts"),
    }
    if failed == 0 {
        defmt::info!(
            "simd-check: PASS: {=usize} kernels, {=u32} cases, every path agrees with scalar",
            KERNELS.len(),
            run
        );
        exit(true)
    } else {
        defmt::error!(
            "simd-check: FAIL: {=u32} of {=u32} cases disagree with scalar",
            failed,
            run
        );
        exit(false)
    }
}

/// The names of a list of paths, for the log.
struct PathNames(&'static [Isa]);

impl defmt::Format for PathNames {
    fn format(&self, f: defmt::Formatter<'_>) {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                defmt::write!(f, ", ");
            }
            defmt::write!(f, "{=str}", p.name());
        }
    }
}
