//! Which backend calls take: one process-wide choice, made on first use or by
//! `set_isa`, that every entry point reads before it runs its own kernel
//! (`arch::Backend::run`). Where the target has one backend there is nothing to
//! choose: no state, no atomic, and every call goes straight to it.

use crate::arch::{self, Backend};
use crate::Isa;

#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
mod choice {
    use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

    use crate::arch::Backend;

    /// The active backend's code; 0 until the first call or `set` decides it.
    static ACTIVE: AtomicU8 = AtomicU8::new(0);

    /// The backend calls take now.
    #[inline]
    pub(crate) fn active() -> Backend {
        match from_code(ACTIVE.load(Relaxed)) {
            Some(backend) => backend,
            None => first_use(),
        }
    }

    /// Resolves the best backend, unless a concurrent `set` got there first.
    #[cold]
    fn first_use() -> Backend {
        let best = super::best();
        match ACTIVE.compare_exchange(0, best as u8, Relaxed, Relaxed) {
            Ok(_) => best,
            Err(set) => from_code(set).unwrap_or(best),
        }
    }

    /// Makes every later call take `backend`.
    pub(crate) fn set(backend: Backend) {
        ACTIVE.store(backend as u8, Relaxed);
    }

    /// The backend of a code `ACTIVE` holds (`None` for 0, undecided).
    #[inline(always)]
    fn from_code(code: u8) -> Option<Backend> {
        Backend::ALL
            .iter()
            .copied()
            .find(|&backend| backend as u8 == code)
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
mod choice {
    use crate::arch::Backend;

    /// The one backend.
    #[inline(always)]
    pub(crate) fn active() -> Backend {
        Backend::Scalar
    }

    /// The one backend is the only one `set` is given.
    pub(crate) fn set(_: Backend) {}
}

pub(crate) use choice::{active, set};

/// The fastest backend this CPU runs.
pub(crate) fn best() -> Backend {
    arch::best()
}

/// The backend of `isa` (`Auto`: the best), if this CPU and backend run it.
pub(crate) fn for_isa(isa: Isa) -> Option<Backend> {
    match isa {
        Isa::Auto => Some(best()),
        isa => arch::for_isa(isa),
    }
}

/// Every backend this CPU runs, named (see `arch::all`).
#[cfg(feature = "test-hooks")]
pub(crate) fn all() -> impl Iterator<Item = (&'static str, Backend)> {
    arch::all()
}
