//! The kernels, written once against the lane traits of [`crate::vector`]:
//! the quantizers, the row loops that drive them, and the arguments each
//! kernel takes.
//!
//! - `reduction`: the order of every sum, which is part of the contract;
//! - `rows`: the forward and backward loops over one row or group;
//! - `tails`: loads and stores of the last few elements of a buffer;
//! - `asymmetric_per_group` and `symmetric`: the quantizers, their kernels
//!   and their [`Quantizer`] implementations;
//! - `calibrate`: each quantizer's calibration;
//! - `per_token`: dynamic per-token fake quantization of activations;
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
//!
//! A quantizer's math is here: its module (its kernels and its
//! `Quantizer` implementation), its kernels in the list below, its
//! calibration in `calibrate`. Its interface (parameters, operations on
//! slices, C entry points) is its folder of `crate::quantizers`.

pub(crate) mod asymmetric_per_group;
mod batched_backward;
pub(crate) mod calibrate;
pub(crate) mod per_token;
pub(crate) mod reduction;
pub(crate) mod rows;
pub(crate) mod scan;
pub(crate) mod symmetric;
mod tails;

use crate::arch::{Backend, Kernel};
use crate::vector::{Data, Lanewise};
use crate::Error;
use asymmetric_per_group::AsymmetricConstants;
use calibrate::CalibrateArgs;
use per_token::TokenConstants;
use symmetric::SymmetricConstants;

// Every kernel, as the unit a call picks a backend for (`arch::Backend::run`);
// what each requires beyond valid buffers is in [`Quantizer`].
crate::arch::kernels! {
    AsymmetricForward<T>: asymmetric_per_group::forward[R](MapArgs<AsymmetricConstants, T, T>) -> ();
    AsymmetricBackward<T, G>: batched_backward::backward[R](BackwardArgs<AsymmetricConstants, T, G>) -> ();
    AsymmetricBackwardBlocks<T>: asymmetric_per_group::backward_blocks[R](BackwardArgs<AsymmetricConstants, T, T>) -> ();
    AsymmetricQuantize<T>: asymmetric_per_group::quantize[R](MapArgs<AsymmetricConstants, T, u8>) -> ();
    AsymmetricDequantize<T>: asymmetric_per_group::dequantize(MapArgs<AsymmetricConstants, u8, T>) -> ();
    SymmetricForward<T>: symmetric::forward[R](MapArgs<SymmetricConstants, T, T>) -> ();
    SymmetricBackward<T, G>: symmetric::backward[R](BackwardArgs<SymmetricConstants, T, G>) -> ();
    SymmetricBackwardBlocks<T>: symmetric::backward_blocks[R](BackwardArgs<SymmetricConstants, T, T>) -> ();
    SymmetricQuantize<T>: symmetric::quantize[R](MapArgs<SymmetricConstants, T, i8>) -> ();
    SymmetricDequantize<T>: symmetric::dequantize(MapArgs<SymmetricConstants, i8, T>) -> ();
    AsymmetricCalibrate<T>: calibrate::asymmetric(CalibrateArgs<AsymmetricConstants, T>) -> ();
    SymmetricCalibrate<T>: calibrate::symmetric(CalibrateArgs<SymmetricConstants, T>) -> ();
    PerTokenForward<T>: per_token::forward[R](PerTokenArgs<T>) -> ();
    PerTokenBackward<T>: per_token::backward[R](PerTokenBackwardArgs<T>) -> ();
    /// The largest magnitude's bits ([`Data::magnitude`]) of values.
    LargestMagnitude<T>: scan::largest_magnitude([T]) -> u32;
    /// The largest code.
    LargestCode: scan::largest_code([u8]) -> u8;
    /// The smallest and largest signed codes.
    CodeRange: scan::code_range([i8]) -> (i8, i8);
}

/// Arguments of a quantizer's elementwise kernels on `units` units (groups
/// or rows; per tensor, one row) of `len` elements, `Q` its constants:
/// forward (data to data, bf16 by default), quantize (data to codes),
/// dequantize (codes to data).
pub(crate) struct MapArgs<Q, In = u16, Out = u16> {
    pub input: *const In,
    pub scale: *const u16,
    /// One per unit where the quantizer has offsets, else null and unused.
    pub offset: *const u16,
    pub output: *mut Out,
    pub units: usize,
    pub len: usize,
    pub quant: Q,
}

/// Arguments of a quantizer's backward kernels: data `T` (the output
/// gradient, the weights, their gradient), the scale and offset gradients
/// `G`.
pub(crate) struct BackwardArgs<Q, T = u16, G = u16> {
    pub grad_output: *const T,
    pub weight: *const T,
    pub scale: *const u16,
    /// As in [`MapArgs`].
    pub offset: *const u16,
    pub grad_weight: *mut T,
    pub grad_scale: *mut G,
    /// Where the quantizer has offsets, else null and unused.
    pub grad_offset: *mut G,
    /// Instead of `grad_scale` and `grad_offset` (then unused): each unit's
    /// two sums as block values, `2 * block_count(len)` per unit.
    pub block_sums: Option<*mut f64>,
    pub units: usize,
    pub len: usize,
    pub quant: Q,
}

/// Arguments of the per-token forward kernels: `units` rows of `len`
/// activations `T`, and each row's scale and zero point written.
pub(crate) struct PerTokenArgs<T = u16> {
    pub input: *const T,
    pub output: *mut T,
    pub scale: *mut f32,
    pub zero_point: *mut i32,
    pub units: usize,
    pub len: usize,
    pub quant: TokenConstants,
    /// The symmetric mapping, else the asymmetric one.
    pub symmetric: bool,
}

/// Arguments of the per-token backward kernel: the scales and zero points
/// the forward pass wrote.
pub(crate) struct PerTokenBackwardArgs<T = u16> {
    pub grad_output: *const T,
    pub input: *const T,
    pub scale: *const f32,
    pub zero_point: *const i32,
    pub grad_input: *mut T,
    pub units: usize,
    pub len: usize,
    pub quant: TokenConstants,
}

/// A quantizer as a call sees it, with `Self` its validated constants:
/// whether it has offsets, its kernels, the checks its export and import
/// make, and the finish of one unit's sums. Each quantizer's module
/// implements it; the interface layers (`call`, `quantizers`) are written
/// once over it.
pub(crate) trait Quantizer: Copy {
    /// Its codes: `u8` (offset grids) or `i8` (symmetric grids).
    type Code: Copy;
    /// Whether each unit has an offset beside its scale.
    const OFFSETS: bool;
    /// The forward pass on data `T`.
    type Forward<T: Data>: Kernel<Args = MapArgs<Self, T, T>, Output = ()>;
    /// Export to codes; requires [`Quantizer::codes_exist`].
    type Quantize<T: Data>: Kernel<Args = MapArgs<Self, T, Self::Code>, Output = ()>;
    /// The values of codes; requires [`Quantizer::codes_on_grid`].
    type Dequantize<T: Data>: Kernel<Args = MapArgs<Self, Self::Code, T>, Output = ()>;
    /// The backward pass, finished into gradients `G`.
    type Backward<T: Data, G: Data>: Kernel<Args = BackwardArgs<Self, T, G>, Output = ()>;
    /// The backward pass into block values (`block_sums` set).
    type BackwardBlocks<T: Data>: Kernel<Args = BackwardArgs<Self, T, T>, Output = ()>;
    /// Calibration; requires every weight finite.
    type Calibrate<T: Data>: Kernel<Args = CalibrateArgs<Self, T>, Output = ()>;

    /// `NonFinite` unless every weight's forward value is finite (then it
    /// has a code).
    ///
    /// # Safety
    /// The buffers are valid for their lengths, and the CPU runs `backend`'s
    /// ISA.
    unsafe fn codes_exist<T: Data>(
        backend: Backend,
        args: &MapArgs<Self, T, Self::Code>,
    ) -> Result<(), Error>;

    /// `Code` unless every code is on the grid.
    ///
    /// # Safety
    /// As [`Quantizer::codes_exist`].
    unsafe fn codes_on_grid<T: Data>(
        backend: Backend,
        args: &MapArgs<Self, Self::Code, T>,
    ) -> Result<(), Error>;

    /// One unit's scale gradient and offset gradient (`0` without offsets)
    /// in f32, before they are stored, from its scale and its two sums
    /// rounded to f32.
    fn finish(&self, scale: f32, sums: [f32; 2]) -> [f32; 2];
}

/// Whether `quantizer`'s forward pass writes a finite value of `T` for
/// every weight: the export kernels' condition. Where no weight is NaN
/// (`no_nan`), a `bound` on every value's magnitude that is finite as a `T`
/// settles it; otherwise each weight's value is computed as the forward
/// kernel does.
pub(crate) fn values_finite<T: Data>(
    quantizer: &impl Lanewise,
    bound: f32,
    weights: &[T],
    no_nan: bool,
) -> bool {
    let finite = |x: f32| T::narrow(x).magnitude() < T::INFINITY;
    if no_nan && finite(bound) {
        return true;
    }
    weights
        .iter()
        .all(|&x| finite(quantizer.forward(x.widen())))
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
