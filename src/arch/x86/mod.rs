//! x86 and x86-64: AVX2 and AVX-512, detected at run time without `std`.

pub(super) mod avx2;
pub(super) mod avx512;

use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

use super::Backend;
use crate::Isa;

#[cfg(target_arch = "x86")]
use core::arch::x86::{__cpuid, __cpuid_count, _xgetbv};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};

/// What this CPU and OS support, from widest down: each level includes the
/// ones below it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Baseline = 1,
    Avx2 = 2,
    Avx512 = 3,
    /// AVX-512 with DQ and BF16, for the backend that narrows with VCVTNEPS2BF16.
    Avx512Bf16 = 4,
}

/// The backend of `isa` (AVX2 or AVX-512), if this CPU runs it.
pub(super) fn for_isa(isa: Isa) -> Option<Backend> {
    match (isa, level()) {
        (Isa::Avx2, level) if level >= Level::Avx2 => Some(Backend::Avx2),
        (Isa::Avx512, Level::Avx512Bf16) => Some(Backend::Avx512Bf16),
        (Isa::Avx512, Level::Avx512) => Some(Backend::Avx512),
        _ => None,
    }
}

/// The widest backend this CPU runs, if any beats the scalar one.
pub(super) fn best() -> Option<Backend> {
    for_isa(Isa::Avx512).or_else(|| for_isa(Isa::Avx2))
}

/// The AVX-512 backend without BF16, on a CPU whose `Auto` takes the one with it.
#[cfg(feature = "test-hooks")]
pub(super) fn avx512_without_bf16() -> Option<Backend> {
    (level() == Level::Avx512Bf16).then_some(Backend::Avx512)
}

/// Whether this CPU's division instructions are slow beside its fused
/// multiply-adds, so that dividing by reciprocal pays: Intel's (a 512-bit
/// VDIVPS has about a tenth of a VFMADD's throughput there), not AMD's
/// recent cores (measured in `benches/README.md`). Read once and cached.
// `__cpuid` became a safe function in recent toolchains; the block stays for older ones.
#[allow(unused_unsafe)]
pub(super) fn divides_slowly() -> bool {
    static CACHE: AtomicU8 = AtomicU8::new(0);
    match CACHE.load(Relaxed) {
        1 => false,
        2 => true,
        _ => {
            #[cfg(target_arch = "x86")]
            if !core::arch::x86::has_cpuid() {
                CACHE.store(1, Relaxed);
                return false;
            }
            // SAFETY: CPUID exists on every x86-64 CPU, and was checked for
            // on x86. Leaf 0 gives the vendor in EBX, EDX, ECX.
            let leaf0 = unsafe { __cpuid(0) };
            // "GenuineIntel".
            let intel =
                (leaf0.ebx, leaf0.edx, leaf0.ecx) == (0x756E_6547, 0x4965_6E69, 0x6C65_746E);
            CACHE.store(1 + u8::from(intel), Relaxed);
            intel
        }
    }
}

/// The CPU's level, detected once and cached.
fn level() -> Level {
    static CACHE: AtomicU8 = AtomicU8::new(0);
    match CACHE.load(Relaxed) {
        4 => Level::Avx512Bf16,
        3 => Level::Avx512,
        2 => Level::Avx2,
        1 => Level::Baseline,
        _ => {
            let level = detect();
            CACHE.store(level as u8, Relaxed);
            level
        }
    }
}

/// One reading of CPUID and XCR0:
/// - AVX2: CPUID leaf 1 ECX bit 28 (AVX), bit 27 (OSXSAVE: XGETBV usable),
///   bit 12 (FMA) and bit 29 (F16C: the binary16 conversions; every AVX2 CPU
///   from Intel and AMD has both), XCR0 bits 1 and 2 (the OS saves XMM and
///   YMM registers), leaf 7 EBX bit 5;
/// - AVX-512: AVX2 (F16C too, which rustc's `avx512f` implies and the
///   standard library's detection checks), plus leaf 7 EBX bits 16, 30 and
///   31 (AVX-512F, BW and VL) and XCR0 bits 5, 6 and 7 (the OS saves the
///   opmask and ZMM registers);
/// - BF16: AVX-512, plus leaf 7 EBX bit 17 (DQ) and sub-leaf 1 EAX bit 5.
fn detect() -> Level {
    let Some(f) = features() else {
        return Level::Baseline;
    };
    let avx2 = f.f16c && f.xcr0 & 0b110 == 0b110 && f.leaf7_ebx & (1 << 5) != 0;
    let f_bw_vl = (1 << 16) | (1 << 30) | (1 << 31);
    let avx512 = avx2 && f.xcr0 & 0b1110_0000 == 0b1110_0000 && f.leaf7_ebx & f_bw_vl == f_bw_vl;
    let bf16 = avx512 && f.leaf7_ebx & (1 << 17) != 0 && f.leaf7_1_eax & (1 << 5) != 0;
    match (avx2, avx512, bf16) {
        (_, _, true) => Level::Avx512Bf16,
        (_, true, _) => Level::Avx512,
        (true, _, _) => Level::Avx2,
        _ => Level::Baseline,
    }
}

/// The CPUID and XCR0 words detection looks at.
struct Features {
    f16c: bool,
    leaf7_ebx: u32,
    leaf7_1_eax: u32,
    xcr0: u64,
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
        f16c: leaf1.ecx & (1 << 29) != 0,
        leaf7_ebx: leaf7.ebx,
        leaf7_1_eax,
        xcr0,
    })
}
