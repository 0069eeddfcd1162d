//! Single elements and the last few elements of a buffer, staged through
//! the stack so that no load or store touches memory past a buffer's end.

use crate::bf16_bits::widen;
use crate::vector::{Element, Memory};

/// Reads element `i` of a bf16 buffer, widened.
///
/// # Safety
/// `p` must be valid for reading `i + 1` elements.
#[inline(always)]
pub(super) unsafe fn read(p: *const u16, i: usize) -> f32 {
    // SAFETY: guaranteed by the caller.
    widen(unsafe { p.add(i).read() })
}

/// Loads `n` elements, fewer than one load's, into the first lanes (the
/// rest zero) through a stack copy.
///
/// # Safety
/// `src` must be valid for reading `n` elements.
#[inline(always)]
pub(super) unsafe fn load_tail<M: Memory, E: Element>(
    token: M::Token,
    src: *const E,
    n: usize,
) -> M {
    let mut staged = M::Staged::<E>::default();
    let staged = staged.as_mut();
    debug_assert!(n < staged.len());
    // SAFETY: `src` is valid for `n` reads and `staged` for one load's, more
    // than `n`; a local array cannot overlap the caller's buffer.
    unsafe {
        core::ptr::copy_nonoverlapping(src, staged.as_mut_ptr(), n);
        E::load(token, staged.as_ptr())
    }
}

/// Stores the first `n` lanes, fewer than one store's, through a stack copy.
///
/// # Safety
/// `dst` must be valid for writing `n` elements.
#[inline(always)]
pub(super) unsafe fn store_tail<M: Memory, E: Element>(lanes: M, dst: *mut E, n: usize) {
    let mut staged = M::Staged::<E>::default();
    let staged = staged.as_mut();
    debug_assert!(n < staged.len());
    // SAFETY: as in `load_tail`, with the roles of the buffers swapped.
    unsafe {
        E::store(lanes, staged.as_mut_ptr());
        core::ptr::copy_nonoverlapping(staged.as_ptr(), dst, n);
    }
}
