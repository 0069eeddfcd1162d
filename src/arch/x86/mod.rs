//! x86 and x86-64: AVX2 and AVX-512, detected at run time without `std`.

pub(crate) mod avx2;
pub(crate) mod avx512;

use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

use crate::Isa;

#[cfg(target_arch = "x86")]
use core::arch::x86::{__cpuid, __cpuid_count, _xgetbv};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};

/// The widest path this CPU and OS support, from one reading of CPUID and
/// XCR0:
/// - AVX2: CPUID leaf 1 ECX bit 28 (AVX), bit 27 (OSXSAVE: XGETBV usable) and
///   bit 12 (FMA, which every AVX2 CPU from Intel and AMD has), XCR0 bits 1
///   and 2 (the OS saves XMM and YMM registers), leaf 7 EBX bit 5;
/// - AVX-512: AVX2, plus leaf 7 EBX bits 16, 30 and 31 (AVX-512F, BW and VL)
///   and XCR0 bits 5, 6 and 7 (the OS saves the opmask and ZMM registers).
pub(crate) fn detect() -> Isa {
    let Some(features) = features() else {
        return Isa::Scalar;
    };
    if features.avx512() {
        Isa::Avx512
    } else if features.avx2() {
        Isa::Avx2
    } else {
        Isa::Scalar
    }
}

/// Whether the CPU has AVX-512 (as [`detect`] finds it) with DQ and BF16:
/// leaf 7 EBX bit 17 and leaf 7 sub-leaf 1 EAX bit 5. Read once, then cached.
pub(crate) fn avx512_bf16() -> bool {
    const UNKNOWN: u8 = 0;
    const NO: u8 = 1;
    const YES: u8 = 2;
    static CACHE: AtomicU8 = AtomicU8::new(UNKNOWN);
    match CACHE.load(Relaxed) {
        UNKNOWN => {
            let found = features().is_some_and(|f| {
                f.avx512() && f.leaf7_ebx & (1 << 17) != 0 && f.leaf7_1_eax & (1 << 5) != 0
            });
            CACHE.store(if found { YES } else { NO }, Relaxed);
            found
        }
        cached => cached == YES,
    }
}

/// The CPUID and XCR0 words detection looks at.
struct Features {
    leaf7_ebx: u32,
    leaf7_1_eax: u32,
    xcr0: u64,
}

impl Features {
    fn avx2(&self) -> bool {
        self.xcr0 & 0b110 == 0b110 && self.leaf7_ebx & (1 << 5) != 0
    }

    fn avx512(&self) -> bool {
        let f_bw_vl = (1 << 16) | (1 << 30) | (1 << 31);
        self.avx2() && self.xcr0 & 0b1110_0000 == 0b1110_0000 && self.leaf7_ebx & f_bw_vl == f_bw_vl
    }
}

/// CPUID leaf 7 (sub-leaves 0 and 1) and XCR0, when the CPU has AVX and FMA
/// and the OS enabled XGETBV.
// `__cpuid` became a safe function in recent toolchains; the blocks stay for older ones.
#[allow(unused_unsafe)]
fn features() -> Option<Features> {
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
    let avx_osxsave_fma = (1 << 28) | (1 << 27) | (1 << 12);
    if leaf1.ecx & avx_osxsave_fma != avx_osxsave_fma {
        return None;
    }
    // SAFETY: OSXSAVE set means the OS enabled XGETBV.
    let xcr0 = unsafe { _xgetbv(0) };
    // SAFETY: as above; leaf 7 exists (max_leaf >= 7).
    let leaf7 = unsafe { __cpuid_count(7, 0) };
    // Sub-leaf 1 exists when sub-leaf 0 reports it (EAX: the last sub-leaf).
    let leaf7_1_eax = if leaf7.eax >= 1 {
        // SAFETY: as above.
        unsafe { __cpuid_count(7, 1) }.eax
    } else {
        0
    };
    Some(Features {
        leaf7_ebx: leaf7.ebx,
        leaf7_1_eax,
        xcr0,
    })
}
