//! The backends: one lane type per ISA, each instantiating the kernels
//! written once in `kernels` into a [`KernelTable`]. The only module that
//! names an ISA's module: the rest of the crate asks here for tables.

#[cfg(target_arch = "aarch64")]
mod aarch64;
pub(crate) mod scalar;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86;

use crate::kernels::calibrate::CalibrateArgs;
use crate::kernels::{
    AsymmetricPerGroupArgs, AsymmetricPerGroupBackwardArgs, SymmetricArgs, SymmetricBackwardArgs,
};
use crate::params::{AsymmetricConstants, Symmetric};
use crate::Isa;

/// The kernels of one backend, and its ISA.
///
/// # Safety
/// Each function requires the contract of `kernels` (valid buffers, overlaps
/// only as exact aliases), and a SIMD table requires that the CPU supports
/// its ISA, which [`table`] and [`best`] check.
pub(crate) struct KernelTable {
    /// The ISA (never `Auto`).
    pub isa: Isa,
    pub asymmetric_per_group: unsafe fn(&AsymmetricPerGroupArgs),
    pub asymmetric_per_group_backward: unsafe fn(&AsymmetricPerGroupBackwardArgs),
    /// Requires `block_sums` set.
    pub asymmetric_per_group_backward_blocks: unsafe fn(&AsymmetricPerGroupBackwardArgs),
    /// Also requires that every weight has a code (checked by `call`).
    pub asymmetric_per_group_quantize: unsafe fn(&AsymmetricPerGroupArgs<u16, u8>),
    /// Also requires every code in `0..2^bit`.
    pub asymmetric_per_group_dequantize: unsafe fn(&AsymmetricPerGroupArgs<u8, u16>),
    pub symmetric: unsafe fn(&SymmetricArgs),
    pub symmetric_backward: unsafe fn(&SymmetricBackwardArgs),
    /// Requires `block_sums` set.
    pub symmetric_backward_blocks: unsafe fn(&SymmetricBackwardArgs),
    /// Also requires that every weight has a code.
    pub symmetric_quantize: unsafe fn(&SymmetricArgs<u16, i8>),
    /// Also requires every code in `[min_v, max_v]`.
    pub symmetric_dequantize: unsafe fn(&SymmetricArgs<i8, u16>),
    /// Also requires every weight finite.
    pub asymmetric_per_group_calibrate: unsafe fn(&CalibrateArgs<AsymmetricConstants>),
    /// Also requires every weight finite.
    pub symmetric_calibrate: unsafe fn(&CalibrateArgs<Symmetric>),
    /// The scans of `kernels::scan`, compiled for the ISA.
    pub largest_magnitude: unsafe fn(&[u16]) -> u16,
    pub largest_code: unsafe fn(&[u8]) -> u8,
    pub code_range: unsafe fn(&[i8]) -> (i8, i8),
}

/// The fastest table this CPU runs.
pub(crate) fn best() -> &'static KernelTable {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let Some(table) = x86::best() {
        return table;
    }
    #[cfg(target_arch = "aarch64")]
    return &aarch64::KERNELS;
    #[allow(unreachable_code)]
    &scalar::KERNELS
}

/// The table of `isa` (`Auto`: none), if this CPU and build run it.
pub(crate) fn table(isa: Isa) -> Option<&'static KernelTable> {
    match isa {
        Isa::Scalar => Some(&scalar::KERNELS),
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        Isa::Avx2 | Isa::Avx512 => x86::table(isa),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => Some(&aarch64::KERNELS),
        _ => None,
    }
}

/// Every build of every path this CPU runs, named: the tables of
/// [`table`], and on a CPU with AVX-512 BF16 also the AVX-512 build without
/// it, which `Auto` skips there but older AVX-512 CPUs run.
#[cfg(feature = "test-hooks")]
pub(crate) fn builds() -> impl Iterator<Item = (&'static str, &'static KernelTable)> {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    let extra = x86::avx512_without_bf16().map(|table| ("avx512_no_bf16", table));
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let extra = None;
    [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon]
        .into_iter()
        .filter_map(table)
        .map(|table| (table.isa.name(), table))
        .chain(extra)
}

/// Defines `KERNELS`, the [`KernelTable`] of `Isa::$isa`: the kernels
/// instantiated for `$vector` and its `$pair` of vectors, each behind an
/// entry point carrying the ISA's `#[target_feature]` attributes so that the
/// inlined lane operations are compiled for it. The entry points make the
/// ISA's token, which the table's contract proves.
macro_rules! kernel_table {
    ($isa:ident, $vector:ty, $pair:ty, $(#[$feature:meta])*) => {
        /// This backend's kernels.
        pub(crate) static KERNELS: $crate::arch::KernelTable = {
            use $crate::kernels::{
                asymmetric_per_group, calibrate, symmetric, AsymmetricPerGroupArgs,
                AsymmetricPerGroupBackwardArgs, SymmetricArgs, SymmetricBackwardArgs,
            };
            use $crate::kernels::calibrate::CalibrateArgs;
            use $crate::params::{AsymmetricConstants, Symmetric};
            use $crate::vector::Token;

            /// One entry point of the table: makes the ISA's token and runs
            /// a kernel instantiated for this backend.
            macro_rules! entry {
                ($name:ident, $module:ident::$kernel:ident, $args:ty) => {
                    $(#[$feature])*
                    unsafe fn $name(args: &$args) {
                        // SAFETY: the KernelTable contract: the CPU runs the
                        // ISA, and the buffers are as the kernel requires.
                        unsafe { $module::$kernel::<$vector, $pair>(Token::new_unchecked(), args) }
                    }
                };
            }
            entry!(asymmetric_forward, asymmetric_per_group::forward, AsymmetricPerGroupArgs);
            entry!(asymmetric_backward, asymmetric_per_group::backward, AsymmetricPerGroupBackwardArgs);
            entry!(asymmetric_backward_blocks, asymmetric_per_group::backward_blocks, AsymmetricPerGroupBackwardArgs);
            entry!(asymmetric_quantize, asymmetric_per_group::quantize, AsymmetricPerGroupArgs<u16, u8>);
            entry!(asymmetric_dequantize, asymmetric_per_group::dequantize, AsymmetricPerGroupArgs<u8, u16>);
            entry!(symmetric_forward, symmetric::forward, SymmetricArgs);
            entry!(symmetric_backward, symmetric::backward, SymmetricBackwardArgs);
            entry!(symmetric_backward_blocks, symmetric::backward_blocks, SymmetricBackwardArgs);
            entry!(symmetric_quantize, symmetric::quantize, SymmetricArgs<u16, i8>);
            entry!(symmetric_dequantize, symmetric::dequantize, SymmetricArgs<i8, u16>);
            entry!(asymmetric_calibrate, calibrate::asymmetric, CalibrateArgs<AsymmetricConstants>);
            entry!(symmetric_calibrate, calibrate::symmetric, CalibrateArgs<Symmetric>);

            /// A scan of the table, compiled for the ISA.
            macro_rules! scan {
                ($name:ident, $element:ty, $result:ty) => {
                    $(#[$feature])*
                    unsafe fn $name(values: &[$element]) -> $result {
                        $crate::kernels::scan::$name(values)
                    }
                };
            }
            scan!(largest_magnitude, u16, u16);
            scan!(largest_code, u8, u8);
            scan!(code_range, i8, (i8, i8));

            $crate::arch::KernelTable {
                isa: $crate::Isa::$isa,
                asymmetric_per_group: asymmetric_forward,
                asymmetric_per_group_backward: asymmetric_backward,
                asymmetric_per_group_backward_blocks: asymmetric_backward_blocks,
                asymmetric_per_group_quantize: asymmetric_quantize,
                asymmetric_per_group_dequantize: asymmetric_dequantize,
                symmetric: symmetric_forward,
                symmetric_backward,
                symmetric_backward_blocks,
                symmetric_quantize,
                symmetric_dequantize,
                asymmetric_per_group_calibrate: asymmetric_calibrate,
                symmetric_calibrate,
                largest_magnitude,
                largest_code,
                code_range,
            }
        };
    };
}
pub(crate) use kernel_table;
