//! aarch64: NEON, part of the base ISA, so always available.

mod neon;

crate::arch::kernel_table!(Neon, neon::Neon, crate::vector::Two<neon::Neon>,);
