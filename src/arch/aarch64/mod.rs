//! aarch64: NEON, part of the base ISA, so always available.

mod neon;

crate::arch::backend!(neon::Neon, crate::vector::Two<neon::Neon>,);
