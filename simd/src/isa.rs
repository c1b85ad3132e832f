//! Which instruction-set path the micro-kernels take, and how to force a lower one.
//!
//! Every micro-kernel has a scalar reference that is always compiled, and one path per
//! instruction set it has been written for. The paths of one architecture form a
//! ladder (x86-64: scalar < AVX2+FMA < AVX-512; 32-bit Arm: scalar < FPU < DSP < Helium;
//! aarch64: scalar < NEON < NEON+dotprod). A micro-kernel takes the highest rung that
//! is (1) compiled for this target, (2) present on this CPU and (3) not above the
//! [`limit`] a caller set, falling back rung by rung where it has no path of its own.
//!
//! Compiled: x86-64 paths always (chosen at run time); Arm paths when the target has the
//! feature (chosen at compile time, see `simd/build.rs`). Present: x86-64 probes CPUID
//! once and caches the answer; Arm paths compiled in are present by definition. Limit:
//! [`set_limit`] at run time, or with the `std` feature the `MOTE_SIMD` environment
//! variable (`scalar`, `avx2`, `avx512`, `fpu`, `dsp`, `mve`, `neon`, `dotprod`), read once at
//! first use — how tests and benchmarks run every path of one binary in turn.
//!
//! On bare metal (`target_os = "none"`) the limit is honoured only with the
//! `path-select` feature (the firmware test runner and kernel benchmarks turn it on):
//! without it each micro-kernel's choice is made at compile time and costs nothing at
//! run time.
//!
//! ```
//! use mote_simd::isa::{self, Isa};
//!
//! let best = isa::active();
//! isa::set_limit(Isa::Scalar);
//! assert_eq!(isa::active(), Isa::Scalar);
//! isa::clear_limit();
//! assert_eq!(isa::active(), best);
//! ```

use core::sync::atomic::{AtomicU8, Ordering};

/// One rung of an architecture's ladder of instruction-set paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Isa {
    /// The portable reference, on every target.
    Scalar = 1,
    /// The single-precision FPU of bare-metal hard-float Cortex-M cores (M4F, M7, M33,
    /// M55, M85): the f32 GEMM tile with `VFMA.F32` in the 32 `s` registers.
    ///
    /// A rung of its own, below [`ArmDsp`](Isa::ArmDsp), because the two extensions are
    /// independent: `thumbv7em-none-eabi` has DSP and no FPU registers (so no `ArmFpu`
    /// compiled), an M33 built without `+dsp` may have the FPU and no DSP. Below DSP, so
    /// that on the M55 the ladder stays scalar < FPU < DSP < Helium and Helium's f32
    /// tile (a higher rung) still wins there; capping at `dsp` keeps the FPU tile.
    ArmFpu = 2,
    /// 32-bit Arm DSP extension (SMLAD, SXTB16, SEL, SSAT): Cortex-M4/M7/M33/M55, Armv7-A.
    ArmDsp = 3,
    /// Arm Helium (M-profile vector extension, MVE): Cortex-M55/M85.
    ArmMve = 4,
    /// aarch64 Advanced SIMD (NEON).
    Neon = 5,
    /// aarch64 NEON with the dot-product extension (SDOT/UDOT).
    NeonDotprod = 6,
    /// x86-64 AVX2 with FMA.
    Avx2 = 7,
    /// x86-64 AVX-512 (F, BW, VL, DQ) with FMA.
    Avx512 = 8,
}

impl Isa {
    /// The name used in reports and in `MOTE_SIMD`.
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::ArmFpu => "fpu",
            Isa::ArmDsp => "dsp",
            Isa::ArmMve => "mve",
            Isa::Neon => "neon",
            Isa::NeonDotprod => "dotprod",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// The path a name denotes (the inverse of [`name`](Self::name)).
    pub fn from_name(name: &str) -> Option<Isa> {
        ALL.iter().copied().find(|i| i.name() == name)
    }

    #[inline]
    const fn from_u8(v: u8) -> Option<Isa> {
        match v {
            1 => Some(Isa::Scalar),
            2 => Some(Isa::ArmFpu),
            3 => Some(Isa::ArmDsp),
            4 => Some(Isa::ArmMve),
            5 => Some(Isa::Neon),
            6 => Some(Isa::NeonDotprod),
            7 => Some(Isa::Avx2),
            8 => Some(Isa::Avx512),
            _ => None,
        }
    }
}

/// Every path, in ladder order within each architecture.
pub const ALL: [Isa; 8] = [
    Isa::Scalar,
    Isa::ArmFpu,
    Isa::ArmDsp,
    Isa::ArmMve,
    Isa::Neon,
    Isa::NeonDotprod,
    Isa::Avx2,
    Isa::Avx512,
];

/// The paths compiled for this target, lowest first (always starting with
/// [`Isa::Scalar`]); those the CPU lacks are left out (see [`available`]).
pub const fn compiled() -> &'static [Isa] {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    {
        &[Isa::Scalar, Isa::Avx2, Isa::Avx512]
    }
    #[cfg(all(target_arch = "arm", mote_arm_mve, mote_arm_fpu))]
    {
        &[Isa::Scalar, Isa::ArmFpu, Isa::ArmDsp, Isa::ArmMve]
    }
    #[cfg(all(target_arch = "arm", mote_arm_mve, not(mote_arm_fpu)))]
    {
        &[Isa::Scalar, Isa::ArmDsp, Isa::ArmMve]
    }
    #[cfg(all(target_arch = "arm", mote_arm_dsp, not(mote_arm_mve), mote_arm_fpu))]
    {
        &[Isa::Scalar, Isa::ArmFpu, Isa::ArmDsp]
    }
    #[cfg(all(
        target_arch = "arm",
        mote_arm_dsp,
        not(mote_arm_mve),
        not(mote_arm_fpu)
    ))]
    {
        &[Isa::Scalar, Isa::ArmDsp]
    }
    #[cfg(all(target_arch = "arm", mote_arm_fpu, not(mote_arm_dsp)))]
    {
        &[Isa::Scalar, Isa::ArmFpu]
    }
    #[cfg(all(
        target_arch = "aarch64",
        target_feature = "neon",
        target_feature = "dotprod"
    ))]
    {
        &[Isa::Scalar, Isa::Neon, Isa::NeonDotprod]
    }
    #[cfg(all(
        target_arch = "aarch64",
        target_feature = "neon",
        not(target_feature = "dotprod")
    ))]
    {
        &[Isa::Scalar, Isa::Neon]
    }
    #[cfg(not(any(
        all(target_arch = "x86_64", not(target_os = "none")),
        all(target_arch = "arm", mote_arm_dsp),
        all(target_arch = "arm", mote_arm_fpu),
        all(target_arch = "aarch64", target_feature = "neon")
    )))]
    {
        &[Isa::Scalar]
    }
}

/// Whether this CPU can run path `isa` (compiled in, and present on the CPU).
pub fn available(isa: Isa) -> bool {
    if !compiled().contains(&isa) {
        return false;
    }
    isa <= best()
}

/// The highest path this CPU can run, ignoring any limit. Probed once (CPUID on
/// x86-64), then cached.
pub fn best() -> Isa {
    static BEST: AtomicU8 = AtomicU8::new(0);
    if let Some(isa) = Isa::from_u8(BEST.load(Ordering::Relaxed)) {
        return isa;
    }
    let found = probe();
    BEST.store(found as u8, Ordering::Relaxed);
    found
}

fn probe() -> Isa {
    #[cfg(all(target_arch = "x86_64", not(target_os = "none")))]
    {
        crate::arch::x86_detect::probe()
    }
    #[cfg(not(all(target_arch = "x86_64", not(target_os = "none"))))]
    {
        compiled().last().copied().unwrap_or(Isa::Scalar)
    }
}

/// 0: no limit set (and, with `std`, `MOTE_SIMD` not read yet); 255: no limit.
static LIMIT: AtomicU8 = AtomicU8::new(0);
const NO_LIMIT: u8 = 255;

/// Caps the paths taken at `isa` (or the highest rung below it that this CPU has) from
/// now on, for every thread. A rung of another architecture (or one not compiled for
/// this target) sets no cap. For tests and benchmarks that compare paths; the integer
/// micro-kernels give the same bits on every path, the f32 ones agree within the
/// tolerance their docs state.
pub fn set_limit(isa: Isa) {
    LIMIT.store(isa as u8, Ordering::Relaxed);
    refresh();
}

/// Removes a limit set by [`set_limit`] (or `MOTE_SIMD`).
pub fn clear_limit() {
    LIMIT.store(NO_LIMIT, Ordering::Relaxed);
    refresh();
}

/// The limit in force, if any.
pub fn limit() -> Option<Isa> {
    let v = LIMIT.load(Ordering::Relaxed);
    if v == 0 {
        let from_env = env_limit();
        let stored = from_env.map_or(NO_LIMIT, |i| i as u8);
        LIMIT.store(stored, Ordering::Relaxed);
        return Isa::from_u8(stored);
    }
    Isa::from_u8(v)
}

#[cfg(feature = "std")]
fn env_limit() -> Option<Isa> {
    extern crate std;
    let value = std::env::var("MOTE_SIMD").ok()?;
    Isa::from_name(value.trim())
}

#[cfg(not(feature = "std"))]
fn env_limit() -> Option<Isa> {
    None
}

/// The path in force, cached: 0 until first computed (and never again after).
static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// The path the micro-kernels take now: the highest available rung not above the
/// limit. One relaxed load once known (each micro-kernel call asks).
#[inline]
pub fn active() -> Isa {
    match Isa::from_u8(ACTIVE.load(Ordering::Relaxed)) {
        Some(isa) => isa,
        None => refresh(),
    }
}

/// Whether the path in force is `isa` or above it — the dispatch test of every
/// micro-kernel: a load and a comparison.
///
/// On bare metal without the `path-select` feature the answer is fixed at compile time
/// (the best compiled path; [`set_limit`] is then not honoured): the dispatch costs
/// nothing, where the run-time test cost the MNIST firmware about 5 % more instructions.
#[inline(always)]
#[allow(dead_code)] // on targets whose only path is the scalar one, nothing dispatches
pub(crate) fn at_least(isa: Isa) -> bool {
    #[cfg(all(target_os = "none", not(feature = "path-select")))]
    {
        const BEST: u8 = match compiled().last() {
            Some(isa) => *isa as u8,
            None => Isa::Scalar as u8,
        };
        BEST >= isa as u8
    }
    #[cfg(not(all(target_os = "none", not(feature = "path-select"))))]
    {
        let v = ACTIVE.load(Ordering::Relaxed);
        if v == 0 {
            return refresh() >= isa;
        }
        v >= isa as u8
    }
}

/// Computes the path in force from [`best`] and [`limit`] and caches it.
#[cold]
fn refresh() -> Isa {
    let best = best();
    let isa = match limit() {
        Some(cap) if cap < best && compiled().contains(&cap) => compiled()
            .iter()
            .rev()
            .copied()
            .find(|i| *i <= cap && *i <= best)
            .unwrap_or(Isa::Scalar),
        _ => best,
    };
    ACTIVE.store(isa as u8, Ordering::Relaxed);
    isa
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for isa in ALL {
            assert_eq!(Isa::from_name(isa.name()), Some(isa));
        }
        assert_eq!(Isa::from_name("sse"), None);
    }

    #[test]
    fn scalar_is_always_compiled_and_first() {
        assert_eq!(compiled().first(), Some(&Isa::Scalar));
        assert!(available(Isa::Scalar));
    }
}
