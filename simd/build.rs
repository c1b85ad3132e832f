//! Chooses the compile-time instruction-set paths that `cfg(target_feature)` cannot.
//!
//! Stable rustc sets no `target_feature` cfg for 32-bit Arm (`dsp`, `v7`, `thumb2` are
//! unstable target features: `rustc --print cfg --target thumbv7em-none-eabihf` lists
//! none, nor does it for `thumbv8m.main-none-eabihf` with `-C target-feature=+dsp`), so
//! the Arm DSP path is selected from the target triple here and exposed as
//! `cfg(mote_arm_dsp)`:
//!
//! | target | DSP (SMLAD, SXTB16, SXTAB16) | `mote_arm_dsp` |
//! |---|---|---|
//! | `thumbv7em-*` (Cortex-M4/M7) | always | yes |
//! | `armv7-*`, `armv7a-*`, `thumbv7neon-*` (Armv7-A/R Linux, bare metal) | always (Armv6 and later, A32 and T32) | yes |
//! | `thumbv8m.main-*` (Cortex-M33/M35P/M55/M85) | optional | only with `-C target-feature=+dsp` or a `target-cpu` that has it (cortex-m33, m35p, m55, m85) |
//! | `thumbv6m-*`, `thumbv7m-*`, `thumbv8m.base-*` | none | no |
//!
//! A `target_feature = "dsp"` cfg, should rustc ever set one, also enables it.
//!
//! Helium (MVE) is chosen the same way, as `cfg(mote_arm_mve)` (with `mote_arm_dsp`):
//! `thumbv8m.main-*` with `-C target-feature=+mve` (or `+mve.fp`) or
//! `-C target-cpu=cortex-m55` / `cortex-m85`. Its floating-point half (the f32 kernels:
//! `VFMA.F32` on vectors) is `cfg(mote_arm_mve_fp)`: `+mve.fp` (which implies `+mve`) or
//! those two CPUs; `+mve` alone is integer Helium.
//!
//! The Cortex-M FPU path (the f32 GEMM tile with `VFMA.F32` on the `s` registers) is
//! `cfg(mote_arm_fpu)`: bare-metal hard-float M-profile targets (`target_os = "none"`,
//! `target_abi = "eabihf"`, `thumbv7em-*` or `thumbv8m.main-*`), whose FPUs (FPv4-SP on
//! the M4F, FPv5 on the M7/M33/M55/M85) all have fused multiply-add. rustc does set
//! `target_abi` for these targets, but not which FPU: the A-profile `armv7a-none-eabihf`
//! (VFPv3-D16, no `VFMA`) is why the triple is checked too. Soft-float targets
//! (`thumbv7em-none-eabi`: DSP without FPU registers) never get it.
//!
//! `MOTE_SIMD_SCALAR=1` in the environment of the build forces the scalar path.
//!
//! `cfg(mote_thumb)` marks Thumb-2 targets (`thumb*`): hand-written loops there may use
//! LDRD with any register pair, which A32 (Armv7-A in Arm state) does not allow.

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mote_arm_dsp)");
    println!("cargo::rustc-check-cfg=cfg(mote_arm_mve)");
    println!("cargo::rustc-check-cfg=cfg(mote_arm_mve_fp)");
    println!("cargo::rustc-check-cfg=cfg(mote_arm_fpu)");
    println!("cargo::rustc-check-cfg=cfg(mote_thumb)");
    println!("cargo::rerun-if-env-changed=MOTE_SIMD_SCALAR");
    let target = env::var("TARGET").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let forced_scalar = env::var_os("MOTE_SIMD_SCALAR").is_some_and(|v| v != "0");
    if arch != "arm" || forced_scalar {
        return;
    }
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let abi = env::var("CARGO_CFG_TARGET_ABI").unwrap_or_default();
    if os == "none"
        && abi == "eabihf"
        && (target.starts_with("thumbv7em-") || target.starts_with("thumbv8m.main-"))
    {
        println!("cargo::rustc-cfg=mote_arm_fpu");
    }
    // Thumb-2 (every Cortex-M target, `thumbv7neon-*`): hand-written loops may use
    // T32-only register freedom (LDRD with any register pair).
    if target.starts_with("thumb") {
        println!("cargo::rustc-cfg=mote_thumb");
    }
    let always = ["thumbv7em", "armv7-", "armv7a-", "armv7r-", "thumbv7neon-"];
    let has_feature = features.split(',').any(|f| f == "dsp");
    // The `-C` options among the flags, in either spelling (`-C opt` or `-Copt`).
    let words: Vec<&str> = flags.split('\x1f').collect();
    let mut options = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if *w == "-C" {
            options.extend(words.get(i + 1).copied());
        } else if let Some(o) = w.strip_prefix("-C") {
            options.push(o);
        }
    }
    let v8m_dsp = target.starts_with("thumbv8m.main")
        && options.iter().any(|o| {
            let feature = o
                .strip_prefix("target-feature=")
                .is_some_and(|fs| fs.split(',').any(|f| f == "+dsp"));
            let cpu = o.strip_prefix("target-cpu=").is_some_and(|c| {
                matches!(
                    c,
                    "cortex-m33" | "cortex-m35p" | "cortex-m55" | "cortex-m85"
                )
            });
            feature || cpu
        });
    if has_feature || v8m_dsp || always.iter().any(|p| target.starts_with(p)) {
        println!("cargo::rustc-cfg=mote_arm_dsp");
    }
    // Helium (MVE): Armv8.1-M Mainline cores that have it (Cortex-M55/M85) always have
    // the DSP extension too, so MVE implies the DSP path below it.
    let mve = target.starts_with("thumbv8m.main")
        && options.iter().any(|o| {
            let feature = o
                .strip_prefix("target-feature=")
                .is_some_and(|fs| fs.split(',').any(|f| f == "+mve" || f == "+mve.fp"));
            let cpu = o
                .strip_prefix("target-cpu=")
                .is_some_and(|c| matches!(c, "cortex-m55" | "cortex-m85"));
            feature || cpu
        });
    if mve {
        println!("cargo::rustc-cfg=mote_arm_dsp");
        println!("cargo::rustc-cfg=mote_arm_mve");
    }
    // The floating-point half of Helium (the f32 kernels): `+mve.fp`, or a core that
    // has it in LLVM's definition (cortex-m55, cortex-m85). Plain `+mve` is integer only.
    let mve_fp = target.starts_with("thumbv8m.main")
        && options.iter().any(|o| {
            let feature = o
                .strip_prefix("target-feature=")
                .is_some_and(|fs| fs.split(',').any(|f| f == "+mve.fp"));
            let cpu = o
                .strip_prefix("target-cpu=")
                .is_some_and(|c| matches!(c, "cortex-m55" | "cortex-m85"));
            feature || cpu
        });
    if mve_fp {
        println!("cargo::rustc-cfg=mote_arm_mve_fp");
    }
}
