//! A small seeded pseudo-random generator, identical on every target.
//!
//! [`Rng`] is xoshiro128** (Blackman & Vigna): 128 bits of state, 32-bit operations
//! only (cheap on a Cortex-M), period 2^128 − 1, with a `jump` for independent streams.
//! The state is seeded from a `u64` through SplitMix64. Everything derived from it —
//! floats, ranges, shuffles, normal deviates (through libm, which is software and
//! therefore the same everywhere) — is a pure function of the seed, so weight
//! initialisation, dropout masks and data shuffling reproduce bit for bit.
//!
//! ```
//! use mote_core::rng::Rng;
//!
//! let mut rng = Rng::new(42);
//! let mut weights = [0.0f32; 8];
//! rng.fill_uniform(&mut weights, -0.5, 0.5);
//! let mut order = [0usize, 1, 2, 3, 4];
//! rng.shuffle(&mut order);
//! // The same seed gives the same stream, on every target.
//! let mut again = Rng::new(42);
//! let mut w2 = [0.0f32; 8];
//! again.fill_uniform(&mut w2, -0.5, 0.5);
//! assert_eq!(weights, w2);
//! ```

/// xoshiro128** seeded by SplitMix64. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rng {
    s: [u32; 4],
}

/// One step of SplitMix64 (Steele, Lea & Flood), used to expand seeds.
pub const fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub const fn new(seed: u64) -> Self {
        let mut sm = seed;
        let a = splitmix64(&mut sm);
        let b = splitmix64(&mut sm);
        let s = [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32];
        if s[0] | s[1] | s[2] | s[3] == 0 {
            // The all-zero state is a fixed point; SplitMix64 never gives it for two
            // consecutive outputs, but guard anyway.
            return Self { s: [1, 0, 0, 0] };
        }
        Self { s }
    }

    /// A generator from a raw state; `None` for the all-zero state, which never leaves 0.
    pub const fn from_state(s: [u32; 4]) -> Option<Self> {
        if s[0] | s[1] | s[2] | s[3] == 0 {
            None
        } else {
            Some(Self { s })
        }
    }

    /// The raw state, to save and restore a stream.
    pub const fn state(&self) -> [u32; 4] {
        self.s
    }

    /// The next 32 random bits.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 9;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(11);
        result
    }

    /// The next 64 random bits (two 32-bit outputs, the first in the high half).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        (hi << 32) | self.next_u32() as u64
    }

    /// Advances the stream by 2^64 steps: calling `jump` on copies gives up to 2^64
    /// non-overlapping streams of 2^64 numbers each.
    pub fn jump(&mut self) {
        const JUMP: [u32; 4] = [0x8764_000B, 0xF542_D2D3, 0x6FA0_35C3, 0x77F2_DB5B];
        let mut acc = [0u32; 4];
        for word in JUMP {
            for bit in 0..32 {
                if word & (1 << bit) != 0 {
                    for (a, s) in acc.iter_mut().zip(self.s) {
                        *a ^= s;
                    }
                }
                self.next_u32();
            }
        }
        self.s = acc;
    }

    /// A new generator seeded from this one's next output (for a sub-task such as one
    /// layer's initialisation), leaving this stream advanced by two outputs.
    pub fn fork(&mut self) -> Self {
        Self::new(self.next_u64())
    }

    /// A uniform `f32` in `[0, 1)` with 24 random bits (every value a multiple of 2^−24).
    #[inline]
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }

    /// A uniform `f64` in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniform `f32` in `[low, high)` (or `low` when `high ≤ low`).
    #[inline]
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        if high <= low {
            return low;
        }
        let x = low + (high - low) * self.next_f32();
        // Rounding can land exactly on `high`; keep the interval half-open.
        if x < high { x } else { low }
    }

    /// A uniform integer in `[0, n)`, without bias (Lemire's multiply-and-reject); 0 when
    /// `n` is 0.
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let mut m = self.next_u32() as u64 * n as u64;
        if (m as u32) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u32) < threshold {
                m = self.next_u32() as u64 * n as u64;
            }
        }
        (m >> 32) as u32
    }

    /// A uniform index in `[0, n)` for any `usize` (0 when `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        if let Ok(n32) = u32::try_from(n) {
            return self.below(n32) as usize;
        }
        let n = n as u64;
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = self.next_u64() as u128 * n as u128;
            if (m as u64) >= threshold {
                return (m >> 64) as usize;
            }
        }
    }

    /// `true` with probability `p` (clamped to `[0, 1]`; NaN counts as 0).
    #[inline]
    pub fn bernoulli(&mut self, p: f32) -> bool {
        self.next_f32() < p
    }

    /// A standard normal deviate (Box–Muller on two uniforms, through libm).
    pub fn normal(&mut self) -> f32 {
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - self.next_f32();
        let u2 = self.next_f32();
        libm::sqrtf(-2.0 * libm::logf(u1)) * libm::cosf(core::f32::consts::TAU * u2)
    }

    /// Fills `out` with uniform values in `[low, high)`.
    pub fn fill_uniform(&mut self, out: &mut [f32], low: f32, high: f32) {
        for x in out {
            *x = self.uniform(low, high);
        }
    }

    /// Fills `out` with normal values of the given mean and standard deviation.
    pub fn fill_normal(&mut self, out: &mut [f32], mean: f32, std_dev: f32) {
        for x in out {
            *x = mean + std_dev * self.normal();
        }
    }

    /// Shuffles `items` uniformly (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference outputs of SplitMix64 from state 0 (the published test values).
    #[test]
    fn splitmix_reference() {
        let mut s = 0u64;
        assert_eq!(splitmix64(&mut s), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(&mut s), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(splitmix64(&mut s), 0x06C4_5D18_8009_454F);
    }

    /// xoshiro128** from state [1, 2, 3, 4], checked against the reference C code.
    #[test]
    fn xoshiro_reference() {
        let mut r = Rng::from_state([1, 2, 3, 4]).unwrap();
        let got: [u32; 6] = core::array::from_fn(|_| r.next_u32());
        assert_eq!(got, XOSHIRO_1234);
        let mut r = Rng::from_state([1, 2, 3, 4]).unwrap();
        r.jump();
        assert_eq!(r.state(), XOSHIRO_1234_JUMPED);
    }

    // Printed by the reference C implementation of xoshiro128** (next and jump).
    const XOSHIRO_1234: [u32; 6] = [
        0x0000_2D00,
        0x0000_0000,
        0x005A_7080,
        0x0438_9D80,
        0x7919_9D9B,
        0x6196_3B24,
    ];
    const XOSHIRO_1234_JUMPED: [u32; 4] = [0xA976_5206, 0x797A_A168, 0x5B62_E331, 0x02AB_D971];

    #[test]
    fn ranges() {
        let mut r = Rng::new(7);
        for _ in 0..10_000 {
            let f = r.next_f32();
            assert!((0.0..1.0).contains(&f));
            assert!(r.below(10) < 10);
            let u = r.uniform(-2.0, 3.0);
            assert!((-2.0..3.0).contains(&u));
            assert!(r.normal().is_finite());
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.index(0), 0);
        assert_eq!(r.uniform(1.0, 1.0), 1.0);
        assert!(Rng::from_state([0; 4]).is_none());
    }

    #[test]
    fn below_is_unbiased_enough() {
        let mut r = Rng::new(42);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[r.below(6) as usize] += 1;
        }
        for c in counts {
            assert!((9_400..10_600).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn shuffle_is_a_permutation_and_seeded() {
        let mut a = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        let mut b = a;
        Rng::new(3).shuffle(&mut a);
        Rng::new(3).shuffle(&mut b);
        assert_eq!(a, b);
        let mut sorted = a;
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_ne!(a, sorted);
    }

    #[test]
    fn normal_moments() {
        let mut r = Rng::new(11);
        let n = 50_000;
        let (mut sum, mut sq) = (0.0f64, 0.0f64);
        for _ in 0..n {
            let x = r.normal() as f64;
            sum += x;
            sq += x * x;
        }
        let mean = sum / n as f64;
        let var = sq / n as f64 - mean * mean;
        assert!(mean.abs() < 0.02, "{mean}");
        assert!((var - 1.0).abs() < 0.03, "{var}");
    }
}
