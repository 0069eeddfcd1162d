//! The floating-point environment every call runs in: round to nearest
//! even, no flushing of subnormal inputs or outputs, every exception masked.
//!
//! A caller may have left another one (a program built with `-ffast-math`
//! sets FTZ and DAZ at start-up, a library may change the rounding mode), and
//! the kernels' bits depend on it. So each call saves the caller's control
//! and status registers, sets the default, runs, and writes the caller's
//! registers back, sticky exception flags included: the result is the same
//! whatever the caller left, and the kernels leave no trace in it.
//!
//! - x86 and x86-64: MXCSR (`0x1F80`: every exception masked, round to
//!   nearest, FTZ and DAZ clear, no flags);
//! - aarch64: FPCR set to 0 (round to nearest; FZ, FZ16, AH, DN and the
//!   trap enables clear), and FPSR's flags restored;
//! - 32-bit Arm with a hardware FPU: FPSCR set to 0 (round to nearest; FZ, DN
//!   and the trap enables clear).
//!
//! Elsewhere the environment is left as it is.

/// Runs `f` in the default environment, restoring the caller's afterwards.
#[inline(always)]
pub(crate) fn with_default<R>(f: impl FnOnce() -> R) -> R {
    let saved = imp::Saved::enter();
    let result = opaque(f);
    saved.restore();
    result
}

/// Calls `f` out of line, so that none of its floating-point work can be
/// moved across the register writes around it (the compiler does not know
/// that those writes change what arithmetic does).
#[inline(never)]
fn opaque<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod imp {
    use core::arch::asm;

    /// Every exception masked (bits 7 to 12), round to nearest (bits 13 and
    /// 14 clear), FTZ (bit 15) and DAZ (bit 6) clear, no flags (bits 0 to 5).
    const DEFAULT: u32 = 0x1F80;

    /// The caller's MXCSR.
    pub(super) struct Saved(u32);

    impl Saved {
        #[inline(always)]
        pub(super) fn enter() -> Saved {
            let mut caller = 0u32;
            // SAFETY: STMXCSR stores four bytes to a local; SSE is part of
            // every x86-64 CPU and of the x86 targets Rust builds for SSE.
            unsafe {
                asm!("stmxcsr [{}]", in(reg) &mut caller, options(nostack, preserves_flags));
            }
            if caller != DEFAULT {
                // SAFETY: loads a valid MXCSR (no reserved bit set).
                unsafe {
                    asm!("ldmxcsr [{}]", in(reg) &DEFAULT, options(nostack, preserves_flags, readonly));
                }
            }
            Saved(caller)
        }

        /// Writes the caller's MXCSR back, even if it was the default: the
        /// call may have raised flags the caller had clear.
        #[inline(always)]
        pub(super) fn restore(self) {
            // SAFETY: loads the value STMXCSR read, which is valid.
            unsafe {
                asm!("ldmxcsr [{}]", in(reg) &self.0, options(nostack, preserves_flags, readonly));
            }
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod imp {
    use core::arch::asm;

    /// The caller's FPCR (control) and FPSR (flags).
    pub(super) struct Saved {
        control: u64,
        status: u64,
    }

    impl Saved {
        #[inline(always)]
        pub(super) fn enter() -> Saved {
            let (control, status): (u64, u64);
            // SAFETY: reading FPCR and FPSR has no side effect.
            unsafe {
                asm!("mrs {}, fpcr", "mrs {}, fpsr", out(reg) control, out(reg) status,
                     options(nomem, nostack, preserves_flags));
            }
            if control != 0 {
                // SAFETY: FPCR 0 is the default: round to nearest, nothing
                // flushed, no traps.
                unsafe { asm!("msr fpcr, xzr", options(nostack, preserves_flags)) };
            }
            Saved { control, status }
        }

        #[inline(always)]
        pub(super) fn restore(self) {
            // SAFETY: writes back the values read in `enter`.
            unsafe {
                asm!("msr fpcr, {}", "msr fpsr, {}", in(reg) self.control, in(reg) self.status,
                     options(nostack, preserves_flags));
            }
        }
    }
}

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
mod imp {
    use core::arch::asm;

    /// The caller's FPSCR (control and flags).
    pub(super) struct Saved(u32);

    impl Saved {
        #[inline(always)]
        pub(super) fn enter() -> Saved {
            let caller: u32;
            // SAFETY: reading FPSCR has no side effect; the hard-float ABI
            // guarantees an FPU.
            unsafe { asm!("vmrs {}, fpscr", out(reg) caller, options(nomem, nostack)) };
            if caller != 0 {
                // SAFETY: FPSCR 0 is the default: round to nearest, nothing
                // flushed, default NaN off, no traps.
                unsafe { asm!("vmsr fpscr, {}", in(reg) 0u32, options(nostack)) };
            }
            Saved(caller)
        }

        #[inline(always)]
        pub(super) fn restore(self) {
            // SAFETY: writes back the value read in `enter`.
            unsafe { asm!("vmsr fpscr, {}", in(reg) self.0, options(nostack)) };
        }
    }
}

#[cfg(not(any(
    target_arch = "x86",
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "arm", target_abi = "eabihf")
)))]
mod imp {
    /// Nothing saved: this target's environment is left as it is.
    pub(super) struct Saved;

    impl Saved {
        #[inline(always)]
        pub(super) fn enter() -> Saved {
            Saved
        }

        #[inline(always)]
        pub(super) fn restore(self) {}
    }
}
