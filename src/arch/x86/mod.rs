//! x86 and x86-64: AVX2 and AVX-512, detected at run time without `std`.

pub(crate) mod avx2;
pub(crate) mod avx512;

use crate::Isa;

#[cfg(target_arch = "x86")]
use core::arch::x86::{__cpuid, __cpuid_count, _xgetbv};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};

/// The widest path this CPU and OS support, from one reading of CPUID and
/// XCR0:
/// - AVX2: CPUID leaf 1 ECX bit 28 (AVX) and bit 27 (OSXSAVE: XGETBV usable),
///   XCR0 bits 1 and 2 (the OS saves XMM and YMM registers), leaf 7 EBX bit 5;
/// - AVX-512: AVX2, plus leaf 7 EBX bits 16, 30 and 31 (AVX-512F, BW and VL)
///   and XCR0 bits 5, 6 and 7 (the OS saves the opmask and ZMM registers).
pub(crate) fn detect() -> Isa {
    let Some((leaf7_ebx, xcr0)) = features() else {
        return Isa::Scalar;
    };
    let avx2 = xcr0 & 0b110 == 0b110 && leaf7_ebx & (1 << 5) != 0;
    let f_bw_vl = (1 << 16) | (1 << 30) | (1 << 31);
    let avx512 = avx2 && xcr0 & 0b1110_0000 == 0b1110_0000 && leaf7_ebx & f_bw_vl == f_bw_vl;
    match (avx512, avx2) {
        (true, _) => Isa::Avx512,
        (false, true) => Isa::Avx2,
        _ => Isa::Scalar,
    }
}

/// CPUID leaf 7 EBX and XCR0, when the CPU has AVX and the OS enabled XGETBV.
// `__cpuid` became a safe function in recent toolchains; the blocks stay for older ones.
#[allow(unused_unsafe)]
fn features() -> Option<(u32, u64)> {
    #[cfg(target_arch = "x86")]
    if !core::arch::x86::has_cpuid() {
        return None;
    }
    // SAFETY: CPUID exists on every x86-64 CPU, and was checked for on x86.
    let max_leaf = unsafe { __cpuid(0) }.eax;
    if max_leaf < 7 {
        return None;
    }
    // SAFETY: as above.
    let leaf1 = unsafe { __cpuid(1) };
    let avx_and_osxsave = (1 << 28) | (1 << 27);
    if leaf1.ecx & avx_and_osxsave != avx_and_osxsave {
        return None;
    }
    // SAFETY: OSXSAVE set means the OS enabled XGETBV.
    let xcr0 = unsafe { _xgetbv(0) };
    // SAFETY: as above; leaf 7 exists (max_leaf >= 7).
    let leaf7 = unsafe { __cpuid_count(7, 0) };
    Some((leaf7.ebx, xcr0))
}
