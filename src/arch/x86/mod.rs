//! x86 and x86-64: AVX2, detected at run time without `std`.

mod avx2;

#[cfg(target_arch = "x86")]
use core::arch::x86::{__cpuid, __cpuid_count, _xgetbv};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};

crate::arch::kernel_table!(avx2::Avx2, #[target_feature(enable = "avx2")]);

/// Whether the CPU has AVX2 and the operating system saves YMM state.
///
/// CPUID leaf 1 ECX bit 28 (AVX) and bit 27 (OSXSAVE: XGETBV usable), XCR0 bits
/// 1 and 2 (the OS saves XMM and YMM registers), and leaf 7 EBX bit 5 (AVX2).
// `__cpuid` became a safe function in recent toolchains; the blocks stay for older ones.
#[allow(unused_unsafe)]
pub(crate) fn avx2_available() -> bool {
    #[cfg(target_arch = "x86")]
    if !core::arch::x86::has_cpuid() {
        return false;
    }
    // SAFETY: CPUID exists on every x86-64 CPU, and was checked for on x86.
    let max_leaf = unsafe { __cpuid(0) }.eax;
    if max_leaf < 7 {
        return false;
    }
    // SAFETY: as above.
    let leaf1 = unsafe { __cpuid(1) };
    let avx_and_osxsave = (1 << 28) | (1 << 27);
    if leaf1.ecx & avx_and_osxsave != avx_and_osxsave {
        return false;
    }
    // SAFETY: OSXSAVE set means the OS enabled XGETBV.
    let xcr0 = unsafe { _xgetbv(0) };
    if xcr0 & 0b110 != 0b110 {
        return false;
    }
    // SAFETY: as above; leaf 7 exists (max_leaf >= 7).
    let leaf7 = unsafe { __cpuid_count(7, 0) };
    leaf7.ebx & (1 << 5) != 0
}
