//! The one path every call takes from a boundary to a kernel: the shape,
//! the boundary's pointer checks, the parameters, the boundary's overlap
//! checks, then the kernel, in that order (the order in which errors are
//! reported), all in the default floating-point environment (`fpenv`). The
//! safe API (`api`) enters it with slices, which need no pointer or overlap
//! checks; the C ABI (`ffi`) with raw pointers, which do.

use crate::arch::KernelTable;
use crate::fpenv;
use crate::kernels::{
    AsymmetricPerGroupArgs, AsymmetricPerGroupBackwardArgs, SymmetricArgs, SymmetricBackwardArgs,
};
use crate::params::{matrix_numel, AsymmetricPerGroup, Symmetric};
use crate::Error;

/// A buffer as the checks see it: address, element count, direction.
#[derive(Clone, Copy)]
pub(crate) struct Buffer {
    pub start: usize,
    pub len: usize,
    pub output: bool,
}

fn input(p: *const u16, len: usize) -> Buffer {
    Buffer {
        start: p as usize,
        len,
        output: false,
    }
}

fn output(p: *mut u16, len: usize) -> Buffer {
    Buffer {
        start: p as usize,
        len,
        output: true,
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

/// Validates and runs the asymmetric per-group forward kernel.
///
/// # Safety
/// Each pointer that passes `B`'s checks must be valid for its count of
/// elements: `numel` for `weight` and `out`, `numel / group_size` for `scale`
/// and `offset`; with [`Slices`], they also satisfy what its checks skip.
pub(crate) unsafe fn asymmetric_per_group<B: Boundary>(
    table: &KernelTable,
    weight: *const u16,
    scale: *const u16,
    offset: *const u16,
    out: *mut u16,
    numel: usize,
    params: &AsymmetricPerGroup,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let groups = params.groups(numel)?;
        let quant = B::check(
            || {
                [
                    input(weight, numel),
                    input(scale, groups),
                    input(offset, groups),
                    output(out, numel),
                ]
            },
            || params.validate(),
        )?;
        let args = AsymmetricPerGroupArgs {
            weight,
            scale,
            offset,
            out,
            groups,
            group_size: params.group_size,
            quant,
        };
        // SAFETY: pointers valid (caller) and overlapping only as exact aliases
        // (checked, or slices); the table's ISA runs here (its contract).
        unsafe { (table.asymmetric_per_group)(&args) };
        Ok(())
    })
}

/// Validates and runs the asymmetric per-group backward kernel.
///
/// # Safety
/// As [`asymmetric_per_group`]; each gradient has the length of what it
/// differentiates.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn asymmetric_per_group_backward<B: Boundary>(
    table: &KernelTable,
    grad_output: *const u16,
    weight: *const u16,
    scale: *const u16,
    offset: *const u16,
    grad_weight: *mut u16,
    grad_scale: *mut u16,
    grad_offset: *mut u16,
    numel: usize,
    params: &AsymmetricPerGroup,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let groups = params.groups(numel)?;
        let quant = B::check(
            || {
                [
                    input(grad_output, numel),
                    input(weight, numel),
                    input(scale, groups),
                    input(offset, groups),
                    output(grad_weight, numel),
                    output(grad_scale, groups),
                    output(grad_offset, groups),
                ]
            },
            || params.validate(),
        )?;
        let args = AsymmetricPerGroupBackwardArgs {
            grad_output,
            weight,
            scale,
            offset,
            grad_weight,
            grad_scale,
            grad_offset,
            groups,
            group_size: params.group_size,
            quant,
        };
        // SAFETY: as in `asymmetric_per_group`.
        unsafe { (table.asymmetric_per_group_backward)(&args) };
        Ok(())
    })
}

/// Validates and runs the symmetric forward kernel, one scale per row (per
/// tensor: one row).
///
/// # Safety
/// As [`asymmetric_per_group`]: `rows * cols` weights and outputs, `rows`
/// scales.
pub(crate) unsafe fn symmetric<B: Boundary>(
    table: &KernelTable,
    weight: *const u16,
    scale: *const u16,
    out: *mut u16,
    rows: usize,
    cols: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let numel = matrix_numel(rows, cols)?;
        let quant = B::check(
            || [input(weight, numel), input(scale, rows), output(out, numel)],
            || params.validate(),
        )?;
        let args = SymmetricArgs {
            weight,
            scale,
            out,
            rows,
            cols,
            quant,
        };
        // SAFETY: as in `asymmetric_per_group`.
        unsafe { (table.symmetric)(&args) };
        Ok(())
    })
}

/// Validates and runs the symmetric backward kernel.
///
/// # Safety
/// As [`symmetric`], with gradients of the same lengths.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn symmetric_backward<B: Boundary>(
    table: &KernelTable,
    grad_output: *const u16,
    weight: *const u16,
    scale: *const u16,
    grad_weight: *mut u16,
    grad_scale: *mut u16,
    rows: usize,
    cols: usize,
    params: &Symmetric,
) -> Result<(), Error> {
    fpenv::with_default(|| {
        let numel = matrix_numel(rows, cols)?;
        let quant = B::check(
            || {
                [
                    input(grad_output, numel),
                    input(weight, numel),
                    input(scale, rows),
                    output(grad_weight, numel),
                    output(grad_scale, rows),
                ]
            },
            || params.validate(),
        )?;
        let args = SymmetricBackwardArgs {
            grad_output,
            weight,
            scale,
            grad_weight,
            grad_scale,
            rows,
            cols,
            quant,
        };
        // SAFETY: as in `asymmetric_per_group`.
        unsafe { (table.symmetric_backward)(&args) };
        Ok(())
    })
}
