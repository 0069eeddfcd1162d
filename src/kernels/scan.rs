//! Whole-buffer scans that the export checks run before anything is
//! written: plain loops, which each build compiles for its ISA (the
//! compiler vectorizes them), so that a scan keeps up with memory. Generic
//! over the lanes only to be kernels like the others (`arch::Kernel`).

use crate::vector::{Pair, Vector};

/// The largest `bits & 0x7FFF` of bf16 values: below `0x7F80` exactly when
/// every value is finite.
#[inline(always)]
pub(crate) fn largest_magnitude<V: Vector, P: Pair<V>>(_: P::Token, values: &[u16]) -> u16 {
    values
        .iter()
        .fold(0, |largest, &bits| largest.max(bits & 0x7FFF))
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
