//! The kernels, written once against the lane traits of [`crate::vector`]:
//! the quantizers, the row loops that drive them, and the arguments each
//! kernel takes.
//!
//! - `reduction`: the order of every sum, which is part of the contract;
//! - `rows`: the forward and backward loops over one row or group;
//! - `tails`: loads and stores of the last few elements of a buffer;
//! - `asymmetric_per_group` and `symmetric`: the quantizers and their kernels;
//! - `scan`: the whole-buffer scans of the export checks;
//! - `batched_backward`: the asymmetric backward for small groups in
//!   batches, for backends with wide pairs (AVX-512).
//!
//! Everything here works on raw pointers because the C ABI lets an output be
//! the very buffer of an input (in-place calls), which references cannot
//! express. The validation in `call` establishes, before any kernel runs, the
//! contract every `unsafe fn` here states: each pointer is valid for its
//! length, and two buffers that overlap are one and the same buffer, with the
//! same length. Every loop reads an element's inputs before it writes that
//! element's outputs and never returns to an element, so such aliasing is safe.

pub(crate) mod asymmetric_per_group;
mod batched_backward;
pub(crate) mod calibrate;
pub(crate) mod reduction;
pub(crate) mod rows;
pub(crate) mod scan;
pub(crate) mod symmetric;
mod tails;

use crate::bf16_bits::{finite, narrow, widen};
use crate::params::{AsymmetricConstants, Symmetric};
use crate::vector::Lanewise;
use calibrate::CalibrateArgs;

// Every kernel, as the unit a call picks a build for (`arch::Build::run`).
crate::arch::kernels! {
    AsymmetricForward: asymmetric_per_group::forward(AsymmetricPerGroupArgs) -> ();
    AsymmetricBackward: asymmetric_per_group::backward(AsymmetricPerGroupBackwardArgs) -> ();
    /// Requires `block_sums` set.
    AsymmetricBackwardBlocks: asymmetric_per_group::backward_blocks(AsymmetricPerGroupBackwardArgs) -> ();
    /// Also requires that every weight has a code (checked by `call`).
    AsymmetricQuantize: asymmetric_per_group::quantize(AsymmetricPerGroupArgs<u16, u8>) -> ();
    /// Also requires every code in `0..2^bit`.
    AsymmetricDequantize: asymmetric_per_group::dequantize(AsymmetricPerGroupArgs<u8, u16>) -> ();
    SymmetricForward: symmetric::forward(SymmetricArgs) -> ();
    SymmetricBackward: symmetric::backward(SymmetricBackwardArgs) -> ();
    /// Requires `block_sums` set.
    SymmetricBackwardBlocks: symmetric::backward_blocks(SymmetricBackwardArgs) -> ();
    /// Also requires that every weight has a code.
    SymmetricQuantize: symmetric::quantize(SymmetricArgs<u16, i8>) -> ();
    /// Also requires every code in `[min_v, max_v]`.
    SymmetricDequantize: symmetric::dequantize(SymmetricArgs<i8, u16>) -> ();
    /// Also requires every weight finite.
    AsymmetricCalibrate: calibrate::asymmetric(CalibrateArgs<AsymmetricConstants>) -> ();
    /// Also requires every weight finite.
    SymmetricCalibrate: calibrate::symmetric(CalibrateArgs<Symmetric>) -> ();
    /// The largest `bits & 0x7FFF` of bf16 values.
    LargestMagnitude: scan::largest_magnitude([u16]) -> u16;
    /// The largest code.
    LargestCode: scan::largest_code([u8]) -> u8;
    /// The smallest and largest signed codes.
    CodeRange: scan::code_range([i8]) -> (i8, i8);
}

/// Arguments of the asymmetric per-group elementwise kernels: forward (bf16
/// weights to bf16, the defaults), quantize (bf16 weights to `u8` codes),
/// dequantize (`u8` codes to bf16).
pub(crate) struct AsymmetricPerGroupArgs<In = u16, Out = u16> {
    pub input: *const In,
    pub scale: *const u16,
    pub offset: *const u16,
    pub output: *mut Out,
    pub groups: usize,
    pub group_size: usize,
    pub quant: AsymmetricConstants,
}

/// Arguments of the asymmetric per-group backward kernel.
pub(crate) struct AsymmetricPerGroupBackwardArgs {
    pub grad_output: *const u16,
    pub weight: *const u16,
    pub scale: *const u16,
    pub offset: *const u16,
    pub grad_weight: *mut u16,
    pub grad_scale: *mut u16,
    pub grad_offset: *mut u16,
    /// Instead of `grad_scale` and `grad_offset` (then unused): each group's
    /// two sums as block values, `2 * block_count(group_size)` per group.
    pub block_sums: Option<*mut f64>,
    pub groups: usize,
    pub group_size: usize,
    pub quant: AsymmetricConstants,
}

/// Arguments of the symmetric elementwise kernels, one scale per row (per
/// tensor is one row): forward (bf16 to bf16, the defaults), quantize (bf16
/// to `i8` codes), dequantize (`i8` codes to bf16).
pub(crate) struct SymmetricArgs<In = u16, Out = u16> {
    pub input: *const In,
    pub scale: *const u16,
    pub output: *mut Out,
    pub rows: usize,
    pub cols: usize,
    pub quant: Symmetric,
}

/// Arguments of the symmetric backward kernel.
pub(crate) struct SymmetricBackwardArgs {
    pub grad_output: *const u16,
    pub weight: *const u16,
    pub scale: *const u16,
    pub grad_weight: *mut u16,
    pub grad_scale: *mut u16,
    /// Instead of `grad_scale` (then unused): each row's two sums as block
    /// values, `2 * block_count(cols)` per row.
    pub block_sums: Option<*mut f64>,
    pub rows: usize,
    pub cols: usize,
    pub quant: Symmetric,
}

/// Whether `quantizer`'s forward pass writes a finite bf16 value for every
/// weight: the export kernels' condition. Where no weight is NaN
/// (`no_nan`), a finite bf16 `bound` on every value's magnitude settles it;
/// otherwise each weight's value is computed as the forward kernel does.
pub(crate) fn values_finite(
    quantizer: &impl Lanewise,
    bound: f32,
    weights: &[u16],
    no_nan: bool,
) -> bool {
    if no_nan && finite(narrow(bound)) {
        return true;
    }
    weights
        .iter()
        .all(|&x| finite(narrow(quantizer.forward(widen(x)))))
}

/// `ps = max(s, eps)`, NaN-propagating (`s < eps ? eps : s`).
#[inline(always)]
pub(crate) fn protect(scale: f32, eps: f32) -> f32 {
    if scale < eps {
        eps
    } else {
        scale
    }
}

/// The LSQ gradient gate: 1 where the scale is above `eps`, else 0 (and 0 for NaN).
#[inline(always)]
fn gate(scale: f32, eps: f32) -> f32 {
    if scale > eps {
        1.0
    } else {
        0.0
    }
}
