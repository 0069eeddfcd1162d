//! Single elements and the last few elements of a buffer, staged through
//! the stack so that no load or store touches memory past a buffer's end.

use crate::bf16_bits::widen;
use crate::vector::Memory;

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
pub(super) unsafe fn load_tail<M: Memory>(token: M::Token, src: *const u16, n: usize) -> M {
    let mut bits = M::Bits::default();
    let bits = bits.as_mut();
    debug_assert!(n < bits.len());
    // SAFETY: `src` is valid for `n` reads and `bits` for one load's, more
    // than `n`; a local array cannot overlap the caller's buffer.
    unsafe {
        core::ptr::copy_nonoverlapping(src, bits.as_mut_ptr(), n);
        M::load(token, bits.as_ptr())
    }
}

/// Stores the first `n` lanes, fewer than one store's, through a stack copy.
///
/// # Safety
/// `dst` must be valid for writing `n` elements.
#[inline(always)]
pub(super) unsafe fn store_tail<M: Memory>(lanes: M, dst: *mut u16, n: usize) {
    let mut bits = M::Bits::default();
    let bits = bits.as_mut();
    debug_assert!(n < bits.len());
    // SAFETY: as in `load_tail`, with the roles of the buffers swapped.
    unsafe {
        lanes.store(bits.as_mut_ptr());
        core::ptr::copy_nonoverlapping(bits.as_ptr(), dst, n);
    }
}
