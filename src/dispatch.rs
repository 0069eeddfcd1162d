//! Which build calls take: one process-wide choice, made on first use or by
//! `set_isa`, that every entry point reads before it runs its own kernel
//! (`arch::Build::run`). Where the target has one build there is nothing to
//! choose: no state, no atomic, and every call goes straight to it.

use crate::arch::{self, Build};
use crate::Isa;

#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
mod choice {
    use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

    use crate::arch::Build;

    /// The active build's code; 0 until the first call or `set` decides it.
    static ACTIVE: AtomicU8 = AtomicU8::new(0);

    /// The build calls take now.
    #[inline]
    pub(crate) fn active() -> Build {
        match from_code(ACTIVE.load(Relaxed)) {
            Some(build) => build,
            None => first_use(),
        }
    }

    /// Resolves the best build, unless a concurrent `set` got there first.
    #[cold]
    fn first_use() -> Build {
        let best = super::best();
        match ACTIVE.compare_exchange(0, best as u8, Relaxed, Relaxed) {
            Ok(_) => best,
            Err(set) => from_code(set).unwrap_or(best),
        }
    }

    /// Makes every later call take `build`.
    pub(crate) fn set(build: Build) {
        ACTIVE.store(build as u8, Relaxed);
    }

    /// The build of a code `ACTIVE` holds (`None` for 0, undecided).
    #[inline(always)]
    fn from_code(code: u8) -> Option<Build> {
        Build::ALL
            .iter()
            .copied()
            .find(|&build| build as u8 == code)
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
mod choice {
    use crate::arch::Build;

    /// The one build.
    #[inline(always)]
    pub(crate) fn active() -> Build {
        Build::Scalar
    }

    /// The one build is the only one `set` is given.
    pub(crate) fn set(_: Build) {}
}

pub(crate) use choice::{active, set};

/// The fastest build this CPU runs.
pub(crate) fn best() -> Build {
    arch::best()
}

/// The build of `isa` (`Auto`: the best), if this CPU and build run it.
pub(crate) fn build(isa: Isa) -> Option<Build> {
    match isa {
        Isa::Auto => Some(best()),
        isa => arch::build(isa),
    }
}

/// Every build of every path this CPU runs, named (see `arch::builds`).
#[cfg(feature = "test-hooks")]
pub(crate) fn builds() -> impl Iterator<Item = (&'static str, Build)> {
    arch::builds()
}
