//! The backends: one [`Vector`](crate::vector::Vector) implementation per ISA,
//! each instantiating the same kernels into a [`KernelTable`].

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
pub(crate) mod generic;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
pub(crate) mod x86;

use crate::kernels::{
    AsymmetricPerGroupArgs, AsymmetricPerGroupBackwardArgs, SymmetricArgs, SymmetricBackwardArgs,
};

/// The kernels of one backend.
///
/// # Safety
/// Each function requires the contract of [`crate::kernels`] (valid buffers,
/// overlaps only as exact aliases), and a SIMD table requires that the CPU
/// supports its ISA.
pub(crate) struct KernelTable {
    pub asymmetric_per_group: unsafe fn(&AsymmetricPerGroupArgs),
    pub asymmetric_per_group_backward: unsafe fn(&AsymmetricPerGroupBackwardArgs),
    pub symmetric: unsafe fn(&SymmetricArgs),
    pub symmetric_backward: unsafe fn(&SymmetricBackwardArgs),
}

/// Defines `KERNELS`, the [`KernelTable`] of a backend: the generic kernels
/// instantiated for `$vector` and its `$pair` of vectors, each behind an entry point carrying the ISA's
/// `#[target_feature]` attributes so that the inlined lane operations are
/// compiled for it.
macro_rules! kernel_table {
    ($vector:ty, $pair:ty, $(#[$feature:meta])*) => {
        /// This backend's kernels.
        pub(crate) static KERNELS: $crate::arch::KernelTable = {
            use $crate::kernels::{
                asymmetric_per_group, symmetric, AsymmetricPerGroupArgs,
                AsymmetricPerGroupBackwardArgs, SymmetricArgs, SymmetricBackwardArgs,
            };

            $(#[$feature])*
            unsafe fn asymmetric_forward(args: &AsymmetricPerGroupArgs) {
                // SAFETY: the KernelTable contract is the kernel's.
                unsafe { asymmetric_per_group::forward::<$vector, $pair>(args) }
            }
            $(#[$feature])*
            unsafe fn asymmetric_backward(args: &AsymmetricPerGroupBackwardArgs) {
                // SAFETY: the KernelTable contract is the kernel's.
                unsafe { asymmetric_per_group::backward::<$vector, $pair>(args) }
            }
            $(#[$feature])*
            unsafe fn symmetric_forward(args: &SymmetricArgs) {
                // SAFETY: the KernelTable contract is the kernel's.
                unsafe { symmetric::forward::<$vector, $pair>(args) }
            }
            $(#[$feature])*
            unsafe fn symmetric_backward(args: &SymmetricBackwardArgs) {
                // SAFETY: the KernelTable contract is the kernel's.
                unsafe { symmetric::backward::<$vector, $pair>(args) }
            }

            $crate::arch::KernelTable {
                asymmetric_per_group: asymmetric_forward,
                asymmetric_per_group_backward: asymmetric_backward,
                symmetric: symmetric_forward,
                symmetric_backward,
            }
        };
    };
}
pub(crate) use kernel_table;

/// The portable backend's kernels.
pub(crate) mod portable {
    use super::generic::Portable;
    crate::arch::kernel_table!(Portable, crate::vector::Two<Portable>,);
}
