//! The one path every call takes from a boundary to a kernel: the shape,
//! the boundary's pointer checks, the parameters, the boundary's overlap
//! checks, then the kernel, in that order (the order in which errors are
//! reported), all in the default floating-point environment (`fpenv`). The
//! safe API (`api`) enters it with slices, which need no pointer or overlap
//! checks; the C ABI (`ffi`) with raw pointers, which do.

use crate::arch::{Build, Kernel};
use crate::bf16_bits::widen;
use crate::codes::{self, Packable};
use crate::fpenv;
use crate::kernels::calibrate::{CalibrateArgs, Calibration};
use crate::kernels::reduction::block_count;
use crate::kernels::rows::{BlockSums, Totals};
use crate::kernels::{self, asymmetric_per_group, symmetric};
use crate::kernels::{
    AsymmetricPerGroupArgs, AsymmetricPerGroupBackwardArgs, SymmetricArgs, SymmetricBackwardArgs,
};
use crate::params::{matrix_numel, AsymmetricConstants, AsymmetricPerGroup, Symmetric};
use crate::Error;

/// A buffer as the checks see it: address, element count and size,
/// direction.
#[derive(Clone, Copy)]
pub(crate) struct Buffer {
    pub start: usize,
    pub len: usize,
    /// Bytes per element: 2 for bf16, 1 for codes (also the alignment).
    pub size: usize,
    pub output: bool,
}

impl Buffer {
    /// The buffer's size in bytes, if it fits in the largest object Rust
    /// and C allow (`isize::MAX`, `PTRDIFF_MAX`, bytes). The one place a
    /// buffer's extent is computed: every count, however it was formed,
    /// passes through this checked product before any pointer is looked at.
    pub fn bytes(self) -> Option<usize> {
        self.len
            .checked_mul(self.size)
            .filter(|&bytes| bytes <= isize::MAX as usize)
    }
}

fn input<T>(p: *const T, len: usize) -> Buffer {
    Buffer {
        start: p as usize,
        len,
        size: size_of::<T>(),
        output: false,
    }
}

fn output<T>(p: *mut T, len: usize) -> Buffer {
    Buffer {
        start: p as usize,
        len,
        size: size_of::<T>(),
        output: true,
    }
}

/// Which of a quantizer's elementwise kernels a call runs: [`Forward`],
/// [`Quantize`] or [`Dequantize`], with what each checks beyond the rest.
pub(crate) trait Map {
    /// What the asymmetric kernel reads: bf16 weights, or `u8` codes.
    type In;
    /// What it writes: bf16 values, or `u8` codes.
    type Out;
    /// What the symmetric kernel reads: bf16 weights, or `i8` codes.
    type SymmetricIn;
    /// What it writes: bf16 values, or `i8` codes.
    type SymmetricOut;
    /// The asymmetric per-group kernel.
    type Asymmetric: Kernel<Args = AsymmetricPerGroupArgs<Self::In, Self::Out>, Output = ()>;
    /// The symmetric kernel.
    type Symmetric: Kernel<Args = SymmetricArgs<Self::SymmetricIn, Self::SymmetricOut>, Output = ()>;
    /// The parameters' validation.
    fn validate_asymmetric(params: &AsymmetricPerGroup) -> Result<AsymmetricConstants, Error>;
    /// The parameters' validation.
    fn validate_symmetric(params: &Symmetric) -> Result<Symmetric, Error>;
    /// The last check, of the buffers' contents, before anything is
    /// written; its scans run on `build`'s ISA.
    ///
    /// # Safety
    /// The buffers are valid for their lengths, and the CPU runs `build`'s
    /// ISA.
    unsafe fn check_asymmetric(
        _build: Build,
        _args: &AsymmetricPerGroupArgs<Self::In, Self::Out>,
    ) -> Result<(), Error> {
        Ok(())
    }
    /// As [`Map::check_asymmetric`].
    ///
    /// # Safety
    /// As [`Map::check_asymmetric`].
    unsafe fn check_symmetric(
        _build: Build,
        _args: &SymmetricArgs<Self::SymmetricIn, Self::SymmetricOut>,
    ) -> Result<(), Error> {
        Ok(())
    }
}

/// The forward pass: bf16 weights to fake-quantized bf16.
pub(crate) enum Forward {}

impl Map for Forward {
    type In = u16;
    type Out = u16;
    type SymmetricIn = u16;
    type SymmetricOut = u16;
    type Asymmetric = kernels::AsymmetricForward;
    type Symmetric = kernels::SymmetricForward;
    fn validate_asymmetric(params: &AsymmetricPerGroup) -> Result<AsymmetricConstants, Error> {
        params.validate()
    }
    fn validate_symmetric(params: &Symmetric) -> Result<Symmetric, Error> {
        params.validate()
    }
}

/// Export: bf16 weights to integer codes, refused where a weight has none.
pub(crate) enum Quantize {}

impl Map for Quantize {
    type In = u16;
    type Out = u8;
    type SymmetricIn = u16;
    type SymmetricOut = i8;
    type Asymmetric = kernels::AsymmetricQuantize;
    type Symmetric = kernels::SymmetricQuantize;
    fn validate_asymmetric(params: &AsymmetricPerGroup) -> Result<AsymmetricConstants, Error> {
        params.validate_for_codes()
    }
    fn validate_symmetric(params: &Symmetric) -> Result<Symmetric, Error> {
        params.validate_for_codes()
    }
    unsafe fn check_asymmetric(
        build: Build,
        args: &AsymmetricPerGroupArgs<u16, u8>,
    ) -> Result<(), Error> {
        // SAFETY: the caller's.
        unsafe { codes::asymmetric_codes_exist(build, args) }
    }
    unsafe fn check_symmetric(build: Build, args: &SymmetricArgs<u16, i8>) -> Result<(), Error> {
        // SAFETY: the caller's.
        unsafe { codes::symmetric_codes_exist(build, args) }
    }
}

/// Codes back to bf16, refused where a code is off the grid.
pub(crate) enum Dequantize {}

impl Map for Dequantize {
    type In = u8;
    type Out = u16;
    type SymmetricIn = i8;
    type SymmetricOut = u16;
    type Asymmetric = kernels::AsymmetricDequantize;
    type Symmetric = kernels::SymmetricDequantize;
    fn validate_asymmetric(params: &AsymmetricPerGroup) -> Result<AsymmetricConstants, Error> {
        params.validate_for_codes()
    }
    fn validate_symmetric(params: &Symmetric) -> Result<Symmetric, Error> {
        params.validate_for_codes()
    }
    unsafe fn check_asymmetric(
        build: Build,
        args: &AsymmetricPerGroupArgs<u8, u16>,
    ) -> Result<(), Error> {
        // SAFETY: the caller's.
        unsafe { codes::asymmetric_codes_on_grid(build, args) }
    }
    unsafe fn check_symmetric(build: Build, args: &SymmetricArgs<i8, u16>) -> Result<(), Error> {
        // SAFETY: the caller's.
        unsafe { codes::symmetric_codes_on_grid(build, args) }
    }
}

/// Where a call comes from, and so which checks its buffers need.
pub(crate) trait Boundary {
    /// Runs `validate` (the parameters) between the boundary's checks of
    /// `buffers`: pointers before, overlaps after.
    fn check<Q, const N: usize>(
        buffers: impl FnOnce() -> [Buffer; N],
        validate: impl FnOnce() -> Result<Q, Error>,
    ) -> Result<Q, Error>;
}

/// Buffers from slices: non-null, aligned, in bounds, and overlapping only
/// where an in-place form passes one slice as input and output.
pub(crate) enum Slices {}

impl Boundary for Slices {
    #[inline(always)]
    fn check<Q, const N: usize>(
        _: impl FnOnce() -> [Buffer; N],
        validate: impl FnOnce() -> Result<Q, Error>,
    ) -> Result<Q, Error> {
        validate()
    }
}

/// Validates and runs an asymmetric per-group elementwise kernel (`M`).
///
/// # Safety
/// Each pointer that passes `B`'s checks must be valid for its count of
/// elements: `numel` for `input` and `output`, `numel / group_size` for
/// `scale` and `offset`; with [`Slices`], they also satisfy what its checks
/// skip.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn asymmetric_per_group<B: Boundary, M: Map>(
    build: Build,
    input_: *const M::In,
    scale: *const u16,
    offset: *const u16,
    output_: *mut M::Out,
    numel: usize,
    params: &AsymmetricPerGroup,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let groups = params.groups(numel)?;
        let quant = B::check(
            || {
                [
                    input(input_, numel),
                    input(scale, groups),
                    input(offset, groups),
                    output(output_, numel),
                ]
            },
            || M::validate_asymmetric(params),
        )?;
        let args = AsymmetricPerGroupArgs {
            input: input_,
            scale,
            offset,
            output: output_,
            groups,
            group_size: params.group_size,
            quant,
        };
        // SAFETY: pointers valid (caller) and overlapping only as exact aliases
        // (checked, or slices); the build's ISA runs here (its contract), and
        // the contents' check it needs comes first.
        unsafe {
            M::check_asymmetric(build, &args)?;
            build.run::<M::Asymmetric>(&args)
        };
        Ok(())
    })
}

/// The block values of `units` units of `len` elements, `2 *
/// block_count(len)` each; `usize::MAX` where that overflows, which no
/// buffer's extent admits ([`Buffer::bytes`]).
fn block_values(units: usize, len: usize) -> usize {
    units.saturating_mul(2 * block_count(len))
}

/// Where a backward call puts its sums: finished into bf16 gradients
/// ([`Gradients`]), or left as f64 block values for shards to combine
/// ([`Blocks`], `2 * block_count(len)` per group or row, `len` its length).
/// The choice is a type, and picks the kernel: an entry point links only
/// the one it runs.
pub(crate) trait BackwardSums: Copy {
    /// The asymmetric per-group backward kernel that fills these sums.
    type Asymmetric: Kernel<Args = AsymmetricPerGroupBackwardArgs, Output = ()>;
    /// The symmetric backward kernel that fills these sums.
    type Symmetric: Kernel<Args = SymmetricBackwardArgs, Output = ()>;
    /// The buffers as the checks see them, for `units` units of `len`
    /// elements (the offsets' only if `offsets`). Made inside the checks, so
    /// that they take no room in the frame the kernel runs under.
    fn buffers(self, units: usize, len: usize, offsets: bool) -> [Buffer; 2];
    /// The block values' buffer, for the kernel.
    fn block_sums(self) -> Option<*mut f64>;
    /// The gradients' buffers (null for block values).
    fn gradients(self) -> (*mut u16, *mut u16);
}

/// The scale gradients, and per group the offset gradients (null and
/// unused for the symmetric quantizers): one per unit.
#[derive(Clone, Copy)]
pub(crate) struct Gradients(pub *mut u16, pub *mut u16);

impl BackwardSums for Gradients {
    type Asymmetric = kernels::AsymmetricBackward;
    type Symmetric = kernels::SymmetricBackward;
    fn buffers(self, units: usize, _: usize, offsets: bool) -> [Buffer; 2] {
        let offset = if offsets {
            output(self.1, units)
        } else {
            output(self.1, 0)
        };
        [output(self.0, units), offset]
    }
    fn block_sums(self) -> Option<*mut f64> {
        None
    }
    fn gradients(self) -> (*mut u16, *mut u16) {
        (self.0, self.1)
    }
}

/// The block values, `2 * block_count(len)` per unit (a count that
/// overflows saturates, and fails [`Buffer::bytes`]).
#[derive(Clone, Copy)]
pub(crate) struct Blocks(pub *mut f64);

impl BackwardSums for Blocks {
    type Asymmetric = kernels::AsymmetricBackwardBlocks;
    type Symmetric = kernels::SymmetricBackwardBlocks;
    fn buffers(self, units: usize, len: usize, _: bool) -> [Buffer; 2] {
        [
            output(self.0, block_values(units, len)),
            output(core::ptr::null_mut::<u16>(), 0),
        ]
    }
    fn block_sums(self) -> Option<*mut f64> {
        Some(self.0)
    }
    fn gradients(self) -> (*mut u16, *mut u16) {
        (core::ptr::null_mut(), core::ptr::null_mut())
    }
}

/// Validates and runs the asymmetric per-group backward kernel.
///
/// # Safety
/// As [`asymmetric_per_group`]; the weight gradient has the weights'
/// length, and `sums` the lengths [`BackwardSums`] gives.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn asymmetric_per_group_backward<B: Boundary, S: BackwardSums>(
    build: Build,
    grad_output: *const u16,
    weight: *const u16,
    scale: *const u16,
    offset: *const u16,
    grad_weight: *mut u16,
    sums: S,
    numel: usize,
    params: &AsymmetricPerGroup,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let groups = params.groups(numel)?;
        let quant = B::check(
            || {
                let [sums_a, sums_b] = sums.buffers(groups, params.group_size, true);
                [
                    input(grad_output, numel),
                    input(weight, numel),
                    input(scale, groups),
                    input(offset, groups),
                    output(grad_weight, numel),
                    sums_a,
                    sums_b,
                ]
            },
            || params.validate(),
        )?;
        let (grad_scale, grad_offset) = sums.gradients();
        let args = AsymmetricPerGroupBackwardArgs {
            grad_output,
            weight,
            scale,
            offset,
            grad_weight,
            grad_scale,
            grad_offset,
            block_sums: sums.block_sums(),
            groups,
            group_size: params.group_size,
            quant,
        };
        // SAFETY: as in `asymmetric_per_group`.
        unsafe { build.run::<S::Asymmetric>(&args) };
        Ok(())
    })
}

/// Validates and runs a symmetric elementwise kernel (`M`), one scale per
/// row (per tensor: one row).
///
/// # Safety
/// As [`asymmetric_per_group`]: `rows * cols` inputs and outputs, `rows`
/// scales.
pub(crate) unsafe fn symmetric<B: Boundary, M: Map>(
    build: Build,
    input_: *const M::SymmetricIn,
    scale: *const u16,
    output_: *mut M::SymmetricOut,
    rows: usize,
    cols: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let numel = matrix_numel(rows, cols)?;
        let quant = B::check(
            || {
                [
                    input(input_, numel),
                    input(scale, rows),
                    output(output_, numel),
                ]
            },
            || M::validate_symmetric(params),
        )?;
        let args = SymmetricArgs {
            input: input_,
            scale,
            output: output_,
            rows,
            cols,
            quant,
        };
        // SAFETY: as in `asymmetric_per_group`.
        unsafe {
            M::check_symmetric(build, &args)?;
            build.run::<M::Symmetric>(&args)
        };
        Ok(())
    })
}

/// Validates and runs the symmetric backward kernel.
///
/// # Safety
/// As [`symmetric`], with the weight gradient of the weights' length and
/// `sums` of the lengths [`BackwardSums`] gives.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn symmetric_backward<B: Boundary, S: BackwardSums>(
    build: Build,
    grad_output: *const u16,
    weight: *const u16,
    scale: *const u16,
    grad_weight: *mut u16,
    sums: S,
    rows: usize,
    cols: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let numel = matrix_numel(rows, cols)?;
        let quant = B::check(
            || {
                let [sums_a, sums_b] = sums.buffers(rows, cols, false);
                [
                    input(grad_output, numel),
                    input(weight, numel),
                    input(scale, rows),
                    output(grad_weight, numel),
                    sums_a,
                    sums_b,
                ]
            },
            || params.validate(),
        )?;
        let args = SymmetricBackwardArgs {
            grad_output,
            weight,
            scale,
            grad_weight,
            grad_scale: sums.gradients().0,
            block_sums: sums.block_sums(),
            rows,
            cols,
            quant,
        };
        // SAFETY: as in `asymmetric_per_group`.
        unsafe { build.run::<S::Symmetric>(&args) };
        Ok(())
    })
}

/// The packed length of `count` codes of `bits` bits, after the width
/// ([`Error::BitWidth`]) and then the lengths ([`Error::Shape`]: `count`
/// beyond `isize::MAX`, or `given` other than the packed length).
fn packed_len(count: usize, bits: u32, given: usize) -> Result<usize, Error> {
    let len = codes::packed_len(count, bits).ok_or(Error::BitWidth)?;
    if count > isize::MAX as usize || given != len {
        return Err(Error::Shape);
    }
    Ok(len)
}

/// Validates and packs `count` codes of `bits` bits into `packed`, which
/// holds `packed_len` bytes: the width, the lengths, the boundary's checks,
/// then every code's fit ([`Error::Code`]).
///
/// # Safety
/// Each pointer that passes `B`'s checks must be valid for its count.
pub(crate) unsafe fn pack<B: Boundary, C: Packable>(
    codes: *const C,
    count: usize,
    bits: u32,
    packed: *mut u8,
    packed_len: usize,
) -> Result<(), Error> {
    let len = self::packed_len(count, bits, packed_len)?;
    B::check(|| [input(codes, count), output(packed, len)], || Ok(()))?;
    // SAFETY: valid and not overlapping (caller, checked); the codes fit
    // before anything is written. Signed codes pack as their bytes' low
    // bits, their two's complement fields.
    unsafe {
        codes::codes_fit(codes, count, bits)?;
        codes::pack(codes.cast(), count, bits, packed);
    }
    Ok(())
}

/// Validates and unpacks `count` codes of `bits` bits from `packed`, which
/// holds `packed_len` bytes: the width, the lengths, the boundary's checks.
///
/// # Safety
/// Each pointer that passes `B`'s checks must be valid for its count.
pub(crate) unsafe fn unpack<B: Boundary, C: Packable>(
    packed: *const u8,
    packed_len: usize,
    bits: u32,
    codes: *mut C,
    count: usize,
) -> Result<(), Error> {
    let len = self::packed_len(count, bits, packed_len)?;
    B::check(|| [input(packed, len), output(codes, count)], || Ok(()))?;
    // SAFETY: valid and not overlapping (caller, checked).
    unsafe { codes::unpack(packed, count, bits, codes) };
    Ok(())
}

/// The one-call result of a unit's two sums from its block values at
/// `values`: the first sum's `blocks` values, then the second's.
///
/// # Safety
/// `values` is valid for reading `2 * blocks` values.
unsafe fn totals(values: *const f64, blocks: usize) -> [f32; 2] {
    let mut totals = Totals::ZERO;
    for i in 0..blocks {
        // SAFETY: i and blocks + i are below 2 * blocks (caller).
        unsafe { totals.block(i, values.add(i).read(), values.add(blocks + i).read()) };
    }
    totals.values()
}

/// Validates and finishes per-group block values (from the backward's
/// `BackwardSums::Blocks`, combined across shards) into the scale and
/// offset gradients that one call gives.
///
/// # Safety
/// Each pointer that passes `B`'s checks must be valid for its count:
/// `2 * block_count(group_size)` values per group, one scale and one of each
/// gradient per group.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn asymmetric_per_group_finish<B: Boundary>(
    block_sums: *const f64,
    scale: *const u16,
    grad_scale: *mut u16,
    grad_offset: *mut u16,
    numel: usize,
    params: &AsymmetricPerGroup,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let groups = params.groups(numel)?;
        let blocks = block_count(params.group_size);
        let quant = B::check(
            || {
                [
                    input(block_sums, block_values(groups, params.group_size)),
                    input(scale, groups),
                    output(grad_scale, groups),
                    output(grad_offset, groups),
                ]
            },
            || params.validate(),
        )?;
        for k in 0..groups {
            // SAFETY: valid for their counts (caller), overlapping only in
            // place; k < groups, and scale[k] is read before grad_scale[k],
            // which may be the same buffer, is written.
            unsafe {
                let s = widen(scale.add(k).read());
                let sums = totals(block_sums.add(k * 2 * blocks), blocks);
                let (gs, go) = asymmetric_per_group::finish_group(&quant, s, sums);
                grad_scale.add(k).write(gs);
                grad_offset.add(k).write(go);
            }
        }
        Ok(())
    })
}

/// Validates and finishes symmetric block values (per channel; per tensor
/// is one row) into the scale gradients that one call gives.
///
/// # Safety
/// As [`asymmetric_per_group_finish`]: `2 * block_count(cols)` values, one
/// scale and one gradient per row.
pub(crate) unsafe fn symmetric_finish<B: Boundary>(
    block_sums: *const f64,
    scale: *const u16,
    grad_scale: *mut u16,
    rows: usize,
    cols: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        matrix_numel(rows, cols)?;
        let blocks = block_count(cols);
        let quant = B::check(
            || {
                [
                    input(block_sums, block_values(rows, cols)),
                    input(scale, rows),
                    output(grad_scale, rows),
                ]
            },
            || params.validate(),
        )?;
        for row in 0..rows {
            // SAFETY: as in `asymmetric_per_group_finish`.
            unsafe {
                let s = widen(scale.add(row).read());
                let sums = totals(block_sums.add(row * 2 * blocks), blocks);
                grad_scale
                    .add(row)
                    .write(symmetric::finish_row(&quant, s, sums));
            }
        }
        Ok(())
    })
}

/// `NonFinite` unless every weight is finite, scanned with `build`'s ISA.
///
/// # Safety
/// `weight` is valid for reading `numel` elements; the CPU runs `build`'s
/// ISA.
unsafe fn all_weights_finite(build: Build, weight: *const u16, numel: usize) -> Result<(), Error> {
    // SAFETY: the caller's.
    if unsafe { codes::all_finite(build, codes::elements(weight, numel)) } {
        Ok(())
    } else {
        Err(Error::NonFinite)
    }
}

/// Validates and runs per-group calibration: a scale and an offset per
/// group, written to `scale` and `offset`. Weights must be finite
/// ([`Error::NonFinite`], checked last, nothing written).
///
/// # Safety
/// Each pointer that passes `B`'s checks must be valid for its count:
/// `numel` weights, one scale and one offset per group.
pub(crate) unsafe fn asymmetric_per_group_calibrate<B: Boundary>(
    build: Build,
    weight: *const u16,
    scale: *mut u16,
    offset: *mut u16,
    numel: usize,
    params: &AsymmetricPerGroup,
    mode: Calibration,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let groups = params.groups(numel)?;
        let quant = B::check(
            || {
                [
                    input(weight, numel),
                    output(scale, groups),
                    output(offset, groups),
                ]
            },
            || params.validate(),
        )?;
        let args = CalibrateArgs {
            weight,
            scale,
            offset,
            units: groups,
            len: params.group_size,
            quant,
            mode,
        };
        // SAFETY: valid and not overlapping (caller, checked); the build's
        // ISA runs here, and the weights are finite before anything is
        // written.
        unsafe {
            all_weights_finite(build, weight, numel)?;
            build.run::<kernels::AsymmetricCalibrate>(&args);
        }
        Ok(())
    })
}

/// Validates and runs symmetric calibration, a scale per row (per tensor:
/// one row).
///
/// # Safety
/// As [`asymmetric_per_group_calibrate`]: `rows * cols` weights, `rows`
/// scales.
pub(crate) unsafe fn symmetric_calibrate<B: Boundary>(
    build: Build,
    weight: *const u16,
    scale: *mut u16,
    rows: usize,
    cols: usize,
    params: &Symmetric,
    mode: Calibration,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let numel = matrix_numel(rows, cols)?;
        let quant = B::check(
            || [input(weight, numel), output(scale, rows)],
            || params.validate(),
        )?;
        let args = CalibrateArgs {
            weight,
            scale,
            offset: core::ptr::null_mut(),
            units: rows,
            len: cols,
            quant,
            mode,
        };
        // SAFETY: as in `asymmetric_per_group_calibrate`.
        unsafe {
            all_weights_finite(build, weight, numel)?;
            build.run::<kernels::SymmetricCalibrate>(&args);
        }
        Ok(())
    })
}
