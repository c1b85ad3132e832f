//! Which x86-64 path this CPU (and its OS) supports, from CPUID and XGETBV.

use crate::isa::Isa;
use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};

/// The highest x86-64 rung present: AVX-512 (F, BW, DQ, VL, with FMA) when the CPU has
/// it and the OS saves the ZMM and mask registers; AVX2 + FMA when it saves the YMM
/// registers; else scalar.
pub(crate) fn probe() -> Isa {
    let (leaf1, max_leaf) = (__cpuid(1), __cpuid(0).eax);
    let fma = leaf1.ecx & (1 << 12) != 0;
    let osxsave = leaf1.ecx & (1 << 27) != 0;
    let avx = leaf1.ecx & (1 << 28) != 0;
    if !(fma && osxsave && avx && max_leaf >= 7) {
        return Isa::Scalar;
    }
    // SAFETY: OSXSAVE is set, so the OS has enabled XGETBV.
    let xcr0 = unsafe { _xgetbv(0) };
    let leaf7 = __cpuid_count(7, 0);
    let ymm_saved = xcr0 & 0b110 == 0b110;
    let avx2 = leaf7.ebx & (1 << 5) != 0;
    if !(ymm_saved && avx2) {
        return Isa::Scalar;
    }
    // XCR0 bits 5..7: opmask, upper halves of ZMM0–15, ZMM16–31.
    let zmm_saved = xcr0 & 0b1110_0000 == 0b1110_0000;
    let bit = |b: u32| leaf7.ebx & (1 << b) != 0;
    let (f, dq, bw, vl) = (bit(16), bit(17), bit(30), bit(31));
    if zmm_saved && f && dq && bw && vl {
        Isa::Avx512
    } else {
        Isa::Avx2
    }
}
