//! Choosing a backend: detection once, the choice cached in atomics.

use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

use crate::arch::{self, KernelTable};
use crate::Error;

/// An instruction set the kernels can run on. The numbers are the C ABI's
/// `QAT_ISA_*` values.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// The best path this CPU supports (only as a request: [`active_isa`]
    /// never returns it).
    Auto = 0,
    /// The portable path, available everywhere.
    Scalar = 1,
    /// AVX2 on x86 and x86-64, when the CPU and OS support it.
    Avx2 = 2,
    /// NEON on aarch64.
    Neon = 3,
    /// AVX-512 (F, BW and VL, with AVX2) on x86 and x86-64, when the CPU and
    /// OS support it:
    /// sixteen lanes per instruction, the same bits.
    Avx512 = 4,
}

impl Isa {
    /// The ISA with this C code, if any.
    pub const fn from_code(code: i32) -> Option<Isa> {
        match code {
            0 => Some(Isa::Auto),
            1 => Some(Isa::Scalar),
            2 => Some(Isa::Avx2),
            3 => Some(Isa::Neon),
            4 => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// The best ISA this CPU supports (never `Auto`); detected once.
    pub fn best() -> Isa {
        static BEST: AtomicU8 = AtomicU8::new(0);
        match Isa::from_code(i32::from(BEST.load(Relaxed))) {
            Some(isa) if isa != Isa::Auto => isa,
            _ => {
                let isa = detect();
                BEST.store(isa as u8, Relaxed);
                isa
            }
        }
    }

    /// Whether calls can run on this ISA here (`Auto` and `Scalar` always can).
    pub fn is_available(self) -> bool {
        self.kernels().is_some()
    }

    /// The kernels of this ISA, or `None` if this CPU or build lacks it.
    pub(crate) fn kernels(self) -> Option<&'static KernelTable> {
        match self {
            Isa::Auto => Isa::best().kernels(),
            Isa::Scalar => Some(&arch::portable::KERNELS),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx2 if matches!(Isa::best(), Isa::Avx2 | Isa::Avx512) => {
                Some(&arch::x86::avx2::KERNELS)
            }
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Isa::Avx512 if Isa::best() == Isa::Avx512 => Some(arch::x86::avx512::kernels()),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => Some(&arch::aarch64::KERNELS),
            _ => None,
        }
    }
}

/// Run-time detection: the fastest ISA of this CPU.
fn detect() -> Isa {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    return arch::x86::detect();
    #[cfg(target_arch = "aarch64")]
    return Isa::Neon;
    #[allow(unreachable_code)]
    Isa::Scalar
}

/// The ISA calls take; 0 until the first call decides it.
static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// The ISA that calls through the free functions and the C ABI take now: the
/// last one set with [`set_isa`], or else the best one available. Never `Auto`.
pub fn active_isa() -> Isa {
    match Isa::from_code(i32::from(ACTIVE.load(Relaxed))) {
        Some(isa) if isa != Isa::Auto => isa,
        _ => {
            // A concurrent set_isa wins over this first-use default.
            let _ = ACTIVE.compare_exchange(0, Isa::best() as u8, Relaxed, Relaxed);
            Isa::from_code(i32::from(ACTIVE.load(Relaxed))).unwrap_or(Isa::Scalar)
        }
    }
}

/// Makes every later call (process-wide, from any thread) take `isa`;
/// `Auto` picks the best available. Asking for an ISA this CPU or build lacks
/// returns [`Error::UnsupportedIsa`] and changes nothing.
///
/// ```
/// use qat_kernels::{active_isa, set_isa, Isa};
/// set_isa(Isa::Scalar).unwrap();
/// assert_eq!(active_isa(), Isa::Scalar);
/// set_isa(Isa::Auto).unwrap();
/// assert_eq!(active_isa(), Isa::best());
/// ```
pub fn set_isa(isa: Isa) -> Result<(), Error> {
    if !isa.is_available() {
        return Err(Error::UnsupportedIsa);
    }
    let chosen = if isa == Isa::Auto { Isa::best() } else { isa };
    ACTIVE.store(chosen as u8, Relaxed);
    Ok(())
}
