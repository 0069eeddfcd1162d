//! Which kernels a call takes: the table of the active ISA, resolved on first
//! use and cached as one pointer, so a call costs one relaxed load.

use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering::Relaxed};

use crate::arch::{self, KernelTable};
use crate::Isa;

/// The active table; null until the first call or `set_isa` decides it.
/// Only ever holds pointers made from `&'static KernelTable`.
static ACTIVE: AtomicPtr<KernelTable> = AtomicPtr::new(null_mut());

/// The table calls take now.
#[inline]
pub(crate) fn active() -> &'static KernelTable {
    let table = ACTIVE.load(Relaxed);
    if table.is_null() {
        return first_use();
    }
    // SAFETY: a non-null ACTIVE came from a `&'static KernelTable` (`set`,
    // `first_use`), and the tables are never written.
    unsafe { &*table }
}

/// Resolves the best table, unless a concurrent `set` got there first.
#[cold]
fn first_use() -> &'static KernelTable {
    let best = best();
    match ACTIVE.compare_exchange(null_mut(), as_ptr(best), Relaxed, Relaxed) {
        Ok(_) => best,
        // SAFETY: as in `active`: a non-null ACTIVE is a static table.
        Err(set) => unsafe { &*set },
    }
}

/// Makes every later call take `table`.
pub(crate) fn set(table: &'static KernelTable) {
    ACTIVE.store(as_ptr(table), Relaxed);
}

/// The fastest table this CPU runs.
pub(crate) fn best() -> &'static KernelTable {
    arch::best()
}

/// The table of `isa` (`Auto`: the best), if this CPU and build run it.
pub(crate) fn table(isa: Isa) -> Option<&'static KernelTable> {
    match isa {
        Isa::Auto => Some(best()),
        isa => arch::table(isa),
    }
}

/// Every build of every path this CPU runs, named (see `arch::builds`).
#[cfg(feature = "test-hooks")]
pub(crate) fn builds() -> impl Iterator<Item = (&'static str, &'static KernelTable)> {
    arch::builds()
}

/// The atomic's form of a table (never written through).
fn as_ptr(table: &'static KernelTable) -> *mut KernelTable {
    (table as *const KernelTable).cast_mut()
}
