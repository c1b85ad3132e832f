//! Element-wise math over slices, for the loops that LLVM cannot vectorise on its own
//! because their function (the square root) comes from a library call, and the gate
//! nonlinearities of the recurrent layers.
//!
//! ## Sigmoid and tanh
//! [`sigmoid_in_place`] and [`tanh_in_place`] are written branch-free in plain f32
//! arithmetic so that the compiler vectorises them (x86-64: compiled again for AVX2 and chosen at run time; aarch64: NEON): the gate
//! nonlinearities of the recurrent layers, which call them on every gate of every step
//! and spent over half of an LSTM's training time in libm's scalar `expf`/`tanhf`.
//!
//! `e^x` is Cephes' single-precision method: `x = n·ln 2 + r` with `|r| ≤ ½ ln 2` (`n`
//! rounded by the 1.5·2²³ trick, `ln 2` in two parts), a degree-6 polynomial for `e^r`,
//! and `2^n` built in the exponent bits. Inputs are clamped to `[−87, 87]`, where `2^n`
//! stays a normal float, which changes no result of sigmoid or tanh: beyond ±87 they are
//! 0/1 and ±1 to within 1e−37. `tanh` uses Cephes' odd polynomial below 0.625 (no
//! cancellation near 0) and `1 − 2/(e^{2|x|} + 1)` above, chosen per lane by a select.
//!
//! Measured against f64 over every 1/1024 step of [−20, 20] and 10⁶ random inputs
//! (unit test `errors_are_bounded`): sigmoid within 8.9e−8 absolute, tanh within 7.5e−8
//! absolute and 1.35e−7 relative (1.1 ulp) — libm's `tanhf` and `expf`-based sigmoid are
//! within about the same. The same bits on every target (no FMA contraction, no libm).

use crate::arch;

/// `x[i] ← √x[i]` for every element, correctly rounded (IEEE 754) on every path, so
/// the result is the same bits whichever path runs; negative inputs give NaN.
///
/// ```
/// let mut x = [4.0, 2.25, 0.0];
/// mote_simd::math::sqrt_in_place(&mut x);
/// assert_eq!(x, [2.0, 1.5, 0.0]);
/// ```
pub fn sqrt_in_place(x: &mut [f32]) {
    arch::sqrt_in_place(x);
}

/// `x[i] ← σ(x[i]) = 1 / (1 + e^{−x[i]})` for every element (error bounds in the
/// [module docs](self)); the same bits on every path.
///
/// ```
/// let mut x = [0.0, 100.0];
/// mote_simd::math::sigmoid_in_place(&mut x);
/// assert_eq!(x, [0.5, 1.0]);
/// ```
pub fn sigmoid_in_place(x: &mut [f32]) {
    arch::sigmoid_in_place(x);
}

/// `x[i] ← e^{x[i]}` for `x[i]` clamped to `[−87, 87]` (the range where the result is a
/// normal float; below it the result is 1.6e−38 rather than smaller, above it e⁸⁷): the
/// exponentials of a softmax after its maximum is subtracted. Within 2 ulp of the exact
/// value on that range (unit test `errors_are_bounded`); the same bits on every path.
///
/// ```
/// let mut x = [0.0, 1.0];
/// mote_simd::math::exp_in_place(&mut x);
/// assert_eq!(x[0], 1.0);
/// assert!((x[1] - core::f32::consts::E).abs() < 1e-6);
/// ```
pub fn exp_in_place(x: &mut [f32]) {
    arch::exp_in_place(x);
}

/// `x[i] ← tanh x[i]` for every element (error bounds in the [module docs](self)); the
/// same bits on every path.
///
/// ```
/// let mut x = [0.0, -100.0];
/// mote_simd::math::tanh_in_place(&mut x);
/// assert_eq!(x, [0.0, -1.0]);
/// ```
pub fn tanh_in_place(x: &mut [f32]) {
    arch::tanh_in_place(x);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_rounds_like_the_scalar_square_root() {
        let mut x: [f32; 37] = core::array::from_fn(|i| (i as f32) * 0.731 + 1e-3);
        let want: [f32; 37] = core::array::from_fn(|i| libm::sqrtf(x[i]));
        sqrt_in_place(&mut x);
        assert_eq!(x, want);
        let mut neg = [-1.0f32];
        sqrt_in_place(&mut neg);
        assert!(neg[0].is_nan());
    }

    fn check(x: f32, worst: &mut [f64; 3]) {
        let (mut s, mut t) = ([x], [x]);
        sigmoid_in_place(&mut s);
        tanh_in_place(&mut t);
        let xs = x as f64;
        let want_s = 1.0 / (1.0 + (-xs).exp());
        let want_t = xs.tanh();
        worst[0] = worst[0].max((s[0] as f64 - want_s).abs());
        worst[1] = worst[1].max((t[0] as f64 - want_t).abs());
        if want_t != 0.0 {
            worst[2] = worst[2].max(((t[0] as f64 - want_t) / want_t).abs());
        }
    }

    #[test]
    fn errors_are_bounded() {
        let mut worst = [0.0f64; 3];
        for i in -20 * 1024..=20 * 1024 {
            check(i as f32 / 1024.0, &mut worst);
        }
        let mut s = 0x1234_5678u32;
        for _ in 0..1_000_000 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            check(f32::from_bits(s) % 30.0, &mut worst);
        }
        for x in [
            0.0f32, -0.0, 1e-30, -1e-30, 87.0, -87.0, 200.0, -200.0, 1e30, -1e30,
        ] {
            check(x, &mut worst);
        }
        // exp over [−87, 87]: relative error (2 ulp = 2.4e−7).
        let mut s = 0x9e37_79b9u32;
        let mut worst_exp = 0.0f64;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let x = (s >> 8) as f32 / (1u32 << 24) as f32 * 174.0 - 87.0;
            let mut v = [x];
            exp_in_place(&mut v);
            let want = (x as f64).exp();
            worst_exp = worst_exp.max(((v[0] as f64 - want) / want).abs());
        }
        assert!(
            worst_exp <= 2.0 * f32::EPSILON as f64,
            "exp rel {worst_exp:e}"
        );
        // Measured 8.9e−8, 7.5e−8 and 1.35e−7 (1.1 ulp).
        assert!(worst[0] <= 1e-7, "sigmoid {:e}", worst[0]);
        assert!(worst[1] <= 1e-7, "tanh abs {:e}", worst[1]);
        assert!(
            worst[2] <= 2.0 * f32::EPSILON as f64,
            "tanh rel {:e}",
            worst[2]
        );
    }

    #[test]
    fn extremes_and_nan() {
        let mut v = [f32::INFINITY, f32::NEG_INFINITY, 0.0];
        sigmoid_in_place(&mut v);
        assert_eq!([v[0], v[2]], [1.0, 0.5]);
        assert!((0.0..1e-37).contains(&v[1]));
        let mut v = [f32::INFINITY, f32::NEG_INFINITY, -0.0];
        tanh_in_place(&mut v);
        assert_eq!(v, [1.0, -1.0, -0.0]);
        let mut v = [f32::NAN];
        tanh_in_place(&mut v);
        assert!(v[0].is_nan());
    }
}
