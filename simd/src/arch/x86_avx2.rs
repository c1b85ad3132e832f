//! x86-64 AVX2 + FMA micro-kernels, chosen at run time when the CPU (and the OS, which
//! must save the 256-bit registers) supports them.
//!
//! The tile keeps each of its `R` rows of `NR = 8` accumulators in one 256-bit register
//! and updates them with fused multiply-adds: every product is added unrounded, so
//! results differ from the scalar path's in the last bits (each accumulator still sums
//! its `k` products in order `p = 0, 1, …`). `dot` keeps the scalar path's eight lanes
//! and pairwise combination, with fused multiply-adds in the lanes.

use crate::map::Act;
use core::arch::x86_64::{
    __m256, _CMP_GT_OQ, _mm256_add_ps, _mm256_blendv_ps, _mm256_cmp_ps, _mm256_fmadd_ps,
    _mm256_loadu_ps, _mm256_max_ps, _mm256_min_ps, _mm256_mul_ps, _mm256_set1_ps,
    _mm256_setzero_ps, _mm256_sqrt_ps, _mm256_storeu_ps,
};

/// Whether this path may run now: the CPU has AVX2 + FMA (see
/// [`isa`](crate::isa)) and no lower limit is set.
#[inline]
pub(crate) fn available() -> bool {
    crate::isa::at_least(crate::isa::Isa::Avx2)
}

super::x86_tile::x86_tile! {
    /// The AVX2 + FMA version of [`scalar::tile`](super::scalar::tile) for a panel of
    /// `V` vectors (`W = 8·V` columns), same contract.
    ///
    /// # Safety
    ///
    /// As for the scalar tile with `W = 8·V`, and [`available`] must have returned true.
    features = "avx2,fma",
    vector = __m256,
    lanes = 8,
    zero = _mm256_setzero_ps,
    load = _mm256_loadu_ps,
    store = _mm256_storeu_ps,
    splat = _mm256_set1_ps,
    fmadd = _mm256_fmadd_ps,
    mul = _mm256_mul_ps,
    add = _mm256_add_ps,
}

/// The AVX2 + FMA version of [`scalar::dot`](super::scalar::dot).
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let body = n - n % 8;
    let mut acc: __m256 = _mm256_setzero_ps();
    let mut i = 0;
    while i < body {
        // SAFETY: i + 8 ≤ body ≤ the length of both slices.
        acc = unsafe {
            _mm256_fmadd_ps(
                _mm256_loadu_ps(a.as_ptr().add(i)),
                _mm256_loadu_ps(b.as_ptr().add(i)),
                acc,
            )
        };
        i += 8;
    }
    let mut l = [0.0f32; 8];
    // SAFETY: `l` holds 8 floats.
    unsafe { _mm256_storeu_ps(l.as_mut_ptr(), acc) };
    let mut tail = 0.0f32;
    for (&x, &y) in a[body..n].iter().zip(&b[body..n]) {
        tail += x * y;
    }
    let even = (l[0] + l[4]) + (l[2] + l[6]);
    let odd = (l[1] + l[5]) + (l[3] + l[7]);
    (even + odd) + tail
}

/// `x[i] ← √x[i]`, eight at a time (`vsqrtps` is correctly rounded, like the scalar
/// path).
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sqrt_in_place(x: &mut [f32]) {
    let mut chunks = x.chunks_exact_mut(8);
    for c in &mut chunks {
        // SAFETY: `c` holds 8 floats.
        unsafe { _mm256_storeu_ps(c.as_mut_ptr(), _mm256_sqrt_ps(_mm256_loadu_ps(c.as_ptr()))) };
    }
    super::scalar::sqrt_in_place(chunks.into_remainder());
}

/// [`scalar::sigmoid_in_place`](super::scalar::sigmoid_in_place) compiled for AVX2:
/// the compiler vectorises its branch-free body eight lanes wide; same bits.
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sigmoid_in_place(x: &mut [f32]) {
    super::scalar::sigmoid_in_place(x);
}

/// [`scalar::exp_in_place`](super::scalar::exp_in_place) compiled for AVX2.
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn exp_in_place(x: &mut [f32]) {
    super::scalar::exp_in_place(x);
}

/// [`scalar::tanh_in_place`](super::scalar::tanh_in_place) compiled for AVX2.
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn tanh_in_place(x: &mut [f32]) {
    super::scalar::tanh_in_place(x);
}

/// The AVX2 version of [`scalar::dot_i8`](super::scalar::dot_i8): sixteen bytes per
/// step, sign-extended to 16-bit lanes (`vpmovsxbw`), multiplied and summed in pairs
/// into 32-bit lanes (`vpmaddwd`), added (`vpaddd`).
///
/// Exact: every product of two int8 values and every pair sum fits an i32 lane, and the
/// lane additions wrap like the reference's, so the result is the true sum mod 2^32.
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_lanes(a, b, 0, 0)
}

/// The AVX2 version of [`scalar::dot_i8_offset`](super::scalar::dot_i8_offset) for
/// offsets whose sums with every int8 fit an i16 lane (`OFFSET_MIN..=OFFSET_MAX`; the
/// dispatcher sends others to the scalar path): `vpmaddwd` of `(x + xo)` and `(w + wo)`
/// in 16-bit lanes.
///
/// Exact: each product is below 2^30 in magnitude and `vpmaddwd` adds two of them with
/// 32-bit wrap-around (its one overflow, four −32768 inputs, gives 0x8000_0000 = 2^31
/// mod 2^32), the lane sums wrap, so the result is the true sum mod 2^32.
///
/// # Safety
///
/// [`available`] must have returned true; both offsets within
/// `OFFSET_MIN..=OFFSET_MAX`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn dot_i8_offset(x: &[i8], x_offset: i32, w: &[i8], w_offset: i32) -> i32 {
    dot_i8_lanes(x, w, x_offset, w_offset)
}

/// The offsets this path's 16-bit lanes hold exactly (shared by every such path).
pub(crate) use super::scalar::{OFFSET_MAX, OFFSET_MIN};

/// The smallest weight offset [`dot_i16_i8`] takes: `|w + w_offset| ≤ 2^14`, so that a
/// pair of products stays below 2^30 in its i32 lane.
pub(crate) const OFFSET16_MIN: i32 = -(1 << 14) + 128;
/// The largest weight offset [`dot_i16_i8`] takes (see [`OFFSET16_MIN`]).
pub(crate) const OFFSET16_MAX: i32 = (1 << 14) - 128;

/// The AVX2 version of [`scalar::dot_i16_i8`](super::scalar::dot_i16_i8) for
/// `x_offset = 0` and `w_offset` in [`OFFSET16_MIN`, `OFFSET16_MAX`] (the dispatcher
/// sends others to the scalar path): sixteen elements per step, the weights widened to
/// 16-bit lanes with the offset, `vpmaddwd` into eight i32 lanes (each a pair of
/// products, below 2^30 in magnitude: exact), widened to i64 and added to four i64
/// accumulators — exact.
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn dot_i16_i8(x: &[i16], w: &[i8], w_offset: i32) -> i64 {
    use core::arch::x86_64::{
        __m128i, __m256i, _mm_loadu_si128, _mm256_add_epi16, _mm256_add_epi64,
        _mm256_castsi256_si128, _mm256_cvtepi8_epi16, _mm256_cvtepi32_epi64,
        _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_set1_epi16,
        _mm256_setzero_si256, _mm256_storeu_si256,
    };
    debug_assert!((OFFSET16_MIN..=OFFSET16_MAX).contains(&w_offset));
    let n = x.len().min(w.len());
    let body = n - n % 16;
    // In range, so the cast is exact.
    let wo = _mm256_set1_epi16(w_offset as i16);
    let (mut acc0, mut acc1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut i = 0;
    while i < body {
        // SAFETY: i + 16 ≤ body ≤ both lengths: sixteen readable elements each.
        let (xv, wv) = unsafe {
            (
                _mm256_loadu_si256(x.as_ptr().add(i).cast::<__m256i>()),
                _mm_loadu_si128(w.as_ptr().add(i).cast::<__m128i>()),
            )
        };
        let pairs = _mm256_madd_epi16(xv, _mm256_add_epi16(_mm256_cvtepi8_epi16(wv), wo));
        acc0 = _mm256_add_epi64(acc0, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(pairs)));
        acc1 = _mm256_add_epi64(
            acc1,
            _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(pairs)),
        );
        i += 16;
    }
    let mut lanes = [0i64; 4];
    // SAFETY: `lanes` holds 32 bytes.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), _mm256_add_epi64(acc0, acc1)) };
    let sum = lanes.iter().fold(0i64, |s, &l| s.wrapping_add(l));
    sum.wrapping_add(super::scalar::dot_i16_i8(
        &x[body..n],
        0,
        &w[body..n],
        w_offset,
    ))
}

#[inline]
#[target_feature(enable = "avx2")]
fn dot_i8_lanes(x: &[i8], w: &[i8], x_offset: i32, w_offset: i32) -> i32 {
    use core::arch::x86_64::{
        __m128i, _mm_loadu_si128, _mm256_add_epi16, _mm256_add_epi32, _mm256_cvtepi8_epi16,
        _mm256_madd_epi16, _mm256_set1_epi16, _mm256_setzero_si256, _mm256_storeu_si256,
    };
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&x_offset));
    debug_assert!((OFFSET_MIN..=OFFSET_MAX).contains(&w_offset));
    let n = x.len().min(w.len());
    let body = n - n % 16;
    // The offsets fit i16 (checked by the callers).
    let (xo, wo) = (
        _mm256_set1_epi16(x_offset as i16),
        _mm256_set1_epi16(w_offset as i16),
    );
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i < body {
        // SAFETY: i + 16 ≤ body ≤ both lengths: sixteen readable bytes each.
        let (xv, wv) = unsafe {
            (
                _mm_loadu_si128(x.as_ptr().add(i).cast::<__m128i>()),
                _mm_loadu_si128(w.as_ptr().add(i).cast::<__m128i>()),
            )
        };
        let xs = _mm256_add_epi16(_mm256_cvtepi8_epi16(xv), xo);
        let ws = _mm256_add_epi16(_mm256_cvtepi8_epi16(wv), wo);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xs, ws));
        i += 16;
    }
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` holds 32 bytes.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
    let sum = lanes.iter().fold(0i32, |s, &l| s.wrapping_add(l));
    sum.wrapping_add(super::scalar::dot_i8_offset(
        &x[body..n],
        x_offset,
        &w[body..n],
        w_offset,
    ))
}

// ---------------------------------------------------------------------------------------
// f32 vector maps: `axpy` and the bias + activation epilogue (`crate::map`).
// ---------------------------------------------------------------------------------------

/// The activation on eight lanes, the same bits as
/// [`scalar::act_one`](super::scalar::act_one): `maxps(v, 0)` is `v > 0 ? v : 0`,
/// `maxps(lo, v)` is `lo > v ? lo : v` and `minps(hi, t)` is `hi < t ? hi : t` (each
/// returns its second operand when a NaN is involved), the leaky ReLU a compare and a
/// blend.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn act8(act: Act, v: __m256) -> __m256 {
    match act {
        Act::Identity => v,
        Act::Relu => _mm256_max_ps(v, _mm256_setzero_ps()),
        Act::Clamp { lo, hi } => {
            _mm256_min_ps(_mm256_set1_ps(hi), _mm256_max_ps(_mm256_set1_ps(lo), v))
        }
        Act::LeakyRelu { slope } => {
            let positive = _mm256_cmp_ps::<_CMP_GT_OQ>(v, _mm256_setzero_ps());
            _mm256_blendv_ps(_mm256_mul_ps(v, _mm256_set1_ps(slope)), v, positive)
        }
    }
}

/// `y ← act(y + bias)` (or `act(y)` without a bias) for one row of up to eight floats,
/// through a zero-padded copy: the tail gets the vector lanes' bits.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn act_tail(y: &mut [f32], bias: Option<&[f32]>, act: Act) {
    let (mut ty, mut tb) = ([0.0f32; 8], [0.0f32; 8]);
    let n = y.len().min(8);
    ty[..n].copy_from_slice(&y[..n]);
    // SAFETY: `ty` and `tb` hold 8 floats each.
    let mut v = unsafe { _mm256_loadu_ps(ty.as_ptr()) };
    if let Some(b) = bias {
        tb[..n].copy_from_slice(&b[..n]);
        // SAFETY: as above.
        v = _mm256_add_ps(v, unsafe { _mm256_loadu_ps(tb.as_ptr()) });
    }
    // SAFETY: as above.
    unsafe { _mm256_storeu_ps(ty.as_mut_ptr(), act8(act, v)) };
    y[..n].copy_from_slice(&ty[..n]);
}

/// `y ← act(y + bias)` over one row (`bias` as long as `y`), or `act(y)` without one.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn act_row(y: &mut [f32], bias: Option<&[f32]>, act: Act) {
    let n = match bias {
        Some(b) => y.len().min(b.len()),
        None => y.len(),
    };
    let body = n - n % 8;
    let mut i = 0;
    while i < body {
        // SAFETY: i + 8 ≤ body ≤ the length of `y` and of `bias`.
        unsafe {
            let p = y.as_mut_ptr().add(i);
            let mut v = _mm256_loadu_ps(p);
            if let Some(b) = bias {
                v = _mm256_add_ps(v, _mm256_loadu_ps(b.as_ptr().add(i)));
            }
            _mm256_storeu_ps(p, act8(act, v));
        }
        i += 8;
    }
    if body < n {
        act_tail(&mut y[body..n], bias.map(|b| &b[body..n]), act);
    }
}

/// The AVX2 version of [`scalar::bias_act`](super::scalar::bias_act): the same bits.
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn bias_act(y: &mut [f32], bias: &[f32], act: Act) {
    if bias.is_empty() {
        act_row(y, None, act);
        return;
    }
    for row in y.chunks_exact_mut(bias.len()) {
        act_row(row, Some(bias), act);
    }
}

/// `y[i] ← fl(y[i] + α·x[i])`: [`scalar::axpy`](super::scalar::axpy) with one fused
/// multiply-add per element (the tail too, through a zero-padded copy), eight at a time.
///
/// # Safety
///
/// [`available`] must have returned true.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let body = n - n % 8;
    let a = _mm256_set1_ps(alpha);
    let mut i = 0;
    while i < body {
        // SAFETY: i + 8 ≤ body ≤ the length of both slices.
        unsafe {
            let p = y.as_mut_ptr().add(i);
            let v = _mm256_fmadd_ps(a, _mm256_loadu_ps(x.as_ptr().add(i)), _mm256_loadu_ps(p));
            _mm256_storeu_ps(p, v);
        }
        i += 8;
    }
    if body < n {
        let (mut tx, mut ty) = ([0.0f32; 8], [0.0f32; 8]);
        let r = n - body;
        tx[..r].copy_from_slice(&x[body..n]);
        ty[..r].copy_from_slice(&y[body..n]);
        // SAFETY: `tx` and `ty` hold 8 floats each.
        unsafe {
            let v = _mm256_fmadd_ps(
                a,
                _mm256_loadu_ps(tx.as_ptr()),
                _mm256_loadu_ps(ty.as_ptr()),
            );
            _mm256_storeu_ps(ty.as_mut_ptr(), v);
        }
        y[body..n].copy_from_slice(&ty[..r]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{Update, scalar};

    /// A small deterministic generator (no dependency in a no_std crate's tests).
    fn values(n: usize, seed: u32, integers: bool) -> [f32; 512] {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        core::array::from_fn(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            if i >= n {
                0.0
            } else if integers {
                (s % 9) as f32 - 4.0
            } else {
                (s % 20_001) as f32 / 10_000.0 - 1.0
            }
        })
    }

    /// Runs the AVX2 and scalar tiles on the same arguments, returns both outputs.
    fn both<const R: usize, const W: usize>(
        kc: usize,
        nr: usize,
        csc: usize,
        update: Update,
        integers: bool,
        packed: bool,
    ) -> ([f32; 512], [f32; 512]) {
        let a = values(R * kc, 1 + kc as u32, integers);
        let panel = values(kc * W, 7 + nr as u32, integers);
        let c0 = values(512, 3, integers);
        let (mut c1, mut c2) = (c0, c0);
        let rsc = W * csc + 1;
        // SAFETY: A is R × kc row-major (rsa = kc, csa = 1) inside 512 floats; C rows
        // are rsc apart with nr·csc < rsc, R·rsc ≤ 512; nr ≤ W.
        unsafe {
            let p = &panel[..kc * W];
            // A read as R × kc row-major, or as the GEMM packs it (steps of R).
            let (rsa, csa) = if packed { (1, R) } else { (kc, 1) };
            if W == 8 {
                tile::<R, 1>(&a, rsa, csa, p, 0.5, update, &mut c1, rsc, csc, nr);
            } else {
                tile::<R, 2>(&a, rsa, csa, p, 0.5, update, &mut c1, rsc, csc, nr);
            }
            scalar::tile::<R, W>(&a, rsa, csa, p, 0.5, update, &mut c2, rsc, csc, nr);
        }
        (c1, c2)
    }

    #[test]
    fn tiles_match_the_scalar_path() {
        if !available() {
            return;
        }
        for packed in [false, true] {
            for update in [Update::Overwrite, Update::Accumulate, Update::Scale(-0.25)] {
                for kc in [1, 3, 4, 8, 21] {
                    for nr in [1, 5, 8] {
                        for csc in [1, 2] {
                            let four =
                                |integers| both::<4, 8>(kc, nr, csc, update, integers, packed);
                            // Exact integer sums: identical bits.
                            let (x, y) = four(true);
                            assert_eq!(x, y, "kc {kc} nr {nr} csc {csc} {update:?} {packed}");
                            let (x, y) = both::<3, 8>(kc, nr, csc, update, true, packed);
                            assert_eq!(x, y);
                            // Rounded sums: within a few ulps of the sum's magnitude.
                            let (x, y) = four(false);
                            for (p, q) in x.iter().zip(&y) {
                                assert!((p - q).abs() <= 1e-5 * (kc as f32), "{p} vs {q}");
                            }
                        }
                    }
                    for nr in [1, 8, 9, 16] {
                        for csc in [1, 2] {
                            let (x, y) = both::<6, 16>(kc, nr, csc, update, true, packed);
                            assert_eq!(x, y, "wide: kc {kc} nr {nr} csc {csc} {update:?} {packed}");
                            let (x, y) = both::<2, 16>(kc, nr, csc, update, true, packed);
                            assert_eq!(x, y);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn int8_dots_match_the_scalar_path() {
        if !available() {
            return;
        }
        let bytes = |n: usize, seed: u32| -> [i8; 300] {
            let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
            core::array::from_fn(|i| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                match (i >= n, s % 5) {
                    (true, _) => 0,
                    (_, 0) => -128,
                    (_, 1) => 127,
                    _ => s as i8,
                }
            })
        };
        for len in [0, 1, 3, 15, 16, 17, 31, 32, 33, 255, 299] {
            for start in 0..3 {
                let (x, w) = (bytes(300, len as u32), bytes(300, 7 + len as u32));
                let end = (start + len).min(300);
                let (x, w) = (&x[start..end], &w[start..end]);
                // SAFETY: AVX2 is available (checked above).
                assert_eq!(unsafe { dot_i8(x, w) }, scalar::dot_i8(x, w), "len {len}");
                for (xo, wo) in [(0, 0), (128, -128), (-32640, 32640), (255, 3), (-7, -255)] {
                    assert_eq!(
                        // SAFETY: as above; the offsets are within the lane limits.
                        unsafe { dot_i8_offset(x, xo, w, wo) },
                        scalar::dot_i8_offset(x, xo, w, wo),
                        "len {len} offsets {xo} {wo}"
                    );
                }
            }
        }
    }

    #[test]
    fn dot_matches_the_scalar_path() {
        if !available() {
            return;
        }
        for len in 0..40 {
            let a = values(len, 5, true);
            let b = values(len, 9, true);
            // SAFETY: AVX2 and FMA are available (checked above).
            let fast = unsafe { dot(&a[..len], &b[..len]) };
            assert_eq!(fast, scalar::dot(&a[..len], &b[..len]));
        }
    }
}
