//! Whole-buffer scans that the export checks run before anything is
//! written (each quantizer's `Quantizer::codes_exist` and `codes_on_grid`,
//! calibration's finiteness): plain loops, which each backend compiles for its
//! ISA (the compiler vectorizes them), so that a scan keeps up with memory.
//! Generic over the lanes only to be kernels like the others
//! (`arch::Kernel`).

use core::slice;

use crate::arch::Backend;
use crate::vector::{Data, Pair, Vector};

/// `len` elements at `p` as a slice (`p` may be null or dangling when `len`
/// is 0).
///
/// # Safety
/// `p` is valid for reading `len` elements, which nothing writes meanwhile.
pub(crate) unsafe fn elements<'a, T>(p: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller's.
    unsafe { slice::from_raw_parts(p, len) }
}

/// Whether every value is finite: the largest magnitude's bits below
/// infinity's, scanned with `backend`'s ISA.
///
/// # Safety
/// The CPU runs `backend`'s ISA (its contract).
pub(crate) unsafe fn all_finite<T: Data>(backend: Backend, values: &[T]) -> bool {
    // SAFETY: the caller's.
    unsafe { backend.run::<super::LargestMagnitude<T>>(values) < T::INFINITY }
}

/// Whether no value is NaN: the largest magnitude's bits at most
/// infinity's, scanned with `backend`'s ISA.
///
/// # Safety
/// The CPU runs `backend`'s ISA (its contract).
pub(crate) unsafe fn no_nan<T: Data>(backend: Backend, values: &[T]) -> bool {
    // SAFETY: the caller's.
    unsafe { backend.run::<super::LargestMagnitude<T>>(values) <= T::INFINITY }
}

/// The largest [`Data::magnitude`] of values: below [`Data::INFINITY`]
/// exactly when every value is finite.
#[inline(always)]
pub(crate) fn largest_magnitude<V: Vector, P: Pair<V>, T: Data>(_: P::Token, values: &[T]) -> u32 {
    values
        .iter()
        .fold(0, |largest, &value| largest.max(value.magnitude()))
}

/// The largest code (0 for none).
#[inline(always)]
pub(crate) fn largest_code<V: Vector, P: Pair<V>>(_: P::Token, codes: &[u8]) -> u8 {
    codes.iter().fold(0, |largest, &code| largest.max(code))
}

/// The smallest and largest codes (`(i8::MAX, i8::MIN)` for none).
#[inline(always)]
pub(crate) fn code_range<V: Vector, P: Pair<V>>(_: P::Token, codes: &[i8]) -> (i8, i8) {
    codes.iter().fold((i8::MAX, i8::MIN), |(low, high), &code| {
        (low.min(code), high.max(code))
    })
}
